"""Fixtures for the shared-store tests; helpers to import live in redis_helpers.py."""

from __future__ import annotations

import pytest

from redis_helpers import Backend, make_backend, real_backends, stop_servers


@pytest.fixture(scope="session", autouse=True)
def _stop_servers():
    yield
    stop_servers()


@pytest.fixture(params=["model"] + real_backends())
def backend(request) -> Backend:
    """Every backend: the contract suite runs against each."""
    return make_backend(request.param)


@pytest.fixture(params=real_backends())
def real(request) -> Backend:
    """Real servers only (library tests of the tier on Redis)."""
    return make_backend(request.param)
