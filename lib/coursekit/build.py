"""Build the learner and reference notebooks from the single sources in `course/`.

    python -m coursekit.build                    # regenerate exercises/ and solutions/ (make build)
    python -m coursekit.build --out DIR          # build into DIR/exercises, DIR/solutions instead
    python -m coursekit.build --only 01_lru      # one module
    python -m coursekit.build --instructor DIR   # an nbgrader course folder for real teaching

`course/<module>.py` is a jupytext percent-format notebook: the *instructor* version, with
solutions between `### BEGIN SOLUTION`/`### END SOLUTION`, hidden tests between
`### BEGIN HIDDEN TESTS`/`### END HIDDEN TESTS`, and nbgrader cell metadata in the cell headers.

* `exercises/<module>/<module>.ipynb` is nbgrader's own `generate_assignment` output, run in a
  scratch course folder under `build/` (gitignored) with the course's `nbgrader_config.py`.
* `solutions/<module>/<module>.ipynb` is the instructor version executed by nbclient, with
  deterministic outputs: no timing metadata, `PYTHONHASHSEED=0`, no absolute paths in outputs
  (the build fails if one appears), no interpreter patch version in the metadata.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from .variants import REFERENCE

__all__ = [
    "MODULES",
    "ROOT",
    "COURSE",
    "source_notebook",
    "source_path",
    "exercise_notebook",
    "solution_notebook",
    "write_instructor_course",
    "build",
    "main",
]

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "course"
NBGRADER_CONFIG = COURSE / "nbgrader_config.py"
SCRATCH = ROOT / "build"


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _discover_modules() -> list[str]:
    """Every `course/NN_name.py`, in course order (drafts elsewhere are ignored)."""
    return sorted(p.stem for p in COURSE.glob("[0-9][0-9]_*.py"))


#: Module ids in course order: `course/<id>.py` is the source, `<id>/<id>.ipynb` the notebook.
#: Adding a module is adding its source (and its questions in `cache_course`, found through the `coursekit.content` entry point).
MODULES: list[str] = _discover_modules()

#: Seconds per cell when executing the reference solutions.
CELL_TIMEOUT = 120
#: Kernel start-ups tried per notebook (a start-up can fail on a loaded machine).
KERNEL_START_ATTEMPTS = 3

_JUPYTEXT_CELL_KEYS = ("lines_to_next_cell", "cell_marker", "lines_to_end_of_cell_marker")
#: The kernel every notebook asks for: `make` registers it inside .venv (ipykernel install
#: --sys-prefix), so a python3 kernelspec elsewhere on the machine cannot answer instead.
KERNEL_NAME = "cache-under-pressure"
_KERNELSPEC = {"display_name": "Python 3 (Cache Under Pressure)", "language": "python", "name": KERNEL_NAME}


def source_path(module_id: str) -> Path:
    if module_id not in MODULES:
        raise KeyError(f"unknown module {module_id!r}; known: {', '.join(MODULES)}")
    return COURSE / f"{module_id}.py"


def _normalise(nb: NotebookNode, module_id: str) -> NotebookNode:
    """Drop jupytext's bookkeeping and give every cell a stable id."""
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = dict(_KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    used: set[str] = set()
    for index, cell in enumerate(nb.cells):
        for key in _JUPYTEXT_CELL_KEYS:
            cell.metadata.pop(key, None)
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        cell_id = grade_id or f"{module_id}-{index:02d}"
        while cell_id in used:
            cell_id += "-x"
        used.add(cell_id)
        cell["id"] = cell_id
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def source_notebook(module_id: str) -> NotebookNode:
    """The instructor notebook (solutions, hidden tests, nbgrader metadata) built from course/."""
    import jupytext

    nb = jupytext.read(source_path(module_id), fmt="py:percent")
    nb = _normalise(nb, module_id)
    nbformat.validate(nb)
    return nb


def _write(nb: NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(nb, version=4)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------- nbgrader side
def write_instructor_course(dest: Path, modules: list[str] | None = None) -> Path:
    """An nbgrader course folder: `dest/nbgrader_config.py` and `dest/source/<m>/<m>.ipynb`."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(NBGRADER_CONFIG, dest / "nbgrader_config.py")
    for module_id in modules or MODULES:
        _write(source_notebook(module_id), dest / "source" / module_id / f"{module_id}.ipynb")
    return dest


def nbgrader(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the unchanged nbgrader CLI in `cwd` (a course folder); raise with its log on failure."""
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_kernel_env(),
    )
    if proc.returncode != 0 or "[ERROR]" in proc.stderr:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed in {cwd}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def exercise_notebook(module_id: str, scratch: Path | None = None) -> NotebookNode:
    """The learner notebook, as nbgrader's generate_assignment writes it."""
    with tempfile.TemporaryDirectory(dir=_scratch_dir(scratch), prefix="nbgrader-") as tmp:
        course = write_instructor_course(Path(tmp), [module_id])
        nbgrader(["generate_assignment", module_id, "--force", "--no-db"], cwd=course)
        released = course / "release" / module_id / f"{module_id}.ipynb"
        nb = nbformat.read(released, as_version=4)
    nb.metadata.pop("celltoolbar", None)
    return nb


# ----------------------------------------------------------------------------- solutions
def _kernel_env(run_dir: Path | None = None) -> dict[str, str]:
    """The environment of every kernel and nbgrader process the build starts."""
    # nothing from the caller's coursekit settings (plain output, progress file, …) leaks in
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSEKIT_")}
    env["PYTHONHASHSEED"] = "0"
    # the reference learner: built notebooks show variant 0, the scenario the text quotes
    env["COURSEKIT_LEARNER"] = REFERENCE
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env.pop("PYTHONBREAKPOINT", None)
    # nbgrader runs `alembic` by name: make the venv's bin/ visible even when it isn't activated
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if run_dir is not None:
        # coursekit's state must not leak in from the machine: a fresh progress file, and
        # reveal() reads reference answers from this run's copy of the sources, not from a
        # possibly stale solutions/ folder.
        env["COURSEKIT_PROGRESS"] = str(run_dir / "progress.json")
        env["COURSEKIT_SOLUTIONS"] = str(run_dir / "reference")
    return env


def solution_notebook(module_id: str, scratch: Path | None = None) -> NotebookNode:
    """The instructor notebook executed top to bottom, with deterministic outputs."""
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory(dir=_scratch_dir(scratch), prefix="run-") as tmp:
        run_dir = Path(tmp) / module_id
        run_dir.mkdir()
        _write(source_notebook(module_id), Path(tmp) / "reference" / module_id / f"{module_id}.ipynb")
        for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
            nb = source_notebook(module_id)
            client = NotebookClient(
                nb,
                timeout=CELL_TIMEOUT,
                kernel_name=KERNEL_NAME,
                resources={"metadata": {"path": str(run_dir)}},
                record_timing=False,
                store_widget_state=False,
                allow_errors=False,
            )
            try:
                client.execute(env=_kernel_env(Path(tmp)))
                break
            except RuntimeError as exc:
                # a kernel that dies while starting (seen on a loaded machine: a TCP port taken
                # between choosing and binding it) is retried; an error in a cell is not.
                if "before replying to kernel_info" not in str(exc) or attempt == KERNEL_START_ATTEMPTS:
                    raise
        _check_no_paths(nb, module_id, [str(Path(tmp).resolve()), str(ROOT), str(Path.home())])
    nb.metadata["kernelspec"] = dict(_KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        # A widget view names a random model id, and the model is not saved: keep only the
        # plain-text fallback, so the built notebook is byte-stable and reads without a kernel.
        for output in cell.get("outputs", []):
            if output.get("data", {}).pop(WIDGET_VIEW, None) is not None and not output["data"]:
                output["data"]["text/plain"] = "(an interactive widget: run the cell to see it)"
        if "outputs" in cell:
            cell.outputs = merge_streams(cell.outputs)
    return nb


def merge_streams(outputs: list) -> list:
    """Consecutive stream outputs of one stream as one: how a kernel chunks prints is timing, not content.

    >>> from nbformat.v4 import new_output
    >>> outs = merge_streams([new_output("stream", name="stdout", text="a\\n"), new_output("stream", name="stdout", text="b\\n")])
    >>> len(outs), outs[0].text
    (1, 'a\\nb\\n')
    """
    merged: list = []
    for output in outputs:
        last = merged[-1] if merged else None
        if (output.get("output_type") == "stream" and last is not None and last.get("output_type") == "stream"
                and last.get("name") == output.get("name")):
            last["text"] = "".join(last["text"]) + "".join(output["text"])
        else:
            merged.append(output)
    return merged


def _check_no_paths(nb: NotebookNode, module_id: str, paths: list[str]) -> None:
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            blob = json.dumps(output)
            for path in paths:
                if path and path != "/" and path in blob:
                    raise RuntimeError(
                        f"{module_id}: cell {cell.get('id')} prints an absolute path ({path}); "
                        "outputs must be machine independent"
                    )


def _scratch_dir(scratch: Path | None) -> Path:
    folder = Path(scratch) if scratch else SCRATCH
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# ----------------------------------------------------------------------------- driver
def build(out: Path | None = None, modules: list[str] | None = None, *, quiet: bool = False) -> dict[str, float]:
    """Write `out/exercises/<m>/<m>.ipynb` and `out/solutions/<m>/<m>.ipynb`; returns seconds per module."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    out = Path(out) if out else ROOT
    timings: dict[str, float] = {}
    selected = modules or MODULES
    workers = max(1, min(len(selected), os.cpu_count() or 1))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for module_id, seconds in pool.map(_build_one, selected, [out] * len(selected)):
            timings[module_id] = seconds
            if not quiet:
                print(f"built {module_id}: exercises/ and solutions/ ({seconds:.1f} s)")
    if (out / "exercises").is_dir():
        from .coursemap import write_course_map

        # the learner's way in: JupyterLab opens on it (coursekit.lab)
        path = write_course_map(out / "exercises")
        if not quiet:
            print(f"wrote {path.relative_to(out)}: the course map")
    return timings


def _build_one(module_id: str, out: Path) -> tuple[str, float]:
    start = time.perf_counter()
    exercise = exercise_notebook(module_id)
    solution = solution_notebook(module_id)
    _write(exercise, out / "exercises" / module_id / f"{module_id}.ipynb")
    _write(solution, out / "solutions" / module_id / f"{module_id}.ipynb")
    return module_id, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursekit.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="root to build into (default: the repository)")
    parser.add_argument("--only", action="append", choices=MODULES, help="build only this module (repeatable)")
    parser.add_argument(
        "--instructor",
        type=Path,
        metavar="DIR",
        help="write an nbgrader course folder (source/ + nbgrader_config.py) to DIR and stop",
    )
    args = parser.parse_args(argv)
    if args.instructor:
        dest = write_instructor_course(args.instructor, args.only)
        print(f"nbgrader course folder ready in {dest}; see course/INSTRUCTORS.md")
        return 0
    build(args.out, args.only)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
