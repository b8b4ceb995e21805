"""When a structured request runs again, and as what.

Two reasons, each a new request run through the same pipeline, so every attempt has its
own trace and ledger row: an answer that does not fit, sent back with the validator's
message while `repair=` allows (the conversation grows by the bad answer and the
correction, and the ledger row is tagged `repair:<n>`), and a server that refused the
form of structured output (a 400, 422 or 500 naming it), asked once more in the
provider's next form, which is then remembered for that server.
"""

from __future__ import annotations

from typing import Any

from ..errors import RefusalError, SchemaValidationError
from ..request import Request
from .structured import HISTORY, KEY, Asked
from .structured_forms import next_form, refused_form


def next_attempt(done: Request) -> tuple[Request, str] | None:
    """The request to run next and why ("repair" or "form"), or None when `done` stands."""
    asked: Asked | None = done.private.get(KEY)
    if asked is None or done.state != "error":
        return None
    error = done.terminal_error
    if isinstance(error, SchemaValidationError) and not isinstance(error, RefusalError):
        if asked.repairs_used >= asked.repair:
            return None
        messages = (
            *asked.messages,
            {"role": "assistant", "content": error.raw},
            {"role": "user", "content": correction(error)},
        )
        record = {"kind": "repair", "request_id": done.id, "error": error.message}
        return _again(done, asked, messages, record), "repair"
    if not refused_form(error, asked.form) or any(h["kind"] == "form" for h in asked.history):
        return None
    form = next_form(done.provider, asked.forms, asked.base_url, asked.form)
    if form is None:
        return None
    record = {
        "kind": "form",
        "request_id": done.id,
        "form": asked.form,
        "next": form,
        "error": getattr(error, "message", str(error)),
    }
    return _again(done, asked, asked.messages, record), "form"


def correction(error: SchemaValidationError) -> str:
    """The message that sends a misfit back to the model."""
    return (
        f"That answer does not fit the schema {error.schema}: at {error.path}, {error.reason}. "
        "Answer again with only the corrected JSON."
    )


def _again(done: Request, asked: Asked, messages: Any, record: dict[str, Any]) -> Request:
    again = Request.new(done.provider, messages, asked.options, kind=done.kind)
    meta: dict[str, Any] = {HISTORY: (*asked.history, record)}
    if asked.tags:
        meta["tags"] = asked.tags
    return again.evolve(metadata=meta)
