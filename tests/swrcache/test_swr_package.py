"""Package hygiene: doctests run, one-way dependencies, stdlib only, no wall clock."""

from __future__ import annotations

import ast
import doctest
import importlib
import pkgutil
import sys
from pathlib import Path

import pytest

import swrcache

PACKAGE_DIR = Path(swrcache.__file__).parent
MODULES = ["swrcache"] + [f"swrcache.{m.name}" for m in pkgutil.iter_modules(swrcache.__path__)]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0, f"{name} has no runnable example"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(PACKAGE_DIR.glob("*.py")), ids=lambda p: p.name)
def test_imports_only_the_standard_library(path):
    third_party = {n for n in _imports(path) if n not in sys.stdlib_module_names}
    assert not third_party, f"{path.name} imports {third_party}"
    assert "cachesim" not in third_party and "coursekit" not in third_party


@pytest.mark.parametrize("path", sorted(PACKAGE_DIR.glob("*.py")), ids=lambda p: p.name)
def test_never_reads_the_wall_clock(path):
    source = path.read_text()
    for banned in ("time.time(", "time.monotonic(", "time.perf_counter(", "datetime.now(",
                   "import time"):
        assert banned not in source, f"{path.name} uses {banned}"


def test_public_names_have_docstrings_and_examples():
    for name in swrcache.__all__:
        obj = getattr(swrcache, name)
        if name == "Clock":
            continue
        doc = getattr(obj, "__doc__", "") or ""
        assert ">>>" in doc, f"{name} has no runnable example"


def test_public_api_is_typed():
    import inspect

    for cls in (swrcache.SWRCache, swrcache.LRUCache, swrcache.Singleflight):
        for meth_name, meth in inspect.getmembers(cls, inspect.isfunction):
            if meth.__module__.split(".")[0] != "swrcache" or (
                    meth_name.startswith("_") and meth_name != "__init__"):
                continue
            hints = meth.__annotations__
            assert "return" in hints, f"{cls.__name__}.{meth_name} lacks a return annotation"


def test_all_is_the_small_public_api_and_internals_stay_importable():
    assert set(swrcache.__all__) == {
        "SWRCache", "WouldBlock", "CacheStats", "LRUCache", "Singleflight",
        "CircuitBreaker", "CircuitOpenError", "Backoff"}
    # Existing code imports these from the package; they stay there, out of __all__.
    from swrcache import Clock, ManualClock, PrioritySlots, loop_time, should_refresh_early

    assert all(callable(x) for x in (ManualClock, PrioritySlots, loop_time,
                                     should_refresh_early)) and Clock is not None


def test_cache_stats_fields_are_the_counter_schema():
    import dataclasses

    names = [f.name for f in dataclasses.fields(swrcache.CacheStats)]
    assert names == list(swrcache.CacheStats().as_dict())
    assert {"hits", "misses", "stale_served", "coalesced", "loads", "load_errors",
            "refresh_timeouts", "breaker_opens", "evictions", "early_refreshes"} == set(names)
    assert all(f.type in (int, "int") and f.default == 0
               for f in dataclasses.fields(swrcache.CacheStats))


@pytest.mark.parametrize("path", sorted(PACKAGE_DIR.glob("*.py")), ids=lambda p: p.name)
def test_no_module_is_large(path):
    assert len(path.read_text().splitlines()) <= 450, f"{path.name}: split it"


def test_every_public_swrcache_method_documents_raises_and_cancellation():
    import inspect

    for name, member in vars(swrcache.SWRCache).items():
        if name.startswith("_") or not inspect.isfunction(member):
            continue
        doc = inspect.getdoc(member) or ""
        assert "Raises:" in doc, f"SWRCache.{name} lacks a Raises: section"
        assert "cancel" in doc.lower(), f"SWRCache.{name} does not say what cancelling does"
