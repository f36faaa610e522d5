"""Regression: a release timer at `t + period` must always free the slot taken at `t`."""

import asyncio

from cachesim.throttle import LoopThrottler
from cachesim.vtime import run


def test_many_acquisitions_at_awkward_float_times_all_complete():
    async def main():
        throttle = LoopThrottler(rate_limit=200, period=1.0)
        loop = asyncio.get_running_loop()

        async def one(i):
            await asyncio.sleep(i * 0.000731)  # arrival times whose sums round unevenly
            async with throttle:
                return loop.time()

        return await asyncio.gather(*(one(i) for i in range(2000)))

    times = run(main, wall_timeout=20)
    assert len(times) == 2000
    # 2,000 acquisitions at 200 per second need about 10 s of virtual time, not forever.
    assert 9.0 <= max(times) <= 11.0
