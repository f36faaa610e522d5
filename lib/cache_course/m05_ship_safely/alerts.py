"""Questions `exposition` and `slo_alerts` (module 05): reading Prometheus text, and
multiwindow multi-burn-rate alerts — helpers, visible checks, hints."""

from __future__ import annotations

from cachesim import error_rate
from cachesim.slo import BurnRateRule
from coursekit.questions import Question, expect, expect_true

from ..lab import _code_only, _source_of, need as _need
from ..variants import learner_seed
from .lab import ALERT_SCENARIOS, SLO_999, names_used, run_alert_scenario, telemetry_run

# --------------------------------------------------------------------------- exposition


def assert_exposition(good_ratio, seed: int) -> None:
    """good_ratio(text) from a seeded run's exposition equals the registry's good / all reads."""
    faults = [error_rate(at=300 + 60 * (seed % 5), duration=240, rate=0.05 + 0.01 * (seed % 3))]
    _, tel = telemetry_run(seed, faults=faults, duration=1200.0)
    snap = tel.snapshot()
    want = snap["good"] / snap["requests"]
    got = good_ratio(tel.exposition())
    expect_true(f"good_ratio(exposition) for a 20-minute run with errors (seed {seed})",
                isinstance(got, (int, float)) and abs(float(got) - want) < 1e-9,
                "Good reads are the latency histogram's bucket `le=\"0.2\"` (successful reads under 200 ms), summed "
                "over cohorts; all reads are `session_reads_total`, summed over every cohort and server. Parse the "
                "numbers from the text you are given; the hidden tests give other runs.",
                expected=round(want, 6), got=got)


def check_exposition(ns: dict) -> None:
    """good_ratio(text): good reads / all reads, parsed from a run's exposition (your variant's run)"""
    assert_exposition(_need(ns, "good_ratio", "function"), learner_seed("05_ship_safely", reference=1))


EXPOSITION = Question(
    id="exposition",
    title="Read the metrics as Prometheus serves them",
    checks=[check_exposition],
    hints=[
        "Every sample is one line: `name{labels} value`. Lines starting with `#` are help and type.",
        "Sum the values of lines starting with `session_reads_total{`, and of lines starting with "
        "`session_read_latency_seconds_bucket{` that contain `le=\"0.2\"`.",
        "`float(line.rsplit(\" \", 1)[1])` is a line's value.",
    ],
)

# --------------------------------------------------------------------------- slo_alerts

_LIBRARY = ("WORKBOOK_RULES", "workbook_rules")


def assert_rules_own(alert_rules) -> None:
    """alert_rules() writes the rules out (not cachesim.slo's WORKBOOK_RULES) and they are well formed."""
    code = _code_only(_source_of(alert_rules))
    used = [n for n in _LIBRARY if n in code or n in names_used(alert_rules)]
    expect("library rule sets alert_rules uses", used, [],
           "Write the rules yourself, as BurnRateRule(name, severity, long_window, short_window, burn_rate) — "
           "that's the exercise; the library's table is the answer key.")
    rules = list(alert_rules())
    expect_true("alert_rules() returns BurnRateRules", bool(rules) and all(isinstance(r, BurnRateRule) for r in rules),
                "Return a list of `BurnRateRule(...)`.", expected="a non-empty list of BurnRateRule",
                got=[type(r).__name__ for r in rules][:3])
    for r in rules:
        expect_true(f"rule {r.name!r}", r.severity in ("page", "ticket") and 0 < r.short_window <= r.long_window
                    and r.burn_rate > 0,
                    "severity 'page' or 'ticket'; windows in seconds with the short one no longer than the long one; "
                    "a positive burn rate.", expected="well formed", got=r)


def assert_alert_scenarios(alert_rules, seed: int, names=None) -> None:
    """Seeded scenarios (SLO 99.9% under 200 ms): each real incident pages (or tickets) within its
    stated detection time; blips and background noise stay quiet."""
    rules = list(alert_rules())
    for s in ALERT_SCENARIOS:
        if names is not None and s.name not in names:
            continue
        o = run_alert_scenario(rules, s, seed, SLO_999)
        if s.expect == "page":
            advice = ("A slow, steady burn needs a longer window pair: the workbook's 6 h / 30 min at 6x."
                      if s.lasts >= 6 * 3600 else
                      "A fast burn should page within the hour: the 1 h / 5 min pair at 14.4x (2% of a 30-day "
                      "budget in one hour).")
            expect_true(f"{s.name} (seed {seed}): minutes to the first page", o.page_after is not None
                        and o.page_after <= s.within, advice, expected=f"<= {s.within / 60:g}",
                        got=None if o.page_after is None else round(o.page_after / 60, 1))
        elif s.expect == "ticket":
            expect_true(f"{s.name} (seed {seed}): paged", not o.paged,
                        "Burning 5x the budget spends it in six days: someone should look this week, but nobody "
                        "should be woken. Is a page rule's burn rate too low?", expected=False, got=True)
            expect_true(f"{s.name} (seed {seed}): hours to the first ticket", o.ticket_after is not None
                        and o.ticket_after <= s.within,
                        "A slow burn needs a ticket: severity 'ticket', 3 d / 6 h windows at 1x.",
                        expected=f"<= {s.within / 3600:g}",
                        got=None if o.ticket_after is None else round(o.ticket_after / 3600, 1))
        else:
            first = o.timeline.first("page")
            expect_true(f"{s.name} (seed {seed}): paged", not o.paged,
                        "A page for a blip teaches people to ignore pages. Each page rule needs both windows over "
                        "the threshold: the long window (1 h or 6 h) keeps a short blip quiet.",
                        expected=False, got=f"yes, {first.rule} at {first.fired_at / 3600:.2f} h" if first else True)


def check_rules_own(ns: dict) -> None:
    """alert_rules(): your own well-formed BurnRateRules"""
    assert_rules_own(_need(ns, "alert_rules", "function"))


def check_alert_scenarios(ns: dict) -> None:
    """seeded scenarios (your variant): incidents detected in time, blips quiet"""
    assert_alert_scenarios(_need(ns, "alert_rules", "function"), learner_seed("05_ship_safely", reference=0))


SLO_ALERTS = Question(
    id="slo_alerts",
    title="Multiwindow, multi-burn-rate SLO alerts",
    checks=[check_rules_own, check_alert_scenarios],
    hints=[
        "Three rules: two pages (a fast burn and a slower one) and a ticket. Each has a long window that "
        "decides and a short one (1/12 of it) that lets the alert resolve soon after the problem stops.",
        "Burn rate 14.4 over an hour spends 2% of a 30-day budget; 6 over six hours spends 5%; 1 over three "
        "days spends 10%.",
        "`BurnRateRule(\"page-1h-5m\", \"page\", 3600, 300, 14.4)`, `BurnRateRule(\"page-6h-30m\", \"page\", "
        "6 * 3600, 1800, 6)`, `BurnRateRule(\"ticket-3d-6h\", \"ticket\", 3 * 86400, 6 * 3600, 1)`.",
    ],
)
