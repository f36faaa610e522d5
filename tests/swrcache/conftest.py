"""Fixtures for the swrcache tests; helpers to import live in swr_helpers.py."""

from __future__ import annotations

import pytest

from swr_helpers import FakeLoader


@pytest.fixture
def loader() -> FakeLoader:
    """A loader taking 1 s of virtual time per call, recording calls and concurrency."""
    return FakeLoader(delay=1.0)
