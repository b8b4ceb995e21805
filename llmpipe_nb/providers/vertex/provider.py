"""The Vertex AI provider: Gemini and Claude models in a Google Cloud project, by OAuth2.

The model's name picks its publisher: `claude-*` models are Anthropic's (`:rawPredict`,
`:streamRawPredict`, the Messages format), the others Google's (`:generateContent`,
`:streamGenerateContent`, `:predict` for embeddings, the Gemini format). The project and
location come from `llm.configure("vertex", extra={"project": ..., "location": ...})`,
else `GOOGLE_CLOUD_PROJECT` / `GOOGLE_CLOUD_LOCATION` (or the anthropic SDK's
`ANTHROPIC_VERTEX_PROJECT_ID` / `CLOUD_ML_REGION`), else the project of the application
default credentials and the `global` location.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar, Literal

from ... import providers
from ...config import ProviderConfig
from ...errors import ConfigError, ProviderError
from ...plug import Plug
from ...request import Request
from ...transport import HttpCall, HttpResponse
from .. import defaults
from .._each_input import EachInput, one_call_each
from ..anthropic import OPTIONS as CLAUDE_OPTIONS
from ..anthropic import AnthropicProvider, AnthropicStreamDecoder, parse_message
from ..anthropic import errors as anthropic_errors
from ..gemini import GeminiProvider, GeminiStreamDecoder, generate_body, parse_generate
from ..gemini.continuation import continuation_settings
from ..gemini.provider import CHAT_REQUEST_OPTIONS as GEMINI_CHAT
from ..openai import validation
from .request import (
    PREDICT_OPTIONS,
    PREDICT_PARAMETERS,
    claude_body,
    host,
    model_root,
    one_instance_only,
    predict_body,
    publisher,
    refuse_foreign,
)
from .response import parse_predictions, parse_publisher_models

PROJECT_ENV = ("GOOGLE_CLOUD_PROJECT", "ANTHROPIC_VERTEX_PROJECT_ID")
LOCATION_ENV = ("GOOGLE_CLOUD_LOCATION", "CLOUD_ML_REGION")
CLOUD_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)

_GEMINI_CHAT = GEMINI_CHAT - {"api_version"}
_CLAUDE_CHAT = frozenset(
    {
        *CLAUDE_OPTIONS,
        "anthropic_version",
        "thinking",
        "effort",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "tools",
        "tool_choice",
        "response_format",
        "extra_body",
    }
)
#: options every publisher takes (`schema_form`: the structured form StructuredOutput chose)
_COMMON = frozenset({"model", "cache", "schema_form"})


def _first_env(names: tuple[str, ...]) -> str | None:
    return next((os.environ[name] for name in names if os.environ.get(name)), None)


class VertexPrepareRequest(Plug):
    """Builds the call for the model's publisher, in the configured project and location."""

    def call(self, request: Request) -> Request:
        provider: VertexProvider = providers.get(request.provider)  # type: ignore[assignment]
        config: ProviderConfig = request.config
        kind, options, extra = request.kind, request.options, dict(config.extra)
        if kind in ("list_models", "validate"):
            owner = options.get("publisher") or "google"
            call = HttpCall(
                "GET", f"/v1beta1/publishers/{owner}/models", params={"pageSize": "1000"}
            )
            return request.evolve(provider_request=call)
        model = str(options.get("model"))
        project = extra.get("project") or provider.adc_project
        if not project:
            raise ConfigError(
                f"No Google Cloud project for Vertex AI: set {PROJECT_ENV[0]}, or call "
                "llm.configure('vertex', extra={'project': '<project id>'})."
            )
        root = model_root(project, extra["location"], model)
        if kind == "embeddings":
            if publisher(model) != "google":
                raise ConfigError(f"{model} makes no embeddings: use an embedding model.")
            inputs = list(request.messages)
            if one_instance_only(model):
                calls = [
                    HttpCall("POST", f"{root}:predict", json=predict_body([text], options))
                    for text in inputs
                ]
                return one_call_each(request, calls)
            call = HttpCall("POST", f"{root}:predict", json=predict_body(inputs, options))
            return request.evolve(provider_request=call)
        stream = kind == "stream"
        sse: Literal["sse"] | None = "sse" if stream else None
        chat = {k: v for k, v in options.items() if k not in _COMMON}
        if publisher(model) == "anthropic":
            refuse_foreign(chat, _CLAUDE_CHAT, model)
            body = claude_body(request.messages, options, stream=stream, extra=extra)
            action = "streamRawPredict" if stream else "rawPredict"
            call = HttpCall("POST", f"{root}:{action}", json=body, stream=sse)
        else:
            refuse_foreign(chat, _GEMINI_CHAT, model)
            continuation_settings(options)  # refused here, before anything is sent
            body = generate_body(request.messages, options)
            action = "streamGenerateContent" if stream else "generateContent"
            params = {"alt": "sse"} if stream else {}
            call = HttpCall("POST", f"{root}:{action}", json=body, params=params, stream=sse)
        return request.evolve(provider_request=call)


class VertexParseResponse(Plug):
    """Turns the answer into the normalised result, read in its publisher's format."""

    def call(self, request: Request) -> Request:
        response: HttpResponse = request.response
        name, kind = request.provider, request.kind
        result: Any
        if kind in ("chat", "stream"):
            if publisher(str(request.model)) == "anthropic":
                result = parse_message(response.body, provider=name, response=response)
            else:
                result = parse_generate(response.body, provider=name, response=response)
        elif kind == "embeddings":
            result = parse_predictions(response.body, provider=name, model=request.model)
        else:
            models = parse_publisher_models(response.body, provider=name)
            result = models if kind == "list_models" else validation(name, len(models))
        return request.put_result(result)


class VertexProvider(GeminiProvider):
    """Google Vertex AI: Gemini and Claude models, OAuth2 with application default credentials."""

    name = "vertex"
    default_model = defaults.CHAT["vertex"]
    default_embedding_model = defaults.EMBEDDINGS["vertex"]
    key_env = ()
    base_url_env = "VERTEX_BASE_URL"
    default_base_url = None  # from the location, see `host`
    config_env = (*PROJECT_ENV, *LOCATION_ENV)
    price_provider = "google"
    oauth_scopes = CLOUD_SCOPES
    plugs = {
        kind: (VertexPrepareRequest, VertexParseResponse)
        for kind in ("chat", "stream", "embeddings", "list_models", "validate")
    }
    request_options: ClassVar[Mapping[str, frozenset[str]] | None] = {
        "chat": _GEMINI_CHAT | _CLAUDE_CHAT,
        "stream": _GEMINI_CHAT | _CLAUDE_CHAT,
        "embeddings": frozenset({*PREDICT_OPTIONS, *PREDICT_PARAMETERS}),
        "list_models": frozenset({"publisher"}),
        "validate": frozenset({"publisher"}),
    }

    def pipeline(self, kind: str) -> list[Any]:
        from ...plugs import ExecuteRequest

        specs = super().pipeline(kind)
        if kind == "embeddings":
            specs.insert(specs.index(ExecuteRequest) + 1, EachInput)
        return specs

    def _resolve(self, explicit: Mapping[str, Any]) -> ProviderConfig:
        config = super()._resolve(explicit)
        extra = dict(config.extra)
        location = extra.get("location") or _first_env(LOCATION_ENV) or "global"
        extra["location"] = location
        project = extra.get("project") or _first_env(PROJECT_ENV)
        if project:
            extra["project"] = project
        return replace(
            config,
            base_url=config.base_url or host(location),
            extra=tuple(sorted(extra.items(), key=lambda item: item[0])),
        )

    def structured_for(self, model: str | None) -> tuple[tuple[str, ...], str]:
        """Claude's forms and dialect for Claude models (`output_config.format`, else a
        forced tool), Gemini's (`responseJsonSchema`) for the others."""
        if publisher(str(model or self.default_model)) == "anthropic":
            return AnthropicProvider.structured_forms, AnthropicProvider.schema_dialect
        return super().structured_for(model)

    def uses_oauth2(self, config: ProviderConfig) -> bool:
        return True  # without a key (an express-mode key), always

    def stream_decoder(self, request: Request) -> Any:
        if publisher(str(request.model)) == "anthropic":
            return AnthropicStreamDecoder(self)  # type: ignore[arg-type]
        return GeminiStreamDecoder(self)

    def map_error(self, status: int, headers: Mapping[str, str], body: Any) -> ProviderError:
        """Claude's own errors come in Anthropic's envelope, Vertex's (quota, permission) in
        Google's."""
        if isinstance(body, Mapping) and body.get("type") == "error":
            return anthropic_errors.map_error(self, status, headers, body)  # type: ignore[arg-type]
        return super().map_error(status, headers, body)

    def stream_error(self, data: Mapping[str, Any]) -> ProviderError:
        """An `error` event inside a Claude stream."""
        return anthropic_errors.stream_error(self, data)  # type: ignore[arg-type]
