"""An in-process IPython shell with the extension loaded, cells run in it, and a canary API key."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
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


class Cells:
    """Cells run the way a notebook runs them, every display message captured."""

    def __init__(self, shell: InteractiveShell) -> None:
        self.shell = shell

    def run(self, source: str):
        """(the cell's result, what it displayed)."""
        with capture_output() as cap:
            result = self.shell.run_cell(source, store_history=True)
        return result, cap

    def ok(self, source: str):
        """What a cell that must succeed displayed."""
        result, cap = self.run(source)
        result.raise_error()
        return cap


@pytest.fixture
def cells(ip):
    return Cells(ip)


@pytest.fixture
def mock():
    return llm.providers.get("mock")


@pytest.fixture
def canary(monkeypatch):
    """A key configured for the mock and set for OpenAI: it must never show anywhere."""
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    llm.configure("mock", api_key=CANARY)
    return CANARY
