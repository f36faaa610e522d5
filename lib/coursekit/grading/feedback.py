"""feedback/<learner>/<module>.html: what passed, what did not, and what to do next.

Built only from the grader's own messages, the learner's own answers and
tracebacks of the learner's code or of visible tests. Hidden-test source and
solution code are never inputs to this module.
"""
from __future__ import annotations

import ast
import html
import re
from pathlib import Path

from ..hidden_topics import strip_solution_markers
from .score import ModuleResult, Question

ICONS = {"passed": "✔", "failed": "✘", "error": "✘", "timeout": "⏱", "not attempted": "○",
         "kernel died": "☠", "manual": "✎", "graded": "✍", "grader error": "?"}

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;
color:#1d1d1f;line-height:1.45}
h1{font-size:1.4rem;margin-bottom:.2rem} .sub{color:#555;margin-top:0}
.q{border:1px solid #ddd;border-radius:6px;padding:.6rem .9rem;margin:.8rem 0}
.q h2{font-size:1.05rem;margin:.1rem 0 .4rem} .pts{float:right;font-weight:normal;color:#444}
.passed{border-left:6px solid #2e7d32} .failed,.error,.kernel-died{border-left:6px solid #c62828}
.timeout{border-left:6px solid #ef6c00} .not-attempted{border-left:6px solid #9e9e9e}
.manual,.graded{border-left:6px solid #1565c0} .grader-error{border-left:6px solid #6a1b9a}
code{background:#f0f0f0;padding:0 .2rem;border-radius:3px}
pre{background:#f6f8fa;padding:.5rem;overflow-x:auto;font-size:.85rem;white-space:pre-wrap}
.notes{background:#fff8e1;border:1px solid #ffe082;border-radius:6px;padding:.4rem 1rem}
.comment{background:#e3f2fd;border:1px solid #90caf9;border-radius:6px;padding:.4rem 1rem;white-space:pre-wrap}
"""


def inline(text: str) -> str:
    """Escape, then show `names` as code."""
    return re.sub(r"`([^`<>]+)`", r"<code>\1</code>", html.escape(text))


def reflective_texts(answer: str | None) -> list[str] | None:
    """The strings a reflective answer cell assigns — one, or a list of them (parsed, never executed).

    >>> reflective_texts('replies = ["Thanks, fair point.", "I will add a benchmark."]')
    ['Thanks, fair point.', 'I will add a benchmark.']
    """
    if not answer:
        return None
    try:
        tree = ast.parse(answer)
    except SyntaxError:
        return None
    texts: list[str] = []
    for node in tree.body:
        value = getattr(node, "value", None)
        if not isinstance(node, (ast.Assign, ast.AnnAssign, ast.Expr)):
            continue
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            texts.append(value.value)
        elif isinstance(value, (ast.List, ast.Tuple)) and value.elts and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts):
            texts += [e.value for e in value.elts]
    return [strip_solution_markers(t) for t in texts] if texts else None


def rubric_questions(module: str, question: str, answer: str | None) -> list[str]:
    """Formative questions from coursekit's rubric for a reflective answer ([] if unavailable).

    A list answer (one reply per critique) gets its questions per reply, numbered.
    """
    texts = [t for t in reflective_texts(answer) or [] if t.strip()]
    if not texts:
        return []
    try:
        from coursekit.questions import load_module
        from coursekit.rubrics import get_rubric

        q = load_module(module).question(question)
        if not getattr(q, "rubric", None):
            return []
        rubric = get_rubric(q.rubric)
        if len(texts) == 1:
            return rubric.evaluate(texts[0]).shown
        return [f"Reply {i}: {ask}" for i, t in enumerate(texts, 1) for ask in rubric.evaluate(t).shown]
    except Exception:  # noqa: BLE001 - the rubric is optional here
        return []


def _question_html(module: str, q: Question) -> str:
    cls = q.status.replace(" ", "-")
    pts = (f"{q.score:g} / {q.max:g}" if q.score is not None else f"– / {q.max:g}") if q.max else ""
    parts = [f'<div class="q {cls}"><h2>{ICONS.get(q.status, "")} {html.escape(q.question)} '
             f'— {html.escape(q.status)}<span class="pts">{pts}</span></h2>',
             f"<p>{inline(q.message)}</p>"]
    if q.detail:
        parts.append(f"<pre>{html.escape(q.detail)}</pre>")
    for n in q.notes:
        parts.append(f'<p class="notes">{inline(n)}</p>')
    if q.comment:
        parts.append(f'<p><b>Your instructor\'s comment:</b></p><p class="comment">{html.escape(q.comment)}</p>')
    if q.status in ("manual", "graded"):
        asks = rubric_questions(module, q.question, q.answer_text)
        if asks:
            parts.append("<p>Questions to sharpen your answer before your instructor reads it:</p><ul>")
            parts += [f"<li>{html.escape(a)}</li>" for a in asks]
            parts.append("</ul>")
    parts.append("</div>")
    return "\n".join(parts)


def render(r: ModuleResult) -> str:
    manual = ""
    if r.manual_max:
        pending = f", {r.manual_pending} not graded yet (✎)" if r.manual_pending else ""
        manual = f" · graded by your instructor: <b>{r.manual_score:g} / {r.manual_max:g}</b>{pending}"
    head = (f"<h1>{html.escape(r.module)} — feedback for {html.escape(r.learner)}</h1>"
            f'<p class="sub">Autograded score: <b>{r.score:g} / {r.max:g}</b>{manual}</p>')
    body = [head]
    if r.grader_error:
        body.append(f'<p class="notes">The grader itself failed on this notebook; your instructor has been told. '
                    f"({html.escape(r.grader_error)})</p>")
    if r.notes:
        body.append('<div class="notes"><p><b>What the grader noticed in your notebook</b></p><ul>')
        body += [f"<li>{inline(n)}</li>" for n in r.notes]
        body.append("</ul></div>")
    body += [_question_html(r.module, q) for q in r.questions]
    body.append('<p class="sub">The grader rebuilds your notebook from the course source and takes only your '
                "answer cells. Each question is graded in a fresh Python kernel: the notebook's own cells and "
                "your answer cells up to that question, then its test cell as published, then its hidden "
                "tests.</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(r.module)} — {html.escape(r.learner)}</title><style>{CSS}</style></head>"
            "<body>\n" + "\n".join(body) + "\n</body></html>\n")


def pages(results: list[ModuleResult]) -> dict[str, str]:
    """``<learner>/<module>.html`` -> the page; a missing module (nothing submitted) gets none."""
    return {f"{r.learner}/{r.module}.html": render(r) for r in results if not r.missing}


def write_pages(out: Path, rendered: dict[str, str]) -> None:
    for name, page in rendered.items():
        path = out / "feedback" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")


def write_feedback(out: Path, results: list[ModuleResult]) -> None:
    write_pages(out, pages(results))
