"""Property: with a capacity-limited database, a simulation always finishes, virtual time
runs on to the last query, and the database admits at most its capacity per window.

Fixed latencies in whole milliseconds and whole-number rates make many timers land on
the same or nearly the same float times, where the release timer once livelocked."""

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cachesim import Exponential, Fixed, SimulatedDatabase, SingleflightCache, Workload, simulate

DURATION = 2.0

latencies = st.one_of(
    st.integers(0, 200).map(lambda ms: Fixed(ms / 1000)),
    st.floats(0.0005, 0.2).map(Fixed),
    st.floats(0.001, 0.1).map(Exponential),
)
capacities = st.one_of(st.integers(1, 400), st.floats(0.3, 400.0))


def window(capacity: float) -> tuple[int, float]:
    """The throttle's contract (SimulatedDatabase's docstring): at most `n` query starts in
    any `period` seconds: `capacity` per second, or one per 1/capacity s below 1 qps."""
    return (int(round(capacity)), 1.0) if capacity >= 1 else (1, 1.0 / capacity)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    capacity=capacities,
    latency=latencies,
    rate=st.one_of(st.integers(1, 1500), st.floats(1.0, 1500.0)),
    arrivals=st.sampled_from(["even", "poisson"]),
    keys=st.integers(1, 300),
    ttl=st.sampled_from([0.0, 0.05, 0.2, 1.0]),
    seed=st.integers(0, 1000),
)
def test_a_throttled_database_always_finishes_within_its_capacity(capacity, latency, rate, arrivals,
                                                                  keys, ttl, seed):
    db = SimulatedDatabase(latency=latency, capacity=capacity, seed=seed)
    workload = Workload(duration=DURATION, rate=rate, keys=keys, arrivals=arrivals, seed=seed)
    n = len(workload.generate())
    assume(n > 0)  # 1 request/s of Poisson arrivals can bring none in 2 s: nothing to throttle
    # A stall raises SimulationStalled within about a million loop steps; a hang would hit
    # the wall timeout. Either fails the example.
    r = simulate(workload, lambda load: SingleflightCache(load, ttl=ttl), database=db, wall_timeout=60)

    assert r.requests == n and not r.errors.any()
    assert 1 <= r.db_calls == len(db._log.starts) == len(db._log.ends) <= n
    assert db.in_flight == 0
    # Virtual time advanced through all the work: every query ended, the last one at least
    # its queueing behind the capacity after the first.
    starts, ends = sorted(db._log.starts), sorted(db._log.ends)
    limit, period = window(capacity)
    windows = (r.db_calls - 1) // limit  # full windows the starts must span
    assert ends[-1] >= starts[-1] >= starts[0] + period * windows - 1e-9 * (windows + 1)
    # Never more than `limit` starts in a window of `period` (to the loop's 1 ns resolution,
    # by which a timer, and so a throttled query, can run early: see LoopThrottler).
    gaps = [b - a for a, b in zip(starts, starts[limit:])]
    assert not gaps or min(gaps) >= period - 1e-9
