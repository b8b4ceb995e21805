"""The Anthropic fake: Messages (plain, streamed, tool use, thinking), the model list, and
Message Batches (`anthropic_batch_wire`).

Streams follow the documented event order with `event:` + `data:` pairs, a `ping`
among the deltas, an empty first `input_json_delta`, cumulative `message_delta`
usage, and one event type no client knows yet (the API reserves the right to add
them, so clients must skip them).

The API as of December 2026: versions `2023-06-01` and `2026-10-21` are both accepted,
and the latter's rules applied (no `temperature`/`top_p`/`top_k`, no `document` in an
assistant turn, no non-empty `citations` on user text); under any version `system`
takes only text blocks, a block only its type's fields (`cache_control` among them),
and an image's URL source only an http(s) URL, Claude 4.7 and
later refuse non-default sampling, and 4.6 and later a final assistant turn.
Thinking (asked for, or always on for Opus 5.5 and Fable 5.1) answers with a signed
`thinking` block, plus a `redacted_thinking` block when the prompt holds Anthropic's
test trigger string. Each signature is an HMAC over the block, its place and the number
of reasoning blocks in its turn, so a block that comes back altered, moved or without
its siblings is refused, as is a tool result whose assistant turn lost its thinking.
Structured output (`output_config.format`) is answered with a valid instance of the
schema (`Wire.structured`), after refusing an object that is not closed
(`additionalProperties: false`); a forced tool's input is one too. `[refuse]` in the
prompt makes the model decline (`stop_reason: "refusal"`). The flavor `no_output_config`
is a server without structured outputs: it refuses `output_config.format`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import Any

from llmpipe_nb.testing import echo
from llmpipe_nb.testing.anthropic_batch_wire import AnthropicBatchRoutes
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

VERSIONS = ("2023-06-01", "2026-10-21")
STRICT_VERSION = "2026-10-21"
#: Anthropic's documented prompt trigger for a redacted_thinking block in tests
REDACTED_TRIGGER = (
    "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_46C9A13E193C177646C7398A98432ECCCE4C1253"
)
_SECRET = b"anthropic-wire-fake-signing-key"  # fixed, so answers are repeatable
_SAMPLING = ("temperature", "top_p", "top_k")
_THINKING_TYPES = ("adaptive", "enabled", "disabled", "between_tools")
_ALWAYS_THINKING = ("claude-opus-5-5", "claude-fable-5-1")
_CLAUDE = re.compile(
    r"claude-(opus|sonnet|haiku|fable|mythos)(?:-(\d{1,2})(?:[-.](\d{1,2}))?(?!\d))?"
)
_MISSING_THINKING = (
    "messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
    "`{found}`. When `thinking` is enabled, a final `assistant` message must start with a "
    "thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). "
    "We recommend you include thinking blocks from previous turns. To avoid this "
    "requirement, disable `thinking`."
)

#: the fields each block type takes (a block of a type not listed is not checked)
_BLOCK_FIELDS = {
    "text": ("type", "text", "citations", "cache_control"),
    "image": ("type", "source", "cache_control"),
    "document": ("type", "source", "title", "context", "citations", "cache_control"),
    "tool_use": ("type", "id", "name", "input", "cache_control"),
    "tool_result": ("type", "tool_use_id", "content", "is_error", "cache_control"),
    "thinking": ("type", "thinking", "signature"),
    "redacted_thinking": ("type", "data"),
}

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
    flavors = ("no_output_config",)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        #: the Message Batches endpoints; `batches.script` steers the jobs
        self.batches = AnthropicBatchRoutes(self, lambda request: self.handle(request, None))

    def handle(self, request: RecordedRequest, chunk_count: int | None) -> Reply | Stream:
        if self.batches.handles(request.path):
            return self.batches.handle(request)
        if request.method == "GET" and request.path == "/v1/models":
            return self._models(request.query)
        if (request.method, request.path) != ("POST", "/v1/messages"):
            return self.error(404, f"Not found: {request.method} {request.path}")
        version = request.headers.get("anthropic-version")
        if version is None:
            return self.error(400, "anthropic-version: header is required")
        if version not in VERSIONS:
            return self.error(400, f"anthropic-version: {version!r} is not a valid version")
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
        thinks = _thinks(body)
        refusal = (
            _sampling_refusal(body, version)
            or _block_refusal(body)
            or _breakpoint_refusal(body)
            or _content_refusal(messages, version)
            or _thinking_refusal(body)
            or _reasoning_refusal(messages, thinks)
        )
        output_format = (body.get("output_config") or {}).get("format")
        refusal = refusal or self._format_refusal(output_format)
        if refusal:
            return self.error(400, refusal)
        last = messages[-1]
        prompt_text = content_text(last.get("content"))
        text = echo.echo(prompt_text)
        if output_format is not None:
            text = self.structured(output_format.get("schema"), prompt_text)
        calls = _tool_uses(body, last)
        forced = (body.get("tool_choice") or {}).get("name")
        for call in calls:  # a tool forced by name is answered with a valid input
            tool = next(t for t in body["tools"] if t["name"] == call["name"])
            if call["name"] == forced:
                call["input"] = json.loads(self.structured(tool.get("input_schema"), prompt_text))
        reasoning = _reasoning(body, prompt_text) if thinks else []
        thought = " ".join(b.get("thinking", "") for b in reasoning)
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
        if output_format is not None and "[refuse]" in prompt_text:
            text, stop_reason = "I can't help with that request.", "refusal"
        thinking_tokens = echo.token_count(thought) if reasoning else 0
        if body.get("stream"):
            return Stream(
                self._events(
                    message, reasoning, text, calls, stop_reason, chunk_count, thinking_tokens
                )
            )
        content = [*reasoning, {"type": "text", "text": text}, *calls]
        usage = message["usage"] | _output_usage(echo.token_count(text), thinking_tokens)
        return Reply(message | {"content": content, "stop_reason": stop_reason, "usage": usage})

    def _format_refusal(self, output_format: Any) -> str | None:
        """The 400 for a structured-output format this server does not take."""
        if output_format is None:
            return None
        if self.flavor == "no_output_config":
            return "output_config.format: Extra inputs are not permitted"
        if output_format.get("type") != "json_schema" or not isinstance(
            output_format.get("schema"), dict
        ):
            return "output_config.format: a json_schema format needs a schema object"
        return _open_object(output_format["schema"], "output_config.format.schema")

    def _events(self, message, reasoning, text, calls, stop_reason, chunk_count, thinking_tokens):
        def event(name: str, payload: dict[str, Any]) -> bytes:
            return self.sse({"type": name, **payload}, event=name)

        yield event("message_start", {"message": message})
        for index, block in enumerate(reasoning):
            yield from self._reasoning_events(event, index, block)
        at = len(reasoning)
        yield event(
            "content_block_start", {"index": at, "content_block": {"type": "text", "text": ""}}
        )
        yield self.sse('{"type": "ping"}', event="ping")
        count = 0
        for piece in echo.pieces(text, chunk_count):
            count += 1
            delta = {"type": "text_delta", "text": piece}
            yield event("content_block_delta", {"index": at, "delta": delta})
        yield event("content_block_stop", {"index": at})
        for index, call in enumerate(calls, start=at + 1):
            block = call | {"input": {}}
            yield event("content_block_start", {"index": index, "content_block": block})
            encoded = json.dumps(call["input"])
            for part in ("", encoded[: len(encoded) // 2], encoded[len(encoded) // 2 :]):
                delta = {"type": "input_json_delta", "partial_json": part}
                yield event("content_block_delta", {"index": index, "delta": delta})
            yield event("content_block_stop", {"index": index})
        yield event("future_event_type", {"note": "clients skip events they do not know"})
        stop = {"stop_reason": stop_reason, "stop_sequence": None}
        usage = _output_usage(count, thinking_tokens)
        yield event("message_delta", {"delta": stop, "usage": usage})
        yield event("message_stop", {})

    @staticmethod
    def _reasoning_events(event, index, block):
        """A thinking block opens empty, then thinking deltas (the first one empty), then one
        signature_delta just before its stop; a redacted block comes whole in its start."""
        if block["type"] == "redacted_thinking":
            yield event("content_block_start", {"index": index, "content_block": block})
        else:
            empty = {"type": "thinking", "thinking": "", "signature": ""}
            yield event("content_block_start", {"index": index, "content_block": empty})
            for piece in ("", *(echo.pieces(block["thinking"]) if block["thinking"] else ())):
                delta = {"type": "thinking_delta", "thinking": piece}
                yield event("content_block_delta", {"index": index, "delta": delta})
            delta = {"type": "signature_delta", "signature": block["signature"]}
            yield event("content_block_delta", {"index": index, "delta": delta})
        yield event("content_block_stop", {"index": index})

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


def _open_object(schema: Any, where: str) -> str | None:
    """Anthropic's 400 for an object schema that is not closed, wherever it is nested."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
            return f"{where}: For 'object' type, 'additionalProperties' must be explicitly set to false"
        for key, value in schema.items():
            found = _open_object(value, f"{where}.{key}")
            if found:
                return found
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            found = _open_object(value, f"{where}.{index}")
            if found:
                return found
    return None


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


# -- December 2026 rules ---------------------------------------------------------------------


def _claude_version(model: object) -> tuple[int, int] | None:
    """(major, minor) of a Claude id in the current naming; Fable and Mythos count as 5."""
    match = _CLAUDE.search(str(model).lower())
    if match is None:
        return None
    line, major, minor = match.groups()
    if line in ("fable", "mythos"):
        return (max(5, int(major or 5)), int(minor or 0))
    return (int(major or 0), int(minor or 0))


def _at_least(model: object, version: tuple[int, int]) -> bool:
    found = _claude_version(model)
    return found is not None and found >= version


def _sampling_refusal(body: dict[str, Any], version: str) -> str | None:
    given = [name for name in _SAMPLING if name in body]
    if not given:
        return None
    if version >= STRICT_VERSION:
        return f"{given[0]}: Extra inputs are not permitted"
    model = body["model"]
    both = "temperature" in body and "top_p" in body
    if _at_least(model, (4, 7)):
        changed = [n for n in given if n == "top_k" or body[n] != 1]
        if changed or both:
            return f"`{(changed or given)[0]}` is deprecated for this model."
    elif both and _at_least(model, (4, 5)):
        return "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
    return None


def _block_refusal(body: dict[str, Any]) -> str | None:
    """`system` takes only text blocks; an image's `url` source must be an http(s) URL; a
    block has only its type's fields, and `cache_control` only the ephemeral type."""
    system = body.get("system")
    for j, block in enumerate(system if isinstance(system, list) else ()):
        if not isinstance(block, dict) or block.get("type") != "text":
            return f"system.{j}.type: Input should be 'text'"
        refusal = _field_refusal(f"system.{j}", block)
        if refusal:
            return refusal
    for i, message in enumerate(body["messages"]):
        for where, block in _blocks(message.get("content"), f"messages.{i}.content"):
            refusal = _field_refusal(where, block)
            if refusal:
                return refusal
            source = block.get("source") if block.get("type") == "image" else None
            if not isinstance(source, dict) or source.get("type") != "url":
                continue
            if not str(source.get("url")).startswith(("http://", "https://")):
                return f"{where}.source.url: only http and https URLs are supported"
    return None


def _breakpoint_refusal(body: dict[str, Any]) -> str | None:
    """The API's 400 for more than four `cache_control` breakpoints in one request."""
    system = body.get("system")
    blocks = list(body.get("tools") or []) + (system if isinstance(system, list) else [])
    for i, message in enumerate(body["messages"]):
        blocks += [block for _, block in _blocks(message.get("content"), f"messages.{i}.content")]
    found = sum(1 for b in blocks if isinstance(b, dict) and b.get("cache_control"))
    if found > 4:
        return f"A maximum of 4 blocks with cache_control may be provided. Found {found}."
    return None


def _field_refusal(where: str, block: dict[str, Any]) -> str | None:
    fields = _BLOCK_FIELDS.get(str(block.get("type")))
    extra = next((k for k in block if fields is not None and k not in fields), None)
    if extra is not None:
        return f"{where}.{extra}: Extra inputs are not permitted"
    cache = block.get("cache_control")
    if cache is not None and (not isinstance(cache, dict) or cache.get("type") != "ephemeral"):
        return f"{where}.cache_control.type: Input should be 'ephemeral'"
    return None


def _blocks(content: Any, where: str):
    """(path, block) of each block in a content list, and in the tool results within it."""
    for j, block in enumerate(content if isinstance(content, list) else ()):
        if isinstance(block, dict):
            yield f"{where}.{j}", block
            if block.get("type") == "tool_result":
                yield from _blocks(block.get("content"), f"{where}.{j}.content")


def _content_refusal(messages: list[Any], version: str) -> str | None:
    """Version 2026-10-21: no document in an assistant turn, no citations on user text."""
    if version < STRICT_VERSION:
        return None
    for i, message in enumerate(messages):
        content = message.get("content")
        for j, block in enumerate(content if isinstance(content, list) else ()):
            if message["role"] == "assistant" and block.get("type") == "document":
                return f"messages.{i}.content.{j}: `document` blocks are not permitted in `assistant` messages"
            if message["role"] == "user" and _cited(block):
                return f"messages.{i}.content.{j}: `citations` are not permitted on text in `user` messages"
    return None


def _cited(block: Any) -> bool:
    if not isinstance(block, dict):
        return False
    if block.get("type") == "text":
        return bool(block.get("citations"))
    inner = block.get("content")
    return isinstance(inner, list) and any(_cited(b) for b in inner)


def _thinks(body: dict[str, Any]) -> bool:
    thinking = body.get("thinking")
    if isinstance(thinking, dict):
        return thinking.get("type") in ("adaptive", "enabled")
    model = str(body["model"])
    return any(model.startswith(always) for always in _ALWAYS_THINKING)


def _thinking_refusal(body: dict[str, Any]) -> str | None:
    model = body["model"]
    if body["messages"][-1].get("role") == "assistant" and _at_least(model, (4, 6)):
        return (
            "This model does not support assistant message prefill. "
            "The conversation must end with a user message."
        )
    thinking = body.get("thinking")
    if thinking is None:
        return None
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind not in _THINKING_TYPES:
        return "thinking.type: Input should be 'adaptive', 'enabled', 'disabled' or 'between_tools'"
    if kind != "enabled":
        return None
    if _at_least(model, (4, 7)):
        return "thinking.type.enabled: `enabled` thinking is not supported on this model; use `adaptive`."
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int) or budget < 1024:
        return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
    if budget >= body["max_tokens"]:
        return "`max_tokens` must be greater than `thinking.budget_tokens`."
    if (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
        return "Thinking may not be enabled when tool_choice forces tool use."
    return None


def _reasoning_refusal(messages: list[Any], thinks: bool) -> str | None:
    """Every echoed reasoning block must be as signed; a tool loop keeps its thinking."""
    for i, message in enumerate(messages):
        content = message.get("content")
        if message["role"] != "assistant" or not isinstance(content, list):
            continue
        reasoning = [
            (j, b)
            for j, b in enumerate(content)
            if b.get("type") in ("thinking", "redacted_thinking")
        ]
        for place, (j, block) in enumerate(reasoning):
            if not _signed(block, len(reasoning), place):
                field = "signature" if block["type"] == "thinking" else "data"
                return f"messages.{i}.content.{j}: Invalid `{field}` in `{block['type']}` block"
    if not thinks or len(messages) < 2 or messages[-2].get("role") != "assistant":
        return None
    last = messages[-1].get("content")
    if not (isinstance(last, list) and any(b.get("type") == "tool_result" for b in last)):
        return None
    content = messages[-2].get("content")
    first = content[0].get("type") if isinstance(content, list) and content else "text"
    if first in ("thinking", "redacted_thinking"):
        return None
    return _MISSING_THINKING.format(i=len(messages) - 2, found=first)


def _reasoning(body: dict[str, Any], prompt_text: str) -> list[dict[str, Any]]:
    """The turn's signed reasoning blocks: thinking, then a redacted one when triggered."""
    thinking = body.get("thinking")
    display = thinking.get("display") if isinstance(thinking, dict) else None
    shown = "" if display == "omitted" else f"Considering: {prompt_text}"
    kinds = ["thinking"] + (["redacted_thinking"] if REDACTED_TRIGGER in prompt_text else [])
    blocks = []
    for place, kind in enumerate(kinds):
        if kind == "thinking":
            signature = _mac(len(kinds), place, kind, shown)
            blocks.append({"type": kind, "thinking": shown, "signature": signature})
        else:
            nonce = hashlib.sha256(prompt_text.encode()).hexdigest()[:16]
            data = f"{nonce}.{_mac(len(kinds), place, kind, nonce)}"
            blocks.append({"type": kind, "data": data})
    return blocks


def _signed(block: dict[str, Any], count: int, place: int) -> bool:
    if block["type"] == "thinking":
        expected = _mac(count, place, "thinking", block.get("thinking", ""))
        return hmac.compare_digest(str(block.get("signature", "")), expected)
    nonce, _, mac = str(block.get("data", "")).partition(".")
    return hmac.compare_digest(mac, _mac(count, place, "redacted_thinking", nonce))


def _mac(*parts: object) -> str:
    message = "\x1f".join(str(p) for p in parts).encode()
    return base64.b64encode(hmac.new(_SECRET, message, hashlib.sha256).digest()).decode()


def _output_usage(text_tokens: int, thinking_tokens: int) -> dict[str, Any]:
    """Output usage; thinking tokens are part of output_tokens, and also shown apart."""
    usage: dict[str, Any] = {"output_tokens": text_tokens + thinking_tokens}
    if thinking_tokens:
        usage["output_tokens_details"] = {"thinking_tokens": thinking_tokens}
    return usage
