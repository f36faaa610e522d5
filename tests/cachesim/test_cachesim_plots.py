"""Plots render headless (Agg) with titles, units, legends, threshold and fault shading."""

import matplotlib

from cachesim import NaiveCache, SimulatedDatabase, Workload, error_rate, simulate, slowdown
from cachesim.plots import plot_compare, plot_db_load, plot_latency


def _run(ttl, name):
    db = SimulatedDatabase(latency=0.02, capacity=300, faults=[slowdown(3, 2, 10), error_rate(7, 1, 0.5)], seed=2)
    return simulate(Workload(duration=10, rate=400, keys=200, seed=2), lambda l: NaiveCache(l, ttl=ttl),
                    database=db, name=name, threshold=0.1)


def _texts(fig):
    out = []
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        leg = ax.get_legend()
        if leg is not None:
            out += [t.get_text() for t in leg.get_texts()]
    return " | ".join(out)


def test_backend_is_headless():
    assert matplotlib.get_backend().lower() == "agg"


def test_latency_plot_marks_threshold(tmp_path):
    r = _run(1.0, "ttl 1 s")
    fig = plot_latency(r)
    text = _texts(fig)
    assert "latency (ms)" in text and "threshold 100 ms" in text and "ttl 1 s" in text
    fig.savefig(tmp_path / "latency.png")


def test_db_load_plot_shades_faults(tmp_path):
    r = _run(1.0, "ttl 1 s")
    fig = plot_db_load(r)
    text = _texts(fig)
    assert "queries per second" in text and "latency x10 (3-5 s)" in text and "50% errors (7-8 s)" in text
    assert "queries in flight" in text
    fig.savefig(tmp_path / "load.png")


def test_compare_two_runs_in_one_figure(tmp_path):
    a, b = _run(1.0, "ttl 1 s"), _run(5.0, "ttl 5 s")
    fig = plot_compare([a, b], title="ttl 1 s vs 5 s")
    text = _texts(fig)
    assert "ttl 1 s:" in text and "ttl 5 s:" in text and "database calls so far" in text
    fig.savefig(tmp_path / "compare.png")
    assert (tmp_path / "compare.png").stat().st_size > 20_000
