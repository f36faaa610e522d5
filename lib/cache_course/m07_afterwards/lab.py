"""Module 07's lab bench: the learner's incident (from module 06's code), what-if replays, the
pre-filled post-mortem, and the measured table every question of this module grades against.

The incident travels as a value in the notebook (the ``INC-…`` code module 06 prints, or None for
the reference incident), never as a file: grading replays it deterministically through
:func:`cache_course.incident_record.replay_incident`.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Iterable

from ..incident_record import (
    REFERENCE_ACTIONS,
    REMEDIATIONS,
    IncidentRecord,
    record_from_run,
    replay_incident,
)
from ..m06_incident.scenario import simulate
from ..variants import learner_seed

__all__ = [
    "COLUMNS", "REMEDIATIONS", "REMEDIATION_LABELS", "IncidentRecord", "ManagerRoleplay", "load_incident", "parse_code",
    "plot_what_if",
    "postmortem_template", "reference_table", "replay", "show_postmortem", "variant_incident", "what_if_display",
]

#: What each remediation is, in the story's words.
REMEDIATION_LABELS = {
    "wait_threshold": "wait threshold (~100 ms) + singleflight: a stale read waits at most 100 ms",
    "bounded_refresh": "bounded refresh concurrency per key",
    "prewarm_on_deploy": "pre-warm sensitive keys on every deploy",
    "runbook_with_owners": "a rehearsed runbook with named owners (every action 4 minutes sooner)",
    "canary_slo_alerts": "SLO burn-rate alerts on the canary, with an automatic halt",
}

#: The table's columns, in order: what each row of ``what_if_table`` holds.
COLUMNS = ("remediation", "user_minutes_avoided", "db_calls", "db_peak_qps", "time_to_detect_min",
           "time_to_mitigate_min")


_CODE = re.compile(r"INC-[A-Z2-7][A-Z2-7\s]*")


def parse_code(value) -> str | None:
    """The ``INC-…`` code inside what the learner pasted (starter text or spaces around it are fine),
    or None when there is none (nothing pasted yet: the reference incident).

    >>> parse_code("  INC-ABC2\n  DEF7\n# YOUR CODE HERE") , parse_code(None), parse_code("\n")
    ('INC-ABC2DEF7', None, None)
    """
    if not isinstance(value, str):
        return None
    m = _CODE.search(value.replace("inc-", "INC-"))
    return None if m is None else re.sub(r"\s+", "", m.group(0))


def load_incident(value: str | None) -> tuple[IncidentRecord, str]:
    """``(record, what it is)`` for what was pasted; the reference incident when there is no code, or a damaged one."""
    code = parse_code(value)
    if code is None:
        return replay(None), "the reference incident (no INC-… code pasted)"
    try:
        record = replay(code)
    except (ValueError, TypeError) as exc:
        return replay(None), f"the reference incident, because the code could not be read: {exc}"
    about = f"your incident from module 06 (variant {record.seed}, {len(record.actions)} actions)"
    mine = learner_seed("06_incident", reference=0)
    if record.seed != mine:  # a code from another learner's notebook (or another account's)
        about += f"; note: your own module-06 variant is {mine}, so this code was made by someone else's notebook"
    return record, about


@functools.lru_cache(maxsize=256)
def _replay(seed: int, actions: tuple, remediations: frozenset) -> IncidentRecord:
    return replay_incident(IncidentRecord(seed, actions, (), None, frozenset())  # type: ignore[arg-type]
                           if actions is not None else None, remediations=remediations)


def replay(record_or_code: IncidentRecord | str | None, remediations: Iterable[str] = ()) -> IncidentRecord:
    """``replay_incident`` with a memory: the same incident and remediations replay once per kernel.

    Raises what :func:`cache_course.incident_record.replay_incident` raises (ValueError for a
    damaged code or an unknown remediation).
    """
    rem = frozenset(remediations)
    unknown = sorted(rem - set(REMEDIATIONS))
    if unknown:
        raise ValueError(f"unknown remediation(s) {unknown}; known: {', '.join(REMEDIATIONS)}")
    if record_or_code is None:
        return _replay(0, REFERENCE_ACTIONS, rem)
    if isinstance(record_or_code, str):
        record_or_code = IncidentRecord.from_code(record_or_code)
    if not isinstance(record_or_code, IncidentRecord):
        raise TypeError(f"expected an IncidentRecord, an incident code or None, got {type(record_or_code).__name__}")
    return _replay(record_or_code.seed, record_or_code.actions, rem)


def variant_incident(seed: int) -> IncidentRecord:
    """The reference response played on another variant: the incidents hidden tests use."""
    if seed == 0:
        return replay(None)
    run = simulate(seed, [(a.minute, a.action, dict(a.args)) for a in REFERENCE_ACTIONS])
    return replay(record_from_run(run, REFERENCE_ACTIONS))


def _row(name: str, base, fig) -> dict[str, Any]:
    return {
        "remediation": name,
        "user_minutes_avoided": base.user_minutes_over_slo - fig.user_minutes_over_slo,
        "db_calls": fig.db_calls,
        "db_peak_qps": fig.db_peak_qps,
        "time_to_detect_min": fig.time_to_detect_min,
        "time_to_mitigate_min": fig.time_to_mitigate_min,
    }


def reference_table(record: IncidentRecord | str | None) -> list[dict[str, Any]]:
    """The course's what-if table for an incident: one row per remediation, most user-minutes avoided first."""
    base = replay(record).figures
    rows = [_row(name, base, replay(record, {name}).figures) for name in REMEDIATIONS]
    return sorted(rows, key=lambda r: -r["user_minutes_avoided"])


def as_happened_row(record: IncidentRecord | str | None) -> dict[str, Any]:
    """The incident as it happened, in the table's columns (0 user-minutes avoided)."""
    base = replay(record).figures
    return _row("as it happened", base, base)


def what_if_display(rows: list[dict], record: IncidentRecord | None = None) -> Any:
    """The table as HTML (a notebook shows it; text elsewhere)."""
    from coursekit.display import Renderable, esc

    all_rows = ([as_happened_row(record)] if record is not None else []) + list(rows)
    heads = ["what if", "user-minutes over the SLO avoided", "database calls", "db peak (queries/s)",
             "time to detect (min)", "time to mitigate (min)"]

    def fmt(v):
        return "—" if v is None else (f"{v:,}" if isinstance(v, int) else f"{v:g}")

    class Table(Renderable):
        def text(self) -> str:
            lines = [" | ".join(heads)]
            lines += [" | ".join([str(r["remediation"])] + [fmt(r[c]) for c in COLUMNS[1:]]) for r in all_rows]
            return "\n".join(lines)

        def html(self) -> str:
            th = "".join(f"<th style='text-align:left;padding:2px 8px'>{esc(h)}</th>" for h in heads)
            body = "".join(
                "<tr>" + f"<td style='text-align:left;padding:2px 8px'><code>{esc(str(r['remediation']))}</code></td>"
                + "".join(f"<td style='text-align:right;padding:2px 8px'>{esc(fmt(r[c]))}</td>" for c in COLUMNS[1:])
                + "</tr>" for r in all_rows)
            return f"<table style='border-collapse:collapse'><tr>{th}</tr>{body}</table>"

    return Table()


def plot_what_if(rows: list[dict], record: IncidentRecord | None = None, title: str | None = None):
    """Two panels: user-minutes over the SLO avoided, and the database's busiest minute, per remediation.

    Returns the figure (not registered with pyplot, like :mod:`cachesim.plots`): a notebook shows it once."""
    from cachesim.plots import _new_figure  # a Figure outside pyplot's state, rendered as PNG by Jupyter

    names = [r["remediation"] for r in rows]
    fig = _new_figure((10, 3.2))
    a, b = fig.subplots(1, 2)
    a.barh(names, [r["user_minutes_avoided"] for r in rows], color="#1a7f37")
    a.invert_yaxis()
    a.set_xlabel("user-minutes over the SLO avoided")
    b.barh(names, [r["db_peak_qps"] for r in rows], color="#0969da")
    b.invert_yaxis()
    b.set_yticklabels([])
    b.set_xlabel("database: busiest minute (queries/s)")
    if record is not None:
        b.axvline(record.figures.db_peak_qps, color="#57606a", ls="--", lw=1, label="as it happened")
        b.legend(loc="lower right", fontsize=8)
    fig.suptitle(title or "What if this had been in place?", fontsize=11)
    return fig


# --------------------------------------------------------------------------- the post-mortem


def _fmt_min(v) -> str:
    return "—" if v is None else f"{v:g} min"


def postmortem_template(record: IncidentRecord) -> str:
    """The post-mortem with what the record knows filled in: figures and the UTC timeline (Markdown)."""
    f = record.figures
    alerts = sum(1 for e in record.timeline if e.kind == "alert" and e.what.endswith("fired"))
    lines = [
        f"# Post-mortem: slow sign-ins on the user-session service ({record.timeline[0].utc[:10] if record.timeline else ''})",
        "",
        "Blameless: this document is about the system and the process, not about people.",
        "",
        "## The incident in numbers (from the replay)",
        "",
        f"* user-minutes over the SLO: **{f.user_minutes_over_slo:,}**",
        f"* worst single sign-in: **{f.worst_wait_s:g} s**; worst minute's p99: **{f.peak_p99_s:g} s**",
        f"* time to detect (page minus start): **{_fmt_min(f.time_to_detect_min)}**; "
        f"time to mitigate: **{_fmt_min(f.time_to_mitigate_min)}**",
        f"* pages fired: **{alerts}**; database calls from the start: **{f.db_calls:,}**, busiest minute "
        f"**{f.db_peak_qps:g} queries/s**",
        f"* resolved after verification: **{'yes' if f.resolved_after_verification else 'no'}** "
        f"({f.verified_minutes} healthy minutes before it was declared)",
        "",
        "## Timeline (UTC)",
        "",
        "| time (UTC) | kind | what |",
        "|---|---|---|",
    ]
    lines += [f"| {e.utc[11:19]} | {e.kind} | {e.what} |" for e in record.timeline]
    lines += ["", "## Impact", "", "*(yours)*", "", "## Contributing factors", "", "*(yours)*", "",
              "## What went well", "", "*(yours)*", "", "## Action items", "", "*(yours)*"]
    return "\n".join(lines)


def show_postmortem(record: IncidentRecord, written: str | None = None) -> Any:
    """Show the pre-filled template; with ``written`` (your sections), the whole document."""
    from IPython.display import Markdown

    text = postmortem_template(record)
    if written and "NotImplementedError" not in written:
        head = text.split("\n## Impact")[0]
        text = head + "\n\n## Impact, factors, what went well, action items (yours)\n\n" + written.strip()
    return Markdown(text)


# --------------------------------------------------------------------------- the ask, as a role-play

from coursekit.roleplay import Roleplay as _Roleplay  # noqa: E402


class ManagerRoleplay(_Roleplay):
    """coursekit's role-play, worded for a conversation with a manager instead of a code review."""

    PLACEHOLDER_REPLY = "Your reply to your manager\u2026"  # used by coursekit versions that read it
    #: The graded answer cell takes the last reply: the one message the manager asks for.
    ANSWERS = {"manager_ask": -1}

    def text(self) -> str:
        n = len(self.rounds)
        example = ", ".join(f'"my reply {i + 1}"' for i in range(n))
        out = [
            f"Role-play: a conversation with your manager, {n} turns.",
            f"Write your replies into `{self.answer_name}` as a list of strings, one per turn:",
            f"    {self.answer_name} = [{example}]",
            "",
            self.pause_prompt,
            "",
        ]
        for i, line in enumerate(self.rounds):
            out.append(f"{self.reviewer} ({i + 1} of {n}): {line}")
            if self.curveball is not None and i == self.curveball.after_round and i + 1 < n:
                out += ["", f"Interruption: {self.curveball.text}", "Pause again before you go on.", ""]
        return "\n".join(out)

    def _render(self, note: str = "") -> None:
        super()._render(note)
        if self._widgets is not None:
            n = len(self.rounds)
            self._widgets["header"].value = f"<b>Talking to your manager — turn {min(self.round + 1, n)} of {n}</b>"
