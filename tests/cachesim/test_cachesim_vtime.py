"""The virtual-time runner: clock jumps, deadlock and runaway detection, thread mode."""

import asyncio
import time

import pytest

from cachesim import (
    RunawaySimulation,
    SimulationDeadlock,
    SimulationError,
    VirtualTimeLoop,
    run,
)


def test_sleep_costs_virtual_not_wall_time():
    async def main():
        await asyncio.sleep(3600)
        return asyncio.get_running_loop().time()

    t = time.perf_counter()
    assert run(main) == 3600.0
    assert time.perf_counter() - t < 60  # a hang guard, not a speed target: real sleep is an hour


def test_timers_land_exactly_on_their_virtual_time():
    seen = []

    async def main():
        loop = asyncio.get_running_loop()
        for when in (0.1, 0.3, 0.7, 1.9, 12.345):
            loop.call_at(when, lambda: seen.append(loop.time()))
        await asyncio.sleep(20)

    run(main)
    assert seen == [0.1, 0.3, 0.7, 1.9, 12.345]


def test_wait_for_times_out_in_virtual_time():
    async def main():
        loop = asyncio.get_running_loop()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.sleep(10), timeout=2)
        return loop.time()

    assert run(main) == 2.0


def test_deadlock_on_a_future_nobody_completes_names_the_cause():
    async def stuck():
        await asyncio.get_running_loop().create_future()

    async def main():
        await asyncio.gather(stuck(), asyncio.sleep(500))

    t = time.perf_counter()
    with pytest.raises(SimulationDeadlock) as info:
        run(main)
    assert time.perf_counter() - t < 60  # a hang guard: really waiting would take 500 s
    msg = str(info.value)
    assert "deadlock at virtual time 500.000000" in msg
    assert "nothing will ever complete" in msg
    assert "stuck" in msg  # the waiting task's frame is named


def test_deadlock_on_a_lock_never_released():
    async def main():
        lock = asyncio.Lock()
        await lock.acquire()
        await lock.acquire()

    with pytest.raises(SimulationDeadlock):
        run(main)


def test_runaway_virtual_time():
    async def poller():
        while True:
            await asyncio.sleep(1.0)

    with pytest.raises(RunawaySimulation, match="max_virtual_time=100"):
        run(poller, max_virtual_time=100)


def test_runaway_steps_without_time_passing():
    async def spinner():
        while True:
            await asyncio.sleep(0)

    with pytest.raises(RunawaySimulation, match="sleep\\(0\\)"):
        run(spinner, max_steps=10_000)


def test_runaway_wall_time():
    async def spinner():
        while True:  # time moves (a microsecond a step), so only the wall clock can stop it
            await asyncio.sleep(1e-6)

    t = time.perf_counter()
    with pytest.raises(RunawaySimulation, match="wall_timeout"):
        run(spinner, wall_timeout=0.3)
    assert time.perf_counter() - t < 30  # a hang guard: well inside the 60 s default it overrides


def test_errors_from_main_propagate_unchanged():
    async def main():
        await asyncio.sleep(1)
        raise KeyError("boom")

    with pytest.raises(KeyError):
        run(main)


def test_leftover_background_tasks_are_cancelled_quietly(recwarn):
    async def forever():
        await asyncio.sleep(1e6)

    async def main():
        asyncio.get_running_loop().create_task(forever())
        await asyncio.sleep(1)
        return "done"

    assert run(main) == "done"
    assert not [w for w in recwarn if "destroyed" in str(w.message)]


def test_runs_from_inside_a_running_loop_on_a_worker_thread():
    async def sim():
        await asyncio.sleep(2)
        return asyncio.get_running_loop().time()

    async def outer():  # like ipykernel: a loop is already running in this thread
        return run(sim)

    assert asyncio.run(outer()) == 2.0


def test_deadlock_is_reported_from_the_thread_mode_too():
    async def stuck():
        await asyncio.get_running_loop().create_future()

    async def outer():
        return run(stuck)

    with pytest.raises(SimulationDeadlock):
        asyncio.run(outer())


def test_try_jump_to_respects_due_timers():
    async def main():
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualTimeLoop)
        loop.call_at(5.0, lambda: None)
        assert loop.try_jump_to(4.0) and loop.time() == 4.0
        assert not loop.try_jump_to(6.0) and loop.time() == 4.0
        loop.call_soon(lambda: None)
        assert not loop.try_jump_to(4.5)

    run(main)


def test_bad_limits_are_rejected_before_running():
    ran = []

    async def main():
        ran.append(1)

    with pytest.raises(ValueError, match="max_virtual_time"):
        run(main, max_virtual_time=-1)
    with pytest.raises(ValueError, match="wall_timeout"):
        run(main, wall_timeout=0)
    assert not ran


def test_simulation_errors_share_a_base_class():
    assert issubclass(SimulationDeadlock, SimulationError)
    assert issubclass(RunawaySimulation, SimulationError)
