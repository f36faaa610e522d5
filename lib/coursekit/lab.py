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


#: The page JupyterLab opens on, relative to the served folder: the course map, when the
#: build has written one (see :mod:`coursekit.coursemap`), instead of the bare Launcher.
COURSE_MAP = "README.md"


def lab_command(
    root: Path, *, port: int, headless: bool, as_root: bool = False, serve: Path | None = None
) -> list[str]:
    """The `jupyter lab` command line that serves `exercises/` from `root` (or the folder `serve`).

    ``as_root``: the server runs as root (a container, a workshop VM); JupyterLab refuses
    to start then unless told ``--allow-root``. When the served folder holds the course map
    (`COURSE_MAP`), JupyterLab opens on it, rendered.

    >>> lab_command(Path("/repo"), port=8888, headless=True)[:3]
    ['-m', 'jupyterlab', '--ServerApp.root_dir=/repo/exercises']
    >>> "--allow-root" in lab_command(Path("/repo"), port=8888, headless=True, as_root=True)
    True
    """
    folder = serve if serve is not None else root / "exercises"
    args = [
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={folder}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=20",
    ]
    args.append("--ServerApp.contents_manager_class=coursekit.lab.LearnerContentsManager")
    if (folder / COURSE_MAP).is_file():
        args.append(f"--LabApp.default_url=/lab/tree/{COURSE_MAP}")
    if headless:
        args += ["--no-browser", "--ServerApp.ip=127.0.0.1"]
    if as_root:
        args.append("--allow-root")
    return args


def kernel_language_info() -> dict:
    """What this environment's kernel reports as ``language_info`` (ipykernel's own dict).

    >>> kernel_language_info()["name"], kernel_language_info()["pygments_lexer"]
    ('python', 'ipython3')
    """
    from ipykernel.ipkernel import IPythonKernel

    return dict(IPythonKernel.language_info)


def with_kernel_language_info(notebook: dict, info: dict) -> dict:
    """``notebook`` (nbformat JSON) with ``metadata.language_info`` completed from ``info``.

    JupyterLab replaces a notebook's ``language_info`` with the kernel's as soon as the
    kernel starts; when the two differ, the notebook is marked unsaved the moment it opens.
    The built notebooks carry only ``{"name": "python"}`` (the patch version differs from
    machine to machine), so the learner's server completes it on the way to the browser.

    >>> nb = {"metadata": {"language_info": {"name": "python"}}}
    >>> with_kernel_language_info(nb, {"name": "python", "version": "3.11.2"})["metadata"]["language_info"]
    {'name': 'python', 'version': '3.11.2'}
    >>> with_kernel_language_info({"metadata": {"language_info": {"name": "julia"}}}, {"name": "python"})
    {'metadata': {'language_info': {'name': 'julia'}}}
    """
    meta = notebook.get("metadata")
    if not isinstance(meta, dict):
        return notebook
    current = meta.get("language_info") or {}
    if current.get("name", info.get("name")) == info.get("name"):
        meta["language_info"] = {**current, **info}
    return notebook


def _contents_manager_class() -> type:
    from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager

    info = kernel_language_info()

    class LearnerContentsManager(AsyncLargeFileManager):
        """Serves notebooks with the kernel's ``language_info``, so opening one changes nothing."""

        async def get(self, path, content=True, type=None, format=None, require_hash=False):
            model = await super().get(path, content=content, type=type, format=format, require_hash=require_hash)
            if model.get("type") == "notebook" and isinstance(model.get("content"), dict):
                with_kernel_language_info(model["content"], info)
            return model

    return LearnerContentsManager


def __getattr__(name: str) -> type:
    # `--ServerApp.contents_manager_class=coursekit.lab.LearnerContentsManager`, built
    # lazily so that importing this module needs no jupyter_server.
    if name == "LearnerContentsManager":
        cls = _contents_manager_class()
        globals()[name] = cls
        return cls
    raise AttributeError(name)


#: Jupyter config for the learner's server only (put first on JUPYTER_CONFIG_PATH): no
#: nbgrader instructor UI (Formgrader, Create Assignment, Course List, Validate: `check` is the
#: learner's feedback; the Assignment List for fetch and submit stays) and no news pop-up.
#: Instructors run plain `jupyter lab` and keep all of it.
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
    parser.add_argument(
        "--root-dir", type=Path, default=None,
        help="serve this folder instead of the repository's exercises/ (a copy of it, say)",
    )
    args = parser.parse_args(argv)
    root = repo_root()
    serve = args.root_dir.resolve() if args.root_dir is not None else root / "exercises"
    if not serve.is_dir():
        raise SystemExit(f"{serve.name}/ is missing: run `make build` (course authors) or re-clone")
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if as_root:
        print("Running as root (a container or workshop VM?): starting JupyterLab with --allow-root.")
    if args.headless:
        print("Starting JupyterLab without a browser; open the http://127.0.0.1 URL it prints.")
    command = lab_command(root, port=args.port, headless=args.headless, as_root=as_root, serve=serve)
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *command], learner_env())


if __name__ == "__main__":
    main()
