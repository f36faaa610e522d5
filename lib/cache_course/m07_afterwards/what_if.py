"""Question `what_if` (module 07): replay each remediation against an incident and tabulate it."""

from __future__ import annotations

import math

from coursekit.questions import Question, expect, expect_true

from ..lab import need as _need
from .lab import COLUMNS, REMEDIATIONS, reference_table, variant_incident


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    except (TypeError, ValueError):
        return False


def assert_what_if_shape(fn, seed: int) -> list:
    """``what_if_table(record)`` returns one dict per remediation with the table's columns; returns the rows."""
    record = variant_incident(seed)
    rows = fn(record)
    expect_true("type of what_if_table(record)", isinstance(rows, list) and all(isinstance(r, dict) for r in rows),
                "Return a list of dicts, one per remediation.", expected="list of dicts", got=type(rows).__name__)
    expect("remediations in the table", sorted(r.get("remediation") for r in rows), sorted(REMEDIATIONS),
           "One row for each name in REMEDIATIONS, each replayed on its own (not together).")
    for r in rows:
        missing = [c for c in COLUMNS if c not in r]
        expect(f"columns missing from the {r.get('remediation')!r} row", missing, [],
               f"Each row needs {', '.join(COLUMNS)}.")
    return rows


def assert_what_if_numbers(fn, seed: int) -> None:
    """The figures are the replay's for this incident, most user-minutes avoided first (a hard-coded table fails)."""
    record = variant_incident(seed)
    rows = assert_what_if_shape(fn, seed)
    ref = reference_table(record)
    by_name = {r["remediation"]: r for r in ref}
    for r in rows:
        want = by_name[r["remediation"]]
        for c in COLUMNS[1:]:
            advice = ("user_minutes_avoided is the incident's user_minutes_over_slo as it happened minus the same "
                      "figure with this remediation in place (positive when it helps)." if c == "user_minutes_avoided"
                      else f"Take {c} from the figures of the replay *with* this remediation in place.")
            expect_true(f"{c} for {r['remediation']} (incident variant {seed})", _same(r[c], want[c]), advice,
                        expected=want[c], got=r[c])
    expect(f"order of the rows (incident variant {seed})", [r["remediation"] for r in rows],
           [r["remediation"] for r in ref],
           "Sort by user_minutes_avoided, largest first; keep REMEDIATIONS order for ties (sorted() is stable).")


def check_what_if_shape(ns: dict) -> None:
    """what_if_table(record) has one row per remediation, with the table's columns"""
    assert_what_if_shape(_need(ns, "what_if_table", "function"), 0)


def check_what_if_numbers(ns: dict) -> None:
    """what_if_table(record) has the replay's figures for the reference incident, best first"""
    assert_what_if_numbers(_need(ns, "what_if_table", "function"), 0)


WHAT_IF = Question(
    id="what_if",
    title="What if this had been in place? One replay per remediation",
    checks=[check_what_if_shape, check_what_if_numbers],
    hints=[
        "Replay the incident once as it happened (`replay(record)`) and once per remediation "
        "(`replay(record, {name})`); compare their `.figures`.",
        "Avoided = `base.user_minutes_over_slo - fig.user_minutes_over_slo`; the other columns come straight "
        "from `fig` (the replay with the remediation).",
        "`rows.append({'remediation': name, 'user_minutes_avoided': ..., 'db_calls': fig.db_calls, ...})`, then "
        "`return sorted(rows, key=lambda r: -r['user_minutes_avoided'])`.",
    ],
)
