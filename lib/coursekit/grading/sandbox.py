"""Isolation for one grading worker.

Preferred: ``unshare`` gives the worker (and the kernel it starts) a new user,
network, PID and mount namespace. Inside, only ``lo`` exists (brought up so
the kernel's own ZMQ sockets on 127.0.0.1 work), so any connection — even to a
server on the host's 127.0.0.1 — fails at once; ``/tmp`` is a fresh tmpfs;
the course sources, tests and other submissions are covered by empty
read-only mounts; the code the kernel imports is mounted read-only; and when
the worker exits every process it started dies with it.

Fallback, when namespaces are not allowed (e.g. some CI runners): plain
subprocesses in their own process group, and an in-kernel socket guard.

Always: the grader and its workers are not dumpable and the kernel runs with no
capabilities, so learner code cannot read their memory, fds or environment.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import socket
import struct
import subprocess
import sys
from functools import lru_cache

LEVELS = {
    # name: unshare flags
    "full": ["--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc"],
    "net": ["--user", "--map-root-user", "--net"],
}


def _unshare_works(flags: list[str]) -> bool:
    try:
        r = subprocess.run(["unshare", *flags, sys.executable, "-m", "coursekit.grading.sandbox", "--probe"],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and r.stdout.strip() == "ok"


@lru_cache(maxsize=None)
def best_level(wanted: str = "auto") -> str:
    """'full', 'net' or 'none' — the strongest isolation this machine allows."""
    if wanted == "none" or os.environ.get("COURSEKIT_SANDBOX") == "none":
        return "none"
    for level in ("full", "net"):
        if wanted in ("auto", level) and _unshare_works(LEVELS[level]):
            return level
    return "none"


def prefix(level: str) -> list[str]:
    return ["unshare", *LEVELS[level]] if level in LEVELS else []


# -- process hardening (namespaces or not) ----------------------------------

PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS = 4, 24, 28, 38
# SECBIT_NOROOT | _LOCKED | SECBIT_NO_SETUID_FIXUP | _LOCKED | SECBIT_KEEP_CAPS_LOCKED
SECURE_BITS = 0x2F


def not_dumpable() -> None:
    """Keep processes without CAP_SYS_PTRACE out of this one's memory and fds (/proc/PID/mem, fd/)."""
    try:
        _libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def drop_privileges() -> None:
    """For the kernel, between fork and exec: no capabilities now or after exec, no new privileges.

    Even as (namespaced) root, the kernel then cannot read the grader's memory, fds or
    environment, since those processes are not dumpable."""
    libc = _libc()
    libc.prctl(PR_SET_SECUREBITS, SECURE_BITS, 0, 0, 0)  # fails harmlessly without CAP_SETPCAP
    for cap in range(64):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: all empty
    libc.capset(header, data)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


# -- inside the namespaces -------------------------------------------------

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC = 1, 32, 4096, 16384


def loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))


def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _mount(libc, source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    rc = libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                    data.encode() if data else None)
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def enter(cfg: dict) -> dict:
    """Called first thing in the worker; returns what it managed, for the report."""
    level = cfg.get("level", "none")
    info = {"level": level, "hidden": 0}
    if level in ("full", "net"):
        loopback_up()
    if level == "full":
        libc = _libc()
        info["failed"] = []
        for path in cfg.get("readonly", []):
            if os.path.isdir(path):
                try:
                    _mount(libc, path, path, None, MS_BIND | MS_REC, None)
                    _mount(libc, "none", path, None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)
                except OSError as exc:
                    info["failed"].append(str(exc))
        readonly = [os.path.realpath(p) for p in cfg.get("readonly", [])]
        # A temp dir that holds the toolkit or the venv (a checkout under /tmp, as in a CI
        # clone) cannot get a fresh tmpfs: that would hide the interpreter from the kernel.
        private_tmp = [
            t for t in ("/tmp", "/var/tmp", "/dev/shm")
            if os.path.isdir(t) and not any(r == t or r.startswith(t + "/") for r in readonly)
        ]
        info["shared_tmp"] = [t for t in ("/tmp", "/var/tmp", "/dev/shm") if t not in private_tmp]
        for path in cfg.get("hide", []):
            if os.path.isdir(path) and not any((path + "/").startswith(t + "/") for t in private_tmp):
                try:
                    _mount(libc, "tmpfs", path, "tmpfs", MS_RDONLY, "size=4k,mode=0555")
                    info["hidden"] += 1
                except OSError as exc:
                    info["failed"].append(str(exc))
        for path in private_tmp:
            if os.path.isdir(path):
                try:
                    _mount(libc, "tmpfs", path, "tmpfs", 0, f"size={int(cfg.get('tmp_mb', 1024))}m,mode=1777")
                except OSError:
                    if path == "/tmp":
                        raise
    return info


if __name__ == "__main__" and sys.argv[1:] == ["--probe"]:
    try:
        loopback_up()
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        c = socket.create_connection(s.getsockname(), timeout=2)
        c.close()
        s.close()
        if os.getpid() == 1 or "--mount" in sys.argv:
            _mount(_libc(), "tmpfs", "/tmp", "tmpfs", 0, "size=1m")
    except Exception as exc:  # noqa: BLE001
        print(f"no: {exc}")
        sys.exit(1)
    print("ok")
