"""The course map: the page JupyterLab opens on, generated from the learner notebooks.

One section per module, in order: its title (a link that opens the notebook), its story
beat, an estimated time, and each task with its points and who grades it. Everything
comes from the notebooks themselves, so the map cannot drift from them:

* **title** — the notebook's first ``# `` heading;
* **beat** — ``metadata.coursekit.beat`` when the course source sets it, else the first
  paragraph under the title (with the reviewer's quote when the paragraph introduces one);
* **minutes** — ``metadata.coursekit.minutes`` when set, else an estimate from the tasks
  (:func:`estimate_minutes`), shown as "about";
* **tasks** — the nbgrader answer cells (``solution: true``), named after the ``##``
  heading above them; points from the graded cell (the answer cell for written answers,
  ``test_<id>`` for code).

``python -m coursekit.coursemap exercises`` writes ``exercises/README.md``;
:mod:`coursekit.lab` opens JupyterLab on it, rendered, when it exists.

>>> m = ModuleEntry("02_x", "02 · X", "02_x/02_x.ipynb", "A beat.", 30, True,
...                 [Task("a", "Task A", 4, "autograder"), Task("b", "Reply", 3, "a person")])
>>> print(course_map([m]).split("\\n## ", 1)[1])
[02 · X](02_x/02_x.ipynb)
<BLANKLINE>
*30 minutes · 7 points (3 read by a person)*
<BLANKLINE>
A beat.
<BLANKLINE>
- Task A — `a`: 4 points, autograder
- Reply — `b`: 3 points, a person
<BLANKLINE>
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

__all__ = ["ModuleEntry", "Task", "course_map", "estimate_minutes", "read_module", "write_course_map"]

MAP_NAME = "README.md"
MINUTES_PER = {"autograder": 8, "a person": 10, "practice": 3}
READING_MINUTES = 10


@dataclass(frozen=True)
class Task:
    id: str
    title: str
    points: float
    graded_by: str  # "autograder", "a person" or "practice" (no points)


@dataclass(frozen=True)
class ModuleEntry:
    id: str
    title: str
    path: str  # relative to the map, with forward slashes
    beat: str
    minutes: int
    minutes_given: bool  # False: estimated
    tasks: list[Task] = field(default_factory=list)


def estimate_minutes(tasks: Iterable[Task]) -> int:
    """Reading time plus a few minutes a task, rounded up to 5.

    >>> estimate_minutes([Task("a", "A", 4, "autograder"), Task("b", "B", 3, "a person")])
    30
    """
    total = READING_MINUTES + sum(MINUTES_PER.get(t.graded_by, 8) for t in tasks)
    return -(-total // 5) * 5


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(src)


def _first_beat(markdown: str, limit: int = 320) -> str:
    """The first paragraph under the title, joined with the quote it introduces, trimmed to sentences."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", markdown) if p.strip()]
    paragraphs = [p for p in paragraphs if not p.startswith("#")]
    if not paragraphs:
        return ""
    beat = " ".join(line.strip() for line in paragraphs[0].splitlines())
    if beat.endswith(":") and len(paragraphs) > 1 and paragraphs[1].startswith(">"):
        quote = " ".join(line.lstrip("> ").strip() for line in paragraphs[1].splitlines())
        beat = f"{beat} {quote}"
    if len(beat) <= limit:
        return beat
    sentences = re.split(r"(?<=[.?!])\s+", beat)
    out = ""
    for sentence in sentences:
        if len(out) + len(sentence) + 1 > limit:
            break
        out = f"{out} {sentence}".strip()
    out = out or beat[:limit].rsplit(" ", 1)[0]
    # an unclosed *emphasis* would swallow the rest of the page
    return out + ("*" if out.count("*") % 2 else "") + " …"


def read_module(notebook: Path, root: Path) -> ModuleEntry:
    """The map entry of one learner notebook (nbformat 4 JSON)."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    cells = nb.get("cells", [])
    meta = (nb.get("metadata") or {}).get("coursekit") or {}
    title, beat, heading = notebook.stem, "", ""
    graded: dict[str, tuple[float, bool]] = {}  # grade_id -> (points, the cell is also the answer)
    answers: list[tuple[str, str]] = []  # (grade_id, heading above it)
    for cell in cells:
        text = _source(cell)
        if cell.get("cell_type") == "markdown":
            first = re.search(r"^#\s+(.+)$", text, re.M)
            if first and title == notebook.stem:
                title = first.group(1).strip()
                beat = _first_beat(text[first.end():])
            sub = re.findall(r"^##\s+(.+)$", text, re.M)
            if sub:
                heading = sub[-1].strip()
            continue
        ng = (cell.get("metadata") or {}).get("nbgrader") or {}
        gid = ng.get("grade_id")
        if not gid:
            continue
        if ng.get("grade"):
            graded[gid] = (float(ng.get("points", 0) or 0), bool(ng.get("solution")))
        if ng.get("solution"):
            answers.append((gid, heading))
    tasks = []
    for gid, head in answers:
        points, written = graded.get(gid) or graded.get(f"test_{gid}") or (0.0, False)
        graded_by = "practice" if not points else "a person" if written and gid in graded else "autograder"
        label = re.sub(r"^\d+\s*·\s*", "", head) or gid
        tasks.append(Task(gid, label, points, graded_by))
    minutes = meta.get("minutes")
    return ModuleEntry(
        id=notebook.stem,
        title=title,
        path=notebook.relative_to(root).as_posix(),
        beat=str(meta.get("beat") or beat),
        minutes=int(minutes) if minutes else estimate_minutes(tasks),
        minutes_given=bool(minutes),
        tasks=tasks,
    )


def _points(x: float) -> str:
    n = int(x) if float(x).is_integer() else x
    return f"{n} point{'' if n == 1 else 's'}"


def course_map(modules: Sequence[ModuleEntry], title: str = "Cache Under Pressure — course map") -> str:
    """The map as Markdown (JupyterLab renders it; links open the notebooks)."""
    total_points = sum(t.points for m in modules for t in m.tasks)
    total_minutes = sum(m.minutes for m in modules)
    hours = f"{total_minutes / 60:.1f}".rstrip("0").rstrip(".")
    out = [
        f"# {title}",
        "",
        f"{len(modules)} modules, about {hours} hours, {_points(total_points)}. One engineer, one caching "
        "change, from a draft pull request to the incident review. Work through the modules in order: "
        "click a title to open its notebook, then run its cells top to bottom (Shift+Enter).",
        "",
        "In every notebook `check(\"id\")` tells you what was expected and what came back, `hint(\"id\")` "
        "gives the next hint, `reveal(\"id\")` shows the reference answer once you pass, and `progress()` "
        "lists what passes so far. Tasks marked *a person* are written answers: `check` asks you questions "
        "about them and your instructor grades them.",
        "",
    ]
    for m in modules:
        manual = sum(t.points for t in m.tasks if t.graded_by == "a person")
        pts = sum(t.points for t in m.tasks)
        time = f"{m.minutes} minutes" if m.minutes_given else f"about {m.minutes} minutes"
        summary = _points(pts) if pts else "practice only, no points"
        if manual:
            summary += f" ({int(manual) if float(manual).is_integer() else manual} read by a person)"
        out += [f"## [{m.title}]({m.path})", "", f"*{time} · {summary}*", ""]
        if m.beat:
            out += [m.beat, ""]
        for t in m.tasks:
            how = "practice, no points" if t.graded_by == "practice" else f"{_points(t.points)}, {t.graded_by}"
            out.append(f"- {t.title} — `{t.id}`: {how}")
        out.append("")
    return "\n".join(out)


def modules_in(folder: Path) -> list[ModuleEntry]:
    """Every ``<folder>/<module>/<module>.ipynb``, in module order."""
    books = sorted(p for p in folder.glob("*/*.ipynb") if p.stem == p.parent.name)
    return [read_module(p, folder) for p in books]


def write_course_map(folder: Path) -> Path:
    """Write ``<folder>/README.md`` from the notebooks under ``folder``; returns its path."""
    target = folder / MAP_NAME
    target.write_text(course_map(modules_in(folder)), encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0] if args else "exercises")
    print(f"wrote {write_course_map(folder)}")


if __name__ == "__main__":
    main()
