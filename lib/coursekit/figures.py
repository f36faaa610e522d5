"""The learner's own before/after figures, per module, kept beside the progress file.

A notebook records what it measured (``record_figures("03_hol_blocking", [...])``) and the
completion summary (:mod:`coursekit.completion`) shows them. The file is ``figures.json`` in the
folder of :func:`coursekit.progress_store.progress_path` (``$COURSEKIT_FIGURES`` overrides it).
Writes are atomic and never raise, like the progress file's.

>>> import os, tempfile
>>> os.environ["COURSEKIT_FIGURES"] = os.path.join(tempfile.mkdtemp(), "f.json")
>>> record_figures("03_hol", [Figure("p99", 1.9, 0.1, "s")])
>>> load_figures()["03_hol"][0]["after"]
0.1
>>> del os.environ["COURSEKIT_FIGURES"]
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

from .progress_store import progress_path

__all__ = ["Figure", "figures_path", "load_figures", "record_figures"]


@dataclass(frozen=True)
class Figure:
    """One measured figure: ``name`` (e.g. "database calls"), ``before`` and ``after``, a ``unit``;
    ``source`` says where the numbers came from (the learner's code, a replay, a course bench),
    and the completion summary shows it beside them."""

    name: str
    before: float | int | None
    after: float | int | None
    unit: str = ""
    note: str = ""
    source: str = ""


def figures_path() -> Path:
    env = os.environ.get("COURSEKIT_FIGURES")
    return Path(env).expanduser() if env else progress_path().with_name("figures.json")


def load_figures(path: str | os.PathLike[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{module_id: [figure as dict, ...]}``; empty when nothing was recorded or the file is unreadable."""
    p = Path(path) if path is not None else figures_path()
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    mods = data.get("modules") if isinstance(data, dict) else None
    return {str(k): [f for f in v if isinstance(f, dict)] for k, v in (mods or {}).items() if isinstance(v, list)}


def record_figures(module_id: str, figures: Iterable[Figure], path: str | os.PathLike[str] | None = None, *,
                   question: str | None = None) -> None:
    """Replace the module's recorded figures with ``figures``; with ``question``, only the figures
    that question recorded before (so two measured questions of one module keep each other's).
    Never raises (a warning at most).

    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "f.json")
    >>> record_figures("05", [Figure("p99", 40, 3, "ms")], target, question="prewarm")
    >>> record_figures("05", [Figure("errors", 90, 4)], target, question="judge")
    >>> record_figures("05", [Figure("p99", 40, 2, "ms")], target, question="prewarm")
    >>> [(f["question"], f["after"]) for f in load_figures(target)["05"]]
    [('judge', 4), ('prewarm', 2)]
    """
    import warnings

    p = Path(path) if path is not None else figures_path()
    data = load_figures(p)
    new = [dict(asdict(f), question=question) if question else asdict(f) for f in figures]
    kept = [f for f in data.get(module_id, []) if question and f.get("question") not in (None, question)]
    data[module_id] = kept + new
    tmp = None
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".figures-", suffix=".json", dir=p.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"version": 1, "modules": data}, fh, indent=1, sort_keys=True)
        os.replace(tmp, p)
        tmp = None
    except OSError as exc:
        warnings.warn(f"coursekit: could not save figures to {p}: {exc}", RuntimeWarning, stacklevel=2)
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
