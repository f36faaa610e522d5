"""Workloads: seeded, Zipf, bursts, deploys, critical users, servers; bad input."""

import numpy as np
import pytest

from cachesim import Burst, Workload


def test_same_seed_same_requests_and_different_seed_differs():
    a = Workload(duration=10, rate=500, keys=100, seed=1).generate()
    b = Workload(duration=10, rate=500, keys=100, seed=1).generate()
    c = Workload(duration=10, rate=500, keys=100, seed=2).generate()
    assert np.array_equal(a.times, b.times) and np.array_equal(a.keys, b.keys)
    assert not np.array_equal(a.keys[:100], c.keys[:100])


def test_zipf_popularity_hottest_first():
    a = Workload(duration=20, rate=5000, keys=1000, zipf_s=1.0, seed=3).generate()
    counts = np.bincount(a.keys, minlength=1000)
    assert counts[0] > counts[1] > counts[10] > counts[500]
    # Zipf(1): key 0 gets about 1/H_1000 = 13% of the traffic
    assert counts[0] / counts.sum() == pytest.approx(0.134, abs=0.01)


def test_hottest_swaps_popularity_with_the_first_key_and_the_default_is_unchanged():
    plain = Workload(duration=6, rate=500, keys=20, zipf_s=1.1, seed=5)
    first = Workload(duration=6, rate=500, keys=20, zipf_s=1.1, seed=5, hottest="user:0")
    assert np.array_equal(plain.generate().keys, first.generate().keys)  # the first key: the same requests
    w = Workload(duration=20, rate=2000, keys=20, zipf_s=1.1, seed=5, hottest="user:7")
    p, q = w.probabilities(), plain.probabilities()
    assert p[7] == q[0] and p[0] == q[7] and np.array_equal(np.delete(p, [0, 7]), np.delete(q, [0, 7]))
    counts = np.bincount(w.generate().keys, minlength=20)
    assert int(np.argmax(counts)) == 7 and counts[7] / counts.sum() == pytest.approx(q[0], abs=0.02)
    assert w.key_names == plain.key_names  # the keys keep their names and order
    with pytest.raises(ValueError, match="hottest"):
        Workload(duration=1, rate=1, keys=3, hottest="user:3")


def test_uniform_when_s_is_zero_and_steady_rate():
    a = Workload(duration=100, rate=100, keys=10, zipf_s=0, seed=1).generate()
    assert len(a) == pytest.approx(10_000, rel=0.05)
    counts = np.bincount(a.keys)
    assert counts.min() > 850


def test_even_arrivals_are_exact():
    a = Workload(duration=2, rate=4, keys=1, arrivals="even").generate()
    assert a.times.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]


def test_bursts_multiply_the_rate_in_their_window():
    w = Workload(duration=10, rate=100, keys=5, arrivals="even", bursts=[Burst(at=4, duration=2, multiplier=5)])
    a = w.generate()
    per_second = np.histogram(a.times, bins=np.arange(11))[0]
    assert per_second.tolist() == [100, 100, 100, 100, 500, 500, 100, 100, 100, 100]
    assert w.expected_requests() == 1800


def test_critical_users_and_servers():
    w = Workload(duration=5, rate=1000, keys=200, critical_fraction=0.1, servers=3, seed=9)
    a = w.generate()
    assert len(w.critical_keys()) == 20
    assert a.critical.sum() == 20
    assert set(np.unique(a.servers).tolist()) == {0, 1, 2}
    assert w.critical_keys() == Workload(duration=5, rate=1000, keys=200, critical_fraction=0.1, seed=9).critical_keys()


@pytest.mark.parametrize(
    "kwargs, param",
    [
        (dict(duration=float("inf"), rate=10), "duration"),
        (dict(duration=None, rate=10), "duration"),
        (dict(duration=0, rate=10), "duration"),
        (dict(duration=10, rate=-1), "rate"),
        (dict(duration=10, rate=float("inf")), "rate"),
        (dict(duration=1e9, rate=1e6), "would not end"),
        (dict(duration=10, rate=1, arrivals="bursty"), "arrivals"),
        (dict(duration=10, rate=1, keys=0), "keys"),
        (dict(duration=10, rate=1, servers=0), "servers"),
        (dict(duration=10, rate=1, critical_fraction=2), "critical_fraction"),
        (dict(duration=10, rate=1, deploys=[-3]), "deploys"),
        (dict(duration=10, rate=1, deploys=[12]), "deploys"),
        (dict(duration=10, rate=1, bursts=[Burst(1, 1, 2), (1, 2)]), "bursts"),
    ],
)
def test_bad_workloads_are_rejected_naming_the_parameter(kwargs, param):
    with pytest.raises(ValueError, match=param):
        Workload(**kwargs)


def test_negative_burst_duration():
    with pytest.raises(ValueError, match="duration"):
        Burst(at=1, duration=-1, multiplier=2)
