"""Tools tests: a fresh, unpersisted ledger each, and a way to reach each loopback server."""

from __future__ import annotations

import pytest

from llmpipe_nb.testing import FakeServer

KEY = "sk-test-canary-0123456789"
#: a model per provider that takes tools, and the provider's fake
MODELS = {
    "openai": "gpt-6.1-sol",
    "anthropic": "claude-sonnet-4-6",
    "gemini": "gemini-2.5-flash-lite",
    "ollama": "qwen3",
    "vllm": "served-model",
    "groq": "llama-3.3-70b-versatile",
}
#: every provider the loop is tested on: the four, and two of the OpenAI-compatible family
PROVIDERS = list(MODELS)
#: (wire, flavor) of the fake that stands in for each OpenAI-compatible preset
WIRE = {"vllm": ("openai", "vllm"), "groq": ("openai", "groq")}


@pytest.fixture(autouse=True)
def each_with_a_fresh_ledger(fresh_ledger):
    """Every test here starts with a fresh, unpersisted ledger (see tests/conftest.py)."""


@pytest.fixture
def served():
    """`served(provider)` -> (server, options reaching it); every server stops at the end."""
    started: list[FakeServer] = []

    def start(provider: str) -> tuple[FakeServer, dict]:
        wire, flavor = WIRE.get(provider, (provider, None))
        server = FakeServer(wire, flavor=flavor).start()
        started.append(server)
        options = {"base_url": server.base_url, "model": MODELS[provider]}
        if provider != "ollama":
            options["api_key"] = KEY
        return server, options

    yield start
    for server in started:
        server.close()
