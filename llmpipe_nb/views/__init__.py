"""HTML, text and rich views of responses, requests and pipelines (standard library only).

Every piece of model or user text is escaped and passed through `redact`, every option
whose name says it is a credential is masked, the CSS is scoped to a container id that
is unique per output, and nothing is fetched from outside (no CDN, no font, no script).
Each HTML view has a text twin for terminals, GitHub and nbconvert. Importing the
package registers the views of requests and responses with the core (`hooks`).
"""

from . import hooks  # noqa: F401 - registers the core's views
from ._html import (
    View,
    badge,
    clip,
    duration,
    esc,
    facts_html,
    frame,
    is_secret_name,
    money,
    options_html,
    shown,
    table,
    table_view,
)
from .answer import FORMATS, answer_html
from .markdown import markdown_html
from .pipeline import pipeline_html, pipeline_rich, pipeline_text
from .request import request_facts, request_html, request_rich, request_text
from .response import response_footer, response_html, response_rich, response_text
from .structured import parsed_html, parsed_text
from .transcript import pending_html, pending_text, transcript_html, transcript_text
from .waterfall import loop_html, trace_html, trace_text

__all__ = [
    "FORMATS",
    "View",
    "answer_html",
    "badge",
    "clip",
    "duration",
    "esc",
    "facts_html",
    "frame",
    "is_secret_name",
    "loop_html",
    "markdown_html",
    "money",
    "options_html",
    "parsed_html",
    "parsed_text",
    "pending_html",
    "pending_text",
    "pipeline_html",
    "pipeline_rich",
    "pipeline_text",
    "request_facts",
    "request_html",
    "request_rich",
    "request_text",
    "response_footer",
    "response_html",
    "response_rich",
    "response_text",
    "shown",
    "table",
    "table_view",
    "trace_html",
    "trace_text",
    "transcript_html",
    "transcript_text",
]
