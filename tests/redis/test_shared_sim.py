"""Many app servers in virtual time: a shared lease gives one database load per expiry."""

from __future__ import annotations

import asyncio

import pytest

from cachesim import SimulatedDatabase, Workload, run, simulate_async
from cachesim.shared_store import SHARED_MODES, SharedStoreModel, simulate_app_servers
from swrcache.redis import SharedTier


@pytest.mark.parametrize("seed", [0, 7])
def test_four_servers_load_about_four_times_per_expiry_alone_and_once_with_leases(seed):
    expiries = 20 * 60 / 5.0  # keys x (duration / ttl)
    calls = {m: simulate_app_servers(4, m, seed=seed).db_calls for m in SHARED_MODES}
    assert calls["local"] / expiries > 3.0
    assert calls["leases"] / expiries <= 1.0
    assert calls["leases"] < calls["shared"] < calls["local"]


def test_the_simulation_is_deterministic():
    a = simulate_app_servers(4, "leases", duration=20, seed=3)
    b = simulate_app_servers(4, "leases", duration=20, seed=3)
    assert (a.db_calls, a.p99, a.cache_stats) == (b.db_calls, b.p99, b.cache_stats)


def test_a_store_outage_in_virtual_time_falls_back_to_the_database():
    store = SharedStoreModel(latency=0.001)
    tiers = []

    def factory(load):
        tier = SharedTier(store, load, ttl=5.0)
        tiers.append(tier)
        return tier.cache(capacity=100, ttl=1.0, stale_ttl=0.0)

    async def main():
        async def outage():
            await asyncio.sleep(10.0)
            store.down = True
            await asyncio.sleep(10.0)
            store.down = False

        task = asyncio.ensure_future(outage())
        result = await simulate_async(Workload(duration=30, rate=200, keys=10, servers=2, seed=1),
                                      factory, database=SimulatedDatabase(latency=0.02))
        await task
        return result

    result = run(main)
    assert not result.errors.any()  # no request failed: the database answered instead
    assert sum(t.stats.store_errors for t in tiers) > 0
    assert sum(t.stats.writes for t in tiers) > 0  # before and after the outage
    assert all(not t.errors for t in tiers)
