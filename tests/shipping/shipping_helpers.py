"""Shared helpers for the shipping-lab tests (modules 05 and 06 building blocks)."""

from __future__ import annotations

import asyncio


class PassThrough:
    """No caching at all: every read is a database query (request errors = query errors)."""

    def __init__(self, load):
        self.load = load

    async def get(self, key):
        return await self.load(key)


class DoubleRead:
    """A buggy canary: reads the old and the new key schema one after the other on every
    miss (twice the database calls, twice the miss latency)."""

    def __init__(self, load, ttl=30.0):
        self.load, self.ttl, self.data = load, ttl, {}

    async def get(self, key):
        now = asyncio.get_running_loop().time()
        hit = self.data.get(key)
        if hit is not None and now < hit[1]:
            return hit[0]
        await self.load(("v1", key))
        value = await self.load(key)
        self.data[key] = (value, asyncio.get_running_loop().time() + self.ttl)
        return value


class Flaky:
    """A canary that fails every `every`-th read (a serialisation bug)."""

    def __init__(self, inner, every=20):
        self.inner, self.every, self.n = inner, every, 0

    async def get(self, key):
        self.n += 1
        if self.n % self.every == 0:
            raise ValueError("cannot decode session (canary bug)")
        return await self.inner.get(key)
