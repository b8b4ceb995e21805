"""A fresh, unpersisted process ledger for every structured-output test."""

from __future__ import annotations

import pytest

import llmpipe_nb as llm


@pytest.fixture(autouse=True)
def fresh_ledger():
    ledger = llm.ledger()
    ledger.persist(None)
    ledger.reset()
    yield ledger
    ledger.persist(None)
    ledger.reset()


@pytest.fixture
def mock():
    return llm.providers.get("mock")
