"""Rebuild the notebook to run from the instructor source, taking only the
learner's answer cells (matched by nbgrader ``grade_id``).

Deleted, duplicated or edited locked and test cells therefore change nothing;
what was restored is written down for the feedback. Nothing here runs learner
code.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .source import ModuleSpec

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024


@dataclass
class Reconstruction:
    answers: dict[str, str] = field(default_factory=dict)  # grade_id -> learner source
    untouched: set[str] = field(default_factory=set)  # answer ids still holding the starter code
    missing: set[str] = field(default_factory=set)  # answer ids absent from the learner's notebook
    notes: list[str] = field(default_factory=list)  # what the grader restored or ignored
    unreadable: str | None = None  # why the notebook could not be read


def _src(cell) -> str:
    s = cell.get("source", "") if isinstance(cell, dict) else ""
    return "".join(s) if isinstance(s, list) else str(s)


def _gid(cell) -> str | None:
    md = cell.get("metadata") if isinstance(cell, dict) else None
    nbg = md.get("nbgrader") if isinstance(md, dict) else None
    gid = nbg.get("grade_id") if isinstance(nbg, dict) else None
    return gid if isinstance(gid, str) else None


def read_learner_notebook(path: Path | None) -> tuple[list | None, str | None]:
    if path is None:
        return None, "no notebook in the module folder"
    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            return None, f"the file is {size / 1e6:.0f} MB (limit {MAX_NOTEBOOK_BYTES // 2**20} MB)"
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
            return None, "it is JSON but not a Jupyter notebook (no list of cells)"
        import nbformat

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
        return list(nb.cells), None
    except UnicodeDecodeError as exc:
        return None, f"it is not UTF-8 text ({exc.reason} at byte {exc.start})"
    except json.JSONDecodeError as exc:
        return None, f"it is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    except Exception as exc:  # noqa: BLE001 - any reader failure is the learner's file
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"


def reconstruct(spec: ModuleSpec, path: Path | None) -> Reconstruction:
    rec = Reconstruction()
    cells, why = read_learner_notebook(path)
    if cells is None:
        rec.unreadable = why
        return rec

    by_id: dict[str, list] = {}
    anonymous_code = 0
    published = {t for c in spec.cells if c.grade_id is None for t in (c.source.strip(), c.released.strip())}
    for cell in cells:
        gid = _gid(cell)
        if gid is None:
            if cell.get("cell_type") == "code" and _src(cell).strip() and _src(cell).strip() not in published:
                anonymous_code += 1
            continue
        by_id.setdefault(gid, []).append(cell)

    for sc in spec.cells:
        if sc.grade_id is None:
            continue
        found = by_id.get(sc.grade_id, [])
        if len(found) > 1:
            rec.notes.append(f"Your notebook has {len(found)} cells with id `{sc.grade_id}`; "
                             "the grader used the first one." if sc.role in ("answer", "manual") else
                             f"Your notebook has {len(found)} copies of the cell `{sc.grade_id}`; "
                             "the grader ran the original once.")
        if sc.role in ("answer", "manual"):
            if not found:
                rec.missing.add(sc.grade_id)
                rec.notes.append(f"The answer cell `{sc.grade_id}` is missing from your notebook "
                                 "(deleted, or its metadata was lost); it counts as not attempted.")
                continue
            text = _src(found[0])
            rec.answers[sc.grade_id] = text
            if text.strip() == sc.released.strip():
                rec.untouched.add(sc.grade_id)
        elif sc.role in ("test", "setup"):
            what = "test cell" if sc.role == "test" else "locked cell"
            if not found:
                rec.notes.append(f"The {what} `{sc.grade_id}` was deleted from your notebook; "
                                 "the grader ran the original.")
            elif _src(found[0]).strip() not in (sc.released.strip(), sc.source.strip()):
                rec.notes.append(f"The {what} `{sc.grade_id}` was edited in your notebook; "
                                 "the grader ran the original.")
    if anonymous_code:
        rec.notes.append(f"{anonymous_code} code cell(s) you added outside the answer cells were not run; "
                         "only answer cells are graded, so keep your code in them.")
    return rec
