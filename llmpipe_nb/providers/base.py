"""What a provider is: its pipelines per kind, how to reach it, and how to read its errors."""

from __future__ import annotations

import os
from collections.abc import Mapping
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any, ClassVar

from .. import config
from ..config import ProviderConfig
from ..context_windows import context_window
from ..errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ProviderError,
    RateLimitError,
    ServerError,
)
from ..request import KINDS, Request
from ..transport import StreamDecoder, Transport


class Provider:
    """Base class for providers. A subclass names its prepare and parse plugs per kind.

    The default pipeline for a kind is the seed's: ValidateProvider, FetchConfig,
    BuildHttpClient, <Provider>PrepareRequest, ExecuteRequest, <Provider>ParseResponse,
    then TrackCost for kinds that cost money, or ModelStatus for list_models.
    """

    #: the name it is registered under (register() sets it on the instance)
    name: str = ""
    default_model: ClassVar[str | None] = None
    default_embedding_model: ClassVar[str | None] = None
    key_env: ClassVar[tuple[str, ...]] = ()
    base_url_env: ClassVar[str | None] = None
    #: other variables the configuration is resolved from (region, project, ...)
    config_env: ClassVar[tuple[str, ...]] = ()
    default_base_url: ClassVar[str | None] = None
    requires_key: ClassVar[bool] = True
    #: priced at $0 (runs on the user's own machine)
    local: ClassVar[bool] = False
    #: the provider id in the price table, when it differs from `name`
    price_provider: ClassVar[str | None] = None
    #: how many requests it can run at once (None: no limit of its own); `llm.map` keeps to it
    max_concurrency: ClassVar[int | None] = None
    #: kind -> (prepare plug class, parse plug class)
    plugs: ClassVar[Mapping[str, tuple[Any, Any]]] = {}
    #: kind -> the request options its prepare plug sends; ValidateProvider refuses any other,
    #: so a misspelt option fails instead of being dropped (None: not declared, not checked)
    request_options: ClassVar[Mapping[str, frozenset[str]] | None] = None
    #: the ways `schema=` can be asked of this provider, best first (see plugs/structured.py):
    #: "json_schema", "json_object", "guided_json", "tool" or "prompt"
    structured_forms: ClassVar[tuple[str, ...]] = ("json_schema",)
    #: the JSON Schema subset its structured mode takes (structured/dialects.py)
    schema_dialect: ClassVar[str] = "json"
    #: `fnmatch` patterns (lower-case) of the models known to take no images: a prompt with
    #: an image is refused for them before anything is sent; any other model is left to the API
    text_only_models: ClassVar[tuple[str, ...]] = ()

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(k for k in KINDS if k in self.plugs)

    def pipeline(self, kind: str) -> list[Any]:
        """The plug specs of this provider's pipeline for `kind`."""
        from ..plugs import (
            BuildHttpClient,
            ExecuteRequest,
            FetchConfig,
            ModelStatus,
            TrackCost,
            ValidateProvider,
        )

        if kind not in self.plugs:
            raise ConfigError(
                f"Provider '{self.name}' does not support '{kind}': "
                f"it supports {', '.join(self.kinds)}."
            )
        prepare, parse = self.plugs[kind]
        specs: list[Any] = [
            ValidateProvider,
            FetchConfig,
            BuildHttpClient,
            prepare,
            ExecuteRequest,
            parse,
        ]
        if kind in ("chat", "stream", "embeddings", "completion"):
            specs.append(TrackCost)
        elif kind == "list_models":
            specs.append(ModelStatus)
        return specs

    def structured_for(self, model: str | None) -> tuple[tuple[str, ...], str]:
        """The forms `schema=` takes for `model`, best first, and the schema dialect they
        use: the provider's own, unless its models speak different formats."""
        return self.structured_forms, self.schema_dialect

    def context_window(self, request: Request) -> int | None:
        """The context window of the request's model in tokens, if known (ManageContext's budget)."""
        return context_window(request.model, self.price_provider or self.name)

    def takes_images(self, model: str | None) -> bool:
        """False only for a model known to take no images (`text_only_models`)."""
        patterns = tuple(self.text_only_models)
        return not patterns or not _matches((model or "").lower(), patterns)

    def resolve_config(self, explicit: Mapping[str, Any]) -> ProviderConfig:
        """The configuration for a request; cached until `configure()` or the environment changes."""
        if explicit:
            return self._resolve(explicit)
        env = os.environ
        key = (
            config.version(),
            tuple(env.get(v) for v in (*self.key_env, *self.config_env)),
            env.get(self.base_url_env) if self.base_url_env else None,
            env.get(config.TRANSPORT_ENV),
        )
        cache = self.__dict__.setdefault("_resolved", {})
        resolved = cache.get(key)
        if resolved is None:
            cache.clear()
            resolved = cache[key] = self._resolve(explicit)
        return resolved

    def _resolve(self, explicit: Mapping[str, Any]) -> ProviderConfig:
        return config.resolve(
            self.name,
            key_env=self.key_env,
            base_url_env=self.base_url_env,
            default_base_url=self.default_base_url,
            requires_key=self.requires_key,
            explicit=explicit,
        )

    def client(self, config: ProviderConfig) -> Transport:
        """The (pooled) transport for this configuration."""
        raise NotImplementedError(f"Provider '{self.name}' defines no client.")

    def stream_decoder(self, request: Request) -> StreamDecoder:
        raise NotImplementedError(f"Provider '{self.name}' does not stream.")

    def map_error(self, status: int, headers: Mapping[str, str], body: Any) -> ProviderError:
        """Turn an error answer into a typed error; providers refine this for their bodies."""
        message = _message_from(body) or f"HTTP {status}"
        kw: dict[str, Any] = {
            "provider": self.name,
            "status_code": status,
            "request_id": headers.get("x-request-id") or headers.get("request-id"),
            "body": body,
        }
        return error_for_status(status, message, **kw)

    def __repr__(self) -> str:
        return f"<Provider {self.name}: {', '.join(self.kinds)}>"


def error_for_status(status: int, message: str, **kw: Any) -> ProviderError:
    """The error class the architecture assigns to an HTTP status."""
    if status in (401, 403):
        return AuthenticationError(message, **kw)
    if status == 429:
        return RateLimitError(message, **kw)
    if status in (408, 409) or status >= 500:
        return ServerError(message, retryable=True, **kw)
    if 400 <= status < 500:
        return BadRequestError(message, **kw)
    return ProviderError(message, **kw)


def _message_from(body: Any) -> str | None:
    if isinstance(body, Mapping):
        err = body.get("error", body)
        if isinstance(err, Mapping):
            msg = err.get("message")
            return str(msg) if msg else None
        if isinstance(err, str):
            return err
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return None


@lru_cache(maxsize=512)  # asked once per request, of a handful of models
def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatchcase(name, p) for p in patterns)
