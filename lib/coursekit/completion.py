"""A completion summary a learner can keep: one self-contained HTML page from their progress.

Per module: its title, what the learner built there (the course says, per module), how many of
its hands-on questions pass, whether its written answers are in (never a score: a person reads
those), and the learner's before/after figures (:mod:`coursekit.figures`), each saying where it came from.

:func:`write_completion_summary` writes ``completion-summary.html`` beside the progress file
(``$COURSEKIT_SUMMARY`` overrides the path) and returns the path. Nothing here knows any course.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from .display import esc
from .figures import load_figures
from .progress_store import DONE, ProgressStore, progress_path
from .questions import Module, all_modules

__all__ = ["completion_html", "summary_path", "write_completion_summary"]


def summary_path() -> Path:
    env = os.environ.get("COURSEKIT_SUMMARY")
    return Path(env).expanduser() if env else progress_path().with_name("completion-summary.html")


def _fmt(v: Any, unit: str) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        text = f"{v:,.3g}" if abs(v) < 100 else f"{v:,.0f}"
    else:
        text = f"{v:,}" if isinstance(v, int) else str(v)
    return f"{text} {unit}".strip()


def _no_figures_yet(mod: Module) -> str:
    """What a module without figures says: which checks would measure the learner's code, if any.

    >>> from coursekit.questions import Question
    >>> _no_figures_yet(Module(id="m", title="M", questions=[Question(id="q", title="Q", figures=lambda ns: [])]))
    'No figures yet: they are measured from your own code when check("q") passes.'
    """
    measured = [f'check("{q.id}")' for q in mod.questions if q.figures is not None]
    if not measured:
        return "No figures recorded for this module yet."
    return f"No figures yet: they are measured from your own code when {' or '.join(measured)} passes."


def completion_html(
    modules: Sequence[Module],
    progress: Mapping[str, Mapping[str, Mapping[str, Any]]],
    figures: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    course_title: str = "Course",
    built: Mapping[str, str] | None = None,
    closing: str = "",
    learner_note: str = "",
) -> str:
    """The page as a string. ``built``: per module id, one sentence on what the learner built."""
    built = built or {}
    rows = []
    for mod in modules:
        done = progress.get(mod.id, {})
        code = [q for q in mod.questions if q.kind == "code"]
        written = [q for q in mod.questions if q.kind != "code"]
        passed = sum(1 for q in code if done.get(q.id, {}).get("status") == "passed")
        answered = sum(1 for q in written if done.get(q.id, {}).get("status") in DONE)
        status = []
        if code:
            status.append(f"{passed} of {len(code)} hands-on question{'s' if len(code) != 1 else ''} passing")
        if written:
            status.append(f"{answered} of {len(written)} written answer{'s' if len(written) != 1 else ''} in "
                          "(read by a person, not scored here)")
        order = {qid: i for i, qid in enumerate(mod.question_ids)}  # figures in course order of their questions
        figs = sorted(figures.get(mod.id, []), key=lambda f: order.get(f.get("question"), len(order)))
        fig_rows, said = [], None
        for f in figs:  # where the numbers came from, once for each run of figures from one source
            source = str(f.get("source") or "not stated")
            fig_rows.append(
                f"<tr><td>{esc(str(f.get('name', '')))}</td><td class='n'>{esc(_fmt(f.get('before'), f.get('unit', '')))}</td>"
                f"<td class='n'>{esc(_fmt(f.get('after'), f.get('unit', '')))}</td><td class='note'>{esc(str(f.get('note', '')))}</td>"
                f"<td class='src'>{esc(source) if source != said else ''}</td></tr>")
            said = source
        fig_table = (f"<table class='figs'><tr><th>figure</th><th>before</th><th>after</th><th></th><th>from</th></tr>"
                     f"{''.join(fig_rows)}</table>"
                     if figs else f"<p class='note'>{esc(_no_figures_yet(mod))}</p>")
        complete = (not code or passed == len(code)) and (not written or answered == len(written))
        rows.append(
            f"<section class='{'done' if complete else 'open'}'><h2>{esc(mod.id)} · {esc(mod.title)}</h2>"
            f"<p>{esc(built.get(mod.id, ''))}</p><p class='status'>{esc('; '.join(status) or 'no questions')}</p>"
            f"{fig_table}</section>")
    today = _dt.date.today().isoformat()
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(course_title)}: completion summary</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:52em;margin:2em auto;padding:0 1em;color:#1f2328}"
        "section{border-left:4px solid #d0d7de;padding:0 1em;margin:1.2em 0}section.done{border-color:#1a7f37}"
        "h2{font-size:1.05em;margin-bottom:.2em}.status{color:#57606a;font-size:.92em}"
        "table.figs{border-collapse:collapse;font-size:.92em}th,td{padding:2px 10px;text-align:left}"
        "td.n{text-align:right;font-variant-numeric:tabular-nums}.note,.src{color:#57606a;font-size:.88em}"
        ".src{font-style:italic}"
        "</style></head><body>"
        f"<h1>{esc(course_title)}</h1><p class='note'>Completion summary, generated {esc(today)} from your progress "
        f"file. {esc(learner_note)}</p>{''.join(rows)}"
        f"{'<p>' + esc(closing) + '</p>' if closing else ''}</body></html>"
    )


def write_completion_summary(
    path: str | os.PathLike[str] | None = None,
    *,
    course_title: str = "Course",
    built: Mapping[str, str] | None = None,
    figures: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    closing: str = "",
    store: ProgressStore | None = None,
) -> Path:
    """Write the page (default :func:`summary_path`) and return where it went."""
    target = Path(path) if path is not None else summary_path()
    page = completion_html(
        all_modules(), (store or ProgressStore()).load(), load_figures() if figures is None else figures,
        course_title=course_title, built=built, closing=closing,
        learner_note="Reflective answers are listed as written, never scored.")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    return target
