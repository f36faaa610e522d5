"""The shipping lab's figures, as the closing notes of modules 05 and 06 quote them:
canary decisions per seed, alert detection time and precision/recall, critical users'
cold-start p99 with and without pre-warm and the database peak during pre-warm.

Same scenarios as tests/shipping (seeded; virtual time):

    python bench/shipping_figures.py
"""

from __future__ import annotations

import random

import numpy as np

from cachesim import LogNormal, NaiveCache, SimulatedDatabase, Workload, error_rate, slowdown
from cachesim.canary import judge_fleet
from cachesim.fleet import Deploy, Fleet
from cachesim.prewarm import Prewarm
from cachesim.results import format_seconds, nearest_rank
from cachesim.rollout import Rollout
from cachesim.slo import SLO, evaluate, precision_recall
from cachesim.telemetry import Telemetry
from swrcache import SWRCache
from cachesim.baselines import DoubleReadCache as DoubleRead, FlakyCache as Flaky


class PassThrough:
    def __init__(self, load):
        self.load = load

    async def get(self, key):
        return await self.load(key)


def control(load):
    return NaiveCache(load, ttl=30)


CANARIES = {
    "identical": lambda seed: control,
    "good (SWR)": lambda seed: lambda load: SWRCache(load, capacity=5000, ttl=30, stale_ttl=600,
                                                     rng=random.Random(seed)),
    "double-read": lambda seed: lambda load: DoubleRead(load),
    "flaky 4%": lambda seed: lambda load: Flaky(NaiveCache(load, ttl=30)),
}


def canary(seed, kind):
    w = Workload(duration=600, rate=20, keys=1500, zipf_s=0.6, seed=seed)
    with Rollout(salt=f"s{seed}", stages=(25,)) as flag:
        flag.advance()
        r = Fleet(w, {"control": control, "canary": CANARIES[kind](seed)}, servers=4,
                  database=SimulatedDatabase(latency=LogNormal(0.02, 0.5), seed=seed), assign=flag.assign).run()
    return judge_fleet(r, 120.0, 600.0, seed=seed)


def slo_run(seed, faults, rate=3.0):
    tel = Telemetry(slo_threshold=0.2)
    Fleet(Workload(duration=7200, rate=rate, keys=500, seed=seed), PassThrough, servers=4,
          database=SimulatedDatabase(latency=0.02, faults=list(faults), seed=seed), observers=[tel]).run()
    return evaluate(tel.request_times, tel.request_good, SLO(objective=0.999, threshold=0.2))


def prewarm_run(seed, plan_kind):
    w = Workload(duration=600, rate=60, keys=3000, critical_fraction=0.03, seed=seed)
    crit = w.critical_keys()
    plan = {"none": None, "bounded": Prewarm(crit, rate=30, burst=5),
            "gated": Prewarm(crit, rate=30, burst=5, gate=True),
            "unbounded": Prewarm(crit, rate=1e6, burst=1e6, concurrency=10_000)}[plan_kind]
    r = Fleet(w, lambda load: NaiveCache(load, ttl=3600), servers=4, warm=w.key_names,
              database=SimulatedDatabase(latency=LogNormal(0.02, 0.5), capacity=120, seed=seed),
              events=[Deploy(300.0, prewarm=plan)]).run()
    cold = np.sort(r.latencies[r.first_requests(300.0, critical=True)])
    return nearest_rank(cold, 99), r.db_peak_qps(300, 310, prewarm=True), r.db_peak_qps(300, 310)


def main() -> None:
    print("Canary decisions (25% of users, minutes 2-10, alpha 0.05)")
    for kind in CANARIES:
        seeds = range(20) if kind == "identical" else range(4)
        ds = [canary(s, kind).decision for s in seeds]
        print(f"  {kind:<12} " + " ".join(d[0] for d in ds) + "   (" +
              ", ".join(f"{d} {ds.count(d)}" for d in ("promote", "continue", "halt") if d in ds) + ")")
    print("\nSLO 99.9% of reads under 200 ms; page 1h/5m x14.4, 6h/30m x6; ticket 3d/6h x1")
    for seed in range(3):
        tl = slo_run(seed, [error_rate(1800, 1200, 0.10)])
        a = tl.first("page", 1800.0)
        print(f"  seed {seed}: 10% errors for 20 min -> {a.rule} after {(a.fired_at - 1800) / 60:.1f} min, "
              f"resolved {(a.resolved_at - 3000) / 60:.1f} min after it ended")
    cases = [([error_rate(1800, 1200, 0.10)], True), ([error_rate(2400, 600, 0.30)], True),
             ([error_rate(3000, 300, 1.0)], True), ([slowdown(1800, 900, 20)], True),
             ([error_rate(1200, 1800, 0.05)], True), ([], False), ([error_rate(3600, 30, 1.0)], False),
             ([slowdown(3600, 40, 20)], False), ([error_rate(0, 7200, 0.0005)], False),
             ([error_rate(1800, 1200, 0.01)], False)]
    outcomes = []
    for i, (faults, should) in enumerate(cases):
        tl = slo_run(100 + i, faults, rate=2.0)
        outcomes.append((should, bool(tl.fired("page", min((f.at for f in faults), default=0.0)))))
    p, r = precision_recall(outcomes)
    print(f"  {len(cases)} seeded scenarios: precision {p:.2f}, recall {r:.2f}  {outcomes}")
    print("\nCritical users' cold-start p99 after a deploy (DB capacity 120 q/s; pre-warm 30/s, burst 5)")
    for seed in range(3):
        row = {k: prewarm_run(seed, k) for k in ("none", "bounded", "gated", "unbounded")}
        print(f"  seed {seed}: " + ", ".join(f"{k} {format_seconds(v[0])}" for k, v in row.items()) +
              f"; pre-warm peak {row['bounded'][1]:.0f} q/s (total {row['bounded'][2]:.0f}), "
              f"unbounded {row['unbounded'][1]:.0f} q/s (total {row['unbounded'][2]:.0f})")


if __name__ == "__main__":
    main()
