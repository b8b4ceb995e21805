"""Pytest fixtures for the fake servers; list this module in `pytest_plugins` to use them.

`openai_server`, `anthropic_server`, `gemini_server` and `ollama_server` give a running
server per test; `fake_server(provider, **options)` makes more (flavors, a required key)
and closes them all when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from llmpipe_nb.testing.server import FakeServer

__all__ = ["anthropic_server", "fake_server", "gemini_server", "ollama_server", "openai_server"]


@pytest.fixture
def fake_server() -> Iterator[Callable[..., FakeServer]]:
    started: list[FakeServer] = []

    def start(provider: str = "openai", **options: object) -> FakeServer:
        server = FakeServer(provider, **options).start()  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def openai_server() -> Iterator[FakeServer]:
    with FakeServer("openai") as server:
        yield server


@pytest.fixture
def anthropic_server() -> Iterator[FakeServer]:
    with FakeServer("anthropic") as server:
        yield server


@pytest.fixture
def gemini_server() -> Iterator[FakeServer]:
    with FakeServer("gemini") as server:
        yield server


@pytest.fixture
def ollama_server() -> Iterator[FakeServer]:
    with FakeServer("ollama") as server:
        yield server
