"""Google's Gemini API (Generative Language): chat, streaming, embeddings, models.

Roles map to `user`/`model`, system messages to `systemInstruction`, tool results to
`functionResponse` parts. Blocked prompts and answers become ContentFilteredError
(GeminiContentFilter). The key goes in `x-goog-api-key`; OAuth2 through google-auth
is the alternative credential (GeminiOauth2), chosen with
`llm.configure("gemini", extra={"auth": "oauth2"})`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from .. import providers
from ..config import ProviderConfig
from ..errors import (
    AuthenticationError,
    ContentFilteredError,
    MissingDependencyError,
    MissingKeyError,
    ProviderError,
    ResponseFormatError,
)
from ..plug import Plug
from ..request import Request
from ..responses import ChatResponse, EmbeddingResponse, ModelInfo, StreamChunk, ToolCall, Usage
from ..tokens import estimate_tokens
from ..transport import HttpCall, HttpResponse
from . import defaults
from ._http import HttpProvider
from ._messages import (
    AssembledText,
    function_specs,
    image_source,
    json_event,
    option_values,
    text_of,
    tool_call_fields,
    tool_choice_name,
    tool_names_by_id,
    usage_of,
)
from ._sse import SSEEvent
from .openai import validation

OAUTH_SCOPES = ("https://www.googleapis.com/auth/generative-language",)
GENERATION_OPTIONS = {
    "temperature": "temperature",
    "top_p": "topP",
    "top_k": "topK",
    "n": "candidateCount",
    "seed": "seed",
    "presence_penalty": "presencePenalty",
    "frequency_penalty": "frequencyPenalty",
}
EMBED_OPTIONS = {"task_type": "taskType", "dimensions": "outputDimensionality", "title": "title"}
FILTER_REASONS = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
    }
)
FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length"} | {
    r: "content_filter" for r in FILTER_REASONS
}
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


# -- prepare (pure) ---------------------------------------------------------------------------


def model_path(model: str) -> str:
    """`gemini-2.5-flash` -> `models/gemini-2.5-flash`; `tunedModels/...` stays as it is."""
    return model if "/" in model else f"models/{model}"


def generate_body(
    messages: Iterable[Mapping[str, Any]], options: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON body of `generateContent` / `streamGenerateContent`."""
    messages = list(messages)
    system = [text_of(m.get("content")) for m in messages if m["role"] in ("system", "developer")]
    body: dict[str, Any] = {"contents": wire_contents(messages)}
    if system:
        body["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    config = option_values(options, GENERATION_OPTIONS)
    cap = options.get("max_tokens") or options.get("max_completion_tokens")
    if cap is not None:
        config["maxOutputTokens"] = cap
    stop = options.get("stop")
    if stop is not None:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    config |= _response_format(options.get("response_format"))
    if config:
        body["generationConfig"] = config
    if options.get("tools"):
        body["tools"] = [{"functionDeclarations": function_specs(options["tools"])}]
    if options.get("tool_choice") is not None:
        body["toolConfig"] = {"functionCallingConfig": _calling_config(options["tool_choice"])}
    safety = options.get("safety_settings")
    if safety is not None:
        body["safetySettings"] = (
            [{"category": c, "threshold": t} for c, t in safety.items()]
            if isinstance(safety, Mapping)
            else list(safety)
        )
    return body | dict(options.get("extra_body") or {})


def _response_format(response_format: Any) -> dict[str, Any]:
    if not response_format or response_format.get("type") == "text":
        return {}
    config: dict[str, Any] = {"responseMimeType": "application/json"}
    schema = (response_format.get("json_schema") or {}).get("schema")
    if schema is not None:
        config["responseJsonSchema"] = schema
    return config


def _calling_config(choice: Any) -> dict[str, Any]:
    name = tool_choice_name(choice)
    if name:
        return {"mode": "ANY", "allowedFunctionNames": [name]}
    return {
        "mode": {"auto": "AUTO", "required": "ANY", "any": "ANY", "none": "NONE"}.get(
            str(choice), "AUTO"
        )
    }


def wire_contents(messages: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`contents` turns: assistant -> model, tool results -> functionResponse parts of one user turn."""
    names = tool_names_by_id(messages)
    contents: list[dict[str, Any]] = []
    for message in messages:
        role = message["role"]
        if role in ("system", "developer"):
            continue
        if role == "tool":
            part = {
                "functionResponse": {
                    "name": names.get(message["tool_call_id"], ""),
                    "response": _tool_result(message),
                }
            }
            if (
                contents
                and contents[-1]["role"] == "user"
                and "functionResponse" in contents[-1]["parts"][0]
            ):
                contents[-1]["parts"].append(part)
            else:
                contents.append({"role": "user", "parts": [part]})
            continue
        parts = _wire_parts(message.get("content"))
        for call in message.get("tool_calls") or ():
            _, name, arguments = tool_call_fields(call)
            parts.append({"functionCall": {"name": name, "args": arguments}})
        contents.append({"role": "model" if role == "assistant" else "user", "parts": parts})
    return contents


def _tool_result(message: Mapping[str, Any]) -> dict[str, Any]:
    text = text_of(message.get("content"))
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {"result": text}


def _wire_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts = []
    for part in content or ():
        if part["type"] == "text":
            parts.append({"text": part["text"]})
            continue
        media_type, data, url = image_source(part)
        if data:
            parts.append({"inlineData": {"mimeType": media_type or "image/png", "data": data}})
        else:
            parts.append({"fileData": {"mimeType": media_type or "image/jpeg", "fileUri": url}})
    return parts


def embed_body(inputs: Iterable[Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body of `batchEmbedContents` (one request per input, in order)."""
    extra = option_values(options, EMBED_OPTIONS)
    model = model_path(str(options.get("model")))
    return {
        "requests": [
            {"model": model, "content": {"parts": [{"text": str(text)}]}} | extra for text in inputs
        ]
    }


# -- parse (pure) -----------------------------------------------------------------------------


def parse_usage(usage: Mapping[str, Any] | None) -> Usage:
    """Thinking tokens are output tokens (billed so) and are also shown apart as reasoning."""
    if not usage:
        return Usage()
    thoughts = usage.get("thoughtsTokenCount") or 0
    return usage_of(
        usage.get("promptTokenCount"),
        (usage.get("candidatesTokenCount") or 0) + thoughts,
        usage.get("cachedContentTokenCount"),
        thoughts,
    )


def parse_generate(
    body: Any, *, provider: str, response: HttpResponse | None = None
) -> ChatResponse:
    candidates = body.get("candidates") if isinstance(body, Mapping) else None
    if not candidates:
        raise ResponseFormatError(f"{provider} answered without any candidate.", provider=provider)
    candidate = candidates[0]
    parts = (candidate.get("content") or {}).get("parts") or []
    text = "".join(p["text"] for p in parts if "text" in p and not p.get("thought"))
    calls = tuple(
        ToolCall(
            p["functionCall"].get("id") or f"call_{i}",
            p["functionCall"]["name"],
            p["functionCall"].get("args") or {},
        )
        for i, p in enumerate(p for p in parts if "functionCall" in p)
    )
    raw_finish = candidate.get("finishReason")
    finish = (
        "tool_calls"
        if calls and raw_finish == "STOP"
        else FINISH_REASONS.get(raw_finish, "error" if raw_finish else None)
    )
    return ChatResponse(
        content=text,
        model=body.get("modelVersion"),
        provider=provider,
        finish_reason=finish,
        raw_finish_reason=raw_finish,
        usage=parse_usage(body.get("usageMetadata")),
        tool_calls=calls,
        id=body.get("responseId"),
        request_id=response.request_id if response else None,
        latency_ms=response.elapsed_ms if response else None,
        raw=body,
    )


def parse_embeddings(
    body: Any, *, provider: str, model: str | None, inputs: Iterable[Any] = ()
) -> EmbeddingResponse:
    """Gemini reports no token count for embeddings: input tokens are estimated from the text."""
    embeddings = body.get("embeddings") if isinstance(body, Mapping) else None
    if not isinstance(embeddings, list):
        raise ResponseFormatError(
            f"{provider} answered the embeddings call without 'embeddings'.", provider=provider
        )
    usage = Usage(input_tokens=sum(estimate_tokens(str(text)) for text in inputs))
    vectors = [e["values"] for e in embeddings]
    return EmbeddingResponse(
        embeddings=vectors, model=model, provider=provider, usage=usage, raw=body
    )


def parse_models(body: Any, *, provider: str) -> list[ModelInfo]:
    return [
        ModelInfo(
            m["name"].removeprefix("models/"),
            provider,
            context_window=m.get("inputTokenLimit"),
            raw=m,
        )
        for m in body.get("models") or ()
    ]


def blocked(body: Mapping[str, Any], provider: str) -> ContentFilteredError | None:
    """The ContentFilteredError a blocked prompt or answer stands for, if it was blocked."""
    reason = (body.get("promptFeedback") or {}).get("blockReason")
    if reason and not body.get("candidates"):
        return ContentFilteredError(
            f"{provider} blocked the prompt ({reason}): rephrase it, or loosen safety_settings.",
            provider=provider,
            error_type=reason,
            body=body,
        )
    candidates = body.get("candidates") or [{}]
    reason = candidates[0].get("finishReason")
    if reason in FILTER_REASONS:
        return ContentFilteredError(
            f"{provider} withheld the answer ({reason}): rephrase the prompt, or loosen safety_settings.",
            provider=provider,
            error_type=reason,
            body=body,
        )
    return None


# -- streaming --------------------------------------------------------------------------------


class GeminiStreamDecoder:
    """Response fragments to StreamChunks. Gemini sends no end marker: a finishReason (or a
    blocked prompt) is the sign the answer is whole."""

    def __init__(self, provider: GeminiProvider) -> None:
        self.provider = provider
        self.complete = False
        self.usage: Usage | None = None
        self._text = AssembledText()
        self._calls: list[dict[str, Any]] = []
        self._last: dict[str, Any] = {}
        self._candidate: dict[str, Any] | None = None

    @property
    def partial_text(self) -> str:
        return self._text.text

    def feed(self, event: SSEEvent) -> list[StreamChunk]:
        data = json_event(event.data, self.provider.name)
        if "error" in data:
            code = (data["error"] or {}).get("code")
            raise self.provider.map_error(code if isinstance(code, int) else 500, {}, data)
        self._last |= {k: v for k, v in data.items() if k != "candidates"}
        if data.get("usageMetadata"):
            self.usage = parse_usage(data["usageMetadata"])
        if (data.get("promptFeedback") or {}).get("blockReason"):
            self.complete = True
        out = []
        for candidate in data.get("candidates") or ()[:1]:
            self._candidate = {k: v for k, v in candidate.items() if k != "content"}
            for part in (candidate.get("content") or {}).get("parts") or ():
                if "functionCall" in part:
                    self._calls.append(part)
                elif part.get("text") and not part.get("thought"):
                    out.append(self._text.add(part["text"]))
            if candidate.get("finishReason"):
                self.complete = True
        return out

    def result(self) -> dict[str, Any]:
        body = dict(self._last)
        if self._candidate is not None:
            parts = ([{"text": self.partial_text}] if self._text.count else []) + self._calls
            body["candidates"] = [self._candidate | {"content": {"role": "model", "parts": parts}}]
        return body


# -- plugs and provider -------------------------------------------------------------------------


class GeminiOauth2(Plug):
    """Without a key, authenticate with Google OAuth2 credentials (google-auth), when configured."""

    def call(self, request: Request) -> Request:
        config: ProviderConfig = request.config
        if config.api_key is not None:
            return request
        provider: GeminiProvider = providers.get(request.provider)  # type: ignore[assignment]
        if dict(config.extra).get("auth") != "oauth2":
            raise MissingKeyError(request.provider, provider.key_env[0])
        provider.load_credentials()
        return request


class GeminiContentFilter(Plug):
    """A blocked prompt or answer is a ContentFilteredError, not an empty answer."""

    def call(self, request: Request) -> Request:
        error = blocked(request.response.body or {}, request.provider)
        if error is not None:
            raise error
        return request


class GeminiPrepareRequest(Plug):
    """Builds the call for the request's kind; the model is part of the path."""

    def call(self, request: Request) -> Request:
        kind, options = request.kind, request.options
        model = model_path(str(options.get("model")))
        if kind == "chat":
            call = HttpCall(
                "POST", f"/{model}:generateContent", json=generate_body(request.messages, options)
            )
        elif kind == "stream":
            body = generate_body(request.messages, options)
            call = HttpCall(
                "POST",
                f"/{model}:streamGenerateContent",
                json=body,
                params={"alt": "sse"},
                stream="sse",
            )
        elif kind == "embeddings":
            call = HttpCall(
                "POST", f"/{model}:batchEmbedContents", json=embed_body(request.messages, options)
            )
        else:
            call = HttpCall("GET", "/models", params={"pageSize": "1000"})
        return request.evolve(provider_request=call)


class GeminiParseResponse(Plug):
    """Turns the answer into the normalised result for the request's kind."""

    def call(self, request: Request) -> Request:
        response: HttpResponse = request.response
        name, kind = request.provider, request.kind
        result: Any
        if kind in ("chat", "stream"):
            result = parse_generate(response.body, provider=name, response=response)
        elif kind == "embeddings":
            result = parse_embeddings(
                response.body, provider=name, model=request.model, inputs=request.messages
            )
        else:
            models = parse_models(response.body, provider=name)
            result = models if kind == "list_models" else validation(name, len(models))
        return request.put_result(result)


_CHAT_REQUEST_OPTIONS = frozenset(
    {
        *GENERATION_OPTIONS,
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "response_format",
        "tools",
        "tool_choice",
        "safety_settings",
        "extra_body",
    }
)


class GeminiProvider(HttpProvider):
    """Gemini through the Generative Language API (AI Studio keys, or OAuth2)."""

    name = "gemini"
    default_model = defaults.CHAT["gemini"]
    default_embedding_model = defaults.EMBEDDINGS["gemini"]
    key_env = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    base_url_env = "GEMINI_BASE_URL"
    default_base_url = "https://generativelanguage.googleapis.com/v1beta"
    requires_key = False  # GeminiOauth2 asks for the key, or uses OAuth2
    price_provider = "google"
    plugs = {
        kind: (GeminiPrepareRequest, GeminiParseResponse)
        for kind in ("chat", "stream", "embeddings", "list_models", "validate")
    }
    request_options = {
        "chat": _CHAT_REQUEST_OPTIONS,
        "stream": _CHAT_REQUEST_OPTIONS,
        "embeddings": frozenset(EMBED_OPTIONS),
    }
    auth_header = "x-goog-api-key"
    auth_prefix = ""

    def __init__(self) -> None:
        self._credentials: Any = None
        self._lock = threading.Lock()

    def pipeline(self, kind: str) -> list[Any]:
        from ..plugs import ExecuteRequest, FetchConfig

        specs = super().pipeline(kind)
        specs.insert(specs.index(FetchConfig) + 1, GeminiOauth2)
        if kind in ("chat", "stream"):
            specs.insert(specs.index(ExecuteRequest) + 1, GeminiContentFilter)
        return specs

    def load_credentials(self) -> None:
        """Application default credentials, loaded once (google-auth, the `google` extra)."""
        with self._lock:
            if self._credentials is not None:
                return
            try:
                import google.auth
            except ImportError:
                raise MissingDependencyError("google-auth", "google") from None
            self._credentials, _ = google.auth.default(scopes=list(OAUTH_SCOPES))

    def auth_headers(self, config: ProviderConfig) -> dict[str, str]:
        if config.api_key is not None or self._credentials is None:
            return super().auth_headers(config)
        with self._lock:
            if not self._credentials.valid:
                self._credentials.refresh(_AuthTransport())
            return {"Authorization": f"Bearer {self._credentials.token}"}

    def stream_decoder(self, request: Request) -> GeminiStreamDecoder:
        return GeminiStreamDecoder(self)

    def map_error(self, status: int, headers: Mapping[str, str], body: Any) -> ProviderError:
        if isinstance(body, list) and body:
            body = body[0]  # some errors come wrapped in a one-element array
        error = body.get("error") if isinstance(body, Mapping) else None
        if not isinstance(error, Mapping):
            return self.error(status, str(body).strip()[:500] or f"HTTP {status}", headers, body)
        message, kind = error.get("message") or f"HTTP {status}", error.get("status")
        typed = self.error(status, message, headers, body, error_type=kind)
        if typed.retry_after is None:
            typed.retry_after = _retry_delay(error.get("details"))
        if status == 400 and "api key" in message.lower():
            return AuthenticationError(
                message, provider=self.name, status_code=status, error_type=kind, body=body
            )
        return typed


def _retry_delay(details: Any) -> float | None:
    """RetryInfo.retryDelay ("53s", "0.5s") in seconds."""
    for detail in details or ():
        if isinstance(detail, Mapping) and detail.get("@type") == RETRY_INFO:
            try:
                return float(str(detail.get("retryDelay", "")).removesuffix("s"))
            except ValueError:
                return None
    return None


class _AuthTransport:
    """google-auth's transport interface over httpx2, so token refresh needs no other HTTP library."""

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _AuthResponse:
        from ._http import httpx2

        return _AuthResponse(
            httpx2.request(method, url, content=body, headers=headers, timeout=timeout or 30)
        )


class _AuthResponse:
    def __init__(self, response: Any) -> None:
        self.status = response.status_code
        self.headers = dict(response.headers)
        self.data = response.content
