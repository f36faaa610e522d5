"""Fleet: sticky routing, per-server/per-cohort accounting, deploys, pauses, shards."""

from __future__ import annotations

import numpy as np
import pytest

from cachesim import NaiveCache, SimulatedDatabase, Workload, slowdown
from cachesim.fleet import Call, Deploy, Fleet, Pause, stable_hash

from shipping_helpers import PassThrough

SEEDS = (0, 1, 2)


def _fleet(seed, **kw):
    w = Workload(duration=kw.pop("duration", 300), rate=kw.pop("rate", 30), keys=kw.pop("keys", 300), seed=seed,
                 critical_fraction=kw.pop("critical_fraction", 0.0))
    kw.setdefault("database", SimulatedDatabase(latency=0.01, seed=seed))
    return Fleet(w, kw.pop("factories", lambda load: NaiveCache(load, ttl=20)), servers=kw.pop("servers", 4), **kw)


@pytest.mark.parametrize("seed", SEEDS)
def test_routing_is_sticky_and_uses_every_server(seed):
    f = _fleet(seed)
    r = f.run()
    for k in np.unique(r.keys):
        servers = np.unique(r.server[r.keys == k])
        assert len(servers) == 1
        assert servers[0] == stable_hash("route", r.key_names[k]) % 4
    counts = np.bincount(r.server, minlength=4)
    assert (counts > 0).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_accounting_adds_up(seed):
    db = SimulatedDatabase(latency=0.01, seed=seed)
    r = _fleet(seed, database=db).run()
    per_server = r.by_server()
    assert sum(g.requests for g in per_server.values()) == r.requests == r.overall().requests
    assert sum(g.db_calls for g in per_server.values()) == len(r.db_times) == db.calls
    assert r.cache_stats["control"]["loads"] == db.calls  # NaiveCache counts its loads
    t, series = r.load_timeline(bucket=10.0, by="server")
    assert sum(s.sum() * 10.0 for s in series.values()) == pytest.approx(db.calls)


def test_same_seed_same_run():
    a, b = _fleet(5).run(), _fleet(5).run()
    assert np.array_equal(a.latencies, b.latencies) and np.array_equal(a.db_times, b.db_times)
    c = _fleet(6).run()
    assert not np.array_equal(a.times[:100], c.times[:100])


@pytest.mark.parametrize("seed", SEEDS)
def test_deploy_empties_caches_and_load_spikes(seed):
    r = _fleet(seed, events=[Deploy(150.0)], keys=100, rate=40,
               factories=lambda load: NaiveCache(load, ttl=1000)).run()
    before = ((r.db_times >= 140) & (r.db_times < 150)).sum()
    after = ((r.db_times >= 150) & (r.db_times < 160)).sum()
    assert after > 3 * max(before, 1)
    assert r.events == [(150.0, "deploy servers=[0, 1, 2, 3]")]
    assert r.cache_stats["retired"]["loads"] > 0


@pytest.mark.parametrize("seed", SEEDS)
def test_deploy_can_swap_the_factory(seed):
    r = _fleet(seed, events=[Deploy(100.0, factories={"control": PassThrough})]).run()
    late = r.mask(start=120.0)
    # after the swap every read goes to the database
    assert ((r.db_times >= 120.0) & (r.db_times < r.duration)).sum() >= late.sum() * 0.99


@pytest.mark.parametrize("seed", SEEDS)
def test_pause_delays_only_its_server(seed):
    r = _fleet(seed, events=[Pause(100.0, 20.0, server=2)]).run()
    during = r.mask(start=100.0, end=120.0)
    on2 = during & (r.server == 2)
    assert on2.any()
    assert np.all(r.latencies[on2] >= 120.0 - r.times[on2] - 1e-9)
    others = during & (r.server != 2)
    assert r.latencies[others].max() <= 0.01 + 1e-9


@pytest.mark.parametrize("seed", SEEDS)
def test_a_slow_shard_slows_only_its_keys(seed):
    shards = [SimulatedDatabase(latency=0.01, seed=seed),
              SimulatedDatabase(latency=0.01, seed=seed + 100, faults=[slowdown(0, 300, 20)])]
    r = _fleet(seed, database=shards, factories=PassThrough).run()
    slow = np.array([stable_hash(r.key_names[k]) % 2 == 1 for k in r.keys])
    assert np.allclose(r.latencies[slow], 0.2) and np.allclose(r.latencies[~slow], 0.01)


def test_call_events_run_at_their_time():
    seen = []
    r = _fleet(0, events=[Call(42.0, lambda ctl: seen.append(ctl.now()), label="mark")]).run()
    assert seen == [42.0] and (42.0, "mark") in r.events


def test_bad_arguments_are_refused():
    w = Workload(duration=1, rate=1)
    with pytest.raises(ValueError):
        Fleet(w, {}, servers=2)
    with pytest.raises(ValueError):
        Fleet(w, PassThrough, servers=2, events=[Pause(0, 1, server=5)])
    with pytest.raises(ValueError):
        Fleet(w, PassThrough, servers=0)
    with pytest.raises(ValueError, match="Deploy"):
        Fleet(Workload(duration=10, rate=1, deploys=[5]), PassThrough)


@pytest.mark.parametrize("seed", SEEDS)
def test_percentile_timeline_shows_a_slow_period(seed):
    db = SimulatedDatabase(latency=0.01, seed=seed, faults=[slowdown(120, 60, 10)])
    r = _fleet(seed, database=db, factories=PassThrough).run()
    t, p99 = r.percentile_timeline(30.0, 99, by="cohort")
    slow = (t >= 120) & (t < 180)
    assert np.allclose(p99["control"][slow], 0.1) and np.allclose(p99["control"][~slow & (t < 300)], 0.01)
    ts, per_server = r.percentile_timeline(30.0, 50, by="server")
    assert set(per_server) == {f"server {s}" for s in range(4)}


def test_dashboard_draws_cohorts_events_and_alerts():
    import matplotlib

    matplotlib.use("Agg")
    from cachesim.shipping_plots import plot_dashboard
    from cachesim.slo import Alert, AlertTimeline

    r = _fleet(0, events=[Deploy(100.0)]).run()
    alerts = AlertTimeline((Alert("page-1h-5m", "page", 50.0, 80.0), Alert("ticket-3d-6h", "ticket", 200.0, None)),
                           "exact", 10.0)
    fig = plot_dashboard(r, bucket=20.0, alerts=alerts, threshold=0.2)
    lat, db = fig.axes
    assert len(lat.patches) == 2 and len(db.patches) == 2  # one span per alert on each panel
    assert any(line.get_linestyle() == "--" for line in lat.lines)  # the SLO threshold


def test_a_failing_assign_or_event_ends_the_run_with_its_error():
    def bad_assign(user, server, t):
        if t > 50:
            raise LookupError("flag service down")
        return "control"

    with pytest.raises(LookupError, match="flag service down"):
        _fleet(0, assign=bad_assign).run()
    with pytest.raises(ZeroDivisionError):
        _fleet(0, events=[Call(10.0, lambda ctl: 1 / 0)]).run()


@pytest.mark.parametrize("seed", SEEDS)
def test_requests_held_by_a_pause_at_the_end_still_finish(seed):
    r = _fleet(seed, events=[Pause(290.0, 30.0, server=1)], duration=300).run()
    held = r.mask(start=290.0) & (r.server == 1)
    assert held.any() and np.all(r.times[held] + r.latencies[held] >= 320.0 - 1e-9)
