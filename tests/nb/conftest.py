"""An in-process IPython shell with the extension loaded, and a canary API key."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

import llmpipe_nb as llm

CANARY = "sk-canary-0123456789abcdefXYZ"


@pytest.fixture
def ip():
    """A fresh shell (the singleton, which `display()` publishes through) with %llm loaded."""
    InteractiveShell.clear_instance()
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    shell.user_ns["llm"] = llm
    shell.extension_manager.load_extension("llmpipe_nb")
    yield shell
    InteractiveShell.clear_instance()


@pytest.fixture
def mock():
    return llm.providers.get("mock")


@pytest.fixture
def canary(monkeypatch):
    """A key configured for the mock and set for OpenAI: it must never show anywhere."""
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    llm.configure("mock", api_key=CANARY)
    return CANARY
