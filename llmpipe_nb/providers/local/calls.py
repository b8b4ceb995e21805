"""What a request asks of llama.cpp, and what its answer means: pure functions of data.

The request's messages and options become a `LocalCall` (a method of llama-cpp-python's
`Llama` and its arguments), and llama-cpp-python's OpenAI-shaped answers become the
common results. Nothing here loads a model, so it is all testable without one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import ConfigError
from ...request import Request
from ...responses import ChatResponse, EmbeddingResponse, ModelInfo, Usage, ValidationResult
from .generate import PROVIDER, LocalCall

#: sampling options passed to llama.cpp as they are
SAMPLING = (
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "repeat_penalty",
)
#: how the model is loaded (per call, or `llm.configure("local", extra={...})`)
LOAD_OPTIONS = ("n_ctx", "n_threads", "n_gpu_layers")
CHAT_OPTIONS = frozenset(
    {*SAMPLING, *LOAD_OPTIONS, "max_tokens", "max_completion_tokens", "response_format"}
)
#: without a cap, llama.cpp writes until the context is full
DEFAULT_MAX_TOKENS = 512
FINISH_REASONS = {"stop": "stop", "length": "length", "tool_calls": "tool_calls"}


def _text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for part in content:
        if isinstance(part, Mapping) and part.get("type") not in (None, "text"):
            raise ConfigError(
                f"The local provider reads text only, not {part.get('type')!r} parts: "
                "send the text, or use a provider whose model sees images."
            )
        parts.append(part.get("text", "") if isinstance(part, Mapping) else str(part))
    return "".join(parts)


def chat_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Messages as the model's chat template takes them: role and text."""
    out = []
    for message in messages:
        role = message["role"]
        out.append({"role": "system" if role == "developer" else role, "content": _text(message)})
    return out


def response_format(value: Any) -> dict[str, Any] | None:
    """The response format in llama-cpp-python's form: JSON mode, with a JSON schema that
    a grammar enforces while sampling (so the answer always parses)."""
    if value is None:
        return None
    kind = value.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return dict(value)
    if kind == "json_schema" and isinstance(value.get("json_schema"), Mapping):
        schema = value["json_schema"].get("schema")
        return {"type": "json_object", **({"schema": schema} if schema else {})}
    raise ConfigError(
        f"response_format {value!r} is not one the local provider knows: use "
        "{'type': 'json_object', 'schema': {...}} (or OpenAI's json_schema form)."
    )


def _sampling(options: Mapping[str, Any]) -> dict[str, Any]:
    kwargs = {key: options[key] for key in SAMPLING if options.get(key) is not None}
    cap = options.get("max_completion_tokens") or options.get("max_tokens")
    kwargs["max_tokens"] = cap or DEFAULT_MAX_TOKENS
    return kwargs


def prepare(request: Request, model_name: str) -> LocalCall:
    """The call for this request's kind."""
    kind, options = request.kind, request.options
    if kind in ("chat", "stream"):
        kwargs = {"messages": chat_messages(request.messages), **_sampling(options)}
        if (fmt := response_format(options.get("response_format"))) is not None:
            kwargs["response_format"] = fmt
        return LocalCall(
            "create_chat_completion", {**kwargs, "model": model_name}, stream=kind == "stream"
        )
    if kind == "completion":
        prompt = next((_text(m) for m in reversed(request.messages) if m["role"] == "user"), "")
        kwargs = {"prompt": prompt, **_sampling(options), "model": model_name}
        return LocalCall("create_completion", kwargs)
    if kind == "embeddings":
        inputs = [str(text) for text in request.messages]
        return LocalCall("create_embedding", {"input": inputs, "model": model_name})
    return LocalCall(kind)


def parse_chat(body: Mapping[str, Any], usage: Usage | None = None) -> ChatResponse:
    """A chat or completion answer of llama-cpp-python as a ChatResponse."""
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    content = choice["text"] if "text" in choice else message.get("content")
    raw_finish = choice.get("finish_reason")
    counts = body.get("usage") or {}
    return ChatResponse(
        content=content or "",
        model=body.get("model"),
        provider=PROVIDER,
        finish_reason=FINISH_REASONS.get(raw_finish, "error" if raw_finish else None),
        raw_finish_reason=raw_finish,
        usage=usage
        or Usage(int(counts.get("prompt_tokens") or 0), int(counts.get("completion_tokens") or 0)),
        id=body.get("id"),
        raw=body,
    )


def parse_embeddings(body: Mapping[str, Any]) -> EmbeddingResponse:
    data = sorted(body.get("data") or (), key=lambda item: item.get("index", 0))
    return EmbeddingResponse(
        embeddings=[list(item["embedding"]) for item in data],
        model=body.get("model"),
        provider=PROVIDER,
        usage=Usage(int((body.get("usage") or {}).get("prompt_tokens") or 0)),
        raw=body,
    )


def model_infos(models: Sequence[Mapping[str, Any]]) -> list[ModelInfo]:
    """The known GGUF files as ModelInfo: the id is the name to pass as `model=`."""
    return [
        ModelInfo(
            os.path.basename(m["path"]).removesuffix(".gguf"),
            PROVIDER,
            context_window=m.get("context_window"),
            owned_by="local",
            raw=dict(m),
        )
        for m in models
    ]


def validation(body: Mapping[str, Any]) -> ValidationResult:
    return ValidationResult(
        True,
        PROVIDER,
        f"Loaded {body['name']} (context {body['n_ctx']} tokens) in {body['load_s']:.2f} s; "
        f"{body['known']} local models are known.",
        body["known"],
    )
