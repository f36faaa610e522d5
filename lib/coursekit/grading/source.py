"""Instructor notebooks -> what the grader runs.

A ``ModuleSpec`` is the instructor notebook (solutions, hidden tests, nbgrader
metadata) cut into roles: cells the grader restores from the source
(``setup``, ``test``), cells it takes from the learner (``answer``, ``manual``)
and cells it ignores (markdown). Nothing here runs learner code.
"""
from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

from .errors import GradingError

if TYPE_CHECKING:  # nbformat is slow to import; the CLI's error paths do not need it
    import nbformat

from ..hidden_topics import split_hidden_regions
from .protocol import Segment


@dataclass
class SourceCell:
    index: int
    cell_type: str
    role: str  # markdown | setup | answer | manual | test
    grade_id: str | None
    points: float
    source: str  # instructor source (solution / hidden tests included)
    released: str  # what the learner was given
    segments: list[Segment] = field(default_factory=list)
    binds: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # test/manual: answer cells it grades


@dataclass
class ModuleSpec:
    module_id: str
    cells: list[SourceCell]

    @property
    def graded(self) -> list[SourceCell]:
        return [c for c in self.cells if c.role in ("test", "manual")]

    def by_id(self, grade_id: str) -> SourceCell | None:
        for c in self.cells:
            if c.grade_id == grade_id:
                return c
        return None

    @property
    def imports(self) -> list[str]:
        """Modules the instructor's own code imports (guarded against monkeypatching)."""
        return self.imports_before(None)

    def imports_before(self, test_index: int | None) -> list[str]:
        """Modules that the setup cells before test cell ``test_index`` and that test cell import
        (all of the notebook's with None): what its kernel loads before any learner code."""
        names: list[str] = []
        for c in self.cells:
            if test_index is not None and (c.index > test_index or (c.role == "test" and c.index != test_index)):
                continue
            if c.role == "setup":
                codes = [c.source]
            elif c.role == "test":
                codes = [s.code for s in c.segments]
            else:
                continue
            for code in codes:
                for name in _imported_modules(code):
                    if name not in names:
                        names.append(name)
        return names


def _src(cell) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else str(s)


def _nbg(cell) -> dict:
    md = cell.get("metadata") or {}
    n = md.get("nbgrader") or {}
    return n if isinstance(n, dict) else {}


def released_version(nb: "nbformat.NotebookNode") -> "nbformat.NotebookNode":
    """The learner version, as nbgrader's generate_assignment makes it."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    nb = copy.deepcopy(nb)
    nb, _ = ClearSolutions().preprocess(nb, {})
    nb, _ = ClearHiddenTests().preprocess(nb, {})
    return nb


def split_hidden(source: str) -> list[Segment]:
    """Cut a test cell into visible and hidden segments, run one after another.

    Falls back to one segment when the pieces do not parse on their own (hidden
    tests inside an indented block, IPython magics): such a cell is reported as
    a whole, as "hidden" if it holds any hidden test.
    """
    segs = [Segment(kind, code) for kind, code in split_hidden_regions(source)]
    try:
        for s in segs:
            ast.parse(s.code)
    except SyntaxError:
        whole = "\n".join(s.code for s in segs)
        any_hidden = any(s.kind == "hidden" for s in segs)
        return [Segment("hidden" if any_hidden else "visible", whole)] if whole.strip() else []
    return segs


def _imported_modules(code: str) -> list[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.append(node.module)
    return out


def _bound_names(code: str) -> list[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    out: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                if a.name != "*":
                    out.append((a.asname or a.name).split(".")[0])
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            out += [t.id for t in targets if isinstance(t, ast.Name)]
    return out


def module_spec(module_id: str, nb: "nbformat.NotebookNode") -> ModuleSpec:
    released = released_version(nb)
    cells: list[SourceCell] = []
    pending_answers: list[str] = []
    seen: set[str] = set()
    for i, (cell, rel) in enumerate(zip(nb.cells, released.cells)):
        meta = _nbg(cell)
        gid = meta.get("grade_id")
        solution, grade, task = bool(meta.get("solution")), bool(meta.get("grade")), bool(meta.get("task"))
        if gid and gid in seen:
            raise GradingError(f"{module_id}: the instructor notebook has two cells with grade_id {gid!r}")
        if gid:
            seen.add(gid)
        if task or (solution and grade):
            role = "manual"
        elif solution:
            role = "answer"
        elif grade and cell.cell_type == "code":
            role = "test"
        elif cell.cell_type == "code":
            role = "setup"
        else:
            role = "markdown"
        if role in ("answer", "manual") and not gid:
            raise GradingError(f"{module_id}: answer cell {i} has no nbgrader grade_id")
        sc = SourceCell(
            index=i,
            cell_type=cell.cell_type,
            role=role,
            grade_id=gid,
            points=float(meta.get("points") or 0) if role in ("test", "manual") else 0.0,
            source=_src(cell),
            released=_src(rel),
        )
        if role == "test":
            sc.segments = split_hidden(sc.source)
            sc.answers, pending_answers = pending_answers, []
        elif role == "manual":
            sc.answers = [gid]
            pending_answers = []
        elif role == "answer":
            pending_answers.append(gid)
        elif role == "setup":
            sc.binds = _bound_names(sc.source)
        cells.append(sc)
    return ModuleSpec(module_id, cells)


def _read_source_file(path: Path) -> "nbformat.NotebookNode":
    import nbformat

    if path.suffix == ".py":
        import jupytext

        return jupytext.read(path)
    return nbformat.read(path, as_version=4)


def _source_files(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for p in sorted(root.iterdir()):
        if p.is_dir() and (p / f"{p.name}.ipynb").is_file():
            found[p.name] = p / f"{p.name}.ipynb"
        elif p.suffix in (".ipynb", ".py") and p.is_file() and not p.name.startswith(("_", ".")):
            found[p.stem] = p
    return found


def module_names(source_dir: str | Path | None = None) -> list[str]:
    """The course's module ids, in order, without building any notebook."""
    if source_dir is not None:
        root = Path(source_dir)
        if not root.is_dir():
            raise GradingError(f"source directory not found: {root}")
        names = list(_source_files(root))
        if not names:
            raise GradingError(f"no instructor notebooks in {root}")
        return names
    try:
        from coursekit import build
    except Exception as exc:  # noqa: BLE001 - any import failure means a broken install
        raise GradingError(f"cannot load the course sources (coursekit.build): {exc}") from exc
    return list(build.MODULES)


def load_sources(source_dir: str | Path | None = None, only: list[str] | None = None) -> dict[str, ModuleSpec]:
    """Instructor notebooks, in course order: from ``source_dir`` (``<module>.ipynb``,
    ``<module>/<module>.ipynb`` or jupytext ``<module>.py``) or from ``coursekit.build``."""
    names = [m for m in module_names(source_dir) if only is None or m in only]
    specs: dict[str, ModuleSpec] = {}
    for m in names:
        try:
            if source_dir is not None:
                nb = _read_source_file(_source_files(Path(source_dir))[m])
            else:
                from coursekit import build

                nb = build.source_notebook(m)
        except GradingError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise GradingError(f"cannot build the instructor notebook of {m}: {exc}") from exc
        specs[m] = module_spec(m, nb)
    return specs
