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


def _slow_db(delays):
    """A database whose i-th call takes delays[i] virtual seconds; records calls."""
    calls = []

    async def db(key):
        calls.append(key)
        await asyncio.sleep(delays[min(len(calls) - 1, len(delays) - 1)])
        return f"{key}#{len(calls)}"

    return db, calls


def test_waiters_give_up_after_lease_wait_and_load_without_writing():
    async def main():
        store = SharedStoreModel()
        db, calls = _slow_db([10.0, 0.01])  # the lease holder's load hangs
        holder = SharedTier(store, db, ttl=60.0, lease_ttl=30.0)
        waiter = SharedTier(store, db, ttl=60.0, lease_ttl=30.0, lease_wait=0.1, lease_poll=0.02)
        first = asyncio.ensure_future(holder.load("k"))
        await asyncio.sleep(0)
        value = await waiter.load("k")
        waited_until = asyncio.get_running_loop().time()
        await first
        return value, waited_until, waiter.stats, holder.stats, calls

    value, t, waiter, holder, calls = run(main)
    assert value == "k#2" and 0.1 <= t < 1.0
    assert (waiter.lease_wait_timeouts, waiter.db_loads, waiter.writes) == (1, 1, 0)
    assert (holder.leases, holder.writes) == (1, 1) and len(calls) == 2


def test_a_cancelled_lease_holder_writes_nothing_and_its_lease_passes_on():
    async def main():
        store = SharedStoreModel()
        db, calls = _slow_db([10.0, 0.01])
        a = SharedTier(store, db, ttl=60.0, lease_ttl=1.0)
        b = SharedTier(store, db, ttl=60.0, lease_ttl=1.0, lease_wait=5.0, lease_poll=0.1)
        task = asyncio.ensure_future(a.load("k"))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        value = await b.load("k")  # waits for the lease to expire, then takes it
        return value, a.stats, b.stats, (await store.get("k")).value

    value, a, b, stored = run(main)
    assert value == stored == "k#2"
    assert (a.leases, a.writes) == (1, 0)
    assert (b.leases, b.writes, b.lease_wait_timeouts) == (1, 1, 0)
