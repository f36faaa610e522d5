"""The course's demonstration: naive vs singleflight vs singleflight + 100 ms threshold."""

import pytest

from cachesim.scenarios import hot_key_refresh_demo


@pytest.fixture(scope="module")
def demo():
    return hot_key_refresh_demo(seed=1)


def test_naive_loads_once_per_concurrent_caller(demo):
    n = demo.callers_during_refresh
    assert n > 900  # 500 req/s over the 2 s refresh
    # every caller that found the key expired before the first load returned loaded it
    assert demo.naive.db_calls == pytest.approx(n, rel=0.02)
    assert demo.naive.db_max_in_flight == pytest.approx(n, rel=0.02)
    assert demo.naive.p99 == pytest.approx(2.0, abs=0.01)


def test_singleflight_loads_once_but_callers_wait_for_it(demo):
    r = demo.singleflight
    assert r.db_calls == 1
    assert 1.9 <= r.p99 <= 2.0
    assert r.max == pytest.approx(2.0, abs=1e-6)
    assert r.cache_stats["coalesced"] == demo.callers_during_refresh


def test_threshold_loads_once_and_bounds_the_tail(demo):
    r = demo.threshold
    assert r.db_calls == 1
    assert r.p99 == pytest.approx(0.1, abs=1e-6)
    assert r.max <= 0.1 + 1e-6
    assert r.cache_stats["stale_served"] > 0.9 * demo.callers_during_refresh
    assert r.slo(p99=0.1, error_rate=0.0)


def test_demo_is_deterministic_and_renders(demo, tmp_path):
    again = hot_key_refresh_demo(seed=1, plot=False)
    assert [r.fingerprint() for r in again.results] == [r.fingerprint() for r in demo.results]
    assert "singleflight + 100 ms threshold" in repr(demo) and "<table>" in demo._repr_html_()
    path = tmp_path / "demo.png"
    demo.figure.savefig(path)
    assert path.stat().st_size > 20_000


def test_demo_rejects_a_window_it_cannot_show():
    with pytest.raises(ValueError, match="duration"):
        hot_key_refresh_demo(duration=2.5, plot=False)
