from __future__ import annotations

import pytest

from llmpipe_nb.providers._http import close_transports


@pytest.fixture(autouse=True)
def fresh_transports():
    """Each test starts without pooled clients, and leaves none behind."""
    close_transports()
    yield
    close_transports()
