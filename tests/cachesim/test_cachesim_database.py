"""SimulatedDatabase: latency, capacity, faults at their scheduled virtual times."""

import asyncio
import random

import pytest

from cachesim import (
    DatabaseError,
    DatabaseUnavailable,
    Exponential,
    Fault,
    Fixed,
    LogNormal,
    SimulatedDatabase,
    Uniform,
    error_rate,
    outage,
    run,
    slowdown,
)


def _latency_at(db, times):
    """Issue one query at each virtual time; return (start, latency or exception type)."""

    async def main():
        loop = asyncio.get_running_loop()
        out = []

        async def one(t):
            await asyncio.sleep(t)
            t0 = loop.time()
            try:
                await db.query("k")
                out.append((t0, round(loop.time() - t0, 9)))
            except DatabaseError as exc:
                out.append((t0, type(exc)))

        await asyncio.gather(*(one(t) for t in times))
        return sorted(out, key=lambda x: x[0])

    return run(main)


def test_faults_land_at_their_scheduled_virtual_times():
    faults = [slowdown(at=10, duration=5, factor=4), outage(at=20, duration=2.5), error_rate(at=30, duration=1, rate=1.0)]
    db = SimulatedDatabase(latency=Fixed(0.01), faults=faults)
    res = _latency_at(db, [9.999, 10.0, 14.999, 15.0, 19.999, 20.0, 22.499, 22.5, 29.9, 30.0, 31.0])
    assert [r[1] for r in res] == [
        0.01, 0.04, 0.04, 0.01,          # slowdown is [10, 15)
        0.01, DatabaseUnavailable, DatabaseUnavailable, 0.01,   # outage [20, 22.5)
        0.01, DatabaseError, 0.01,       # errors [30, 31)
    ]
    assert db.fault_events == [
        (10.0, "slow:start", 0), (15.0, "slow:end", 0),
        (20.0, "outage:start", 1), (22.5, "outage:end", 1),
        (30.0, "errors:start", 2), (31.0, "errors:end", 2),
    ]
    assert db.errors == 3


def test_error_rate_is_seeded_and_roughly_right():
    def errors(seed):
        db = SimulatedDatabase(latency=0.001, faults=[error_rate(0, 100, 0.3)], seed=seed)
        return [r[1] is DatabaseError for r in _latency_at(db, [i * 0.01 for i in range(2000)])]

    a, b = errors(5), errors(5)
    assert a == b
    assert 0.25 < sum(a) / len(a) < 0.35


def test_capacity_queues_queries_and_caps_qps():
    db = SimulatedDatabase(latency=0.001, capacity=100)
    res = _latency_at(db, [0.0] * 1000)
    assert len(res) == 1000
    t, qps = db.qps_timeline(bucket=1.0)
    assert qps.max() == 100
    assert list(qps[:10]) == [100.0] * 10


def test_in_flight_is_recorded():
    db = SimulatedDatabase(latency=Fixed(1.0))
    _latency_at(db, [0.0, 0.0, 0.5, 2.0])
    assert db.max_in_flight == 3
    t, n = db.in_flight_timeline()
    assert list(zip(t, n))[:3] == [(0.0, 1.0), (0.0, 2.0), (0.5, 3.0)]


def test_latency_models_are_seeded():
    for model in (Uniform(0.01, 0.02), Exponential(0.01), LogNormal(0.01, 0.8)):
        a = [model.sample(random.Random(3)) for _ in range(3)]
        b = [model.sample(random.Random(3)) for _ in range(3)]
        assert a == b and all(x >= 0 for x in a)


def test_per_key_latency_override():
    async def main():
        db = SimulatedDatabase(latency=0.01, key_latency={"hot": 2.0})
        loop = asyncio.get_running_loop()
        await db.query("hot")
        return loop.time()

    assert run(main) == 2.0


@pytest.mark.parametrize(
    "make, param",
    [
        (lambda: Fault("meteor", at=1, duration=1), "kind"),
        (lambda: Fault("slow", at=-1, duration=1), "at"),
        (lambda: slowdown(at=1, duration=-2, factor=3), "duration"),
        (lambda: slowdown(at=1, duration=2, factor=-3), "factor"),
        (lambda: error_rate(at=1, duration=2, rate=1.5), "rate"),
        (lambda: error_rate(at=1, duration=float("inf"), rate=0.5), "duration"),
        (lambda: SimulatedDatabase(latency=-0.1), "latency"),
        (lambda: SimulatedDatabase(capacity=0), "capacity"),
        (lambda: SimulatedDatabase(faults=["slow"]), "faults"),
        (lambda: Uniform(0.2, 0.1), "high"),
    ],
)
def test_bad_input_names_the_parameter(make, param):
    with pytest.raises(ValueError, match=param):
        make()


def test_fractional_capacity():
    db = SimulatedDatabase(latency=0.0, capacity=0.5)
    res = _latency_at(db, [0.0] * 3)
    assert [t for t, _ in res] == [0.0, 0.0, 0.0]  # issued together...
    assert sorted(db._log.starts) == [0.0, 2.0, 4.0]  # ...admitted one per 2 s
