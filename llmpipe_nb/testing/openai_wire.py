"""The OpenAI fake: chat (plain, streamed, tool calls), legacy completions, embeddings, models,
and the Files and Batches endpoints (`openai_batch_wire`).

Without a flavor it answers as api.openai.com did in December 2026: GPT-5 and later (and
the o-series) refuse `max_tokens`, sampling parameters unless `reasoning_effort` is
"none", an explicit `n`, and the effort values their model lacks; luna models refuse
function tools with reasoning; answers report their `service_tier`, and reasoning tokens
when an effort other than "none" was asked.

Flavors reproduce the OpenAI-compatible servers' quirks: `openrouter` (keep-alive
comment lines, integer error codes), `groq` (usage in `x_groq`), `vllm` (error
`type` a class name and `code` the status; `structured_outputs` honoured, the removed
`guided_*` fields ignored with HTTP 200), `llamacpp` (`timings`, no `param`, a
`/tokenize` endpoint at the server's root), `lmstudio`
(`response_format` `json_object` refused with a flat-string error, `json_schema` honoured),
`llama_cpp_python` (its server: `json_schema` refused with a 500, `json_object` with a
`schema` beside it honoured). A honoured JSON schema makes the answer a valid instance
of it (`Wire.structured`; `{"echo": prompt}` when it names no field); a `choice`
constraint answers with the first choice. A prompt with `[refuse]` that asks for a schema
gets a `refusal` instead of content, as OpenAI's structured outputs do.
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

from llmpipe_nb.testing import echo
from llmpipe_nb.testing.openai_batch_wire import OpenAIBatchRoutes
from llmpipe_nb.testing.wire import (
    CREATED,
    RecordedRequest,
    Reply,
    Stream,
    Wire,
    first_property,
    last_text,
)

__all__ = ["OpenAIWire"]

MODELS = ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "gpt-6-luna")

# -- model lifecycle (December 2026): shutdown dates listed, shut-down models not found --
SHUTDOWN_DATES = {"gpt-4o-mini": "2027-01-14", "gpt-4o": "2027-01-14"}
SHUT_DOWN = frozenset(
    {
        *("gpt-3.5-turbo-instruct", "davinci-002", "babbage-002"),
        *("gpt-3.5-turbo", "gpt-4", "gpt-4-turbo", "gpt-4.1-nano", "o1", "o3-mini", "o4-mini"),
        "gpt-4o-2024-05-13",
    }
)


def _shut_down(wire: Wire, model: str) -> Reply | None:
    """OpenAI's answer for a model that was shut down (the flavors keep their own models)."""
    if wire.flavor is not None or model not in SHUT_DOWN:
        return None
    message = f"The model `{model}` does not exist or you do not have access to it."
    return wire.error(404, message)


_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}
_VLLM_TYPES = {400: "BadRequestError", 404: "NotFoundError", 429: "RateLimitError"}
#: what a model says when it declines a structured answer
REFUSAL = "I'm sorry, I can't help with that request."
#: llama-cpp-python's server on a response_format type it does not know (a pydantic error, 500)
_LLAMA_CPP_PYTHON_500 = (
    "1 validation error for CreateChatCompletionRequest\nresponse_format.type\n  Input should "
    "be 'text' or 'json_object' [type=literal_error, input_value='%s', input_type=str]"
)
#: reasoning tokens an answer reports when an effort other than "none" was asked
REASONING_TOKENS = 8
_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
#: effort values a model line refuses on Chat Completions
_REFUSED_EFFORTS = {"luna": ("minimal",), "astra": ("none", "minimal", "max")}


class OpenAIWire(Wire):
    name = "openai"
    base_path = "/v1"
    flavors: tuple[str, ...] = (
        "openrouter",
        "groq",
        "vllm",
        "llamacpp",
        "lmstudio",
        "llama_cpp_python",
    )

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        #: the Files and Batches endpoints; `batches.script` steers the jobs
        self.batches = OpenAIBatchRoutes(self, lambda request: self.handle(request, None))

    def handle(self, request: RecordedRequest, chunk_count: int | None) -> Reply | Stream:
        route = (request.method, request.path.removeprefix(self.base_path))
        if self.batches.handles(route[1]):
            return self.batches.handle(request, route[1])
        if route == ("GET", "/models"):
            return Reply({"object": "list", "data": [_model(m) for m in MODELS]})
        if route[0] == "GET" and route[1].startswith("/models/"):
            model_id = route[1].removeprefix("/models/")
            if model_id in MODELS:
                return Reply(_model(model_id))
            return self.error(404, f"The model '{model_id}' does not exist.")
        body = request.json
        if self.flavor == "llamacpp" and route == ("POST", "/tokenize"):  # llama-server's tokenizer
            text = body.get("content", "") if isinstance(body, dict) else ""
            return Reply({"tokens": list(range(echo.token_count(text)))})
        if request.method != "POST" or route[1] not in (
            "/chat/completions",
            "/completions",
            "/embeddings",
        ):
            return self.error(404, f"Unknown request URL: {request.method} {request.path}.")
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            return self.error(400, "The request body must be a JSON object with a 'model'.")
        if (gone := _shut_down(self, body["model"])) is not None:
            return gone
        if route[1] == "/embeddings":
            return self._embeddings(body)
        if route[1] == "/completions":
            return self._completion(body, chunk_count)
        return self._chat(body, chunk_count)

    # -- chat -------------------------------------------------------------------------

    def _chat(self, body: dict[str, Any], chunk_count: int | None) -> Reply | Stream:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return self.error(400, "'messages' must be a non-empty array.")
        if "stream_options" in body and not body.get("stream"):
            return self.error(400, "'stream_options' is only allowed when 'stream' is true.")
        refusal = self._refusal(body)
        if refusal is not None:
            return refusal
        user = last_text(messages, ("user", "tool"))
        calls = _tool_calls(body, messages, user)
        constraint = self._constraint(body)
        text = self._constrained(constraint, user) or echo.echo(user)
        declined = REFUSAL if constraint and "json" in constraint and "[refuse]" in user else None
        prompt_tokens = echo.token_count(*(json.dumps(m.get("content")) for m in messages))
        if body.get("stream"):
            return self._chat_stream(body, text, calls, prompt_tokens, chunk_count, declined)
        completion_tokens = echo.token_count(text)
        content = None if calls or declined else text
        message: dict[str, Any] = {"role": "assistant", "content": content}
        message.update({"refusal": declined, "annotations": []})
        if calls:
            message["tool_calls"] = calls
        reply = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": CREATED,
            "model": body["model"],
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if calls else "stop",
                }
            ],
            "usage": self._usage_for(body, prompt_tokens, completion_tokens),
        }
        if self.flavor is None:
            reply["service_tier"] = _served_tier(body)
        if self.flavor == "llamacpp":
            reply["timings"] = _timings(prompt_tokens, completion_tokens)
        return Reply(reply)

    def _chat_stream(
        self,
        body: dict[str, Any],
        text: str,
        calls: list[dict[str, Any]],
        prompt_tokens: int,
        chunk_count: int | None,
        refusal: str | None = None,
    ) -> Stream:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        head = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": CREATED}
        head |= {"model": body["model"], "system_fingerprint": "fp_fake"}
        if self.flavor is None:
            head["service_tier"] = _served_tier(body)

        def chunk(delta: dict[str, Any], finish: str | None = None, n: int = 0) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            payload = head | {"choices": [choice]}
            if n % 2 == 0:  # real streams carry "usage": null on some chunks, none on others
                payload["usage"] = None
            return payload

        def frames():
            counted = 0
            yield self._keepalive()
            if calls:
                yield self.sse(chunk({"role": "assistant", "content": None}))
                for n, delta in _call_deltas(calls):
                    yield self.sse(chunk({"tool_calls": [delta]}, n=n))
            else:
                yield self.sse(chunk({"role": "assistant", "content": ""}))
                field = "refusal" if refusal else "content"
                for n, piece in enumerate(echo.pieces(refusal or text, chunk_count)):
                    counted += 1
                    yield self._keepalive() if n % 3 == 2 else b""
                    yield self.sse(chunk({field: piece}, n=n))
            usage = self._usage_for(body, prompt_tokens, counted or echo.token_count(text))
            finish = chunk({}, "tool_calls" if calls else "stop", n=1)
            if self.flavor == "groq":
                yield self.sse(finish | {"x_groq": {"id": "req_fake", "usage": usage}})
            else:
                yield self.sse(finish)
                if include_usage:
                    last = head | {"choices": [], "usage": usage}
                    if self.flavor == "llamacpp":
                        last["timings"] = _timings(
                            usage["prompt_tokens"], usage["completion_tokens"]
                        )
                    yield self.sse(last)
            yield self.sse("[DONE]")

        return Stream(frame for frame in frames() if frame)

    def _keepalive(self) -> bytes:
        return (
            f": OPENROUTER PROCESSING{self.eol}{self.eol}".encode()
            if self.flavor == "openrouter"
            else b""
        )

    # -- December 2026 rules, structured output ----------------------------------------

    def _refusal(self, body: dict[str, Any]) -> Reply | None:
        """The 400 the server gives a body its model refuses, or None."""
        if self.flavor == "llama_cpp_python":
            kind = (body.get("response_format") or {}).get("type")
            if kind not in (None, "text", "json_object"):
                return Reply({"error": {"message": _LLAMA_CPP_PYTHON_500 % kind}}, 500)
            return None
        if self.flavor == "lmstudio":
            kind = (body.get("response_format") or {}).get("type")
            if kind not in (None, "text", "json_schema"):
                message = "'response_format.type' must be 'json_schema' or 'text'"
                return Reply({"error": message}, 400)
            return None
        if self.flavor is not None:
            return None
        model = body["model"]
        newer = model.startswith(("gpt-5", "gpt-6"))
        if not (newer or model.startswith(("o1", "o3", "o4"))):
            return None
        if "max_tokens" in body:
            return _invalid(
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                "max_tokens",
                "unsupported_parameter",
            )
        if newer and "n" in body:
            return _invalid(
                "Unsupported parameter: 'n' is not supported with this model.",
                "n",
                "unsupported_parameter",
            )
        effort, line = body.get("reasoning_effort"), _line(model)
        refused = _REFUSED_EFFORTS.get(line, ()) if line else ()
        if effort in refused:
            supported = [e for e in _EFFORTS if e not in refused]
            return _invalid(
                f"Unsupported value: 'reasoning_effort' does not support {effort!r} with "
                f"this model. Supported values are: {', '.join(repr(e) for e in supported)}.",
                "reasoning_effort",
                "unsupported_value",
            )
        for key in ("temperature", "top_p"):
            if body.get(key, 1) != 1 and effort != "none":
                return _invalid(
                    f"Unsupported value: '{key}' does not support {body[key]} with this "
                    "model. Only the default (1) value is supported.",
                    key,
                    "unsupported_value",
                )
        if line == "luna" and body.get("tools") and effort != "none":
            return _invalid(
                f"Function tools with reasoning_effort are not supported for {model} in "
                "/v1/chat/completions. To use function tools, use /v1/responses or set "
                "reasoning_effort to 'none'.",
                "reasoning_effort",
                None,
            )
        return None

    def _constraint(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The structured-output constraint this server honours (guided_* never)."""
        response_format = body.get("response_format") or {}
        kind = response_format.get("type")
        if self.flavor == "vllm" and body.get("structured_outputs"):
            return body["structured_outputs"]
        if kind == "json_schema":
            return {"json": (response_format.get("json_schema") or {}).get("schema") or {}}
        if kind == "json_object":  # JSON mode; llama-cpp-python also reads a schema beside it
            schema = response_format.get("schema") if self.flavor == "llama_cpp_python" else None
            return {"json": schema or {}}
        return None

    def _constrained(self, constraint: dict[str, Any] | None, user: str) -> str | None:
        """The answer a structured-output constraint forces, or None for free text."""
        if not constraint:
            return None
        if isinstance(constraint.get("choice"), list) and constraint["choice"]:
            return str(constraint["choice"][0])
        if "json" in constraint:
            schema = constraint["json"]
            return self.structured(json.loads(schema) if isinstance(schema, str) else schema, user)
        return None

    def _usage_for(self, body: dict[str, Any], prompt_tokens: int, completion_tokens: int) -> Any:
        if self.flavor is not None or body.get("reasoning_effort") in (None, "none"):
            return _usage(prompt_tokens, completion_tokens)
        usage = _usage(prompt_tokens, completion_tokens + REASONING_TOKENS)
        usage["completion_tokens_details"]["reasoning_tokens"] = REASONING_TOKENS
        return usage

    # -- legacy completions, embeddings ---------------------------------------------------

    def _completion(self, body: dict[str, Any], chunk_count: int | None) -> Reply | Stream:
        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            return self.error(400, "'prompt' must be a string.")
        text = echo.echo(prompt)
        usage = _usage(echo.token_count(prompt), echo.token_count(text))
        head = {"id": "cmpl-fake", "object": "text_completion", "created": CREATED}
        head["model"] = body["model"]

        def choice(piece: str, finish: str | None) -> dict[str, Any]:
            return {"text": piece, "index": 0, "logprobs": None, "finish_reason": finish}

        if not body.get("stream"):
            return Reply(head | {"choices": [choice(text, "stop")], "usage": usage})
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        frames = [
            self.sse(head | {"choices": [choice(p, None)]}) for p in echo.pieces(text, chunk_count)
        ]
        frames.append(self.sse(head | {"choices": [choice("", "stop")]}))
        if include_usage:
            frames.append(self.sse(head | {"choices": [], "usage": usage}))
        frames.append(self.sse("[DONE]"))
        return Stream(frames)

    def _embeddings(self, body: dict[str, Any]) -> Reply:
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if (
            not isinstance(inputs, list)
            or not inputs
            or not all(isinstance(i, str) and i for i in inputs)
        ):
            return self.error(400, "'input' must be a non-empty string or array of strings.")
        dimensions = body.get("dimensions", 8)
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(inputs):
            values = echo.vector(text, dimensions)
            embedding: object = values
            if as_base64:
                embedding = base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = echo.token_count(*inputs)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return Reply({"object": "list", "data": data, "model": body["model"], "usage": usage})

    # -- errors and headers -------------------------------------------------------------

    def error_body(self, status: int, message: str) -> object:
        if self.flavor == "openrouter":
            return {"error": {"code": status, "message": message, "metadata": {}}}
        if self.flavor == "vllm":
            kind = _VLLM_TYPES.get(status, "InternalServerError")
            return {"error": {"message": message, "type": kind, "param": None, "code": status}}
        if self.flavor == "llamacpp":
            kind = "unavailable_error" if status == 503 else "invalid_request_error"
            return {"error": {"code": status, "message": message, "type": kind}}
        kind, code = _ERROR_TYPES.get(status, ("server_error", None))
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}

    def stream_error_frame(self) -> bytes:
        message = "The server had an error while processing your request."
        error = {"message": message, "type": "server_error", "param": None, "code": None}
        return self.sse({"error": error})

    def reply_headers(self, request: RecordedRequest) -> dict[str, str]:
        headers = {
            "x-request-id": request.request_id,
            "openai-processing-ms": "12",
            "x-ratelimit-limit-requests": "60",
            "x-ratelimit-remaining-requests": "59",
            "x-ratelimit-reset-requests": "1s",
            "x-ratelimit-limit-tokens": "150000",
            "x-ratelimit-remaining-tokens": "149984",
            "x-ratelimit-reset-tokens": "6m0s",
        }
        if self.flavor == "openrouter":
            headers["x-generation-id"] = f"gen-{request.request_id}"
        return headers


def _invalid(message: str, param: str, code: str | None) -> Reply:
    """OpenAI's 400 for a refused parameter, naming it in `param`."""
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    return Reply({"error": error}, 400)


def _line(model: str) -> str | None:
    """The model line a name belongs to (luna, astra, ...), which some rules depend on."""
    return next((line for line in _REFUSED_EFFORTS if f"-{line}" in model), None)


def _served_tier(body: dict[str, Any]) -> str:
    """The tier an answer reports: `fast` is served as `priority`, `auto` as `default`."""
    asked = body.get("service_tier") or "auto"
    return {"auto": "default", "fast": "priority"}.get(asked, asked)


def _model(model_id: str) -> dict[str, Any]:
    return {
        "id": model_id,
        "object": "model",
        "created": CREATED,
        "owned_by": "system",
        "shutdown_date": SHUTDOWN_DATES.get(model_id),
    }


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def _timings(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_n": prompt_tokens,
        "prompt_ms": 5.0,
        "predicted_n": completion_tokens,
        "predicted_ms": 20.0,
        "cache_n": 0,
    }


def _tool_calls(body: dict[str, Any], messages: list[Any], user: str) -> list[dict[str, Any]]:
    """One call per offered tool (at most two), unless the model was just given results."""
    tools = body.get("tools") or []
    if body.get("tool_choice") == "none" or messages[-1].get("role") == "tool":
        return []
    calls = []
    for index, tool in enumerate(tools[:2]):
        function = tool.get("function", {})
        key = first_property(function.get("parameters"))
        arguments = json.dumps({key: user} if key else {})
        calls.append(
            {
                "id": f"call_{index}",
                "type": "function",
                "function": {"name": function.get("name", ""), "arguments": arguments},
            }
        )
    return calls


def _call_deltas(calls: list[dict[str, Any]]):
    """Tool-call fragments as real streams send them: heads, then interleaved argument halves."""
    for index, call in enumerate(calls):
        head = {"index": index, "id": call["id"], "type": "function"}
        yield index, head | {"function": {"name": call["function"]["name"], "arguments": ""}}
    arguments = [call["function"]["arguments"] for call in calls]
    firsts = [(i, args[: len(args) // 2]) for i, args in enumerate(arguments)]
    seconds = [(i, args[len(args) // 2 :]) for i, args in enumerate(arguments)]
    for n, (index, piece) in enumerate(firsts + seconds):
        yield n, {"index": index, "function": {"arguments": piece}}
