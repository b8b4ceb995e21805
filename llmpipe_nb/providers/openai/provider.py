"""The OpenAI provider and its plugs: they apply the pure prepare and parse functions to a Request.

The OpenAI-compatible presets reuse all of it with a few class-level quirks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ... import providers
from ...errors import ConfigError, ProviderError
from ...plug import Plug
from ...request import Request
from ...transport import HttpCall, HttpResponse
from .. import defaults
from .._http import HttpProvider
from . import errors
from .build import CHAT_OPTIONS, COMPLETION_OPTIONS, chat_body, completion_body
from .embeddings import (
    EMBEDDING_OPTIONS,
    embeddings_body,
    parse_embeddings,
    parse_models,
    validation,
)
from .options import checked_options
from .parse import parse_chat
from .stream import OpenAIStreamDecoder


class OpenAIPrepareRequest(Plug):
    """Builds the HttpCall for the request's kind from its messages and options."""

    def call(self, request: Request) -> Request:
        provider: OpenAIProvider = providers.get(request.provider)  # type: ignore[assignment]
        kind, options = request.kind, request.options
        if kind in ("chat", "stream"):
            options = provider.chat_options(options)
            body = chat_body(
                request.messages,
                options,
                stream=kind == "stream",
                max_field=provider.max_tokens_field,
                stream_usage=provider.stream_usage,
                developer_role=provider.developer_role,
                renames=provider.renames,
            )
            body = provider.adapt_chat_body(body, options)
            call = HttpCall(
                "POST", "/chat/completions", json=body, stream="sse" if kind == "stream" else None
            )
        elif kind == "completion":
            call = HttpCall("POST", "/completions", json=completion_body(request.messages, options))
        elif kind == "embeddings":
            call = HttpCall("POST", "/embeddings", json=embeddings_body(request.messages, options))
        else:
            call = HttpCall("GET", "/models")
        return request.evolve(provider_request=call)


class OpenAIParseResponse(Plug):
    """Turns the answer into the normalised result for the request's kind."""

    def call(self, request: Request) -> Request:
        response: HttpResponse = request.response
        name, kind = request.provider, request.kind
        result: Any
        if kind in ("chat", "stream", "completion"):
            result = parse_chat(response.body, provider=name, response=response)
            tier = response.body.get("service_tier")
            if isinstance(tier, str):  # the tier that served it, which prices it
                request = request.put_metadata("service_tier", tier)
        elif kind == "embeddings":
            result = parse_embeddings(response.body, provider=name)
        elif kind == "list_models":
            result = parse_models(response.body, provider=name)
        else:
            result = validation(name, len(parse_models(response.body, provider=name)))
        return request.put_result(result)


class CompletionModel(Plug):
    """Chat models cannot do legacy completions: without a model, use a completion model,
    or refuse when the provider has none left."""

    def call(self, request: Request) -> Request:
        if request.options.get("model"):
            return request
        provider: OpenAIProvider = providers.get(request.provider)  # type: ignore[assignment]
        if provider.default_completion_model is None:
            raise ConfigError(defaults.NO_COMPLETION_MODEL)
        return request.put_options(model=provider.default_completion_model)


_CHAT_REQUEST_OPTIONS = frozenset(
    {*CHAT_OPTIONS, "seed", "tools", "max_tokens", "max_completion_tokens", "extra_body"}
)


class OpenAIProvider(HttpProvider):
    """OpenAI, and the base of every OpenAI-compatible preset."""

    name = "openai"
    default_model: ClassVar[str | None] = defaults.CHAT["openai"]
    default_embedding_model: ClassVar[str | None] = defaults.EMBEDDINGS["openai"]
    default_completion_model: ClassVar[str | None] = None
    #: legacy completions without model= use default_completion_model (else a ConfigError),
    #: not the chat default
    completion_needs_own_model: ClassVar[bool] = True
    key_env = ("OPENAI_API_KEY",)
    #: chat models without image input (GPT-3.5, GPT-4 before Turbo, o1-mini/preview, o3-mini)
    text_only_models: ClassVar[tuple[str, ...]] = (
        *("gpt-3.5*", "gpt-4", "gpt-4-0*", "gpt-4-32k*", "gpt-4-1106-preview"),
        *("o1-mini*", "o1-preview*", "o3-mini*", "davinci*", "babbage*"),
    )
    base_url_env = "OPENAI_BASE_URL"
    default_base_url: ClassVar[str | None] = "https://api.openai.com/v1"
    plugs = {
        kind: (OpenAIPrepareRequest, OpenAIParseResponse)
        for kind in ("chat", "stream", "embeddings", "completion", "list_models", "validate")
    }
    request_options: ClassVar[Mapping[str, frozenset[str]] | None] = {
        "chat": _CHAT_REQUEST_OPTIONS,
        "stream": _CHAT_REQUEST_OPTIONS,
        "completion": frozenset({*COMPLETION_OPTIONS, "extra_body"}),
        "embeddings": frozenset({*EMBEDDING_OPTIONS, "extra_body"}),
    }
    #: the field that carries the output cap, whichever of the two the user passed
    max_tokens_field: ClassVar[str] = "max_completion_tokens"
    #: ask for the final usage chunk with stream_options
    stream_usage: ClassVar[bool] = True
    #: the server knows the `developer` role (else it is sent as `system`)
    developer_role: ClassVar[bool] = True
    #: option names the server spells differently
    renames: ClassVar[Mapping[str, str]] = {}
    schema_dialect: ClassVar[str] = "openai"  # strict mode

    def pipeline(self, kind: str) -> list[Any]:
        specs = super().pipeline(kind)
        if kind == "completion" and self.completion_needs_own_model:
            specs.insert(1, CompletionModel)
        return specs

    def chat_options(self, options: Mapping[str, Any]) -> Mapping[str, Any]:
        """The chat options checked against what the model accepts (the capability table)."""
        model = options.get("model")
        return checked_options(model, options) if isinstance(model, str) else options

    def adapt_chat_body(self, body: dict[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
        """The chat body in the server's dialect; OpenAI's own needs nothing more."""
        return body

    def stream_decoder(self, request: Request) -> OpenAIStreamDecoder:
        return OpenAIStreamDecoder(self)

    def map_error(self, status: int, headers: Mapping[str, str], body: Any) -> ProviderError:
        return errors.map_error(self, status, headers, body)

    def stream_error(self, chunk: Mapping[str, Any]) -> ProviderError:
        """An `{"error": ...}` event inside a stream that had answered 200."""
        return errors.stream_error(self, chunk)
