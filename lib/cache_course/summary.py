"""The course's ending: what each module built, the learner's figures, and the completion page.

The page itself is generic (:func:`coursekit.completion.write_completion_summary`); this file
says what *this* course's modules built and where their figures come from:

1. modules 00-05: one or two measured questions per module have a ``figures`` hook (beside their
   checks) that measures the learner's own passing code; ``check()`` records what it measured
   (:func:`coursekit.figures.record_figures`), labelled "your code, measured when check(…) passed";
2. for modules 06 and 07, the learner's own incident (the ``INC-…`` code) replayed: module 06 as it
   happened, module 07 with the learner's two picks in place — recorded by module 07's notebook;
3. for modules 02 and 03 only while their measured questions have not passed, the course's bench run
   with the library versions of what the learner built, labelled as such (``bench_figures``).

Every figure's ``source`` says which of these it is; the page shows it beside the numbers.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Iterable

from coursekit.completion import write_completion_summary
from coursekit.figures import Figure, load_figures, record_figures

__all__ = ["BUILT", "COURSE_TITLE", "bench_figures", "incident_figures", "write_summary"]

COURSE_TITLE = "Cache Under Pressure"

#: Per module: what the learner built there, in one sentence.
BUILT = {
    "00_orientation": "Shared a draft on purpose: the session TTL and a work-in-progress PR that says what is done, "
                      "what is not, and what to review.",
    "01_lru": "An O(1) LRU cache of user sessions, checked against a model, and its hit ratio by capacity.",
    "02_stampede": "Singleflight and stale-while-revalidate, and the benchmark that shows the stampede gone.",
    "03_hol_blocking": "A non-blocking wait threshold, bounded refresh slots, a circuit breaker with jittered "
                       "backoff, and a priority gate for critical users.",
    "04_many_servers": "Versioned entries with compare-and-set, a key schema that keeps old readers working, and "
                       "leases with fencing tokens on Redis across many app servers.",
    "05_ship_safely": "A feature flag and canary rollout, pre-warming on deploy, and SLO burn-rate alerts.",
    "06_incident": "Ran the incident: rolled back, pre-warmed, hot-fixed, wrote the apology and status replies, "
                   "and ran the checklist with named owners.",
    "07_afterwards": "A blameless post-mortem of your own incident, the two changes that matter most by "
                     "measurement, and the ask for 48 hours of remediation.",
}

CLOSING = ("The incident is closed, the fixes are measured, and the time to make them was asked for, not begged "
           "for. Keep the pause: notice the tension, one slow exhale, name the intention, then respond.")


def incident_figures(record, picks: Iterable[str]) -> tuple[list[Figure], list[Figure]]:
    """(module 06's figures as it happened, module 07's before/after with ``picks`` in place)."""
    from .m07_afterwards.lab import replay

    f = record.figures
    alerts = sum(1 for e in record.timeline if e.kind == "alert" and e.what.endswith("fired"))
    src = "your incident, replayed from the INC-… code of your module 06 actions"
    m06 = [
        Figure("user-minutes over the SLO", f.user_minutes_over_slo, None, "", "your incident as it happened", src),
        Figure("time to detect", f.time_to_detect_min, None, "min", "", src),
        Figure("time to mitigate", f.time_to_mitigate_min, None, "min", "", src),
        Figure("pages fired", alerts, None, "", "", src),
        Figure("worst sign-in", f.worst_wait_s, None, "s", "", src),
    ]
    from .m07_afterwards.lab import REMEDIATIONS

    picks = sorted({p for p in (picks if isinstance(picks, (list, tuple, set, frozenset)) else ()) if p in REMEDIATIONS})
    if not picks:
        return m06, [Figure("user-minutes over the SLO", f.user_minutes_over_slo, None, "", "pick your two in section 3",
                            src)]
    g = replay(record, picks).figures
    note = "after: replayed with " + " + ".join(picks)
    src = "your incident replayed: before as it happened, after with your two picks in place"
    m07 = [
        Figure("user-minutes over the SLO", f.user_minutes_over_slo, g.user_minutes_over_slo, "", note, src),
        Figure("database calls", f.db_calls, g.db_calls, "", "", src),
        Figure("p99, worst minute", f.peak_p99_s, g.peak_p99_s, "s", "", src),
        Figure("time to detect", f.time_to_detect_min, g.time_to_detect_min, "min",
               "no page fired: it stayed below the alert" if g.time_to_detect_min is None else "", src),
        Figure("time to mitigate", f.time_to_mitigate_min, g.time_to_mitigate_min, "min",
               "counted from the start when no page fired" if g.time_to_detect_min is None else "", src),
    ]
    return m06, m07


class _ThresholdCache:
    """Stale-while-revalidate with a 100 ms wait threshold (module 03's fix), on the library's Singleflight."""

    def __init__(self, loader, *, ttl: float, stale_ttl: float, wait_threshold: float) -> None:
        from swrcache import Singleflight

        from .lab import LabCache

        self._lab = LabCache(loader, ttl=ttl, stale_ttl=stale_ttl)
        self.put = self._lab.put
        self.ttl, self.stale_ttl, self.wait_threshold = ttl, stale_ttl, wait_threshold
        self._flight = Singleflight()

    async def get(self, key):
        import asyncio

        hit = self._lab.age(key)
        if hit is not None and hit[1] < self.ttl:
            return hit[0]
        if hit is not None and hit[1] < self.ttl + self.stale_ttl:
            refresh = asyncio.ensure_future(self._flight.do(key, lambda: self._lab._load(key)))
            try:
                return await asyncio.wait_for(asyncio.shield(refresh), self.wait_threshold)
            except Exception:  # the wait is over (or the refresh failed): serve stale
                refresh.add_done_callback(lambda t: t.cancelled() or t.exception())
                return hit[0]
        return await self._flight.do(key, lambda: self._lab._load(key))


def bench_figures() -> dict[str, list[Figure]]:
    """Modules 02 and 03 on the course's bench (seed 7), with the library versions of what you built."""
    from .m02_stampede.lab import STALE_TTL as S2, TTL as T2, DraftCache, ReferenceStaleWhileRevalidate, run_stampede
    from .m03_hol_blocking.lab import TTL as T3, WaitingCache, run_hol

    note = "course bench, library code"
    src = {m: f"the course's bench (seed 7) with the library's code, not yours: your own figures replace these once "
              f"check(\"{q}\") passes" for m, q in (("02_stampede", "swr"), ("03_hol_blocking", "threshold"))}
    naive = run_stampede(lambda load: DraftCache(load, ttl=T2), 7)
    swr = run_stampede(lambda load: ReferenceStaleWhileRevalidate(load, ttl=T2, stale_ttl=S2), 7)
    waiting = run_hol(lambda load: WaitingCache(load, ttl=T3), 7)
    threshold = run_hol(lambda load: _ThresholdCache(load, ttl=T3, stale_ttl=30.0, wait_threshold=0.1), 7)
    return {
        "02_stampede": [Figure("database calls", naive.db_calls, swr.db_calls, "", note, src["02_stampede"]),
                        Figure("p99", round(naive.p99 * 1000, 1), round(swr.p99 * 1000, 1), "ms", "",
                               src["02_stampede"])],
        "03_hol_blocking": [Figure("p99", round(waiting.p99 * 1000, 1), round(threshold.p99 * 1000, 1), "ms", note,
                                   src["03_hol_blocking"]),
                            Figure("database calls", waiting.db_calls, threshold.db_calls, "", "",
                                   src["03_hol_blocking"])],
    }


def write_summary(record=None, picks: Iterable[str] = (), *, path=None, with_bench: bool = True) -> Path | None:
    """Record module 06/07 figures for ``record`` (if given), fill 02/03 from the bench where nothing
    was recorded, and write the completion page; returns its path (None if the disk refused it)."""
    if record is not None:
        m06, m07 = incident_figures(record, picks)
        if "06_incident" not in load_figures():
            record_figures("06_incident", m06)
        record_figures("07_afterwards", m07)
    figures = load_figures()
    if with_bench:
        for module_id, figs in bench_figures().items():
            if module_id not in figures:
                figures[module_id] = [asdict(f) for f in figs]
    try:
        return write_completion_summary(path, course_title=COURSE_TITLE, built=BUILT, figures=figures, closing=CLOSING)
    except OSError as exc:  # a read-only disk costs the page, never the cell
        import warnings

        warnings.warn(f"could not write the completion summary: {exc}", RuntimeWarning, stacklevel=2)
        return None
