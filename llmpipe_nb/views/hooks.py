"""Hands the core its views: imported with the views package, so a shown Request or
response finds them through `llmpipe_nb.rendering` (the core never imports the views)."""

from __future__ import annotations

from .. import rendering
from .request import request_html, request_rich
from .response import response_html, response_rich, response_text

rendering.register(
    request_html=request_html,
    request_rich=request_rich,
    response_html=response_html,
    response_rich=response_rich,
    response_text=response_text,
)
