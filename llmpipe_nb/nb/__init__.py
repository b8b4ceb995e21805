"""The notebook layer: the %%llm / %llm magics, live answers, the inspector, the cost dashboard
and the approval card of a paused tool loop.

`%load_ext llmpipe_nb` registers the magics. IPython and ipywidgets are imported by
the modules that need them, when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "LLMMagics": "llmpipe_nb.nb.magics",
    "PipelineInspector": "llmpipe_nb.nb.inspector",
    "CostDashboard": "llmpipe_nb.nb.dashboard",
    "ApprovalCard": "llmpipe_nb.nb.approval",
    "approval_card": "llmpipe_nb.nb.approval",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmpipe_nb.nb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def load_ipython_extension(ipython: Any) -> None:
    """Register the %%llm and %llm magics with `ipython`."""
    from .magics import LLMMagics

    ipython.register_magics(LLMMagics)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the magics again (`%unload_ext llmpipe_nb`)."""
    manager = ipython.magics_manager
    for kind in ("line", "cell"):
        manager.magics[kind].pop("llm", None)
    magics = manager.registry.pop("LLMMagics", None)
    if magics is not None:
        ipython.events.unregister("post_run_cell", magics.after_cell)


__all__ = [
    "ApprovalCard",
    "CostDashboard",
    "LLMMagics",
    "PipelineInspector",
    "approval_card",
    "load_ipython_extension",
]
