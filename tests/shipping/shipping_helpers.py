"""Shared helpers for the shipping-lab tests (modules 05 and 06 building blocks)."""

from __future__ import annotations

from cachesim.baselines import DoubleReadCache as DoubleRead  # noqa: F401 - the tests import these names from here
from cachesim.baselines import FlakyCache as Flaky  # noqa: F401


class PassThrough:
    """No caching at all: every read is a database query (request errors = query errors)."""

    def __init__(self, load):
        self.load = load

    async def get(self, key):
        return await self.load(key)


