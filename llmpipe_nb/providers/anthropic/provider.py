"""The Anthropic provider: its plugs, options, credentials and errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import ProviderError
from ...plug import Plug
from ...request import Request
from ...transport import HttpCall, HttpResponse
from .. import defaults
from .._http import HttpProvider
from ..openai import validation
from . import errors, rules
from .parse import AnthropicStreamDecoder, parse_message, parse_models
from .request import OPTIONS, messages_body


class AnthropicPrepareRequest(Plug):
    """Builds the Messages call (or the model list call) for the chosen API version."""

    def call(self, request: Request) -> Request:
        extra = dict(request.config.extra) if request.config is not None else {}
        version = rules.api_version(request.options, extra)
        headers = {"anthropic-version": version}
        if request.kind in ("chat", "stream"):
            stream = request.kind == "stream"
            body = messages_body(request.messages, request.options, stream=stream, version=version)
            call = HttpCall(
                "POST", "/v1/messages", json=body, headers=headers, stream="sse" if stream else None
            )
        else:
            call = HttpCall("GET", "/v1/models", headers=headers, params={"limit": "1000"})
        return request.evolve(provider_request=call)


class AnthropicParseResponse(Plug):
    """Turns the answer into a ChatResponse, a model list, or a validation result."""

    def call(self, request: Request) -> Request:
        response: HttpResponse = request.response
        name = request.provider
        if request.kind in ("chat", "stream"):
            return request.put_result(
                parse_message(response.body, provider=name, response=response)
            )
        models = parse_models(response.body, provider=name)
        return request.put_result(
            models if request.kind == "list_models" else validation(name, len(models))
        )


_CHAT_OPTIONS = frozenset(
    {
        *OPTIONS,
        "api_version",
        "thinking",
        "effort",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "tools",
        "tool_choice",
        "response_format",  # sent as output_config.format
        "extra_body",
    }
)


class AnthropicProvider(HttpProvider):
    """Anthropic (Claude). No embeddings or legacy completions: the API has none.

    `api_version` (per call, or `llm.configure("anthropic", extra={"api_version": ...})`)
    picks the `anthropic-version` header; the default is the current one.
    """

    name = "anthropic"
    default_model = defaults.CHAT["anthropic"]
    key_env = ("ANTHROPIC_API_KEY",)
    text_only_models = ("claude-2*", "claude-instant*")  # every Claude 3 and later takes images
    base_url_env = "ANTHROPIC_BASE_URL"
    default_base_url = "https://api.anthropic.com"
    #: `output_config.format`; a forced tool where a model or server lacks it
    structured_forms = ("json_schema", "tool")
    schema_dialect = "anthropic"
    plugs = {
        kind: (AnthropicPrepareRequest, AnthropicParseResponse)
        for kind in ("chat", "stream", "list_models", "validate")
    }
    request_options = {
        "chat": _CHAT_OPTIONS,
        "stream": _CHAT_OPTIONS,
        "list_models": frozenset({"api_version"}),
        "validate": frozenset({"api_version"}),
    }
    auth_header = "x-api-key"
    auth_prefix = ""

    def stream_decoder(self, request: Request) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder(self)

    def map_error(self, status: int, headers: Mapping[str, str], body: Any) -> ProviderError:
        return errors.map_error(self, status, headers, body)

    def stream_error(self, data: Mapping[str, Any]) -> ProviderError:
        return errors.stream_error(self, data)
