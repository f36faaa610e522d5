"""Everything ``make hub`` prepares before the hub starts (run as root; each step can be re-run).

1. :func:`build_env` — a world-readable, **non-editable** environment from ``requirements.lock``
   (``pip install --no-deps`` of a copy of ``lib/``: learners cannot reach ``course/`` or
   ``solutions/`` through it), with the course kernel registered inside it. Built with a Python
   every user can run (``/usr/bin/python3``), not one under ``/root``.
2. :func:`install_proxy` — ``configurable-http-proxy`` from npm into a local prefix.
3. :func:`ensure_users` — a Linux user per roster name, homes 0700.
4. :func:`prepare_exchange` and :func:`write_shared_config` — nbgrader's exchange (a
   world-writable root) and the Jupyter config every server reads: ``course_id``, the exchange,
   the course kernel as default.
5. :func:`prepare_instructor` — each instructor's course folder (``~/cache-under-pressure``,
   0700, built by ``coursekit.build --instructor``) and ``~/.jupyter/nbgrader_config.py`` with
   ``CourseDirectory.root``, so formgrader finds the course wherever JupyterLab starts.
6. :func:`write_secrets` and :func:`write_hub_config` — the passwords (0600, outside the
   repository) and ``jupyterhub_config.py`` in the hub's private state folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from .roster import Roster
from .settings import KERNEL, HubSettings
from .users import ensure_user

CHP_VERSION = "5.3.0"
STAMP = ".coursekit-hub-stamp.json"


def log(message: str) -> None:
    print(f">> {message}", flush=True)


def _tree_hash(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for base in paths:
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        for f in files:
            digest.update(str(f.relative_to(base.parent)).encode())
            digest.update(f.read_bytes())
    return digest.hexdigest()


def make_world_readable(root: Path) -> None:
    """``chmod -R a+rX root`` (directories and executables get a+x, everything a+r)."""
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            p = os.path.join(folder, name)
            if os.path.islink(p):
                continue
            mode = os.stat(p).st_mode
            extra = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
            if stat.S_ISDIR(mode) or mode & stat.S_IXUSR:
                extra |= stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
            os.chmod(p, stat.S_IMODE(mode) | extra)
    os.chmod(root, stat.S_IMODE(os.stat(root).st_mode) | 0o755)


def build_env(venv: Path, repo: Path, python: str = "/usr/bin/python3") -> Path:
    """Create or update the course environment at ``venv``; returns ``venv``.

    Re-running is cheap: the lock is re-installed only when it changed, the course packages
    only when ``lib/`` or ``pyproject.toml`` changed (a stamp file records both hashes).
    """
    venv = Path(venv)
    lock = repo / "requirements.lock"
    stamp_path = venv / STAMP
    want = {
        "lock": _tree_hash([lock]),
        "lib": _tree_hash([repo / "lib", repo / "pyproject.toml"]),
        "python": python,
    }
    have = json.loads(stamp_path.read_text()) if stamp_path.is_file() else {}
    vpy = venv / "bin" / "python"
    if have.get("python") != python or not vpy.exists():
        log(f"creating the course environment {venv} with {python} (about a minute)")
        if venv.exists():
            shutil.rmtree(venv)
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        have = {}
    pip = [str(vpy), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if have.get("lock") != want["lock"]:
        log("installing requirements.lock into it")
        subprocess.run([*pip, "-r", str(lock)], check=True)
    if have.get("lib") != want["lib"] or have.get("lock") != want["lock"]:
        log("installing the course packages (non-editable)")
        with tempfile.TemporaryDirectory(prefix="cup-wheel-") as tmp:
            src = Path(tmp) / "src"
            src.mkdir()
            # only what the package is built from: never course/, solutions/ or tests/
            shutil.copytree(repo / "lib", src / "lib", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
            shutil.copy(repo / "pyproject.toml", src / "pyproject.toml")
            shutil.copy(repo / "README.md", src / "README.md")
            subprocess.run([*pip, "--no-deps", "--no-build-isolation", "--force-reinstall", str(src)], check=True)
        subprocess.run(
            [str(vpy), "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL,
             "--display-name", "Python 3 (Cache Under Pressure)"],
            check=True, capture_output=True,
        )
    make_world_readable(venv)
    stamp_path.write_text(json.dumps(want))
    os.chmod(stamp_path, 0o644)
    return venv


def install_proxy(prefix: Path) -> str:
    """``configurable-http-proxy`` from npm into ``prefix``; returns the command's path."""
    prefix = Path(prefix)
    command = prefix / "node_modules" / ".bin" / "configurable-http-proxy"
    if not command.exists():
        log(f"installing configurable-http-proxy {CHP_VERSION} from npm into {prefix}")
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error",
             f"configurable-http-proxy@{CHP_VERSION}"],
            check=True,
        )
    return str(command)


def ensure_users(roster: Roster) -> list[str]:
    """A Linux user for everyone on the roster; returns the names that were created."""
    created = [name for name in roster.everyone if ensure_user(name)]
    if created:
        log(f"created Linux users: {', '.join(created)} (homes 0700)")
    return created


def prepare_exchange(root: Path) -> None:
    """nbgrader's exchange root: world-writable (nbgrader #1225), sticky so nobody removes others' files."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o1777)
    for parent in root.parents:
        if parent == Path("/"):
            break
        mode = stat.S_IMODE(os.stat(parent).st_mode)
        if not mode & stat.S_IXOTH:
            os.chmod(parent, mode | 0o111)


NBGRADER_SHARED = """\
# Written by coursekit.hub (make hub): what every server on this hub needs to know.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {exchange!r}
"""


def write_shared_config(settings: HubSettings) -> None:
    """The world-readable Jupyter config every server reads (JUPYTER_CONFIG_PATH, see config.py)."""
    folder = Path(settings.shared_config_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nbgrader_config.py").write_text(
        NBGRADER_SHARED.format(course_id=settings.course_id, exchange=settings.exchange_root)
    )
    (folder / "jupyter_server_config.json").write_text(
        json.dumps({"MappingKernelManager": {"default_kernel_name": KERNEL}}, indent=1) + "\n"
    )
    make_world_readable(folder)


INSTRUCTOR_NBGRADER = """\
# Written by coursekit.hub (make hub): the formgrader and nbgrader find your course folder
# wherever JupyterLab or a terminal starts.
c = get_config()  # noqa: F821
c.CourseDirectory.root = {root!r}
"""


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(folder, name), uid, gid)


def prepare_instructor(name: str, course_id: str) -> Path:
    """The instructor's private course folder (built once; kept on later runs) and nbgrader config."""
    from ..build import write_instructor_course

    entry = pwd.getpwnam(name)
    course = Path(entry.pw_dir) / course_id
    if not (course / "nbgrader_config.py").exists():
        log(f"building {name}'s course folder {course} (instructor notebooks: solutions, hidden tests)")
        write_instructor_course(course)
    else:
        log(f"keeping {name}'s course folder {course}")
    os.chmod(course, 0o700)
    _chown_tree(course, entry.pw_uid, entry.pw_gid)
    jupyter = Path(entry.pw_dir) / ".jupyter"
    jupyter.mkdir(exist_ok=True)
    (jupyter / "nbgrader_config.py").write_text(INSTRUCTOR_NBGRADER.format(root=str(course)))
    _chown_tree(jupyter, entry.pw_uid, entry.pw_gid)
    os.chmod(entry.pw_dir, 0o700)
    return course


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def write_secrets(settings: HubSettings) -> str:
    """The shared learner password and the instructors' admin password, kept if already there."""
    path = Path(settings.secrets_file)
    if not path.exists():
        write_private(path, json.dumps({
            "user_password": secrets.token_urlsafe(9),
            "admin_password": secrets.token_urlsafe(30),
        }, indent=1) + "\n")
        log(f"generated the passwords into {path} (mode 0600)")
    return str(path)


def write_hub_config(settings: HubSettings) -> str:
    """``jupyterhub_config.py`` and ``settings.json`` in the private state folder; returns the config's path."""
    state = Path(settings.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    settings.save()
    config = state / "jupyterhub_config.py"
    write_private(config, (
        "# Written by coursekit.hub (make hub); the configuration itself is coursekit/hub/config.py.\n"
        "from coursekit.hub.config import configure\n"
        f"configure(c, {settings.settings_file!r})  # noqa: F821\n"
    ))
    return str(config)


def readable_by_others(path: Path) -> bool:
    """Can a user other than the owner (and not in its group) list or read ``path``?"""
    path = Path(path).resolve()
    if not path.exists():
        return False
    for parent in reversed(path.parents):
        if not stat.S_IMODE(os.stat(parent).st_mode) & stat.S_IXOTH:
            return False
    return bool(stat.S_IMODE(os.stat(path).st_mode) & stat.S_IROTH)


#: Folders of the repository that hold reference answers or hidden tests.
ANSWER_FOLDERS = ("course", "solutions", "tests")


def protect_repo(repo: Path, *, apply: bool) -> list[str]:
    """The answer folders of ``repo`` other users can read; with ``apply``, close them (chmod go-rwx)."""
    exposed = [name for name in ANSWER_FOLDERS if readable_by_others(repo / name)]
    if apply:
        for name in exposed:
            os.chmod(repo / name, stat.S_IMODE(os.stat(repo / name).st_mode) & 0o700)
    return exposed


def readiness_url(settings: HubSettings) -> str:
    """Where to ask whether the hub is up: its API, on the address it listens on.

    >>> from coursekit.hub.settings import HubSettings
    >>> s = HubSettings([], [], "/v", "chp", "/s", "/c", "/l", ip="0.0.0.0", port=443, ssl_cert="c.pem", ssl_key="k.pem")
    >>> readiness_url(s)
    'https://127.0.0.1:443/hub/api/'
    >>> s.ip = "10.0.0.5"; readiness_url(s)
    'https://10.0.0.5:443/hub/api/'
    """
    scheme = "https" if settings.ssl_cert else "http"
    host = "127.0.0.1" if settings.ip in ("", "0.0.0.0", "::") else settings.ip
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{settings.port}/hub/api/"


def start_hub(settings: HubSettings, log_path: Path, timeout: float = 90.0) -> subprocess.Popen:
    """Start JupyterHub in the background (its own session); wait until its API answers."""
    import ssl
    import time
    import urllib.error
    import urllib.request

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "JUPYTER", "VIRTUAL_ENV", "COURSEKIT_"))}
    env["PATH"] = os.pathsep.join([os.path.join(settings.venv, "bin"), "/usr/local/bin", "/usr/bin", "/bin"])
    config = os.path.join(settings.state_dir, "jupyterhub_config.py")
    out = open(log_path, "ab")
    proc = subprocess.Popen(
        [os.path.join(settings.venv, "bin", "jupyterhub"), "-f", config],
        cwd=settings.state_dir, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    out.close()
    url = readiness_url(settings)
    # our own process, checked where it listens: the certificate (if any) names the public host
    context = ssl._create_unverified_context() if url.startswith("https") else None  # noqa: S323
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = Path(log_path).read_text(errors="replace")[-3000:]
            raise RuntimeError(f"JupyterHub exited with {proc.returncode}; the end of {log_path}:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as reply:  # noqa: S310
                if reply.status == 200:
                    return proc
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    proc.terminate()
    raise RuntimeError(f"JupyterHub did not answer on {url} within {timeout:.0f} s; see {log_path}")


def stop_pid(pid: int, timeout: float = 30.0) -> bool:
    """SIGTERM ``pid`` (the hub stops its servers, proxy and services), SIGKILL after ``timeout``."""
    import signal
    import time

    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done == pid:
                    return True
            except ChildProcessError:
                pass
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return True


def default_python() -> str:
    """A Python every user can run: the system's, if the running one lives somewhere private."""
    return "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
