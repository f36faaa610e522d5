"""``python -m coursekit.hub up|down|status|remove-users`` — what ``make hub`` runs (as root).

    make hub ROSTER=roster.txt                          # = python -m coursekit.hub up --roster roster.txt
    make hub ROSTER=roster.txt HUB_ARGS="--ip 0.0.0.0 --ssl-cert c.pem --ssl-key k.pem"
    .venv/bin/python -m coursekit.hub down              # stop the hub (and every server it started)
    .venv/bin/python -m coursekit.hub remove-users --roster roster.txt   # after the workshop: userdel -r
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import setup
from .roster import RosterError, read_roster
from .settings import COURSE_ID, DEFAULT_EXCHANGE, DEFAULT_PREFIX, DEFAULT_STATE, HubSettings


def _need_root() -> None:
    if os.geteuid() != 0:
        raise SystemExit("make hub must run as root: it creates Linux users and runs each learner's server as them")


def up(args: argparse.Namespace) -> int:
    _need_root()
    if not args.roster:
        raise SystemExit("say who takes part: make hub ROSTER=path/to/roster.txt (one name a line; 'name instructor')")
    try:
        roster = read_roster(args.roster)
    except (OSError, RosterError) as exc:
        raise SystemExit(f"roster {args.roster}: {exc}")
    repo = Path(args.repo).resolve()
    prefix = Path(args.prefix)
    state = Path(args.state)
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    old_pid = _running_pid(state)
    if old_pid:
        raise SystemExit(f"a hub is already running (pid {old_pid}); stop it first: {sys.executable} -m coursekit.hub down")

    exposed = setup.protect_repo(repo, apply=not args.keep_repo_readable)
    if exposed and not args.keep_repo_readable:
        setup.log(f"closed {', '.join(exposed)} of {repo} to other users (chmod go-rwx): they hold the answers")
    elif exposed:
        setup.log(f"WARNING: learners can read {', '.join(exposed)} of {repo} (reference answers, hidden tests)")

    venv = setup.build_env(prefix / "venv", repo, python=args.python)
    proxy = setup.install_proxy(prefix / "proxy")
    setup.ensure_users(roster)
    setup.prepare_exchange(Path(args.exchange))
    settings = HubSettings(
        learners=list(roster.learners),
        instructors=list(roster.instructors),
        venv=str(venv),
        proxy_command=proxy,
        state_dir=str(state),
        shared_config_dir=str(prefix / "etc" / "jupyter"),
        learner_config_dir=str(_learner_config(venv)),
        exchange_root=str(args.exchange),
        course_id=COURSE_ID,
        ip=args.ip,
        port=args.port,
        hub_port=args.hub_port,
        proxy_api_port=args.proxy_api_port,
        service_port=args.service_port,
        ssl_cert=args.ssl_cert or "",
        ssl_key=args.ssl_key or "",
    )
    for name in roster.instructors:
        settings.course_dirs[name] = str(setup.prepare_instructor(name, settings.course_id))
    setup.write_shared_config(settings)
    secrets_file = setup.write_secrets(settings)
    setup.write_hub_config(settings)
    log_path = state / "jupyterhub.log"
    setup.start_hub(settings, log_path)
    pid = _running_pid(state)
    url = settings.url if settings.ip not in ("0.0.0.0", "") else settings.url.replace("0.0.0.0", os.uname().nodename)
    print(f"""
JupyterHub for {len(roster.learners)} learners and {len(roster.instructors)} instructor(s) is running (pid {pid}).
  URL:        {url}{'   (127.0.0.1 only: use an SSH tunnel, or see docs/workshop.md for TLS)' if settings.ip == '127.0.0.1' else ''}
  passwords:  {secrets_file}   (root only; learners use "user_password", instructors "admin_password")
  live view:  {url}services/live-view/   (instructors only)
  log:        {log_path}
  stop:       {sys.executable} -m coursekit.hub down --state {state}   (or: kill $(cat {settings.pid_file}))
""".rstrip())
    return 0


def _learner_config(venv: Path) -> Path:
    """coursekit's learner Jupyter config as installed in the course environment (not the repo's)."""
    found = sorted(venv.glob("lib/python3*/site-packages/coursekit/jupyter_learner"))
    if not found:
        raise SystemExit(f"coursekit's learner config is missing from {venv}")
    return found[0]


def _running_pid(state: Path) -> int | None:
    try:
        pid = int((state / "jupyterhub.pid").read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def down(args: argparse.Namespace) -> int:
    _need_root()
    pid = _running_pid(Path(args.state))
    if pid is None:
        print("no hub is running")
        return 0
    setup.stop_pid(pid)
    print(f"stopped JupyterHub (pid {pid}) and the servers, proxy and live view it started")
    return 0


def status(args: argparse.Namespace) -> int:
    state = Path(args.state)
    pid = _running_pid(state)
    try:
        settings = HubSettings.load(state / "settings.json")
        print(json.dumps({"running": pid is not None, "pid": pid, "url": settings.url}, indent=1))
    except OSError:
        print(json.dumps({"running": pid is not None, "pid": pid}, indent=1))
    return 0


def remove_users(args: argparse.Namespace) -> int:
    _need_root()
    from .users import remove_user

    roster = read_roster(args.roster)
    if _running_pid(Path(args.state)):
        raise SystemExit("stop the hub first (python -m coursekit.hub down)")
    for name in roster.everyone:
        remove_user(name)
        print(f"removed {name} and their home")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursekit.hub", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("up", help="prepare everything and start the hub in the background")
    p.add_argument("--roster", default=os.environ.get("ROSTER"), help="roster file: one name a line, 'name instructor'")
    p.add_argument("--repo", default=".", help="the course repository (default: .)")
    p.add_argument("--prefix", default=DEFAULT_PREFIX, help=f"environment and proxy (default {DEFAULT_PREFIX})")
    p.add_argument("--state", default=DEFAULT_STATE, help=f"private hub state (default {DEFAULT_STATE})")
    p.add_argument("--exchange", default=DEFAULT_EXCHANGE, help=f"nbgrader exchange root (default {DEFAULT_EXCHANGE})")
    p.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="the public port (default 8000)")
    p.add_argument("--hub-port", type=int, default=8081, help="the hub's internal API port on 127.0.0.1 (default 8081)")
    p.add_argument("--proxy-api-port", type=int, default=8001, help="the proxy's API port on 127.0.0.1 (default 8001)")
    p.add_argument("--service-port", type=int, default=10101, help="the live view's port on 127.0.0.1 (default 10101)")
    p.add_argument("--ssl-cert", help="TLS certificate (PEM) for JupyterHub itself")
    p.add_argument("--ssl-key", help="TLS key (PEM)")
    p.add_argument("--python", default=setup.default_python(), help="the Python every user can run (default /usr/bin/python3)")
    p.add_argument("--keep-repo-readable", action="store_true",
                   help="do not chmod go-rwx the repository's course/, solutions/ and tests/")
    p.set_defaults(func=up)
    for name, func in (("down", down), ("status", status)):
        q = sub.add_parser(name)
        q.add_argument("--state", default=DEFAULT_STATE)
        q.set_defaults(func=func)
    r = sub.add_parser("remove-users", help="after the workshop: userdel -r everyone on the roster")
    r.add_argument("--roster", required=True)
    r.add_argument("--state", default=DEFAULT_STATE)
    r.set_defaults(func=remove_users)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
