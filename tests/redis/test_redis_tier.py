"""The shared tier on a real Redis: no lost update, fencing, invalidation, outages.

Each test runs against every real server available (see conftest). Waits only ever
outlast a deadline; no assertion depends on how fast anything ran.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cas_writer import increment
from redis_helpers import Backend, run
from swrcache.redis import RedisServer, RedisStore, SharedTier, StoreUnavailable, find_redis_server

HERE = Path(__file__).resolve().parent


def test_compare_and_set_loses_no_update_under_writers_on_separate_connections(real: Backend):
    writers, updates = 8, 25

    async def main():
        stores = [real.store(timeout=10.0) for _ in range(writers)]  # one pool each
        retries = await asyncio.gather(*(increment(s, "counter", updates) for s in stores))
        final = await stores[0].get("counter")
        for s in stores:
            await s.aclose()
        return sum(retries), final.value

    retries, value = run(main())
    assert value == writers * updates
    assert retries >= 0


def test_compare_and_set_loses_no_update_under_writers_in_separate_processes(real: Backend):
    processes, updates = 3, 30
    path = [str(HERE)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    procs = [subprocess.Popen([sys.executable, str(HERE / "cas_writer.py"), real.url, real.prefix,
                               "counter", str(updates)], stdout=subprocess.PIPE, env=env)
             for _ in range(processes)]
    outputs = []
    for proc in procs:
        try:
            outputs.append(proc.communicate(timeout=90)[0])
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert [p.returncode for p in procs] == [0] * processes, outputs

    async def main():
        store = real.store()
        look = await store.get("counter")
        await store.aclose()
        return look.value

    assert run(main()) == processes * updates


class Gate:
    """A database whose loads wait until released; counts calls."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.calls = 0
        self.open = asyncio.Event()
        self.entered = asyncio.Event()

    async def __call__(self, key):
        self.calls += 1
        self.entered.set()
        await self.open.wait()
        return f"{self.value}:{key}"


def test_a_refresher_that_stalls_past_its_lease_is_fenced_out(real: Backend):
    async def main():
        slow_db = Gate("old")
        a = SharedTier(real.store(), slow_db, ttl=60.0, lease_ttl=0.05)
        b = SharedTier(real.store(), Gate("new"), ttl=60.0, lease_ttl=60.0)
        b._loader.open.set()
        stalled = asyncio.ensure_future(a.load("user"))  # server A takes the lease, stalls
        await slow_db.entered.wait()
        await asyncio.sleep(0.3)  # past A's lease
        fresh = await b.load("user")  # server B takes over and writes
        slow_db.open.set()
        late = await stalled  # A's late write is rejected by the store
        look = await b.store.get("user")
        for t in (a, b):
            await t.store.aclose()
        return fresh, late, look, a.stats, b.stats

    fresh, late, look, a, b = run(main())
    assert (fresh, late) == ("new:user", "old:user")
    assert look.value == "new:user"
    assert (a.leases, a.writes, a.rejected_writes) == (1, 0, 1)
    assert (b.leases, b.writes) == (1, 1)


def test_only_one_server_refreshes_while_the_others_wait_for_its_write(real: Backend):
    async def main():
        db = Gate("v")
        tiers = [SharedTier(real.store(), db, ttl=60.0, lease_ttl=30.0, lease_wait=30.0,
                            lease_poll=0.01) for _ in range(4)]
        loads = [asyncio.ensure_future(t.load("hot")) for t in tiers]
        await db.entered.wait()
        await asyncio.sleep(0.05)
        db.open.set()
        values = await asyncio.gather(*loads)
        for t in tiers:
            await t.store.aclose()
        return values, db.calls, [t.stats for t in tiers]

    values, calls, stats = run(main())
    assert values == ["v:hot"] * 4
    assert calls == 1
    assert sum(s.leases for s in stats) == 1 and sum(s.lease_waits for s in stats) == 3


def test_invalidate_during_a_slow_refresh_is_never_undone(real: Backend):
    async def main():
        db = Gate("before")
        tier = SharedTier(real.store(), db, ttl=60.0, stale_ttl=60.0)
        local = tier.cache(capacity=10, ttl=60.0, stale_ttl=60.0)
        other = SharedTier(real.store(), Gate("x"), ttl=60.0)  # another app server
        pending = asyncio.ensure_future(local.get("k"))
        await db.entered.wait()
        await tier.invalidate("k")  # the data changed while the refresh was loading
        db.open.set()
        in_flight = await pending  # that caller gets what it asked for ...
        look = await other.store.get("k")  # ... but the store holds no old data
        kept = local.peek("k")  # ... nor does the local cache
        db.value = "after"
        again = await local.get("k")
        await tier.aclose()
        for t in (tier, other):
            await t.store.aclose()
        return in_flight, look, kept, again, tier.stats

    in_flight, look, kept, again, stats = run(main())
    assert in_flight == "before:k"
    assert look.state == "missing" and kept is None
    assert again == "after:k"
    assert stats.rejected_writes == 1 and stats.writes == 1


def test_a_foreign_value_is_reported_for_its_key_and_never_loaded(real: Backend, tmp_path):
    marker = tmp_path / "unpickled"

    class Exploit:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    import pickle

    real.put_foreign("7", pickle.dumps(Exploit()))

    async def main():
        async def db(key):
            return {"id": key}

        tier = SharedTier(real.store(), db, ttl=60.0)
        local = tier.cache(capacity=10, ttl=60.0, stale_ttl=60.0)
        value = await local.get(7)
        other = await local.get(8)
        await tier.aclose()
        await tier.store.aclose()
        return value, other, tier

    value, other, tier = run(main())
    assert value == {"id": 7} and other == {"id": 8}  # answered by the database
    assert tier.stats.corrupt_entries == 1 and list(tier.errors) == ["7"]
    assert "not a swr1 entry" in tier.errors["7"]
    assert not marker.exists()  # never unpickled
    assert real.read_raw("7").startswith(b"\x80")  # and not overwritten


def test_a_hanging_redis_call_is_bounded_by_the_timeout(tmp_path):
    path = str(tmp_path / "hang.sock")

    async def main():
        accepted = []

        async def never_answer(reader, writer):
            accepted.append(writer)
            await reader.read()  # reads the command, answers nothing

        server = await asyncio.start_unix_server(never_answer, path)
        store = RedisStore(f"unix://{path}", timeout=0.2)
        with pytest.raises(StoreUnavailable):
            await store.get("k")

        async def db(key):
            return "from the database"

        tier = SharedTier(store, db, ttl=60.0)
        value = await tier.load("k")
        for w in accepted:
            w.close()
        server.close()
        await server.wait_closed()
        await store.aclose()
        return value, tier.stats, tier.last_error

    value, stats, error = run(main())
    assert value == "from the database"
    assert stats.store_errors == 1 and isinstance(error, StoreUnavailable)


@pytest.mark.parametrize("fallback", [True, False], ids=["fallback-to-db", "serve-stale"])
def test_redis_restarted_mid_test_the_cache_serves_and_recovers(fallback):
    with RedisServer(find_redis_server()) as server:

        async def main():
            n = 0

            async def db(key):
                nonlocal n
                n += 1
                return f"{key}#{n}"

            tier = SharedTier(RedisStore(server.url, timeout=0.5), db, ttl=60.0, fallback=fallback)
            local = tier.cache(capacity=10, ttl=0.05, stale_ttl=60.0, backoff_base=0.01, backoff_max=0.02)

            async def settle():  # let background refreshes finish (bounded by the test)
                while local.background_tasks:
                    await asyncio.sleep(0.01)

            first = await local.get("k")
            server.stop()  # Redis goes away
            await asyncio.sleep(0.1)  # the local value goes stale
            during = await local.get("k")  # served locally, at once
            await settle()
            errors_during = tier.stats.store_errors
            after_outage = local.peek("k")
            server.start()  # Redis is back (empty: no persistence); no app restart
            writes_before = tier.stats.writes
            for _ in range(5):
                await asyncio.sleep(0.1)
                await local.get("k")
                await settle()
                if tier.stats.writes > writes_before:
                    break
            look = await tier.store.get("k")
            await tier.aclose()
            await tier.store.aclose()
            return first, during, errors_during, after_outage, tier, local.stats, look

        first, during, errors, after_outage, tier, local_stats, look = run(main())
    assert first == "k#1" and during == "k#1"  # stale, served without waiting for Redis
    assert errors >= 1 and isinstance(tier.last_error, StoreUnavailable)
    if fallback:
        assert after_outage == "k#2"  # the refresh went to the database
    else:
        assert after_outage == "k#1" and local_stats.load_errors >= 1  # stale-if-error
    assert look.state == "fresh" and tier.stats.writes >= 2  # recovered: writes land again
    assert server.pid is None


def test_scripts_flushed_from_the_server_are_loaded_again(real: Backend):
    import redis

    async def main():
        store = real.store()
        v = await store.cas("s", "x", version=0, ttl=60.0)
        client = redis.Redis.from_url(real.url, socket_timeout=5)
        client.script_flush()  # as after a restart: EVALSHA now answers NOSCRIPT
        client.close()
        look = await store.get("s")
        await store.aclose()
        return v, look

    v, look = run(main())
    assert (look.value, look.version) == ("x", v)
