"""Fixtures for the feature plugs: fresh shared state and a loopback OpenAI server."""

from __future__ import annotations

import pytest

import llmpipe_nb as llm
from llmpipe_nb.plugs.circuit_breaker import reset_circuits
from llmpipe_nb.plugs.rate_limiter import reset_rate_limits
from llmpipe_nb.providers._http import close_transports
from llmpipe_nb.stores import close_stores

KEY = "sk-canary-0123456789abcdef"


@pytest.fixture(autouse=True)
def fresh_plug_state():
    """Circuits, rate buckets, cache stores, pooled clients and the ledger start empty."""
    reset_circuits()
    reset_rate_limits()
    close_stores()
    close_transports()
    llm.ledger().reset()
    yield
    close_stores()
    close_transports()
    llm.ledger().reset()


@pytest.fixture
def openai_opts(openai_server):
    """Options that point the openai provider at the loopback server."""
    return {"base_url": openai_server.base_url, "api_key": KEY, "model": "gpt-4o-mini"}


@pytest.fixture
def fresh_store_warnings():
    """Each store's failure is said once per process: these tests start with none said."""
    from llmpipe_nb.plugs import cache

    cache._warned.clear()
    yield
    cache._warned.clear()


@pytest.fixture
def sleeps():
    """A recording sleep: tests run at full speed and see every delay asked for."""
    seen: list[float] = []
    return seen
