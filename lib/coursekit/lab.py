"""Open the course in JupyterLab: `python -m coursekit.lab [--headless] [--port N]`.

`make lab` calls this after creating the environment. With `--headless` no browser is
opened and the server listens on 127.0.0.1 only; JupyterLab prints the URL (with its
token) to copy into a browser or an SSH tunnel.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def repo_root(start: Path | None = None) -> Path:
    """The nearest folder above `start` (default: cwd) holding both `course/` and `lib/`."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "course").is_dir() and (folder / "lib").is_dir():
            return folder
    raise SystemExit(
        f"could not find the course repository above {here}: run `make lab` from the repository"
    )


def lab_command(root: Path, *, port: int, headless: bool, as_root: bool = False) -> list[str]:
    """The `jupyter lab` command line that serves `exercises/` from `root`.

    ``as_root``: the server runs as root (a container, a workshop VM); JupyterLab refuses
    to start then unless told ``--allow-root``.

    >>> lab_command(Path("/repo"), port=8888, headless=True)[:3]
    ['-m', 'jupyterlab', '--ServerApp.root_dir=/repo/exercises']
    >>> "--allow-root" in lab_command(Path("/repo"), port=8888, headless=True, as_root=True)
    True
    """
    args = [
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={root / 'exercises'}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=20",
    ]
    if headless:
        args += ["--no-browser", "--ServerApp.ip=127.0.0.1"]
    if as_root:
        args.append("--allow-root")
    return args


#: Jupyter config for the learner's server only (put first on JUPYTER_CONFIG_PATH): no
#: nbgrader instructor UI (Formgrader, Create Assignment, Validate: `check` is the learner's
#: feedback) and no news pop-up. Instructors run plain `jupyter lab` and keep all of it.
LEARNER_CONFIG = Path(__file__).with_name("jupyter_learner")


def learner_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for the learner's server: `LEARNER_CONFIG` first on JUPYTER_CONFIG_PATH.

    >>> learner_env({"JUPYTER_CONFIG_PATH": "/etc/x"})["JUPYTER_CONFIG_PATH"].endswith("jupyter_learner:/etc/x")
    True
    """
    env = dict(os.environ if environ is None else environ)
    rest = env.get("JUPYTER_CONFIG_PATH")
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([str(LEARNER_CONFIG), *([rest] if rest else [])])
    return env


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888, help="first port to try (default 8888)")
    parser.add_argument(
        "--headless", action="store_true", help="don't open a browser; print the URL instead"
    )
    args = parser.parse_args(argv)
    root = repo_root()
    if not (root / "exercises").is_dir():
        raise SystemExit("exercises/ is missing: run `make build` (course authors) or re-clone")
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if as_root:
        print("Running as root (a container or workshop VM?): starting JupyterLab with --allow-root.")
    if args.headless:
        print("Starting JupyterLab without a browser; open the http://127.0.0.1 URL it prints.")
    command = lab_command(root, port=args.port, headless=args.headless, as_root=as_root)
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *command], learner_env())


if __name__ == "__main__":
    main()
