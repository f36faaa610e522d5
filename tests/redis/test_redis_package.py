"""The embedded server launcher, the doctests, and the documentation rules of swrcache.redis."""

from __future__ import annotations

import doctest
import importlib
import inspect
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import time

import pytest

import swrcache.redis as shared
from redis_helpers import real_backends, server_url
from swrcache.redis import RedisServer, RedisUnavailable, embedded_redis, find_redis_server, redis_url

MODULES = ["swrcache.redis", "swrcache.redis.protocol", "swrcache.redis.server",
           "swrcache.redis.store", "swrcache.redis.tier", "cachesim.shared_store"]


def _gone(pid: int) -> bool:
    """True once `pid` has exited (a zombie waiting for its reaper counts as exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name, monkeypatch):
    monkeypatch.setenv("REDIS_URL", server_url(real_backends()[0]))  # no extra server
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_every_public_method_documents_what_it_raises():
    for cls in (shared.RedisStore, shared.SharedTier):
        for name, meth in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("_"):
                continue
            doc = meth.__doc__ or ""
            assert "Raises" in doc, f"{cls.__name__}.{name} does not say what it raises"
            if inspect.iscoroutinefunction(meth) and name != "aclose":
                assert "cancel" in doc.lower(), f"{cls.__name__}.{name} does not say what cancelling does"


def test_the_embedded_server_is_private_has_no_tcp_port_or_persistence_and_stops():
    import redis

    with embedded_redis() as server:
        pid, folder = server.pid, server.folder
        assert pid is not None and server.url.startswith("unix://")
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        client = redis.Redis.from_url(server.url, socket_timeout=5)
        config = {k: client.config_get(k)[k] for k in ("port", "save", "appendonly")}
        client.close()
        assert config == {"port": "0", "save": "", "appendonly": "no"}
    assert server.pid is None and _gone(pid) and not folder.exists()


def test_a_stopped_server_restarts_on_the_same_socket():
    with RedisServer() as server:
        url, first = server.url, server.pid
        server.stop()
        assert _gone(first)
        server.start()
        assert server.url == url and server.pid not in (None, first)


def test_redis_url_prefers_REDIS_URL_and_starts_nothing(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://example.invalid:6379/0")
    monkeypatch.setenv("REDIS_SERVER", "/nonexistent/redis-server")  # would fail if tried
    assert redis_url() == "redis://example.invalid:6379/0"


def test_no_server_binary_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_SERVER", "/nonexistent/redis-server")
    with pytest.raises(RedisUnavailable, match="REDIS_SERVER"):
        find_redis_server()
    # as in a fresh process: an earlier test in this worker may have started the shared server
    from swrcache.redis import server

    monkeypatch.setattr(server, "_SHARED", None)
    with pytest.raises(RedisUnavailable, match="REDIS_SERVER"):
        redis_url()


def test_a_binary_that_does_not_start_is_a_clear_error(tmp_path):
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\necho 'cannot start' >&2\nexit 3\n")
    fake.chmod(0o700)
    with pytest.raises(RedisUnavailable, match="did not start"):
        RedisServer(str(fake)).start()


def test_the_process_wide_server_stops_at_interpreter_exit():
    code = textwrap.dedent("""
        import os
        os.environ.pop("REDIS_URL", None)
        from swrcache.redis import server
        url = server.redis_url()
        assert server.redis_url() == url  # shared within the process
        print(server._SHARED.pid, server._SHARED.folder, flush=True)
    """)
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env=env, check=True).stdout.split()
    pid, folder = int(out[0]), out[1]
    assert _gone(pid) and not os.path.exists(folder)


def test_the_redis_import_stays_lazy():
    code = ("import sys, swrcache, swrcache.redis, cachesim.shared_store; "
            "print('redis' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.strip()
    assert out == "False"


def test_a_killed_parent_leaves_no_server_behind():
    code = textwrap.dedent("""
        import os, signal
        from swrcache.redis import RedisServer
        server = RedisServer().start()
        print(server.pid, server.folder, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no atexit, no cleanup
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9
    pid, folder = int(proc.stdout.split()[0]), proc.stdout.split()[1]
    shutil.rmtree(folder, ignore_errors=True)  # a SIGKILLed process cannot remove it
    for _ in range(500):  # a bounded wait for the kernel's death signal to land
        if _gone(pid):
            break
        time.sleep(0.01)
    else:
        os.kill(pid, 9)  # do not leave it running, then fail
        pytest.fail("redis-server outlived its SIGKILLed parent")
