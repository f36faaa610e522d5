"""A throwaway hub for tests and benchmarks: random users, free 127.0.0.1 ports, full cleanup.

    with EphemeralHub(repo, learners=3) as h:
        h.client.spawn(h.learners[0]) ...

On exit it stops the hub (SIGTERM to its PID: the hub stops the servers, the proxy and the
live view), kills by PID anything it started that is still alive (the hub's process tree, and
processes of the users it created), removes those users with ``userdel -r`` and deletes its
temporary folder. Root only. The course environment and the proxy are cached in ``cache``
(world-readable) so only the first run builds them.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import setup
from .client import HubClient
from .settings import COURSE_ID, HubSettings
from .users import ensure_user, processes_of, remove_user

DEFAULT_CACHE = "/var/cache/cache-under-pressure-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """PIDs below ``pid`` in the process tree (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


class EphemeralHub:
    def __init__(self, repo: Path, learners: int = 3, instructors: int = 1, cache: str | None = None,
                 prefix: str = "cup") -> None:
        self.repo = Path(repo)
        suffix = secrets.token_hex(3)
        self.learners = [f"{prefix}l{suffix}{i:02d}" for i in range(learners)]
        self.instructors = [f"{prefix}i{suffix}{i:02d}" for i in range(instructors)]
        self.cache = Path(cache or os.environ.get("COURSEKIT_HUB_TEST_CACHE", DEFAULT_CACHE))
        self.users: list[str] = []
        self.tmp: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.pids: set[int] = set()
        self.settings: HubSettings | None = None
        self.client: HubClient | None = None
        self.course_dirs: dict[str, Path] = {}

    @property
    def everyone(self) -> list[str]:
        return [*self.learners, *self.instructors]

    def __enter__(self) -> "EphemeralHub":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        venv = setup.build_env(self.cache / "venv", self.repo)
        proxy = setup.install_proxy(self.cache / "proxy")
        self.tmp = Path(tempfile.mkdtemp(prefix="cup-hub-"))
        os.chmod(self.tmp, 0o755)
        for name in self.everyone:
            self.users.append(name)
            ensure_user(name)
        exchange = self.tmp / "exchange"
        setup.prepare_exchange(exchange)
        learner_config = next(venv.glob("lib/python3*/site-packages/coursekit/jupyter_learner"))
        s = HubSettings(
            learners=self.learners, instructors=self.instructors, venv=str(venv), proxy_command=proxy,
            state_dir=str(self.tmp / "state"), shared_config_dir=str(self.tmp / "etc" / "jupyter"),
            learner_config_dir=str(learner_config), exchange_root=str(exchange),
            port=free_port(), hub_port=free_port(), proxy_api_port=free_port(), service_port=free_port(),
        )
        Path(s.state_dir).mkdir(mode=0o700)
        for name in self.instructors:
            self.course_dirs[name] = setup.prepare_instructor(name, COURSE_ID)
            s.course_dirs[name] = str(self.course_dirs[name])
        setup.write_shared_config(s)
        setup.write_secrets(s)
        token = secrets.token_hex(32)
        token_file = Path(s.state_dir) / "admin-token"
        setup.write_private(token_file, token)
        s.admin_service_token_file = str(token_file)
        setup.write_hub_config(s)
        self.settings = s
        self.proc = setup.start_hub(s, Path(s.state_dir) / "jupyterhub.log")
        self.pids.add(self.proc.pid)
        self.client = HubClient(f"http://127.0.0.1:{s.port}", token)

    def note_processes(self) -> None:
        """Remember the hub's current process tree (servers, kernels, proxy) for cleanup."""
        if self.proc is not None:
            self.pids.update(descendants(self.proc.pid))

    def log_tail(self, chars: int = 4000) -> str:
        if self.tmp is None:
            return ""
        log = self.tmp / "state" / "jupyterhub.log"
        return log.read_text(errors="replace")[-chars:] if log.exists() else ""

    def close(self) -> None:
        if self.proc is not None:
            self.note_processes()
            setup.stop_pid(self.proc.pid)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for pid in sorted(self.pids):  # anything the hub left behind, by PID
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for name in self.users:
            for pid in processes_of(name):  # processes of the users created here
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.users:
            time.sleep(0.2)
        for name in self.users:
            try:
                remove_user(name)
            except Exception as exc:  # keep removing the others
                print(f"could not remove {name}: {exc}", file=sys.stderr)
        self.users = []
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        self.proc = None
