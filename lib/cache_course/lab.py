"""What every module's lab bench shares: the cache scaffolding, virtual-time runs, and the
guards that keep a check about one question from grading another.

* :class:`LabCache` — entries ``key -> (stored_at, value)`` in loop time, ``put`` and
  ``_load``: the scaffolding the lab caches of modules 02 and 03 build on.
* :class:`Prefilled`, :func:`require_finished`, :func:`require_no_stub_errors` — fill a cache
  in one instant for ``cachesim.simulate``; refuse to simulate starter code.
* :func:`run_virtual` — run a coroutine in virtual time, a hang turned into a mismatch.
* :func:`reference_parts` — run a learner's class or function with the course's reference
  for the pieces *other* questions ask for, so each question's points depend on it alone.
* :func:`assert_own_work` — the question that asks you to build X does not accept the
  library's X (imported, subclassed or wrapped).
"""

from __future__ import annotations

import asyncio
import inspect
import types
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Mapping

from coursekit.questions import Mismatch, NotAttempted, expect_true

#: What nbgrader leaves in an answer region (inside the quotes of a written answer).
NBGRADER_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"

__all__ = [
    "LabCache",
    "Prefilled",
    "assert_own_work",
    "need",
    "reference_parts",
    "require_finished",
    "require_no_stub_errors",
    "run_virtual",
    "show_source",
    "still_starter_code",
]


# --------------------------------------------------------------------------- scaffolding


class LabCache:
    """Entries ``key -> (stored_at, value)`` in loop time; ``put`` stores, ``_load`` loads and stores.

    ``age(key)`` is ``(value, seconds since it was stored)``, or ``None`` when absent.
    """

    def __init__(self, loader: Callable, *, ttl: float, stale_ttl: float = 0.0) -> None:
        self.loader, self.ttl, self.stale_ttl = loader, ttl, stale_ttl
        self._entries: dict = {}  # key -> (stored_at, value)

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def put(self, key, value) -> None:
        self._entries[key] = (self._now(), value)

    async def _load(self, key):
        value = await self.loader(key)
        self.put(key, value)
        return value

    def age(self, key) -> tuple[Any, float] | None:
        entry = self._entries.get(key)
        return None if entry is None else (entry[1], self._now() - entry[0])


class Prefilled:
    """Wraps a cache with ``put(key, value)`` so ``cachesim.simulate`` fills it in one instant.

    ``simulate(warm=...)`` calls ``prewarm(keys)``: every key gets version 0 of its session at
    the same virtual time, with no database query, so all entries expire together.
    """

    def __init__(self, cache: Any) -> None:
        put = getattr(cache, "put", None)
        if not callable(put):
            raise Mismatch("your cache's put(key, value)", "a put method", "none",
                           "The starter code gives your class `put`; keep it, the lab bench uses it to pre-fill "
                           "the cache.")
        self.cache = cache
        self.get = cache.get

    async def prewarm(self, keys) -> None:
        for key in keys:
            self.cache.put(key, (key, 0))


def still_starter_code(obj: Any) -> list[str]:
    """Names of the functions or methods of ``obj`` (a function, class or instance) that still
    raise NotImplementedError: the exercise's starter code.

    >>> class Half:
    ...     def done(self): return 1
    ...     def todo(self): raise NotImplementedError()
    >>> still_starter_code(Half()), still_starter_code(lambda: 1)
    (['Half.todo'], [])
    """
    if isinstance(obj, types.MethodType):
        obj = obj.__func__
    if isinstance(obj, types.FunctionType):
        functions = {obj.__qualname__: obj}
    else:
        cls = obj if isinstance(obj, type) else type(obj)
        functions = {f"{cls.__name__}.{n}": f for n, f in vars(cls).items() if isinstance(f, types.FunctionType)}
    return [name for name, f in functions.items() if "NotImplementedError" in f.__code__.co_names]


def require_finished(*objs: Any) -> None:
    """Stop a demo before it runs on starter code, saying what to finish first.

    A simulation of a stub looks like a perfect result (no database calls, p99 0 ms); this
    makes it say why instead.
    """
    todo = [name for obj in objs for name in still_starter_code(obj)]
    if todo:
        raise NotImplementedError(
            f"{', '.join(f'`{n}`' for n in todo)} still {'raises' if len(todo) == 1 else 'raise'} "
            "NotImplementedError: finish the exercise above (its check says how it is going), "
            "then run this cell again.")


def require_no_stub_errors(result: Any) -> Any:
    """Raise if requests of a finished simulation failed with NotImplementedError; else return it."""
    first = getattr(result, "first_errors", {}).get("NotImplementedError")
    if first:
        raise NotImplementedError(
            f"{result.error_count:,} of {result.requests:,} simulated requests failed with "
            f"{first.rstrip(': ')}: the code this "
            "simulation runs is still starter code. Finish the exercise above (its check says how it is going), "
            "then run this cell again.")
    return result


def show_source(obj: Any) -> None:
    """Print the source of a lab-bench class or function, to read in the notebook."""
    print(inspect.getsource(obj))


# --------------------------------------------------------------------------- checking helpers


def need(ns: Mapping, name: str, what: str = "class") -> Any:
    """``ns[name]``, or NotAttempted saying what to write."""
    obj = ns.get(name)
    if obj is None:
        raise NotAttempted(f"`{name}` isn't defined yet: write the {what} and run its cell.")
    return obj


def run_virtual(main: Callable, what: str):
    """Run ``main`` in virtual time; turn a hang into a readable mismatch."""
    from cachesim import RunawaySimulation, SimulationDeadlock, run

    try:
        return run(main, wall_timeout=20.0, max_virtual_time=600.0)
    except SimulationDeadlock:
        raise Mismatch(what, "every caller finishes", "some callers wait forever",
                       "A caller is awaiting something nobody will complete. Does every waiter get the "
                       "shared result — or the shared error — when the load ends?") from None
    except RunawaySimulation as exc:
        raise Mismatch(what, "the run finishes", "it never finished",
                       f"{exc} Look for a loop that never awaits anything that takes time.") from None


def _globals_of(obj: Any) -> list[dict]:
    """The distinct global namespaces the functions of ``obj`` (function or class) read names from."""
    if isinstance(obj, types.FunctionType):
        functions: Iterable[Any] = [obj]
    elif isinstance(obj, type):
        functions = [f for klass in obj.__mro__ if klass is not object for f in vars(klass).values()]
    else:
        functions = []
    found: dict[int, dict] = {}
    for f in functions:
        f = getattr(f, "__func__", f)
        if isinstance(f, property):
            f = f.fget
        g = getattr(f, "__globals__", None)
        if isinstance(g, dict):
            found.setdefault(id(g), g)
    return list(found.values())


@contextmanager
def reference_parts(obj: Any, **parts: Any) -> Iterator[None]:
    """Inside the block, the global names ``parts`` (e.g. ``Singleflight=...``) that the
    functions of ``obj`` look up resolve to the course's references, not the learner's.

    So a check of one question runs the learner's answer to *that* question with reference
    implementations of the pieces other questions ask for: a broken ``Singleflight`` costs the
    singleflight points only. Works on the learner's real namespace (a check's ``ns`` is a copy).

    >>> def uses_helper(): return helper()
    >>> def helper(): return "learner's"
    >>> with reference_parts(uses_helper, helper=lambda: "reference"):
    ...     uses_helper()
    'reference'
    >>> uses_helper()
    "learner's"
    """
    missing = object()
    saved: list[tuple[dict, str, Any]] = []
    try:
        for g in _globals_of(obj):
            for name, ref in parts.items():
                saved.append((g, name, g.get(name, missing)))
                g[name] = ref
        yield
    finally:
        for g, name, old in reversed(saved):
            if old is missing:
                g.pop(name, None)
            else:
                g[name] = old


def _code_only(source: str) -> str:
    """``source`` without comments and string literals: a comment naming the library is no use of it."""
    import io
    import tokenize

    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
                  if t.type not in (tokenize.COMMENT, tokenize.STRING)]
        return tokenize.untokenize((t.type, t.string) for t in tokens)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source


def _source_of(cls: Any) -> str:
    """The code of ``cls``'s methods (or of a function), without comments and strings."""
    parts = []
    for value in vars(cls).values() if isinstance(cls, type) else [cls]:
        try:
            parts.append(_code_only(inspect.getsource(value)))
        except (OSError, TypeError):  # not a function, or no source available
            continue
    return "\n".join(parts)


def assert_own_work(obj: Any, name: str, *, shipped: Mapping[str, Any], make: Callable[[], Any] | None = None) -> None:
    """The question asking you to write ``name`` does not accept the library's answer.

    ``shipped`` maps a dotted name (``"swrcache.LRUCache"``) to the object itself. Fails when
    ``obj`` is one of them, subclasses one, mentions one in its source, or (``make()`` builds
    an instance) holds one in an attribute. You may use the library everywhere else.
    """
    why = ("this question asks you to write it yourself; you may use the course's library elsewhere, "
           "not for the question that asks you to build it.")

    def fail(how: str, what: str) -> None:
        expect_true(f"{name} {how} {what}", False, why, expected=f"your own {name}", got=what)

    modules = {dotted.rsplit(".", 1)[0] for dotted in shipped}

    def shipped_module(kind: Any) -> bool:  # defined in a shipped package ("cachesim.shared_store" and below)
        mod = str(getattr(kind, "__module__", ""))
        return any(mod == m or mod.startswith(m + ".") for m in modules)

    for dotted, thing in shipped.items():
        if obj is thing:
            fail("is", dotted)
        if isinstance(obj, type) and isinstance(thing, type) and issubclass(obj, thing):
            fail("subclasses", dotted)
    if isinstance(obj, type):
        foreign = [k for k in obj.__mro__[1:] if shipped_module(k)]
        if foreign:
            fail("subclasses", f"{foreign[0].__module__}.{foreign[0].__qualname__}")
    source = _source_of(obj)
    for dotted in shipped:
        short = dotted.rsplit(".", 1)[1]
        if dotted in source or f"{short}(" in source or f"({short})" in source:
            fail("uses", dotted)
    for module in sorted(modules):
        if f"{module}." in source or f"import {module}" in source:
            fail("uses", module)
    if make is not None:
        try:
            instance = make()
        except Exception:  # the behaviour checks report a constructor that fails
            return
        for attr, value in sorted(vars(instance).items()):
            kind = type(value)
            if shipped_module(kind):
                fail("wraps", f"{kind.__module__}.{kind.__qualname__} (in self.{attr})")
