"""What ``check()`` returns: a report of named checks, truthy iff the question passed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .display import COLORS, Box, Renderable, md_html, md_text
from .questions import Module, Question
from .rubric_engine import Feedback

__all__ = ["CheckReport", "CheckResult", "Status"]

Status = Literal["passed", "failed", "error", "not_attempted", "answered", "unknown"]


@dataclass
class CheckResult:
    """The outcome of one named check."""

    name: str
    status: Literal["passed", "failed", "error", "not_attempted"]
    message: str = ""
    advice: str = ""
    where: str | None = None


class CheckReport(Renderable):
    """What ``check()`` returns: truthy iff the question passed.

    For a reflective question ``status`` is ``"answered"`` and it is truthy when the
    rubric asks nothing more (necessary, not sufficient: your instructor grades it).
    """

    def __init__(
        self,
        question_id: str,
        status: Status,
        *,
        module: Module | None = None,
        question: Question | None = None,
        results: list[CheckResult] | None = None,
        remaining: int = 0,
        message: str = "",
        feedback: list[Feedback] | None = None,
    ) -> None:
        self.question_id = question_id
        self.status = status
        self.module = module
        self.question = question
        self.results = results or []
        self.remaining = remaining
        self.message = message
        self.feedback = feedback or []

    @property
    def passed(self) -> bool:
        """Did every check pass (or, for a reflective answer, does the rubric ask nothing more)?"""
        if self.status == "answered":
            return bool(self.feedback) and all(f.met for f in self.feedback)
        return self.status == "passed"

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"<CheckReport {self.question_id}: {self.status}>"

    # -- rendering
    def _heading(self) -> str:
        title = f"{self.question_id} — {self.question.title}" if self.question else self.question_id
        n_pass = sum(r.status == "passed" for r in self.results)
        total = n_pass + (len(self.results) - n_pass) + self.remaining
        if self.status == "passed":
            return f"{title}: the check passes" if total == 1 else f"{title}: all {total} checks pass"
        if self.status in ("failed", "error"):
            return f"{title}: {n_pass} of {total} checks pass"
        if self.status == "not_attempted":
            return f"{title}: not attempted yet"
        if self.status == "answered":
            return f"{title}: answered — graded by your instructor"
        return title

    def _detail(self) -> list[tuple[str, str]]:
        """(css status, text) lines under the heading."""
        lines: list[tuple[str, str]] = []
        if self.message:
            lines.append(("info", self.message))
        for r in self.results:
            if r.status == "passed":
                lines.append(("passed", f"✓ {r.name}"))
            elif r.status == "not_attempted":
                lines.append(("not_attempted", f"○ {r.message}"))
            else:
                icon = "✗"
                text = f"{icon} {r.name}: {r.message}" if r.message else f"{icon} {r.name}"
                lines.append((r.status, text + (f" {r.advice}" if r.advice else "")))
            if r.where:
                lines.append(("info", f"    at {r.where}"))
        if self.remaining and self.status in ("failed", "error"):
            word = "check runs" if self.remaining == 1 else "checks run"
            lines.append(("info", f"· {self.remaining} more {word} once this one passes."))
        if self.status == "passed":
            lines.append(("info", f'Want to compare? reveal("{self.question_id}") shows the reference answer.'))
        elif self.status in ("failed", "error") and self.question is not None and self.question.hints:
            lines.append(("info", f'Stuck? hint("{self.question_id}")'))
        return lines

    def text(self) -> str:
        icon = {"passed": "✓", "answered": "✎", "not_attempted": "○"}.get(self.status, "✗")
        out = [f"{icon} {md_text(self._heading())}"] + [f"  {md_text(t)}" for _, t in self._detail()]
        for i, fb in enumerate(self.feedback):
            if len(self.feedback) > 1:
                out.append(f"  Reply {i + 1}:")
            out += ["  " + line for line in fb.text().splitlines()]
        return "\n".join(out)

    def html(self) -> str:
        box_status = {"passed": "passed", "answered": "answered", "not_attempted": "not_attempted"}.get(
            self.status, "failed"
        )
        items = [f"<span style='color:{COLORS.get(s, COLORS['info'])}'>{md_html(t)}</span>" for s, t in self._detail()]
        for i, fb in enumerate(self.feedback):
            prefix = f"<b>Reply {i + 1}</b>" if len(self.feedback) > 1 else ""
            items.append(prefix + fb.html())
        return Box(box_status, self._heading(), detail_html=items).html()
