"""Fixtures for running notebooks and docs in real Jupyter kernels."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """Kernels inherit this process's isolated environment; keep IPython and Jupyter in tmp too."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    return dict(os.environ)
