"""Questions `verify` and `respond` (module 06): verification and the incident response, seeded."""

from __future__ import annotations

import math

from coursekit.questions import Question, expect, expect_true

from ..incident_record import VERIFY_MINUTES, record_from_run
from ..lab import need as _need
from ..lab import reference_parts
from ..variants import learner_seed
from .console import IncidentConsole
from .scenario import SLO_OBJECTIVE, simulate

#: Time to mitigate, from the page to the first mitigation, must be at most this (virtual minutes).
MITIGATE_WITHIN_MIN = 5.0


def my_variant() -> int:
    """This learner's incident variant (the seed of their console; 0 for the reference learner)."""
    return learner_seed("06_incident", reference=0)

# --------------------------------------------------------------------------- verify


def reference_healthy_minutes(run, at_minute):
    """The course's reference for ``healthy_minutes`` (used when another question needs it)."""
    return run.verified_minutes(at_minute)


def assert_verify(fn, seed: int, actions=(), minutes=(12, 20, 30, 40)) -> None:
    """``healthy_minutes(run, at_minute)`` counts the minutes in a row within the SLO, ending just before ``at_minute``."""
    run = simulate(seed, actions)
    for m in minutes:
        got = fn(run, m)
        want = reference_healthy_minutes(run, m)
        expect(f"healthy_minutes(run of variant {seed}, {m})", got, want,
               f"Walk back from minute {m} - 1 while `run.minute_good[minute] >= SLO_OBJECTIVE` ({SLO_OBJECTIVE}); "
               "count the minutes; stop at the first unhealthy one (or minute 0).")


def check_verify(ns: dict) -> None:
    """healthy_minutes(run, at_minute) counts the healthy minutes in a row before at_minute"""
    seed = my_variant()  # the learner's own incident, with a rollback the minute after the page's
    page = IncidentConsole(seed).page_minute() or 16.0
    assert_verify(_need(ns, "healthy_minutes", "function"), seed, [(float(math.ceil(page) + 1), "rollback", {})])


VERIFY = Question(
    id="verify",
    title="Verification: healthy minutes in a row",
    checks=[check_verify],
    hints=[
        "`run.minute_good[m]` is the share of minute m's sign-ins under 500 ms; healthy means at least SLO_OBJECTIVE.",
        "Start at `m = int(at_minute) - 1` and step back while the minute is healthy, counting; stop at minute 0.",
        "`n, m = 0, int(at_minute) - 1`\n`while m >= 0 and run.minute_good[m] >= SLO_OBJECTIVE: n, m = n + 1, m - 1`",
    ],
)

# --------------------------------------------------------------------------- respond


def assert_response(fn, seed: int) -> None:
    """``respond(console)`` mitigates within the bound before root-causing, and declares resolved only after verification."""
    console = IncidentConsole(seed)
    with reference_parts(fn, healthy_minutes=reference_healthy_minutes):  # its points depend on `respond` alone
        fn(console)
    expect_true("respond(console) added actions", bool(console.actions),
                "Call `console.act(minute, action)`: respond to the page you were given.")
    rec = record_from_run(console.run(), tuple(console.actions))
    f = rec.figures
    page = console.page_minute()
    expect_true(f"variant {seed}: a mitigation (rollback, wait_threshold or hotfix)", f.mitigated_at_min is not None,
                "Stop the harm first: roll back the flag (or switch on the wait threshold / the hotfix).",
                expected="a mitigating action", got=[a.action for a in console.actions])
    expect_true(f"variant {seed}: no action before the page", all(a.minute >= page for a in console.actions),
                "You can't act on an incident you haven't been paged for yet: read the page minute from "
                "`console.page_minute()` (the hidden tests use other variants).", expected=f"minutes >= {page}",
                got=[a.minute for a in console.actions])
    expect_true(f"variant {seed}: time to mitigate", f.time_to_mitigate_min <= MITIGATE_WITHIN_MIN,
                f"Mitigate within {MITIGATE_WITHIN_MIN:g} minutes of the page.", expected=f"<= {MITIGATE_WITHIN_MIN:g} min",
                got=f"{f.time_to_mitigate_min} min")
    expect_true(f"variant {seed}: root cause after mitigation", f.mitigated_before_root_cause and any(
        a.action == "investigate" for a in console.actions),
                "Investigate (root-cause) too, but only after the users are out of harm's way.",
                expected="mitigation, then investigate", got=[(a.minute, a.action) for a in console.actions])
    expect_true(f"variant {seed}: resolved declared", f.resolved_at_min is not None,
                "Declare the incident resolved (`resolve`) once it is verified.")
    expect_true(f"variant {seed}: verified before declaring resolved", f.resolved_after_verification,
                f"Declare resolved only after {VERIFY_MINUTES} healthy minutes in a row: run the console after "
                "mitigating and find when the minutes are healthy again.", expected=f">= {VERIFY_MINUTES} minutes",
                got=f"{f.verified_minutes} minutes before minute {f.resolved_at_min}")
    expect_true(f"variant {seed}: resolved within 10 minutes of verification",
                f.verified_minutes <= VERIFY_MINUTES + 10,
                "Don't leave the incident open long after it is verified: the users are waiting for the all-clear.",
                expected=f"<= {VERIFY_MINUTES + 10} healthy minutes before resolve", got=f.verified_minutes)


def check_respond(ns: dict) -> None:
    """respond(console): mitigation within 5 minutes of the page, before root-causing; resolved only after 5 healthy minutes"""
    assert_response(_need(ns, "respond", "function"), my_variant())


RESPOND = Question(
    id="respond",
    title="Work the incident: mitigate, verify, then declare",
    checks=[check_respond],
    hints=[
        "Mitigation before root cause: what stops the harm fastest? The canary is behind a flag.",
        "`page = console.page_minute()`; roll back a minute or two after it; pre-warm; then `investigate`.",
        "After the mitigations, `run = console.run()`; find the first minute `m` after the page with "
        "`healthy_minutes(run, m + VERIFY_MINUTES) >= VERIFY_MINUTES` and `console.act(m + VERIFY_MINUTES, 'resolve')`.",
    ],
)
