"""simulate(): determinism, the cache protocol, deploys, servers, errors, SLOs, detection."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cachesim import (
    NaiveCache,
    RunawaySimulation,
    SimulatedDatabase,
    SimulationDeadlock,
    Workload,
    outage,
    simulate,
)
from cachesim.progress import Progress, interactive_notebook

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from cachesim_det_workload import rich_run  # noqa: E402


@pytest.fixture(scope="module")
def rich():
    return rich_run(11)


def test_same_seed_same_results_twice_in_one_process(rich):
    a, b = rich, rich_run(11)
    assert a.requests > 15_000
    assert a.to_json() == b.to_json()
    assert a.fingerprint() == b.fingerprint()
    assert np.array_equal(a.latencies, b.latencies)
    assert rich_run(12).fingerprint() != a.fingerprint()


def test_same_seed_same_results_in_other_processes(rich):
    here = rich.fingerprint()
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "cachesim_det_workload.py"), "11"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONHASHSEED=hashseed),  # different str hashes
        )
        for hashseed in ("1", "2")
    ]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outs.append(out.splitlines()[0])
    assert outs == [here, here]


def test_rich_run_exercises_everything(rich):
    r = rich
    s = r.cache_stats
    assert s["hits"] > 0 and s["stale_served"] > 0 and s["loads"] == r.db_calls
    assert r.db_errors > 0 and r.critical.any()
    assert [e[1] for e in r.fault_events] == ["slow:start", "slow:end", "errors:start", "errors:end"]
    assert [e[0] for e in r.fault_events] == [4.0, 6.0, 9.0, 11.0]
    # capacity=800: at most 800 queries start in any 1 s window (warm-up and retries included)
    q = r.db_query_times
    in_window = np.arange(len(q)) - np.searchsorted(q, q - 1.0, side="right") + 1
    assert in_window.max() <= 800


class LearnerCache:
    """What a learner might write: a dict and a lock-free load."""

    def __init__(self, load):
        self.load = load
        self.data = {}

    async def get(self, key):
        if key not in self.data:
            self.data[key] = await self.load(key)
        return self.data[key]


def test_any_object_with_async_get_can_be_simulated():
    r = simulate(Workload(duration=5, rate=100, keys=10, seed=1), LearnerCache,
                 database=SimulatedDatabase(latency=0.05))
    assert r.cache_stats is None  # no stats attribute: fine
    assert r.requests == len(r.latencies) and r.max == 0.05
    assert "LearnerCache" in repr(r)


def test_a_single_instance_wired_by_hand():
    db = SimulatedDatabase(latency=0.01)
    cache = NaiveCache(db.query, ttl=100)
    r = simulate(Workload(duration=2, rate=50, keys=3, seed=2), cache, database=db)
    assert r.db_calls == cache.stats.loads
    with pytest.raises(ValueError, match="factory"):
        simulate(Workload(duration=2, rate=50, keys=3, servers=2), cache, database=db)


class NeedsTaskCache(NaiveCache):
    async def get(self, key):
        async with asyncio.timeout(10):  # needs a current task before its first suspension
            return await super().get(key)


def test_cache_that_needs_a_current_task_still_works():
    r = simulate(Workload(duration=3, rate=100, keys=5, seed=1), lambda l: NeedsTaskCache(l, ttl=100),
                 database=SimulatedDatabase(latency=0.01))
    assert r.error_count == 0 and r.max == 0.01


def test_deploy_empties_every_cache():
    w = Workload(duration=10, rate=200, keys=5, zipf_s=0, deploys=[5.0], servers=2, seed=4)
    r = simulate(w, lambda l: NaiveCache(l, ttl=1000), database=SimulatedDatabase(latency=0.001))
    q = r.db_query_times
    # 2 servers x 5 keys before the deploy and again after it (a few double-loads allowed: naive)
    assert 10 <= (q < 5).sum() <= 14 and 10 <= (q >= 5).sum() <= 14
    assert q[(q >= 5)].min() == pytest.approx(5.0, abs=0.1)


def test_servers_have_separate_caches_sharing_one_database():
    w = Workload(duration=10, rate=300, keys=4, zipf_s=0, servers=3, seed=4)
    db = SimulatedDatabase(latency=0.0)
    r = simulate(w, lambda l: NaiveCache(l, ttl=1000), database=db)
    assert r.db_calls == 12


def test_outage_errors_are_counted_and_slo_fails():
    w = Workload(duration=10, rate=100, keys=50, seed=3)
    r = simulate(w, lambda l: NaiveCache(l, ttl=0.5), database=SimulatedDatabase(latency=0.01, faults=[outage(4, 2)]))
    assert r.error_count > 0 and r.db_errors == r.error_count
    bad = np.where(r.errors)[0]
    assert 4 <= r.times[bad].min() and r.times[bad].max() < 6
    report = r.slo(p99=0.05, error_rate=0.001)
    assert not report and "FAIL error_rate" in repr(report) and "<table>" in report._repr_html_()
    assert r.slo(p99=0.05)
    with pytest.raises(ValueError, match="p99"):
        r.slo(p99=-1)


def test_result_renders_as_table_and_text():
    r = simulate(Workload(duration=2, rate=100, keys=10, critical_fraction=0.2, seed=1),
                 lambda l: NaiveCache(l, ttl=10), database=SimulatedDatabase(latency=0.02))
    html = r._repr_html_()
    for row in ("p50", "p99", "p99.9", "max", "database calls", "critical users p99", "hits / stale / coalesced"):
        assert row in html and row in repr(r)
    assert set(r.percentiles()) == {"p50", "p90", "p99", "p99.9", "max"}


def test_percentiles_are_nearest_rank():
    r = simulate(Workload(duration=1, rate=100, keys=100, zipf_s=0, arrivals="even", seed=0),
                 lambda l: NaiveCache(l, ttl=10), database=SimulatedDatabase(latency=0.5))
    assert r.requests == 100
    # 100 requests on 100 distinct-ish keys: hits at 0, misses at 0.5 s
    assert r.max == 0.5 and r.percentile(100) == 0.5 and r.percentile(0) == r.sorted_latencies[0]


class DroppedLoadCache:
    """Waits on a load future that nothing ever completes (a classic bug)."""

    def __init__(self, load):
        self.pending = {}

    async def get(self, key):
        fut = self.pending.setdefault(key, asyncio.get_running_loop().create_future())
        return await fut


def test_a_cache_that_never_answers_is_a_deadlock_not_a_hang():
    with pytest.raises(SimulationDeadlock, match="nothing will ever complete"):
        simulate(Workload(duration=1, rate=10, keys=1), DroppedLoadCache)


class PollingCache(NaiveCache):
    async def get(self, key):
        while True:  # waits for a value nobody will ever put there
            await asyncio.sleep(0.5)


def test_a_cache_that_polls_forever_is_runaway():
    with pytest.raises(RunawaySimulation, match="max_virtual_time"):
        simulate(Workload(duration=1, rate=10, keys=1), lambda l: PollingCache(l, ttl=1), max_virtual_time=60)


@pytest.mark.parametrize(
    "kwargs, param",
    [
        (dict(workload="lots"), "workload"),
        (dict(cache=None), "cache"),
        (dict(threshold=-0.1), "threshold"),
    ],
)
def test_bad_simulate_arguments(kwargs, param):
    args = dict(workload=Workload(duration=1, rate=1), cache=lambda l: NaiveCache(l, ttl=1))
    args.update(kwargs)
    with pytest.raises(ValueError, match=param):
        simulate(args.pop("workload"), args.pop("cache"), **args)


def test_progress_is_silent_under_pytest(capsys):
    assert not interactive_notebook()
    simulate(Workload(duration=30, rate=3000, keys=100, seed=1), lambda l: NaiveCache(l, ttl=100))
    assert capsys.readouterr().out == ""


def test_text_progress_line(monkeypatch, capsys):
    import cachesim.progress as progress

    monkeypatch.setattr(progress, "SHOW_AFTER", 0.0)
    monkeypatch.setattr(progress, "REDRAW_EVERY", 0.0)
    p = Progress(total=10_000, duration=5.0, label="t", mode="text")
    simulate(Workload(duration=5, rate=2000, keys=10, seed=1), lambda l: NaiveCache(l, ttl=100), progress=p)
    out = capsys.readouterr().out
    assert "t: 10," in out and "requests" in out and out.endswith("\n")


class SyncGetCache:
    def __init__(self, load):
        pass

    def get(self, key):  # forgot `async`
        return key


def test_a_sync_get_is_a_clear_type_error():
    with pytest.raises(TypeError, match="async def get"):
        simulate(Workload(duration=1, rate=10, keys=1), SyncGetCache)


class BuggyCache:
    def __init__(self, load):
        self.load = load

    async def get(self, key):
        return self.lod(key)  # typo: every request fails


def test_request_errors_are_named_in_the_result():
    r = simulate(Workload(duration=1, rate=10, keys=1), BuggyCache)
    assert r.error_rate == 1.0
    assert r.error_kinds == {"AttributeError": r.requests}
    assert "lod" in r.first_errors["AttributeError"]
    assert f"AttributeError {r.requests}" in repr(r)


def test_counter_schema_is_cache_stats():
    from dataclasses import fields

    from swrcache import CacheStats

    from cachesim import BaselineStats
    from cachesim.simulation import STAT_FIELDS

    names = tuple(f.name for f in fields(CacheStats))
    assert STAT_FIELDS == names and "early_refreshes" in names
    assert tuple(f.name for f in fields(BaselineStats)) == names
    assert BaselineStats() == BaselineStats(**{n: 0 for n in names})
    r = simulate(Workload(duration=2, rate=100, keys=10, seed=1), lambda l: NaiveCache(l, ttl=10),
                 database=SimulatedDatabase(latency=0.01))
    assert tuple(r.cache_stats) == names and r.cache_stats["loads"] == r.db_calls
