"""Question `benchmark` (module 02): graded with the reference Singleflight and stale-while-revalidate."""

from __future__ import annotations

from typing import Callable

from coursekit.questions import Question, expect, expect_true

from ..lab import need as _need, reference_parts
from .lab import STALE_TTL, TTL, DraftCache, ReferenceStaleWhileRevalidate, reference_singleflight, run_stampede


# --------------------------------------------------------------------------- benchmark


def _reference_benchmark(fn: Callable):
    """``fn`` with the course's Singleflight and stale-while-revalidate: the benchmark question
    grades the benchmark, not the answers to the two questions before it."""
    return reference_parts(fn, Singleflight=reference_singleflight(),
                           StaleWhileRevalidate=ReferenceStaleWhileRevalidate)


def assert_benchmark_rows(fn: Callable, seed: int) -> list:
    """``benchmark(seed)`` returns one row per cache with db_calls, p50 and p99; returns the rows."""
    with _reference_benchmark(fn):
        rows = fn(seed)
    expect_true(f"type of benchmark({seed})", isinstance(rows, list) and all(isinstance(r, dict) for r in rows),
                "Return a list of dicts, one per cache.", expected="list of dicts", got=type(rows).__name__)
    expect(f"caches in benchmark({seed})", [r.get("cache") for r in rows], ["naive", "stale-while-revalidate"],
           "One row for the naive cache (before), one for your StaleWhileRevalidate (after), in that order.")
    for r in rows:
        missing = [k for k in ("db_calls", "p50", "p99") if k not in r]
        expect(f"keys missing from the {r.get('cache')!r} row", missing, [],
               "Each row needs 'cache', 'db_calls', 'p50' and 'p99' (seconds).")
    return rows


def assert_benchmark_numbers(fn: Callable, seed: int) -> None:
    """The numbers are the simulation's for this seed (a hard-coded table fails other seeds)."""
    rows = assert_benchmark_rows(fn, seed)
    naive = run_stampede(lambda load: DraftCache(load, ttl=TTL), seed)
    after = run_stampede(lambda load: ReferenceStaleWhileRevalidate(load, ttl=TTL, stale_ttl=STALE_TTL), seed)
    for row, ref in zip(rows, (naive, after)):
        expect(f"{row.get('cache')}: db_calls (seed {seed})", row.get("db_calls"), ref.db_calls,
               "Read `result.db_calls` from `run_stampede(...)` — don't type numbers in: the hidden tests use "
               "other seeds.")
        for key in ("p50", "p99"):
            got = row.get(key)
            ok = isinstance(got, (int, float)) and abs(float(got) - getattr(ref, key)) <= 1e-9
            expect_true(f"{row.get('cache')}: {key} in seconds (seed {seed})", ok,
                        f"Use `result.{key}` (seconds, not milliseconds).", expected=round(getattr(ref, key), 6),
                        got=got)


def check_benchmark_rows(ns: dict) -> None:
    """benchmark(seed) returns one row per cache with db_calls, p50 and p99"""
    assert_benchmark_rows(_need(ns, "benchmark", "function"), 3)


def check_benchmark_numbers(ns: dict) -> None:
    """the numbers are the simulation's, for this seed"""
    assert_benchmark_numbers(_need(ns, "benchmark", "function"), 3)


def check_benchmark_figure(ns: dict) -> None:
    """plot_benchmark(rows) draws a figure"""
    fn = _need(ns, "plot_benchmark", "function")
    import matplotlib
    import matplotlib.pyplot as plt

    rows = [
        {"cache": "naive", "db_calls": 1500, "p50": 0.0, "p99": 2.0},
        {"cache": "stale-while-revalidate", "db_calls": 280, "p50": 0.0, "p99": 0.0},
    ]
    fig = fn(rows)
    expect_true("plot_benchmark(rows) returns", isinstance(fig, matplotlib.figure.Figure),
                "Return the matplotlib Figure (e.g. `fig, axes = plt.subplots(1, 2)` ... `return fig`).",
                expected="a matplotlib Figure", got=type(fig).__name__)
    drawn = sum(len(ax.patches) + len(ax.lines) + len(ax.collections) for ax in fig.axes)
    plt.close(fig)
    expect_true("things drawn on the figure", drawn >= 2,
                "Draw the numbers: one bar (or point) per cache, for DB calls and for p99.",
                expected=">= 2 bars or points", got=drawn)


BENCHMARK = Question(
    id="benchmark",
    title="The benchmarks the reviewer asked for",
    checks=[check_benchmark_rows, check_benchmark_numbers, check_benchmark_figure],
    hints=[
        "`run_stampede(make_cache, seed)` does the simulation; `make_cache` is a function of `load`, "
        "e.g. `lambda load: NaiveCache(load, ttl=TTL)`.",
        "Each result has `.db_calls`, `.p50` and `.p99` (seconds). Build one dict per cache from them.",
        "For the figure: `fig, (left, right) = plt.subplots(1, 2)`, then `left.bar(names, db_calls)` and "
        "`right.bar(names, p99s)`, and `return fig`.",
    ],
)
