"""The Ollama fake: native `/api/chat` (NDJSON streaming by default), `/api/embed`, `/api/tags`.

As the real server does, it streams when `stream` is omitted, puts usage only in the
final `done` object (leaving some metrics out), and answers an unknown model with
404 `model 'x' not found`. Models with the thinking capability (`qwen3*`,
`deepseek-r1*`, `gpt-oss*`) think unless `think` is false (GPT-OSS ignores booleans):
their thinking streams before the content, or comes as `message.thinking`. `think` on
a model without the capability, an unknown `think` value and images that are not base64
are refused with the server's own errors. Tool calls carry an `id` and `function.index`;
tool results are taken as sent (`tool_name`, `tool_call_id`), so tests read them off the
recorded request. A `format` (`"json"` or a JSON Schema) is answered with a valid
instance of the schema (`Wire.structured`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from llmpipe_nb.testing import echo
from llmpipe_nb.testing.wire import (
    RecordedRequest,
    Reply,
    Stream,
    Wire,
    dumps,
    first_property,
    last_text,
)

__all__ = ["OllamaWire"]

MODELS = (
    *("llama3.2", "llama3.1", "qwen2.5", "mistral", "qwen3", "deepseek-r1", "gpt-oss"),
    *("nomic-embed-text", "all-minilm"),
)
THINKING_MODELS = ("qwen3", "deepseek-r1", "gpt-oss")
THINK_LEVELS = ("high", "medium", "low", "max")
CREATED_AT = "2025-10-26T17:15:24.097767Z"


class OllamaWire(Wire):
    name = "ollama"

    def handle(self, request: RecordedRequest, chunk_count: int | None) -> Reply | Stream:
        route = (request.method, request.path)
        if route == ("GET", "/api/tags"):
            return Reply({"models": [_tag(name) for name in MODELS]})
        if route == ("GET", "/api/version"):
            return Reply({"version": "0.12.6"})
        if route not in (("POST", "/api/chat"), ("POST", "/api/embed")):
            return Reply("404 page not found", 404, content_type="text/plain")
        body = request.json
        if not isinstance(body, dict):
            return self.error(400, "invalid character looking for beginning of value")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return self.error(400, "model is required")
        if model.removesuffix(":latest") not in MODELS:
            return self.error(404, f"model '{model}' not found")
        if route[1] == "/api/embed":
            return self._embed(body)
        return self._chat(body, chunk_count)

    def _chat(self, body: dict[str, Any], chunk_count: int | None) -> Reply | Stream:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return self.error(400, "messages are required")
        refused = _refusal(body, messages)
        if refused:
            return self.error(400, refused)
        user = last_text(messages, ("user", "tool"))
        text = echo.echo(user)
        if body.get("format") is not None:  # "json", or a JSON Schema to follow
            text = self.structured(body["format"], user)
        calls = _tool_calls(body, messages, user)
        thought = _thinking(body, user, calls)
        prompt = echo.token_count(json.dumps(messages))
        head = {"model": body["model"], "created_at": CREATED_AT}
        thoughts = list(echo.pieces(thought, chunk_count)) if thought else []
        pieces = [] if calls else list(echo.pieces(text, chunk_count))
        final = head | {
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "total_duration": 174560334,
            "prompt_eval_count": prompt,
            "prompt_eval_duration": 13074791,
            "eval_count": len(thoughts) + len(pieces) or 1,
            "eval_duration": 52479709,
        }  # load_duration left out: every metric is optional on the wire
        if body.get("stream", True) is False:
            message: dict[str, Any] = {"role": "assistant", "content": "" if calls else text}
            if thought:
                message["thinking"] = thought
            if calls:
                message["tool_calls"] = calls
            return Reply(final | {"message": message})
        frames = [
            self._line(
                head
                | {"message": {"role": "assistant", "content": "", "thinking": t}, "done": False}
            )
            for t in thoughts
        ]
        frames += [
            self._line(head | {"message": {"role": "assistant", "content": p}, "done": False})
            for p in pieces
        ]
        if calls:
            tool_message = {"role": "assistant", "content": "", "tool_calls": calls}
            frames.append(self._line(head | {"message": tool_message, "done": False}))
        frames.append(self._line(final))
        return Stream(frames, content_type="application/x-ndjson")

    def _embed(self, body: dict[str, Any]) -> Reply:
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
            return self.error(400, "invalid input type")
        dimensions = body.get("dimensions", 8)
        return Reply(
            {
                "model": body["model"],
                "embeddings": [echo.vector(text, dimensions) for text in inputs],
                "total_duration": 14143917,
                "load_duration": 1019500,
                "prompt_eval_count": echo.token_count(*inputs),
            }
        )

    def _line(self, value: object) -> bytes:
        return (dumps(value) + "\n").encode()

    def error_body(self, status: int, message: str) -> object:
        return {"error": message}

    def stream_error_frame(self) -> bytes:
        return self._line({"error": "an error was encountered while running the model"})

    def malformed_frame(self) -> bytes:
        return b'{"model": "llama3.2", "message": {\n'


def _tag(name: str) -> dict[str, Any]:
    return {
        "name": f"{name}:latest",
        "model": f"{name}:latest",
        "modified_at": "2025-10-01T10:00:00.000000+02:00",
        "size": 2019393189,
        "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
        "details": {
            "format": "gguf",
            "family": "llama",
            "parameter_size": "3.2B",
            "quantization_level": "Q4_K_M",
        },
    }


def _refusal(body: dict[str, Any], messages: list[Any]) -> str | None:
    """The real server's 400 message for a bad `think` or a bad image, if any."""
    think = body.get("think")
    if think is not None and not isinstance(think, bool) and think not in THINK_LEVELS:
        return (
            f"invalid think value: {json.dumps(think)} "
            '(must be "high", "medium", "low", "max", true, or false)'
        )
    if think not in (None, False) and not body["model"].startswith(THINKING_MODELS):
        return f"{json.dumps(body['model'])} does not support thinking"
    for message in messages:
        for image in (message.get("images") or []) if isinstance(message, dict) else ():
            try:
                base64.b64decode(image, validate=True)  # as Go decodes a JSON []byte
            except (TypeError, ValueError):
                return "illegal base64 data at input byte 0"
    return None


def _thinking(body: dict[str, Any], user: str, calls: list[Any]) -> str:
    """What a thinking model thinks (nothing for the others, or with `think: false`)."""
    model, think = body["model"], body.get("think")
    if not model.startswith(THINKING_MODELS) or (
        think is False and not model.startswith("gpt-oss")
    ):
        return ""
    return f"They want a tool for {user!r}." if calls else f"They said {user!r}: echo it."


def _tool_calls(body: dict[str, Any], messages: list[Any], user: str) -> list[dict[str, Any]]:
    if messages[-1].get("role") == "tool":
        return []
    calls = []
    for index, tool in enumerate((body.get("tools") or [])[:2]):
        function = tool.get("function", {})
        name = function.get("name", "")
        key = first_property(function.get("parameters"))
        digest = hashlib.sha256(f"{index}:{name}:{user}".encode()).hexdigest()[:8]
        calls.append(
            {
                "id": f"call_{digest}",
                "function": {
                    "index": index,
                    "name": name,
                    "arguments": {key: user} if key else {},
                },
            }
        )
    return calls
