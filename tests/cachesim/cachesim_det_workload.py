"""A rich seeded run, used in-process and from a subprocess to prove determinism."""

import random
import sys

from swrcache import SWRCache

from cachesim import (
    Burst,
    LogNormal,
    SimulatedDatabase,
    Workload,
    error_rate,
    simulate,
    slowdown,
)


def rich_run(seed: int = 11):
    workload = Workload(
        duration=12,
        rate=1500,
        keys=500,
        zipf_s=1.1,
        bursts=[Burst(at=2, duration=1, multiplier=3)],
        deploys=[7.0],
        critical_fraction=0.05,
        servers=3,
        seed=seed,
    )
    db = SimulatedDatabase(
        latency=LogNormal(0.01, 0.6),
        capacity=800,
        faults=[slowdown(at=4, duration=2, factor=20), error_rate(at=9, duration=2, rate=0.2)],
        seed=seed,
    )
    return simulate(
        workload,
        # SWRCache's backoff jitter needs a seeded rng too, or errors make runs diverge.
        lambda load: SWRCache(load, capacity=200, ttl=2.0, stale_ttl=10.0, wait_threshold=0.1, rng=random.Random(seed)),
        database=db,
        warm=["user:0", "user:1"],
        prewarm_on_deploy=["user:0"],
        name="rich",
    )


if __name__ == "__main__":
    r = rich_run(int(sys.argv[1]))
    print(r.fingerprint())
    print(r.to_json())
