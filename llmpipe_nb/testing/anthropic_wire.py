"""The Anthropic fake: Messages (plain, streamed, tool use) and the model list.

Streams follow the documented event order with `event:` + `data:` pairs, a `ping`
among the deltas, an empty first `input_json_delta`, cumulative `message_delta`
usage, and one event type no client knows yet (the API reserves the right to add
them, so clients must skip them).
"""

from __future__ import annotations

import json
from typing import Any

from llmpipe_nb.testing import echo
from llmpipe_nb.testing.wire import (
    RecordedRequest,
    Reply,
    Stream,
    Wire,
    content_text,
    first_property,
)

__all__ = ["AnthropicWire"]

MODELS = (
    ("claude-sonnet-4-20250514", "Claude Sonnet 4"),
    ("claude-3-5-haiku-20241022", "Claude Haiku 3.5"),
    ("claude-opus-4-20250514", "Claude Opus 4"),
)

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

# -- model lifecycle (December 2026): listed with their lifecycle, retired ones not found --
LIFECYCLE = {  # model -> (lifecycle, retires_at)
    "claude-sonnet-4-20250514": ("retired", "2026-06-15T00:00:00Z"),
    "claude-sonnet-4-0": ("retired", "2026-06-15T00:00:00Z"),
    "claude-opus-4-20250514": ("retired", "2026-06-15T00:00:00Z"),
    "claude-opus-4-0": ("retired", "2026-06-15T00:00:00Z"),
    "claude-opus-4-1-20250805": ("retired", "2026-08-05T00:00:00Z"),
    "claude-opus-4-5": ("deprecated", "2027-01-22T00:00:00Z"),
}


def _lifecycle(model: str) -> dict[str, Any]:
    """The lifecycle fields of a /v1/models entry (`null` dates while active)."""
    status, retires_at = LIFECYCLE.get(model, ("active", None))
    return {"lifecycle": status, "retires_at": retires_at}


def _retired(wire: Wire, model: str) -> Reply | None:
    """Anthropic's answer for a retired model: a 404 that names it."""
    if LIFECYCLE.get(model, ("active",))[0] != "retired":
        return None
    return wire.error(404, f"model: {model}")


class AnthropicWire(Wire):
    name = "anthropic"

    def handle(self, request: RecordedRequest, chunk_count: int | None) -> Reply | Stream:
        if request.method == "GET" and request.path == "/v1/models":
            return self._models(request.query)
        if (request.method, request.path) != ("POST", "/v1/messages"):
            return self.error(404, f"Not found: {request.method} {request.path}")
        if request.headers.get("anthropic-version") != "2023-06-01":
            return self.error(400, "anthropic-version: header is required")
        body = request.json
        if not isinstance(body, dict):
            return self.error(400, "The request body is not valid JSON.")
        for field_name in ("model", "max_tokens", "messages"):
            if field_name not in body:
                return self.error(400, f"{field_name}: Field required")
        if (gone := _retired(self, body["model"])) is not None:
            return gone
        messages = body["messages"]
        if not messages or any(m.get("role") not in ("user", "assistant") for m in messages):
            return self.error(400, "messages: roles must be 'user' or 'assistant'")
        last = messages[-1]
        text = echo.echo(content_text(last.get("content")))
        calls = _tool_uses(body, last)
        prompt = echo.token_count(json.dumps(body.get("system", "")), json.dumps(messages))
        message: dict[str, Any] = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": prompt,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 1,
            },
        }
        stop_reason = "tool_use" if calls else "end_turn"
        if body.get("stream"):
            return Stream(self._events(message, text, calls, stop_reason, chunk_count))
        content = [{"type": "text", "text": text}, *calls]
        usage = message["usage"] | {"output_tokens": echo.token_count(text)}
        return Reply(message | {"content": content, "stop_reason": stop_reason, "usage": usage})

    def _events(self, message, text, calls, stop_reason, chunk_count):
        def event(name: str, payload: dict[str, Any]) -> bytes:
            return self.sse({"type": name, **payload}, event=name)

        yield event("message_start", {"message": message})
        yield event(
            "content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}
        )
        yield self.sse('{"type": "ping"}', event="ping")
        count = 0
        for piece in echo.pieces(text, chunk_count):
            count += 1
            delta = {"type": "text_delta", "text": piece}
            yield event("content_block_delta", {"index": 0, "delta": delta})
        yield event("content_block_stop", {"index": 0})
        for index, call in enumerate(calls, start=1):
            block = call | {"input": {}}
            yield event("content_block_start", {"index": index, "content_block": block})
            encoded = json.dumps(call["input"])
            for part in ("", encoded[: len(encoded) // 2], encoded[len(encoded) // 2 :]):
                delta = {"type": "input_json_delta", "partial_json": part}
                yield event("content_block_delta", {"index": index, "delta": delta})
            yield event("content_block_stop", {"index": index})
        yield event("future_event_type", {"note": "clients skip events they do not know"})
        stop = {"stop_reason": stop_reason, "stop_sequence": None}
        yield event("message_delta", {"delta": stop, "usage": {"output_tokens": count}})
        yield event("message_stop", {})

    def _models(self, query) -> Reply:
        ids = [model_id for model_id, _ in MODELS]
        start = ids.index(query["after_id"]) + 1 if query.get("after_id") in ids else 0
        limit = int(query.get("limit", 20))
        page = MODELS[start : start + limit]
        data = [
            {
                "type": "model",
                "id": model_id,
                "display_name": name,
                "created_at": "2025-05-22T00:00:00Z",
            }
            | _lifecycle(model_id)
            for model_id, name in page
        ]
        return Reply(
            {
                "data": data,
                "has_more": start + limit < len(MODELS),
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            }
        )

    def error_body(self, status: int, message: str) -> object:
        kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": "req_fake",
        }

    def stream_error_frame(self) -> bytes:
        error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        return self.sse(error, event="error")

    def malformed_frame(self) -> bytes:
        return self.sse(
            '{"type": "content_block_delta", "index": 0, "delta": {', event="content_block_delta"
        )

    def credential_ok(self, request: RecordedRequest) -> bool:
        return self.api_key is None or self.api_key in (
            request.headers.get("x-api-key"),
            request.headers.get("authorization", "").removeprefix("Bearer "),
        )

    def reply_headers(self, request: RecordedRequest) -> dict[str, str]:
        return {
            "request-id": request.request_id,
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "49",
            "anthropic-ratelimit-requests-reset": "2025-08-21T12:40:59Z",
        }


def _tool_uses(body: dict[str, Any], last: dict[str, Any]) -> list[dict[str, Any]]:
    """One tool_use per offered tool (at most two), unless the turn carries tool results."""
    content = last.get("content")
    if isinstance(content, list) and any(b.get("type") == "tool_result" for b in content):
        return []
    if (body.get("tool_choice") or {}).get("type") == "none":
        return []
    calls = []
    for index, tool in enumerate((body.get("tools") or [])[:2]):
        key = first_property(tool.get("input_schema"))
        args = {key: content_text(content)} if key else {}
        calls.append(
            {"type": "tool_use", "id": f"toolu_{index}", "name": tool["name"], "input": args}
        )
    return calls
