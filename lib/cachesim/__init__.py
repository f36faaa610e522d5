"""cachesim: a deterministic laboratory for caches, in virtual time."""

from .vtime import (
    RunawaySimulation,
    SimulationDeadlock,
    SimulationError,
    SimulationInterrupted,
    VirtualTimeLoop,
    run,
)

__all__ = [
    "RunawaySimulation",
    "SimulationDeadlock",
    "SimulationError",
    "SimulationInterrupted",
    "VirtualTimeLoop",
    "run",
]
