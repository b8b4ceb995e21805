"""How core values find their views without importing them.

A Request or a response shown in a notebook asks `render("response_html", value)`. The
views package registers its functions here when it is imported, and the package's top
module adds a loader that imports it at the first display, so the views cost nothing
until something is shown. With no view registered, `render` gives None and the value's
plain repr stands in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_views: dict[str, Callable[[Any], Any]] = {}
_loaders: list[Callable[[], None]] = []
_lock = threading.Lock()


def register(**views: Callable[[Any], Any]) -> None:
    """Register view functions by name (`response_html=...`), replacing any before."""
    _views.update(views)


def add_loader(load: Callable[[], None]) -> None:
    """Run `load()` (which registers views) the first time a view is asked for."""
    _loaders.append(load)


def render(name: str, value: Any) -> Any:
    """The view `name` of `value`, or None when no view of that name is registered."""
    view = _views.get(name)
    if view is None and _loaders:
        with _lock:
            while _loaders:
                _loaders[0]()
                _loaders.pop(0)
        view = _views.get(name)
    return None if view is None else view(value)
