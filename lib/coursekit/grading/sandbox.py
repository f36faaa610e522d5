"""Isolation for one grading worker.

Preferred: ``unshare`` gives the worker (and the kernel it starts) a new user,
network, PID and mount namespace. Inside, only ``lo`` exists (brought up so
the kernel's own ZMQ sockets on 127.0.0.1 work), so any connection — even to a
server on the host's 127.0.0.1 — fails at once. The worker then moves into a
root of its own, as bubblewrap does: an empty tmpfs holding read-only binds of
the system directories, the interpreter, the venv and the toolkit — nothing
else. The course sources, the tests, other submissions and any other copy of
the course on the machine simply do not exist there; ``/tmp`` is a fresh
tmpfs; and when the worker exits every process it started dies with it.

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
import tempfile
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


def limits_mechanism(level: str) -> str:
    """How the per-learner memory and process caps are enforced at this level (for the log)."""
    procs = ("RLIMIT_NPROC in the learner's user namespace" if level in LEVELS
             else "the watchdog (no user namespace, so no per-learner RLIMIT_NPROC)")
    return (f"a watchdog summing the resident memory of the tree (cgroup v2 is not used) and {procs}; "
            "RLIMIT_AS per process on top")


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
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
MNT_DETACH = 2
# statvfs flags a read-only remount must keep: the kernel refuses to drop them in a user namespace
_KEEP_FLAGS = {2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 1024: 1024, 2048: 2048, 4096: 1 << 21}
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
# what every process needs from the host, read-only; everything else must be asked for
SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc")
DEVICES = ("null", "zero", "full", "random", "urandom")


def loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))


def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(libc, source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    rc = libc.mount(source.encode() if source else None, target.encode(),
                    fstype.encode() if fstype else None, flags, data.encode() if data else None)
    _check(rc, f"mount {target}")


def _bind_readonly(libc, source: str, target: str) -> None:
    _mount(libc, source, target, None, MS_BIND | MS_REC, None)
    kept = 0
    for st_flag, ms_flag in _KEEP_FLAGS.items():
        if os.statvfs(source).f_flag & st_flag:
            kept |= ms_flag
    _mount(libc, None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept, None)


def _covered(path: str, dirs: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in dirs)


def _scratch_mountpoint(sources: list[str]) -> str:
    """A host directory to hang the new root on: one that holds nothing we bind from."""
    for d in ("/mnt", "/media", "/srv", "/run", "/tmp", "/var/tmp", "/home", "/opt"):
        if os.path.isdir(d) and not os.path.islink(d) and not any(_covered(s, [d]) for s in sources):
            return d
    raise OSError(0, "no free directory to build the grading root on")


def private_root(expose: list[str], tmp_mb: int = 1024) -> list[str]:
    """Move this process into a root holding only the system, ``expose`` (read-only) and a fresh /tmp.

    Needs a mount namespace we own (``unshare --user --mount``). Returns the host
    paths made visible, for the report."""
    libc = _libc()
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE, None)  # nothing we do leaks to the host
    wanted = []
    for p in sorted({os.path.realpath(x) for x in expose if os.path.isdir(x)}, key=len):
        if p != "/" and not _covered(p, wanted):
            wanted.append(p)
    new = _scratch_mountpoint(wanted)
    _mount(libc, "tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    # A fresh /tmp first: an exposed folder that lives under /tmp (a checkout or venv there)
    # is then bound on top of it instead of being hidden by it.
    os.mkdir(os.path.join(new, "tmp"))
    _mount(libc, "tmpfs", os.path.join(new, "tmp"), "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_mb}m,mode=1777")
    bound = []
    for name in SYSTEM_DIRS:
        src, dst = "/" + name, os.path.join(new, name)
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
        elif os.path.isdir(src):
            os.mkdir(dst)
            _bind_readonly(libc, src, dst)
            bound.append(src)
    for src in wanted:
        if _covered(src, bound):
            continue
        dst = new + src
        os.makedirs(dst, exist_ok=True)
        _bind_readonly(libc, src, dst)
        bound.append(src)
    for alias in expose:  # a venv reached through a symlink keeps working by its usual name
        alias = os.path.abspath(alias)
        if os.path.realpath(alias) != alias and not os.path.lexists(new + alias) and os.path.isdir(alias):
            os.makedirs(os.path.dirname(new + alias), exist_ok=True)
            os.symlink(os.path.realpath(alias), new + alias)
    os.makedirs(os.path.join(new, "var"), exist_ok=True)
    if not os.path.lexists(os.path.join(new, "var", "tmp")):
        os.symlink("/tmp", os.path.join(new, "var", "tmp"))
    dev = os.path.join(new, "dev")
    os.mkdir(dev)
    for name in DEVICES:
        if os.path.exists("/dev/" + name):
            open(os.path.join(dev, name), "w").close()
            _mount(libc, "/dev/" + name, os.path.join(dev, name), None, MS_BIND, None)
    os.symlink("/tmp", os.path.join(dev, "shm"))
    for i, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{i}", os.path.join(dev, name))
    os.symlink("/proc/self/fd", os.path.join(dev, "fd"))
    os.mkdir(os.path.join(new, "proc"))
    try:  # this PID namespace's own /proc; a bind of the one unshare mounted if that is refused
        _mount(libc, "proc", os.path.join(new, "proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    except OSError:
        _mount(libc, "/proc", os.path.join(new, "proc"), None, MS_BIND | MS_REC, None)
    _mount(libc, None, new, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, None)
    # pivot_root(".", ".") stacks the old root over the new one; detaching it leaves only ours
    os.chdir(new)
    number = SYS_PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        raise OSError(0, f"pivot_root: unknown architecture {os.uname().machine}")
    _check(libc.syscall(number, b".", b"."), "pivot_root")
    _check(libc.umount2(b".", MNT_DETACH), "umount old root")
    os.chdir("/")
    os.environ["TMPDIR"] = "/tmp"
    tempfile.tempdir = None
    return bound


def enter(cfg: dict) -> dict:
    """Called first thing in the worker; returns what it managed, for the report."""
    level = cfg.get("level", "none")
    info: dict = {"level": level}
    if level in ("full", "net"):
        loopback_up()
    if level == "full":
        info["visible"] = private_root(cfg.get("expose", []), int(cfg.get("tmp_mb", 1024)))
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
        if os.getpid() == 1:  # the full level: prove the private root works, interpreter and all
            here = os.path.dirname(os.path.abspath(__file__))
            exposed = [sys.prefix, sys.base_prefix, here]
            # only the way down to an exposed folder that lives under /tmp may show there
            allowed = {os.path.realpath(p).split("/")[2] for p in exposed
                       if os.path.realpath(p).startswith("/tmp/")}
            private_root(exposed, tmp_mb=1)
            import decimal  # noqa: F401  (read from the bound stdlib after the switch)
            if not os.path.exists(os.path.join(here, "engine.py")) or set(os.listdir("/tmp")) - allowed:
                raise OSError(0, "the private root is incomplete")
    except Exception as exc:  # noqa: BLE001
        print(f"no: {exc}")
        sys.exit(1)
    print("ok")
