"""A small client for a running hub: its REST API, users' servers, and code in their kernels.

Used by the hub test and the hub benchmark; handy for a facilitator's scripts too::

    hub = HubClient("http://127.0.0.1:8000", admin_token)
    hub.spawn("ann"); token = hub.user_token("ann")
    server = hub.server("ann", token)
    kernel = server.start_kernel()
    reply = server.execute(kernel, "print(1 + 1)")   # {"status": "ok", "stdout": "2\\n", ...}
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import requests


class HubError(RuntimeError):
    pass


@dataclass
class HubClient:
    url: str  # e.g. http://127.0.0.1:8000 (no trailing slash)
    token: str  # an admin token (a service with admin:users, admin:servers, tokens)

    def api(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"token {token or self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}/hub/api/{path.lstrip('/')}", headers=headers, timeout=60, **kwargs)

    def spawn(self, name: str) -> None:
        """Ask the hub to start ``name``'s server (returns at once; see :meth:`wait_ready`)."""
        reply = self.api("POST", f"users/{name}/server")
        if reply.status_code not in (201, 202, 400):  # 400: already running
            raise HubError(f"spawning {name}: {reply.status_code} {reply.text}")

    def wait_ready(self, name: str, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.api("GET", f"users/{name}").json()
            server = (model.get("servers") or {}).get("")
            if server and server.get("ready"):
                return
            if server is None and not model.get("pending"):
                raise HubError(f"{name}'s server is neither running nor starting: {model}")
            time.sleep(0.5)
        raise HubError(f"{name}'s server was not ready within {timeout:.0f} s")

    def stop(self, name: str) -> None:
        self.api("DELETE", f"users/{name}/server")

    def user_token(self, name: str) -> str:
        """A new API token owned by ``name`` (with ``name``'s own permissions)."""
        reply = self.api("POST", f"users/{name}/tokens", json={"note": "coursekit.hub.client", "expires_in": 7200})
        if reply.status_code != 201:
            raise HubError(f"token for {name}: {reply.status_code} {reply.text}")
        return reply.json()["token"]

    def server(self, name: str, token: str) -> "UserServer":
        return UserServer(f"{self.url}/user/{name}", token)

    def service(self, name: str, path: str, token: str) -> requests.Response:
        return requests.get(f"{self.url}/services/{name}/{path.lstrip('/')}",
                            headers={"Authorization": f"token {token}"}, timeout=60, allow_redirects=False)


@dataclass
class UserServer:
    base: str  # http://127.0.0.1:8000/user/ann
    token: str

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.base}/{path.lstrip('/')}", headers=headers, timeout=120,
                                allow_redirects=False, **kwargs)

    # --- files
    def read_notebook(self, path: str) -> dict:
        reply = self.request("GET", f"api/contents/{path}?content=1")
        reply.raise_for_status()
        return reply.json()["content"]

    def write_notebook(self, path: str, notebook: dict) -> None:
        reply = self.request("PUT", f"api/contents/{path}", json={"type": "notebook", "format": "json", "content": notebook})
        reply.raise_for_status()

    # --- kernels
    def start_kernel(self, name: str | None = None) -> dict:
        reply = self.request("POST", "api/kernels", json={"name": name} if name else {})
        reply.raise_for_status()
        return reply.json()

    def stop_kernel(self, kernel: dict) -> None:
        self.request("DELETE", f"api/kernels/{kernel['id']}")

    def execute(self, kernel: dict, code: str, timeout: float = 120.0) -> dict:
        """Run ``code`` in the kernel; ``{"status", "stdout", "stderr", "error", "seconds"}``."""
        import websocket  # websocket-client (in the lock)

        ws_url = self.base.replace("http://", "ws://").replace("https://", "wss://") + f"/api/kernels/{kernel['id']}/channels"
        ws = websocket.create_connection(ws_url, header=[f"Authorization: token {self.token}"], timeout=timeout)
        try:
            msg_id = uuid.uuid4().hex
            ws.send(json.dumps({
                "header": {"msg_id": msg_id, "username": "coursekit", "session": uuid.uuid4().hex,
                           "msg_type": "execute_request", "version": "5.3"},
                "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                            "allow_stdin": False, "stop_on_error": True},
            }))
            started = time.monotonic()
            out: dict[str, Any] = {"stdout": "", "stderr": "", "error": None, "status": None}
            idle = False
            while out["status"] is None or not idle:
                msg = json.loads(ws.recv())
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    out[content["name"]] += content["text"]
                elif kind == "error":
                    out["error"] = f"{content['ename']}: {content['evalue']}"
                elif kind == "execute_reply":
                    out["status"] = content["status"]
                elif kind == "status" and content.get("execution_state") == "idle":
                    idle = True
            out["seconds"] = time.monotonic() - started
            return out
        finally:
            ws.close()
