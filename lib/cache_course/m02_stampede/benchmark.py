"""Question `benchmark` (module 02): graded with the reference Singleflight and stale-while-revalidate."""

from __future__ import annotations

from typing import Callable

from coursekit.questions import Question, expect, expect_true

from ..lab import need as _need, reference_parts
from ..variants import learner_seed
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
    assert_benchmark_rows(_need(ns, "benchmark", "function"), learner_seed("02_stampede", reference=3))


def check_benchmark_numbers(ns: dict) -> None:
    """the numbers are the simulation's, for this seed"""
    assert_benchmark_numbers(_need(ns, "benchmark", "function"), learner_seed("02_stampede", reference=3))


#: the table `plot_benchmark` is checked with: distinct numbers, so each series can be recognised
FIGURE_ROWS = [
    {"cache": "naive", "db_calls": 1500, "p50": 0.05, "p99": 2.0},
    {"cache": "stale-while-revalidate", "db_calls": 280, "p50": 0.002, "p99": 0.25},
]


def _panel_values(ax) -> list[float]:
    """The numbers one panel shows: bar heights (widths for horizontal bars), line and point y's."""
    import numpy as np
    from matplotlib.patches import Rectangle

    values: list[float] = []
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    horizontal = bool(bars) and all(b.get_x() == 0 and b.get_width() != 0 for b in bars) and not all(
        b.get_y() == 0 for b in bars)
    values += [float(b.get_width() if horizontal else b.get_height()) for b in bars]
    for line in ax.lines:
        values += [float(v) for v in np.asarray(line.get_ydata(), dtype=float).ravel()]
    for coll in ax.collections:
        offsets = np.asarray(coll.get_offsets(), dtype=float)
        if offsets.ndim == 2 and offsets.shape[1] == 2:
            values += [float(v) for v in offsets[:, 1]]
    return values


def _shows(values: list[float], wanted: list[float]) -> bool:
    return all(any(abs(v - w) <= 1e-6 * max(1.0, abs(w)) for v in values) for w in wanted)


def assert_benchmark_figure(fn: Callable) -> None:
    """plot_benchmark(rows): database calls on one panel, p99 on another, one bar per cache."""
    import matplotlib
    import matplotlib.pyplot as plt

    rows = [dict(r) for r in FIGURE_ROWS]
    fig = fn(rows)
    expect_true("plot_benchmark(rows) returns", isinstance(fig, matplotlib.figure.Figure),
                "Return the matplotlib Figure (e.g. `fig, axes = plt.subplots(1, 2)` ... `return fig`).",
                expected="a matplotlib Figure", got=type(fig).__name__)
    try:
        panels = [v for v in (_panel_values(ax) for ax in fig.axes) if v]
    finally:
        plt.close(fig)
    calls = [r["db_calls"] for r in FIGURE_ROWS]
    p99s = [r["p99"] for r in FIGURE_ROWS]
    with_calls = [i for i, v in enumerate(panels) if _shows(v, calls)]
    with_p99 = [i for i, v in enumerate(panels) if _shows(v, p99s) or _shows(v, [x * 1000 for x in p99s])]
    table = "for rows with db_calls 1500 and 280, p99 2.0 s and 0.25 s"
    drawn = "; ".join(f"panel {i + 1}: " + ", ".join(f"{x:g}" for x in v[:6]) for i, v in enumerate(panels)) or "none"
    expect_true("panels with data in the figure", len(panels) >= 2,
                "The task asks for two panels: database calls on one side, p99 on the other "
                "(`fig, (calls_ax, p99_ax) = plt.subplots(1, 2)`).",
                expected="2 (database calls, p99)", got=len(panels))
    expect_true("a panel with one bar per cache for the database calls", bool(with_calls),
                f"No panel shows the database calls ({table}): draw `[r['db_calls'] for r in rows]`, one bar "
                "per cache.", expected="bars at 1500 and 280", got=drawn)
    apart = any(i != j for i in with_p99 for j in with_calls)  # p99 on the other side, not the calls panel
    expect_true("a panel with one bar per cache for p99", apart,
                f"No panel besides the database calls' shows p99 ({table}): draw `[r['p99'] for r in rows]` (seconds, or ×1000 for "
                "milliseconds) on the other side, not p50.", expected="bars at 2.0 and 0.25 (or 2000 and 250 ms)",
                got=drawn)


def check_benchmark_figure(ns: dict) -> None:
    """plot_benchmark(rows) draws database calls on one side and p99 on the other, one bar per cache"""
    assert_benchmark_figure(_need(ns, "plot_benchmark", "function"))


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
