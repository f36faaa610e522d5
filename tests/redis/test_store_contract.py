"""The shared store's contract, run against the model AND every real Redis available.

If the model (`cachesim.shared_store.SharedStoreModel`) and `RedisStore` ever disagree,
one of these fails for one backend and not the other: the simulator cannot drift from
the real server. Short TTLs below only ever wait *longer* than a deadline, so a slow
machine cannot make them fail; nothing asserts how fast anything is.
"""

from __future__ import annotations

import pickle

import pytest

from redis_helpers import Backend, run
from swrcache.redis import CorruptEntry, FencedOut, VersionConflict

LONG = 60.0  # a TTL no test outlives
SHORT = 0.05  # a TTL the test then waits out
PAST = 0.3  # waited to be sure SHORT is over


def test_missing_key_reads_as_missing_version_zero(backend: Backend):
    async def main():
        store = backend.store()
        look = await store.get("absent")
        await store.aclose()
        return look

    look = run(main())
    assert (look.state, look.value, look.version, look.token, look.leased) == ("missing", None, 0, None, False)


def test_compare_and_set_writes_once_per_version(backend: Backend):
    async def main():
        store = backend.store()
        v1 = await store.cas("k", {"n": 1, "s": "é"}, version=0, ttl=LONG)
        look = await store.get("k")
        with pytest.raises(VersionConflict) as lost:
            await store.cas("k", {"n": 99}, version=0, ttl=LONG)  # a writer that read "absent"
        v2 = await store.cas("k", {"n": 2}, version=v1, ttl=LONG)
        with pytest.raises(VersionConflict):
            await store.cas("k", {"n": 98}, version=v1, ttl=LONG)
        v3 = await store.cas("k", [3], version=None, ttl=LONG)  # unconditional
        final = await store.get("k")
        await store.aclose()
        return v1, look, lost.value, v2, v3, final

    v1, look, lost, v2, v3, final = run(main())
    assert v1 > 0 and (look.state, look.value, look.version) == ("fresh", {"n": 1, "s": "é"}, v1)
    assert (lost.expected, lost.current) == (0, v1)
    assert v1 < v2 < v3
    assert (final.value, final.version) == ([3], v3)


def test_fresh_then_stale_then_gone_on_the_store_clock(backend: Backend):
    async def main():
        store = backend.store()
        await store.cas("stale", "a", version=0, ttl=SHORT, stale_ttl=LONG)
        await store.cas("gone", "b", version=0, ttl=SHORT, stale_ttl=SHORT)
        await backend.advance(PAST)
        looks = await store.get("stale"), await store.get("gone")
        await store.aclose()
        return looks

    stale, gone = run(main())
    assert (stale.state, stale.value) == ("stale", "a")
    assert (gone.state, gone.value, gone.version) == ("missing", None, 0)  # expired in the store
    assert backend.read_raw("gone") is None


def test_a_read_grants_one_lease_for_a_missing_or_stale_entry(backend: Backend):
    async def main():
        store = backend.store()
        first = await store.get("m", lease_ttl=LONG)
        second = await store.get("m", lease_ttl=LONG)
        await store.cas("m", 1, version=first.version, ttl=LONG, token=first.token)
        after_write = await store.get("m", lease_ttl=LONG)  # fresh: no lease needed
        await store.cas("s", 2, version=0, ttl=SHORT, stale_ttl=LONG)
        await backend.advance(PAST)
        stale = await store.get("s", lease_ttl=LONG)
        stale_again = await store.get("s", lease_ttl=LONG)
        await store.aclose()
        return first, second, after_write, stale, stale_again

    first, second, after_write, stale, stale_again = run(main())
    assert first.state == "missing" and first.token is not None and first.leased
    assert second.token is None and second.leased
    # the write released the lease; a fresh entry needs none
    assert after_write.state == "fresh" and after_write.token is None and not after_write.leased
    assert stale.state == "stale" and stale.value == 2 and stale.token > first.token
    assert stale_again.token is None and stale_again.leased and stale_again.value == 2


def test_a_fenced_stale_write_is_rejected_after_the_lease_passes_on(backend: Backend):
    async def main():
        store = backend.store()
        one = await store.get("p", lease_ttl=SHORT)  # writer 1 takes the lease ...
        await backend.advance(PAST)  # ... and stalls past it
        two = await store.get("p", lease_ttl=LONG)  # the lease hands over to writer 2
        v2 = await store.cas("p", "from 2", version=two.version, ttl=LONG, token=two.token)
        with pytest.raises(FencedOut) as late:
            await store.cas("p", "late from 1", version=one.version, ttl=LONG, token=one.token)
        final = await store.get("p")
        await store.aclose()
        return one, two, v2, late.value, final

    one, two, v2, late, final = run(main())
    assert two.token > one.token
    assert late.token == one.token
    assert (final.value, final.version) == ("from 2", v2)


def test_an_expired_lease_nobody_took_still_fences_its_writer(backend: Backend):
    async def main():
        store = backend.store()
        one = await store.get("q", lease_ttl=SHORT)
        await backend.advance(PAST)
        with pytest.raises(FencedOut):
            await store.cas("q", "late", version=one.version, ttl=LONG, token=one.token)
        look = await store.get("q")
        await store.aclose()
        return look

    assert run(main()).state == "missing"


def test_explicit_leases_are_exclusive_and_tokens_only_grow(backend: Backend):
    async def main():
        store = backend.store()
        t1 = await store.acquire_lease("L", LONG)
        busy = await store.acquire_lease("L", LONG)
        wrong = await store.release_lease("L", t1 + 1000)
        right = await store.release_lease("L", t1)
        t2 = await store.acquire_lease("L", SHORT)
        await backend.advance(PAST)
        t3 = await store.acquire_lease("L", LONG)  # expiry hands over
        stale_release = await store.release_lease("L", t2)
        await store.aclose()
        return t1, busy, wrong, right, t2, t3, stale_release

    t1, busy, wrong, right, t2, t3, stale_release = run(main())
    assert t1 is not None and busy is None
    assert (wrong, right, stale_release) == (False, True, False)
    assert t1 < t2 < t3


def test_invalidate_bumps_the_version_and_revokes_the_lease(backend: Backend):
    async def main():
        store = backend.store()
        v1 = await store.cas("i", "old", version=0, ttl=SHORT, stale_ttl=LONG)
        await backend.advance(PAST)
        refresher = await store.get("i", lease_ttl=LONG)  # a slow refresh starts
        v2 = await store.invalidate("i")
        gone = await store.get("i")
        with pytest.raises(FencedOut):
            await store.cas("i", "old again", version=refresher.version, ttl=LONG, token=refresher.token)
        with pytest.raises(VersionConflict):
            await store.cas("i", "old again", version=v1, ttl=LONG)
        with pytest.raises(VersionConflict):
            await store.cas("i", "old again", version=0, ttl=LONG)  # absent? no: a tombstone
        v3 = await store.cas("i", "new", version=v2, ttl=LONG)
        final = await store.get("i")
        await store.aclose()
        return v1, refresher, v2, gone, v3, final

    v1, refresher, v2, gone, v3, final = run(main())
    assert refresher.token is not None and refresher.version == v1
    assert v2 > v1 and (gone.state, gone.value, gone.version) == ("missing", None, v2)
    assert v3 > v2 and final.value == "new"


class _Boom:
    def __reduce__(self):
        return (print, ("unpickled!",))


@pytest.mark.parametrize("raw", [
    b"hello", "swr2:1:2:3:{}", pickle.dumps(_Boom()), b"\xff\xfe", b"swr1:1:x:3:1",
    {"field": "a hash"},
], ids=["text", "other-tag", "pickle", "binary", "bad-header", "hash"])
def test_a_foreign_value_is_reported_for_its_key_never_loaded_nor_overwritten(backend: Backend, raw):
    async def main():
        store = backend.store()
        errors = []
        for op in (lambda: store.get("x"), lambda: store.get("x", lease_ttl=LONG),
                   lambda: store.cas("x", 1, version=None, ttl=LONG),
                   lambda: store.invalidate("x")):
            with pytest.raises(CorruptEntry) as info:
                await op()
            errors.append(info.value)
        ok = await store.get("y")  # other keys are unaffected
        lease = await store.acquire_lease("x", LONG)  # the lease key is ours, not foreign
        await store.aclose()
        return errors, ok, lease

    before = backend.read_raw("x")
    backend.put_foreign("x", raw)
    stored = backend.read_raw("x")
    errors, ok, lease = run(main())
    assert before is None and all(e.key == "x" for e in errors)
    assert "not a swr1 entry" in str(errors[0])
    assert backend.read_raw("x") == stored  # untouched
    assert ok.state == "missing" and lease is not None


def test_a_damaged_payload_is_reported_but_its_header_still_versions_it(backend: Backend):
    async def main():
        store = backend.store()
        with pytest.raises(CorruptEntry):
            await store.get("d")
        v = await store.cas("d", "repaired", version=7, ttl=LONG)
        look = await store.get("d")
        await store.aclose()
        return v, look

    backend.put_foreign("d", "swr1:7:99999999999999:99999999999999:{not json")
    v, look = run(main())
    assert v > 7 and look.value == "repaired"


def test_values_must_be_json(backend: Backend):
    async def main():
        store = backend.store()
        with pytest.raises(TypeError):
            await store.cas("j", {1, 2}, version=0, ttl=LONG)
        with pytest.raises(ValueError):
            await store.cas("j", float("nan"), version=0, ttl=LONG)
        with pytest.raises(ValueError):
            await store.cas("j", 1, version=0, ttl=0)
        with pytest.raises(TypeError):
            await store.get(42)
        look = await store.get("j")
        v = await store.cas("j", (1, "two", None, True, 2.5, {"k": []}), version=0, ttl=LONG)
        back = await store.get("j")
        await store.aclose()
        return look, v, back

    look, v, back = run(main())
    assert look.state == "missing"
    assert back.value == [1, "two", None, True, 2.5, {"k": []}] and back.version == v
