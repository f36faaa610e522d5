"""A separate writer process: add 1 to a shared counter `updates` times by compare-and-set.

Usage: python cas_writer.py URL PREFIX KEY UPDATES. Prints the number of retries.
"""

from __future__ import annotations

import asyncio
import sys

from swrcache.redis import RedisStore, VersionConflict


async def increment(store: RedisStore, key: str, updates: int) -> int:
    retries = 0
    for _ in range(updates):
        while True:
            look = await store.get(key)
            try:
                await store.cas(key, (look.value or 0) + 1, version=look.version, ttl=600.0)
                break
            except VersionConflict:
                retries += 1
    return retries


async def main(url: str, prefix: str, key: str, updates: int) -> int:
    async with RedisStore(url, prefix=prefix, timeout=10.0) as store:
        return await increment(store, key, updates)


if __name__ == "__main__":
    url, prefix, key, updates = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    print(asyncio.run(asyncio.wait_for(main(url, prefix, key, updates), 60)))
