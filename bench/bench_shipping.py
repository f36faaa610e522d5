"""Benchmark for the shipping lab: simulated seconds per wall second of a 4-server,
2-hour fleet scenario, beside cachesim's plain `simulate` on the same workload.

Three runs of the same seeded traffic (4 app servers, SWRCache per server, one database):

- baseline: `cachesim.simulate` (its own lean driver; random server per request);
- fleet: `cachesim.Fleet` (sticky routing, per-request cohort and database accounting);
- fleet + flag + telemetry: a 25% OpenFeature rollout choosing the cache and a
  prometheus_client `Telemetry` observer with 10-second scrapes (the module-05 stack).

    python bench/bench_shipping.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time

from cachesim import LogNormal, SimulatedDatabase, Workload, simulate
from cachesim.fleet import Fleet
from cachesim.rollout import Rollout
from cachesim.telemetry import Telemetry
from swrcache import SWRCache


def factory(seed: int):
    return lambda load: SWRCache(load, capacity=5000, ttl=60, stale_ttl=600, wait_threshold=0.1,
                                 rng=random.Random(seed))


def timed(fn):
    """(wall seconds, CPU seconds, result)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20 minutes of traffic instead of 2 hours")
    args = ap.parse_args()
    duration = 1200.0 if args.quick else 7200.0
    w = Workload(duration=duration, rate=50, keys=2000, zipf_s=1.0, servers=4, seed=1)

    def db():
        return SimulatedDatabase(latency=LogNormal(0.02, 0.5), capacity=400, seed=1)

    def baseline():
        return simulate(w, factory(1), database=db(), wall_timeout=None)

    def fleet():
        return Fleet(w, factory(1), database=db()).run(wall_timeout=None)

    def full():
        tel = Telemetry(slo_threshold=0.2, scrape_interval=10.0)
        with Rollout(stages=(25,)) as flag:
            flag.advance()
            return Fleet(w, {"control": factory(1), "canary": factory(2)}, database=db(), assign=flag.assign,
                         observers=[tel]).run(wall_timeout=None)

    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs "
          "(shared machines inflate wall time: CPU seconds shown too)")
    print(f"scenario: 4 servers, {duration / 3600:.2g} h of traffic at 50 req/s ({w.expected_requests():,.0f} requests)")
    rows = []
    for label, fn in (("baseline simulate", baseline), ("fleet", fleet), ("fleet + flag + telemetry", full)):
        wall, cpu, r = timed(fn)
        n = r.requests
        rows.append((label, wall, cpu, n))
        print(f"  {label:<26} {duration / wall:9,.0f} simulated s per wall s   ({wall:6.2f} s wall, "
              f"{cpu:6.2f} s CPU, {n / wall:9,.0f} requests/s)")
    base = rows[0][1]
    for label, wall, _, _ in rows[1:]:
        print(f"  ratio {label} / baseline: {base / wall:.2f}x the baseline's speed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
