"""The Gemini provider (Generative Language API): its plugs per kind, credentials and errors.

The API version is part of each call's path, so `base_url` may be a bare host
(`http://host:port`, as Google's SDK takes it: the version is added) or include the
version (`.../v1beta`: used as given).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, ClassVar

from ...config import ProviderConfig
from ...errors import AuthenticationError, MissingDependencyError, ProviderError
from ...plug import Plug
from ...request import Request
from ...transport import HttpCall, HttpResponse
from .. import defaults
from .._http import HttpProvider
from ..openai import validation
from .auth import OAUTH_SCOPES, AuthTransport, GeminiOauth2
from .continuation import GeminiContinuation, continuation_settings
from .errors import GeminiContentFilter, retry_delay
from .request import (
    EMBED_OPTIONS,
    GENERATION_OPTIONS,
    THINKING_OPTIONS,
    api_prefix,
    embed_body,
    generate_body,
    model_path,
)
from .response import parse_embeddings, parse_generate, parse_models
from .stream import GeminiStreamDecoder


class GeminiPrepareRequest(Plug):
    """Builds the call for the request's kind; the API version and the model are in the path."""

    def call(self, request: Request) -> Request:
        kind, options = request.kind, request.options
        config: ProviderConfig = request.config
        version = options.get("api_version", dict(config.extra).get("api_version"))
        prefix = api_prefix(str(config.base_url), version)
        model = f"{prefix}/{model_path(str(options.get('model')))}"
        if kind in ("chat", "stream"):
            continuation_settings(options)  # refused here, before anything is sent
        if kind == "chat":
            call = HttpCall(
                "POST", f"{model}:generateContent", json=generate_body(request.messages, options)
            )
        elif kind == "stream":
            body = generate_body(request.messages, options)
            call = HttpCall(
                "POST",
                f"{model}:streamGenerateContent",
                json=body,
                params={"alt": "sse"},
                stream="sse",
            )
        elif kind == "embeddings":
            call = HttpCall(
                "POST", f"{model}:batchEmbedContents", json=embed_body(request.messages, options)
            )
        else:
            call = HttpCall("GET", f"{prefix}/models", params={"pageSize": "1000"})
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


CHAT_REQUEST_OPTIONS = frozenset(
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
        "generation_config",
        *THINKING_OPTIONS,
        "continuation",
        "max_continuation_hops",
        "api_version",
    }
)


class GeminiProvider(HttpProvider):
    """Gemini through the Generative Language API (AI Studio keys, or OAuth2)."""

    name = "gemini"
    default_model = defaults.CHAT["gemini"]
    default_embedding_model = defaults.EMBEDDINGS["gemini"]
    key_env: ClassVar[tuple[str, ...]] = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    base_url_env = "GEMINI_BASE_URL"
    default_base_url: ClassVar[str | None] = (
        "https://generativelanguage.googleapis.com"  # + /v1, see api_prefix
    )
    requires_key = False  # GeminiOauth2 asks for the key, or uses OAuth2
    price_provider = "google"
    schema_dialect = "gemini"  # responseJsonSchema
    plugs = {
        kind: (GeminiPrepareRequest, GeminiParseResponse)
        for kind in ("chat", "stream", "embeddings", "list_models", "validate")
    }
    request_options: ClassVar[Mapping[str, frozenset[str]] | None] = {
        "chat": CHAT_REQUEST_OPTIONS,
        "stream": CHAT_REQUEST_OPTIONS,
        "embeddings": frozenset({*EMBED_OPTIONS, "api_version"}),
        "list_models": frozenset({"api_version"}),
        "validate": frozenset({"api_version"}),
    }
    auth_header = "x-goog-api-key"
    auth_prefix = ""

    #: the OAuth2 scopes asked of application default credentials
    oauth_scopes: ClassVar[tuple[str, ...]] = OAUTH_SCOPES

    def __init__(self) -> None:
        self._credentials: Any = None
        #: the project application default credentials name, once loaded
        self.adc_project: str | None = None
        self._lock = threading.Lock()

    def pipeline(self, kind: str) -> list[Any]:
        from ...plugs import ExecuteRequest, FetchConfig

        specs = super().pipeline(kind)
        specs.insert(specs.index(FetchConfig) + 1, GeminiOauth2)
        if kind in ("chat", "stream"):
            at = specs.index(ExecuteRequest) + 1
            specs[at:at] = [GeminiContinuation, GeminiContentFilter]
        return specs

    def uses_oauth2(self, config: ProviderConfig) -> bool:
        """Whether a configuration without a key authenticates with OAuth2."""
        return dict(config.extra).get("auth") == "oauth2"

    def load_credentials(self) -> None:
        """Application default credentials, loaded once (google-auth, the `google` extra)."""
        with self._lock:
            if self._credentials is not None:
                return
            try:
                import google.auth
            except ImportError:
                raise MissingDependencyError("google-auth", "google") from None
            self._credentials, self.adc_project = google.auth.default(
                scopes=list(self.oauth_scopes)
            )

    def auth_headers(self, config: ProviderConfig) -> dict[str, str]:
        if config.api_key is not None or self._credentials is None:
            return super().auth_headers(config)
        with self._lock:
            if not self._credentials.valid:
                self._credentials.refresh(AuthTransport())
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
            typed.retry_after = retry_delay(error.get("details"))
        if status == 400 and "api key" in message.lower():
            return AuthenticationError(
                message, provider=self.name, status_code=status, error_type=kind, body=body
            )
        return typed
