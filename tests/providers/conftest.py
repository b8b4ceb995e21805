from __future__ import annotations

import pytest

from llmpipe_nb.providers._http import close_transports

TRANSPORTS = ["httpx2", "aiohttp"]


@pytest.fixture(autouse=True, params=TRANSPORTS)
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every provider test runs over both HTTP transports (LLMPIPE_TRANSPORT). The aiohttp
    one carries the async calls; sync calls go through httpx2 on both."""
    monkeypatch.setenv("LLMPIPE_TRANSPORT", request.param)
    return str(request.param)


@pytest.fixture(autouse=True)
def fresh_transports():
    """Each test starts without pooled clients, and leaves none behind."""
    close_transports()
    yield
    close_transports()
