"""cachesim: a deterministic laboratory for caches, in virtual time.

Run a seeded workload against any cache with ``async get(key)`` and a simulated database
with finite capacity, latency distributions and scheduled faults; read percentiles, DB
load and cache counters; plot them. Same seed, same numbers, on every machine.

>>> from cachesim import Workload, SimulatedDatabase, NaiveCache, simulate
>>> r = simulate(Workload(duration=5, rate=100, keys=10, seed=3),
...              lambda load: NaiveCache(load, ttl=60), database=SimulatedDatabase(latency=0.01))
>>> r.db_calls, r.p99      # 10 keys; two callers missed one key at once: 11 loads
(11, 0.01)
"""

from .baselines import BaselineStats, NaiveCache, SingleflightCache
from .database import (
    FAULT_KINDS,
    DatabaseError,
    DatabaseUnavailable,
    Exponential,
    Fault,
    Fixed,
    LatencyModel,
    LogNormal,
    SimulatedDatabase,
    Uniform,
    error_rate,
    outage,
    slowdown,
)
from .plots import plot_compare, plot_db_load, plot_latency
from .progress import Progress
from .results import Comparison, SimResult, SLOReport, compare, format_seconds
from .simulation import CacheLike, simulate, simulate_async
from .throttle import LoopThrottler
from .runner import run
from .vtime import (
    RunawaySimulation,
    SimulationDeadlock,
    SimulationError,
    SimulationInterrupted,
    SimulationStalled,
    VirtualTimeLoop,
)
from .scenarios import HotKeyDemo, hot_key_refresh_demo
from .workload import Burst, Workload

__all__ = [
    "BaselineStats", "NaiveCache", "SingleflightCache",
    "FAULT_KINDS", "DatabaseError", "DatabaseUnavailable", "Exponential", "Fault", "Fixed",
    "LatencyModel", "LogNormal", "SimulatedDatabase", "Uniform", "error_rate", "outage", "slowdown",
    "plot_compare", "plot_db_load", "plot_latency",
    "HotKeyDemo", "hot_key_refresh_demo",
    "Progress",
    "Comparison", "SimResult", "SLOReport", "compare", "format_seconds",
    "CacheLike", "simulate", "simulate_async",
    "LoopThrottler",
    "RunawaySimulation", "SimulationDeadlock", "SimulationError", "SimulationInterrupted",
    "SimulationStalled", "VirtualTimeLoop", "run",
    "Burst", "Workload",
]

# ---------------------------------------------------------------------------------------
# Shipping lab (modules 05 and 06): fleet, rollout, canary, telemetry, SLO alerts, pre-warm.
# Loaded lazily on first use, so modules 00-04 do not import openfeature / prometheus_client.
_SHIPPING = {
    "Fleet": "fleet", "Deploy": "fleet", "Pause": "fleet", "Call": "fleet", "FleetControl": "fleet",
    "stable_hash": "fleet",
    "FleetResult": "fleet_result", "GroupStats": "fleet_result",
    "Prewarm": "prewarm", "PrewarmReport": "prewarm", "TokenBucket": "prewarm", "prewarm_keys": "prewarm",
    "Rollout": "rollout", "bucket_of": "rollout",
    "CanaryVerdict": "canary", "judge": "canary", "judge_fleet": "canary", "mann_whitney_u": "canary",
    "bootstrap_quantile_diff": "canary", "auto_canary": "canary",
    "Telemetry": "telemetry",
    "SLO": "slo", "BurnRateRule": "slo", "WORKBOOK_RULES": "slo", "workbook_rules": "slo", "Alert": "slo",
    "AlertTimeline": "slo", "precision_recall": "slo",
    "plot_dashboard": "shipping_plots",
}
__all__ += list(_SHIPPING)


def __getattr__(name: str):
    module = _SHIPPING.get(name)
    if module is None:
        raise AttributeError(f"module 'cachesim' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
