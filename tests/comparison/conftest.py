"""A fresh ledger and no pooled connections for every comparison test; plots draw off-screen;
the four loopback provider servers at once, configured, for those that need them."""

from __future__ import annotations

import matplotlib
import pytest

import llmpipe_nb as llm
from llmpipe_nb.providers._http import close_transports
from llmpipe_nb.testing import FakeServer

matplotlib.use("Agg")

TEST_KEY = "sk-compare-test-0123456789abcdef"
PROVIDERS = ("openai", "anthropic", "ollama", "gemini")


@pytest.fixture(autouse=True)
def fresh_ledger():
    llm.ledger().reset()
    close_transports()
    yield
    close_transports()
    llm.ledger().reset()
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture
def mock():
    return llm.providers.get("mock")


@pytest.fixture
def servers():
    """The OpenAI, Anthropic, Ollama and Gemini fakes, each provider configured to reach its own."""
    started = {name: FakeServer(name).start() for name in PROVIDERS}
    try:
        for name, server in started.items():
            if name == "ollama":
                llm.configure(name, base_url=server.url)
            else:
                llm.configure(name, base_url=server.base_url, api_key=TEST_KEY)
        yield started
    finally:
        close_transports()
        for server in started.values():
            server.close()
