"""A fresh, unpersisted process ledger for every structured-output test."""

from __future__ import annotations

import pytest

import llmpipe_nb as llm


@pytest.fixture(autouse=True)
def each_with_a_fresh_ledger(fresh_ledger):
    """Every test here starts with a fresh, unpersisted ledger (see tests/conftest.py)."""


@pytest.fixture
def mock():
    return llm.providers.get("mock")
