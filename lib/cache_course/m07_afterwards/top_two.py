"""Question `top_two` (module 07): pick the two changes that matter most, and say why with your own figures.

Graded on consistency with the learner's own measurements (the what-if table of *their* incident,
computed with the course's replay so these points do not depend on the `what_if` answer), not
on one fixed answer.
"""

from __future__ import annotations

import re

from coursekit.questions import Question, expect_true

from ..lab import need as _need
from .lab import REMEDIATIONS, as_happened_row, load_incident, reference_table

#: Words that name each remediation in prose.
ALIASES = {
    "wait_threshold": ("wait_threshold", "wait threshold", "threshold"),
    "bounded_refresh": ("bounded_refresh", "bounded refresh", "refresh concurrency", "per-key", "per key"),
    "prewarm_on_deploy": ("prewarm_on_deploy", "pre-warm", "prewarm", "pre-warming", "prewarming", "warm"),
    "runbook_with_owners": ("runbook_with_owners", "runbook", "owners"),
    "canary_slo_alerts": ("canary_slo_alerts", "canary", "slo alert", "burn-rate", "burn rate", "alerts"),
}
#: Columns on which a remediation can matter, and which direction is better.
MEASURES = {
    "user_minutes_avoided": "more",
    "db_calls": "fewer",
    "db_peak_qps": "lower",
    "time_to_detect_min": "sooner",
    "time_to_mitigate_min": "sooner",
}
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")


#: A difference that matters: 5% of the incident's user-minutes, 5% fewer database calls or a 5% lower
#: peak, half a minute sooner.
MATERIAL_SHARE, MATERIAL_MINUTES = 0.05, 0.5


def _material(col: str, v, base: dict) -> bool:
    b = base[col]
    if col == "user_minutes_avoided":
        return v > 0 and v >= MATERIAL_SHARE * base["user_minutes_over_slo"]
    if b is None:
        return True  # as it happened it was never detected or mitigated: any time is better
    if MEASURES[col] == "sooner":
        return v <= b - MATERIAL_MINUTES
    return v <= (1 - MATERIAL_SHARE) * b


def leads_on(name: str, rows: list[dict], base: dict) -> list[str]:
    """The columns on which ``name`` is first or second in the table (ties share a place) *and*
    better than the incident as it happened by a margin that matters (see ``MATERIAL_*``)."""
    mine = next(r for r in rows if r["remediation"] == name)
    out = []
    for col, better in MEASURES.items():
        v = mine[col]
        if v is None:
            continue
        vals = [r[col] for r in rows if r[col] is not None]
        strictly_better = sum(1 for x in vals if (x > v if better == "more" else x < v))
        if strictly_better < 2 and _material(col, v, base):
            out.append(col)
    return out


def _base(record) -> dict:
    row = dict(as_happened_row(record))
    row["user_minutes_over_slo"] = record.figures.user_minutes_over_slo
    return row


def _picks(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def assert_top_two_names(picks) -> None:
    """Two different names from REMEDIATIONS."""
    got = _picks(picks)
    expect_true("TOP_TWO", len(got) == 2 and len(set(map(str, got))) == 2 and all(p in REMEDIATIONS for p in got),
                f"Two different names from REMEDIATIONS: {', '.join(REMEDIATIONS)}.",
                expected="two different remediation names", got=picks)


def assert_top_two_measured(picks, code) -> None:
    """Each pick is among the two best of *your* table on at least one measurement."""
    assert_top_two_names(picks)
    record, _ = load_incident(code)
    rows, base = reference_table(record), _base(record)
    for p in _picks(picks):
        expect_true(f"a measurement where {p} is among the two best", bool(leads_on(p, rows, base)),
                    "Pick from your own table: a change that is first or second on user-minutes avoided, database "
                    "calls or peak, or time to detect or mitigate, and clearly better there than the incident as it "
                    "happened (5% fewer, or half a minute sooner). This one is not, on your incident.",
                    expected="first or second on some column, by a margin", got="not on any column")


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?;])\s+|\n\s*\n|\n\s*[-*•]\s+", text) if s.strip()]


def _quotes(sentence: str, row: dict) -> bool:
    for m in _NUMBER.finditer(sentence):
        token = m.group(0).replace(",", "")
        decimals = len(token.split(".")[1]) if "." in token else 0
        x = float(token)
        for col in MEASURES:
            v = row[col]
            if v is not None and abs(round(float(v), decimals) - x) < 1e-9:
                return True
    return False


def assert_top_two_why(picks, why, code) -> None:
    """TOP_TWO_WHY gives, for each pick, a sentence that names it and quotes one of its own figures."""
    assert_top_two_names(picks)
    expect_true("TOP_TWO_WHY", isinstance(why, str) and len(why.split()) >= 20 and "NotImplementedError" not in why,
                "Write a few sentences (at least 20 words) saying why these two.",
                expected="a few sentences", got=(why[:40] + "…") if isinstance(why, str) else type(why).__name__)
    record, _ = load_incident(code)
    rows = {r["remediation"]: r for r in reference_table(record)}
    for p in _picks(picks):
        hit = any(any(a in s.lower() for a in ALIASES[p]) and _quotes(s, rows[p]) for s in _sentences(why))
        expect_true(f"a sentence naming {p} with one of its figures from your table", hit,
                    f"Quote your own measurement for {p}: one of its numbers in the table above "
                    "(user-minutes avoided, database calls or peak, minutes to detect or mitigate), in the "
                    "sentence that names it.", expected="a figure of this row", got="none found")


def check_top_two_names(ns: dict) -> None:
    """TOP_TWO names two different remediations"""
    assert_top_two_names(_need(ns, "TOP_TWO", "pair of names"))


def check_top_two_measured(ns: dict) -> None:
    """each pick is among the two best of your own what-if table on some measurement"""
    assert_top_two_measured(_need(ns, "TOP_TWO", "pair of names"), ns.get("INCIDENT_CODE"))


TOP_TWO = Question(
    id="top_two",
    title="The two changes that matter most, by measurement",
    checks=[check_top_two_names, check_top_two_measured],
    hints=[
        "Read your table, not the story: which two rows would have spared your users the most, or found and "
        "stopped the incident soonest?",
        "A pick should lead (first or second) on at least one column of *your* table. Two picks that lead on "
        "different columns often make the strongest pair.",
        "In TOP_TWO_WHY name each pick and quote its number: 'Pre-warming on deploy avoids 105 user-minutes "
        "over the SLO, at a db peak of 14.72 queries/s' (with the numbers of your own table).",
    ],
)
