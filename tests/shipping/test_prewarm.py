"""Pre-warm on deploy: the token bucket's bound, the database cap, critical users' cold start."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from cachesim import LogNormal, NaiveCache, SimulatedDatabase, Workload, run
from cachesim.fleet import Deploy, Fleet
from cachesim.prewarm import Prewarm, TokenBucket
from cachesim.results import nearest_rank

RATE, BURST, CAP = 30.0, 5.0, 100.0


@pytest.mark.parametrize("rate,burst", [(10.0, 1.0), (7.5, 3.0), (100.0, 20.0)])
def test_token_bucket_never_exceeds_rate_times_time_plus_burst(rate, burst):
    async def main():
        loop = asyncio.get_running_loop()
        bucket, stamps = TokenBucket(rate, burst), []

        async def taker():
            for _ in range(60):
                await bucket.acquire()
                stamps.append(loop.time())

        await asyncio.gather(*(taker() for _ in range(3)))
        return np.array(stamps)

    t = run(main)
    for start in t:  # any window [start, start + w)
        for w in (0.5, 1.0, 3.0):
            assert ((t >= start) & (t < start + w)).sum() <= burst + rate * w + 1e-9
    assert t[-1] == pytest.approx((180 - burst) / rate, rel=1e-6)  # and it is not slower than that


def test_bad_plans_are_refused():
    with pytest.raises(ValueError):
        TokenBucket(0)
    with pytest.raises(ValueError):
        Prewarm(["a"], rate=5, burst=0.5)
    with pytest.raises(ValueError):
        Prewarm(["a"], rate=5, concurrency=0)


def deploy_run(seed: int, plan_kind: str):
    w = Workload(duration=600, rate=60, keys=3000, critical_fraction=0.03, seed=seed)
    crit = w.critical_keys()
    plan = {"none": None,
            "bounded": Prewarm(crit, rate=RATE, burst=BURST),
            "gated": Prewarm(crit, rate=RATE, burst=BURST, gate=True),
            "unbounded": Prewarm(crit, rate=1e6, burst=1e6, concurrency=10_000)}[plan_kind]
    db = SimulatedDatabase(latency=LogNormal(0.02, 0.5), capacity=120, seed=seed)
    r = Fleet(w, lambda load: NaiveCache(load, ttl=3600), servers=4, database=db,
              events=[Deploy(300.0, prewarm=plan)], warm=w.key_names).run()
    cold = np.sort(r.latencies[r.first_requests(300.0, critical=True)])
    return r, cold


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prewarm_rate_and_database_cap_hold(seed):
    r, _ = deploy_run(seed, "bounded")
    done = [t for t, e in r.events if e.startswith("prewarm done")]
    assert done and done[0] <= 300.0 + len(Workload(duration=1, rate=1, keys=3000, critical_fraction=0.03,
                                                    seed=seed).critical_keys()) / RATE + 1.0
    for window in (1.0, 2.0):
        assert r.db_peak_qps(300.0, done[0] + 1, prewarm=True, window=window) <= RATE + BURST / window
    assert r.db_peak_qps(300.0, done[0] + 1) <= CAP
    wild, _ = deploy_run(seed, "unbounded")
    assert wild.db_peak_qps(300.0, 305.0) > CAP  # without the bound, the warm-up is the stampede


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prewarm_improves_critical_users_cold_start(seed):
    _, none = deploy_run(seed, "none")
    _, bounded = deploy_run(seed, "bounded")
    _, gated = deploy_run(seed, "gated")
    assert len(none) == len(bounded) == len(gated) > 30
    p99 = {k: nearest_rank(v, 99) for k, v in (("none", none), ("bounded", bounded), ("gated", gated))}
    assert p99["gated"] < p99["none"] and p99["bounded"] <= p99["none"]
    assert bounded.mean() < 0.25 * none.mean()  # most critical users no longer pay a cold load
