"""A fresh, unpersisted process ledger for every ledger test; plots draw off-screen."""

from __future__ import annotations

import matplotlib
import pytest

import llmpipe_nb as llm

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def each_with_a_fresh_ledger(fresh_ledger):
    """Every test here starts with a fresh, unpersisted ledger (see tests/conftest.py), and
    leaves no figure open."""
    yield fresh_ledger
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture
def priced_mock():
    """Mock costs that are not zero: $3 in, $15 out per million tokens."""
    llm.set_price("mock-1", input_per_mtok=3.0, output_per_mtok=15.0)
    llm.set_price("mock-embed-1", input_per_mtok=0.02, output_per_mtok=0.0)
