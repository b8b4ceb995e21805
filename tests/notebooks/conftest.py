"""Fixtures for running notebooks and docs in real Jupyter kernels."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: the user's own pip cache, read before the autouse fixture moves HOME into tmp_path
PIP_CACHE_DIR = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """Kernels inherit this process's isolated environment; keep IPython and Jupyter in tmp too."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    return dict(os.environ)
