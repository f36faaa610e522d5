"""The incident record: what module 06's console produces and module 07 builds on (a contract).

An :class:`IncidentRecord` is frozen and fully determined by two things: the learner's variant
**seed** and their **actions** (virtual minute, action, arguments). Everything else — the UTC
timeline, the figures — is recomputed by replaying the incident in virtual time, so it is the
same on every machine. That is how the record travels between notebooks without files: module
06 prints an **incident code** (``INC-`` + base32 of zlib-compressed JSON of seed and actions,
about 40–120 characters) and module 07 asks the learner to paste it into one answer cell.

>>> rec = replay_incident(None)                     # None: the reference incident
>>> rec.seed, rec.is_reference
(0, True)
>>> IncidentRecord.from_code(rec.code()) == rec
True
>>> rec.figures.resolved_after_verification
True

API (module 07 relies on exactly this):

* ``IncidentRecord(seed, actions, timeline, figures)`` — frozen; ``actions`` is a tuple of
  :class:`Action` ``(minute, action, args)`` with ``args`` a tuple of ``(name, value)`` pairs;
  ``timeline`` a tuple of :class:`TimelineEntry` ``(utc, minute, kind, what)`` with ``kind`` one
  of ``"fault"``, ``"action"``, ``"alert"``, ``"metric"``; ``figures`` an :class:`IncidentFigures`.
* ``record.code()`` → the incident code; ``IncidentRecord.from_code(code)`` → the record
  (``ValueError`` with a plain message on a malformed code); ``record.is_reference``.
* ``replay_incident(record_or_code, *, remediations=frozenset())`` → an ``IncidentRecord``
  replayed with the what-if ``remediations`` in place (any of :data:`REMEDIATIONS`); the
  learner's actions are kept (``runbook_with_owners`` moves them earlier, ``canary_slo_alerts``
  adds an automatic halt). ``record_or_code`` may be a record, a code, or None (the reference).
* ``what_if(record_or_code)`` → ``{remediation or "as it happened": IncidentFigures}``.
* ``reference_incident()`` — the reference response on seed 0.

Virtual minute 0 is :data:`UTC_START` (2026-11-24 09:00:00 UTC).
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Sequence

import numpy as np

from .m06_incident.scenario import (
    ACTIONS, DURATION_MIN, MITIGATIONS, REMEDIATIONS, SLO_OBJECTIVE, SLO_THRESHOLD, IncidentRun, simulate, variant,
)

__all__ = [
    "Action", "IncidentFigures", "IncidentRecord", "REFERENCE_ACTIONS", "REMEDIATIONS", "TimelineEntry", "UTC_START",
    "VERIFY_MINUTES", "record_from_run", "reference_incident", "replay_incident", "what_if",
]

#: Virtual minute 0 of every incident, in UTC.
UTC_START = datetime(2026, 11, 24, 9, 0, 0, tzinfo=timezone.utc)
#: Minutes in a row within the SLO needed before "resolved" may be declared.
VERIFY_MINUTES = 5
_PREFIX = "INC-"
_VERSION = 1
_CODES = {a: i for i, a in enumerate(ACTIONS)}


@dataclass(frozen=True)
class Action:
    """One console action: at virtual ``minute`` (one decimal), ``action``, ``args`` as (name, value) pairs."""

    minute: float
    action: str
    args: tuple = ()

    @property
    def utc(self) -> str:
        return utc(self.minute)


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the incident timeline."""

    utc: str  # ISO 8601, e.g. "2026-11-24T09:14:40Z"
    minute: float
    kind: str  # "fault" | "action" | "alert" | "metric"
    what: str


@dataclass(frozen=True)
class IncidentFigures:
    """The incident in numbers (minutes are virtual minutes since traffic started)."""

    incident_start_min: float
    detected_at_min: float | None
    time_to_detect_min: float | None  # page alert minus incident start
    mitigated_at_min: float | None  # first rollback / wait threshold / hotfix
    time_to_mitigate_min: float | None  # first mitigation minus page (minus start if no page)
    user_minutes_over_slo: int  # distinct (user, minute) pairs with a sign-in over the threshold
    peak_p99_s: float  # worst per-minute p99
    worst_wait_s: float  # the longest single sign-in
    db_calls: int  # database calls from the incident's start to the end of the run
    db_peak_qps: float  # busiest minute, queries per second
    resolved_at_min: float | None  # when "resolve" was declared
    verified_minutes: int  # healthy minutes in a row just before the declaration (or at the end)
    resolved_after_verification: bool  # declared, and after at least VERIFY_MINUTES healthy minutes
    mitigated_before_root_cause: bool  # a mitigation came before any "investigate"

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def utc(minute: float) -> str:
    """The UTC timestamp of a virtual minute: ``utc(14.5) == '2026-11-24T09:14:30Z'``."""
    t = UTC_START + timedelta(seconds=round(float(minute) * 60))
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class IncidentRecord:
    """A frozen record of one incident: seed, actions, timeline and figures (see the module docstring)."""

    seed: int
    actions: tuple[Action, ...]
    timeline: tuple[TimelineEntry, ...]
    figures: IncidentFigures
    remediations: frozenset = frozenset()

    @property
    def is_reference(self) -> bool:
        return self.seed == 0 and self.actions == REFERENCE_ACTIONS and not self.remediations

    def code(self) -> str:
        """The incident code: ``INC-`` + base32 (no padding) of zlib-compressed JSON of seed and actions."""
        acts = [[int(round(a.minute * 10)), _CODES[a.action]] + ([dict(a.args)] if a.args else []) for a in self.actions]
        raw = json.dumps([_VERSION, self.seed, acts], separators=(",", ":")).encode()
        return _PREFIX + base64.b32encode(zlib.compress(raw, 9)).decode().rstrip("=")

    @classmethod
    def from_code(cls, code: str) -> "IncidentRecord":
        """The record of an incident code (replayed; deterministic).

        Raises:
            ValueError: not a code module 06 printed (wrong prefix, damaged or truncated text).
        """
        seed, actions = _decode(code)
        return record_from_run(simulate(seed, [(a.minute, a.action, dict(a.args)) for a in actions]), actions)

    def table(self) -> str:
        return "\n".join(f"{e.utc}  {e.kind:<6}  {e.what}" for e in self.timeline)


def _decode(code: str) -> tuple[int, tuple[Action, ...]]:
    if not isinstance(code, str) or not code.strip().upper().startswith(_PREFIX):
        raise ValueError(f"an incident code starts with {_PREFIX!r} (module 06 prints it at the end); got {code!r}")
    body = "".join(code.strip()[len(_PREFIX):].upper().split())  # a code pasted across lines still reads
    try:
        raw = zlib.decompress(base64.b32decode(body + "=" * (-len(body) % 8)))
        version, seed, acts = json.loads(raw)
        if version != _VERSION:
            raise ValueError(f"version {version}")
        actions = tuple(Action(round(int(m) / 10, 1), ACTIONS[int(c)], tuple(sorted((rest[0] if rest else {}).items())))
                        for m, c, *rest in acts)
        return int(seed), actions
    except (binascii.Error, zlib.error, ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        raise ValueError(f"this incident code is damaged or incomplete ({exc}); copy the whole line that module 06 "
                         "printed, starting with INC-") from None


def record_from_run(run: IncidentRun, actions: Sequence[Action] | None = None) -> IncidentRecord:
    """Freeze a simulated run into a record (``actions``: the learner's own, before any what-if shift)."""
    v = run.variant
    if actions is None:
        actions = tuple(Action(m, a, tuple(args)) for m, a, args in run.actions)
    start = v.incident_start_min
    page = run.detected_at_min
    mit = run.mitigated_at_min
    res = run.resolved_at_min
    inv = run.first_action({"investigate"})
    verified = run.verified_minutes(res if res is not None else DURATION_MIN)
    r = run.result
    figures = IncidentFigures(
        incident_start_min=start,
        detected_at_min=None if page is None else round(page, 2),
        time_to_detect_min=None if page is None else round(page - start, 2),
        mitigated_at_min=mit,
        time_to_mitigate_min=None if mit is None else round(mit - (page if page is not None and page <= mit else start), 2),
        user_minutes_over_slo=run.user_minutes_over_slo,
        peak_p99_s=round(float(run.minute_p99.max()), 3),
        worst_wait_s=round(run.worst_wait_s, 1),
        db_calls=int((r.db_times >= start * 60).sum()),
        db_peak_qps=round(float(run.minute_db_qps.max()), 2),
        resolved_at_min=res,
        verified_minutes=verified,
        resolved_after_verification=res is not None and verified >= VERIFY_MINUTES,
        mitigated_before_root_cause=mit is not None and (inv is None or mit < inv),
    )
    tl: list[TimelineEntry] = [
        TimelineEntry(utc(start), start, "fault", f"one database shard becomes {v.slow_factor:.0f}x slower"),
        TimelineEntry(utc(v.pause_min), v.pause_min, "fault", f"app server {v.pause_server} pauses for 150 s holding its lease"),
        TimelineEntry(utc(v.deploy_min), v.deploy_min, "fault", "an unrelated deploy empties every cache"),
    ]
    for a in run.actions:
        m, name, args = a
        extra = ", ".join(f"{k}={val}" for k, val in args)
        tl.append(TimelineEntry(utc(m), m, "action", name + (f" ({extra})" if extra else "")))
    for al in run.alerts.alerts:
        tl.append(TimelineEntry(utc(al.fired_at / 60), round(al.fired_at / 60, 2), "alert", f"{al.severity} {al.rule} fired"))
        if al.resolved_at is not None:
            tl.append(TimelineEntry(utc(al.resolved_at / 60), round(al.resolved_at / 60, 2), "alert",
                                    f"{al.severity} {al.rule} resolved"))
    worst_min = int(np.argmax(run.minute_p99))
    tl.append(TimelineEntry(utc(worst_min), worst_min, "metric", f"peak p99 {run.minute_p99[worst_min]:.1f} s"))
    i = int(np.argmax(r.latencies))
    tl.append(TimelineEntry(utc(r.times[i] / 60), round(float(r.times[i]) / 60, 2), "metric",
                            f"the longest sign-in begins: it takes {r.latencies[i]:.0f} s"))
    healthy_from = _healthy_from(run)
    if healthy_from is not None:
        tl.append(TimelineEntry(utc(healthy_from), healthy_from, "metric",
                                f"every minute from here is within the SLO ({SLO_OBJECTIVE:.1%} under {SLO_THRESHOLD * 1000:.0f} ms)"))
    tl.sort(key=lambda e: (e.minute, e.kind))
    return IncidentRecord(v.seed, tuple(actions), tuple(tl), figures)


def _healthy_from(run: IncidentRun) -> int | None:
    m = DURATION_MIN - 1
    if not run.healthy(m):
        return None
    while m > 0 and run.healthy(m - 1):
        m -= 1
    return m if m > 0 else None


#: The reference response on seed 0 (the solution's `respond`): page at minute 16.67; roll back, pre-warm, then root-cause;
#: declare resolved after five healthy minutes.
REFERENCE_ACTIONS: tuple[Action, ...] = (
    Action(18.0, "rollback"), Action(19.0, "prewarm", (("rate", 30),)), Action(22.0, "investigate"),
    Action(25.0, "resolve"),
)


def _coerce(record_or_code: "IncidentRecord | str | None") -> tuple[int, tuple[Action, ...]]:
    if record_or_code is None:
        return 0, REFERENCE_ACTIONS
    if isinstance(record_or_code, IncidentRecord):
        return record_or_code.seed, record_or_code.actions
    if isinstance(record_or_code, str):
        return _decode(record_or_code)
    raise TypeError(f"expected an IncidentRecord, an incident code (str) or None, got {type(record_or_code).__name__}")


def replay_incident(record_or_code: "IncidentRecord | str | None", *, remediations: Iterable[str] = frozenset()) -> IncidentRecord:
    """Replay an incident (deterministic), optionally with what-if ``remediations`` in place.

    Raises:
        ValueError: a malformed code, or an unknown remediation (the message lists the known ones).
        TypeError: neither a record, a code nor None.
    """
    seed, actions = _coerce(record_or_code)
    rem = frozenset(remediations)
    run = simulate(seed, [(a.minute, a.action, dict(a.args)) for a in actions], rem)
    rec = record_from_run(run, actions)
    return IncidentRecord(rec.seed, rec.actions, rec.timeline, rec.figures, rem)


def what_if(record_or_code: "IncidentRecord | str | None" = None) -> dict[str, IncidentFigures]:
    """The figures as it happened and with each remediation in place on its own."""
    out = {"as it happened": replay_incident(record_or_code).figures}
    for rem in REMEDIATIONS:
        out[rem] = replay_incident(record_or_code, remediations={rem}).figures
    return out


def reference_incident() -> IncidentRecord:
    """The reference incident: seed 0 with :data:`REFERENCE_ACTIONS`."""
    return replay_incident(None)
