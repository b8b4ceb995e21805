"""Every test runs offline, with no provider keys and a private home directory."""

from __future__ import annotations

import os

import pytest

import llmpipe_nb as llm
from llmpipe_nb import config, pricing

pytest_plugins = ["llmpipe_nb.testing.pytest_plugin"]

_KEY_SUFFIXES = ("_API_KEY", "_BASE_URL")
_OTHER_VARS = (
    "OLLAMA_HOST",
    "GOOGLE_API_KEY",
    "LLMPIPE_PROVIDER",
    "LLMPIPE_LEDGER",
    "LLMPIPE_TRANSPORT",
)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No keys, no user config, a fresh mock and fresh prices for every test."""
    for var in list(os.environ):
        if var.endswith(_KEY_SUFFIXES) or var in _OTHER_VARS:
            monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(name, str(home / name.lower()))
    config.reset_configuration()
    pricing.clear_prices()
    mock = llm.providers.get("mock")
    mock.reset()
    yield
    mock.reset()
    config.reset_configuration()


def pytest_collection_modifyitems(items):
    """Browser tests keep one Playwright session (with its own event loop in this thread)
    open until the end of the run, so they run last, after every asyncio test."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)
