"""Every public docstring example in cachesim runs."""

import doctest
import importlib
import pkgutil

import pytest

import cachesim

MODULES = sorted(["cachesim"] + [f"cachesim.{m.name}" for m in pkgutil.iter_modules(cachesim.__path__)])


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_public_functions_have_docstrings_and_hints():
    import inspect

    for name in cachesim.__all__:
        obj = getattr(cachesim, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert obj.__doc__, name
        if inspect.isfunction(obj):
            sig = inspect.signature(obj)
            assert sig.return_annotation is not inspect.Signature.empty, name
