"""The stall guard: a loop that keeps running at one virtual instant is stopped with
`SimulationStalled`, saying what keeps running, instead of spinning until the wall timeout."""

import asyncio

import pytest

import cachesim.limits
from cachesim import RunawaySimulation, SimulationStalled, run


@pytest.fixture
def small_stall_limit(monkeypatch):
    monkeypatch.setattr(cachesim.limits, "STALL_STEPS", 1 << 14)
    return 1 << 14


def test_a_polling_loop_that_starves_the_clock_is_reported_as_stalled(small_stall_limit):
    async def poll_until_set():
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        loop.call_later(1.0, ready.set)  # never due: the poller never lets the clock move
        while not ready.is_set():
            await asyncio.sleep(0)

    with pytest.raises(SimulationStalled) as info:
        run(poll_until_set, wall_timeout=60)
    message = str(info.value)
    assert isinstance(info.value, RunawaySimulation)  # old `except RunawaySimulation` still catch it
    assert message.startswith(f"stalled at virtual time 0.0 s: the loop ran {small_stall_limit} steps")
    assert "Running at this instant:\n  - task simulation-main\n" in message
    assert "task simulation-main waiting at" in message and "in poll_until_set" in message


def test_many_steps_at_many_instants_are_not_a_stall(small_stall_limit):
    async def busy_but_moving():
        loop = asyncio.get_running_loop()
        for _ in range(8):  # 8 x 12,000 steps: more than the limit in all, less at any instant
            for _ in range(12_000):
                await asyncio.sleep(0)
            await asyncio.sleep(0.001)
        return loop.time(), loop.limits.steps

    t, steps = run(busy_but_moving, wall_timeout=60)
    assert t == pytest.approx(0.008)
    assert steps > 8 * 12_000 > small_stall_limit
