"""The Azure OpenAI provider: OpenAI's wire format at Azure's addresses, with its credentials
and content filter.

Two address styles: the v1 API (`{endpoint}/openai/v1/chat/completions`, the default),
and the deployment URLs with a dated `api-version`
(`{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=2024-10-21`),
chosen by setting `api_version` (per call, `extra={"api_version": ...}`, or
`OPENAI_API_VERSION`, which the openai SDK reads too). `model=` names the deployment in
both; the price is that of the model the answer reports.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar
from urllib.parse import quote

from ...config import ProviderConfig
from ...errors import ConfigError, ProviderError
from ...plug import Plug
from ...request import Request
from ...transport import HttpCall
from ..openai import OpenAIParseResponse, OpenAIPrepareRequest, OpenAIProvider
from . import auth, filters

ENDPOINT_ENV = "AZURE_OPENAI_ENDPOINT"
VERSION_ENV = "OPENAI_API_VERSION"
DEPLOYMENT_ENV = {"embeddings": "AZURE_OPENAI_EMBEDDING_DEPLOYMENT"}
DEFAULT_DEPLOYMENT_ENV = "AZURE_OPENAI_DEPLOYMENT"
#: `v1` (the v1 API), `preview` (the v1 API's preview features), or a dated version
_VERSION = re.compile(r"v1|preview|\d{4}-\d{2}-\d{2}(-preview)?")
_KINDS = ("chat", "stream", "embeddings", "completion", "list_models", "validate")


def api_version(options: Mapping[str, Any], config: ProviderConfig) -> str:
    """The API version to use: the per-call option, the configured one, the variable, v1."""
    version = (
        options.get("api_version")
        or dict(config.extra).get("api_version")
        or os.environ.get(VERSION_ENV)
        or "v1"
    )
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise ConfigError(
            "api_version for 'azure' must be 'v1', 'preview' or a dated version such as "
            f"'2024-10-21', not {version!r}."
        )
    return version


def azure_call(call: HttpCall, deployment: str | None, version: str) -> HttpCall:
    """OpenAI's call moved to Azure's address for `version`."""
    if version in ("v1", "preview"):
        params = {"api-version": "preview"} if version == "preview" else {}
        return replace(call, path="/openai/v1" + call.path, params={**call.params, **params})
    params = {**call.params, "api-version": version}
    if call.path == "/models":
        return replace(call, path="/openai/models", params=params)
    path = f"/openai/deployments/{quote(str(deployment), safe='')}{call.path}"
    return replace(call, path=path, params=params)


class AzureSetup(Plug):
    """The endpoint, a credential and the deployment, checked before anything is sent; the
    deployment comes from `model=`, else from its variable."""

    def call(self, request: Request) -> Request:
        config: ProviderConfig = request.config
        if not config.base_url:
            raise ConfigError(
                f"No Azure OpenAI endpoint: set {ENDPOINT_ENV} to https://<resource>"
                ".openai.azure.com, or pass base_url=... with it."
            )
        auth.check(config, request.provider)
        kind = request.kind
        if kind in ("list_models", "validate") or request.options.get("model"):
            return request
        variable = DEPLOYMENT_ENV.get(kind, DEFAULT_DEPLOYMENT_ENV)
        deployment = os.environ.get(variable)
        if not deployment:
            raise ConfigError(
                f"No Azure OpenAI deployment for {kind}: pass model='<deployment name>', "
                f"or set {variable}."
            )
        return request.put_options(model=deployment)


class AzurePrepareRequest(OpenAIPrepareRequest):
    """OpenAI's call for the request, at Azure's address for the API version."""

    def call(self, request: Request) -> Request:
        request = super().call(request)
        version = api_version(request.options, request.config)
        call = azure_call(request.provider_request, request.options.get("model"), version)
        return request.evolve(provider_request=call)


def _with_version(options: frozenset[str] | None) -> frozenset[str]:
    return (options or frozenset()) | {"api_version"}


class AzureProvider(OpenAIProvider):
    """Azure OpenAI: every OpenAI kind, with deployments for models."""

    name = "azure"
    default_model: ClassVar[str | None] = None
    default_embedding_model: ClassVar[str | None] = None
    completion_needs_own_model = False
    key_env = (auth.KEY_ENV,)
    base_url_env = ENDPOINT_ENV
    default_base_url: ClassVar[str | None] = None
    requires_key = False  # AzureSetup asks for the key or an Entra ID token
    price_provider = "azure"
    #: dated API versions before 2024-08-01-preview refuse a JSON-schema response_format:
    #: the schema is then asked in the prompt (and the answer validated)
    structured_forms = ("json_schema", "prompt")
    plugs = {kind: (AzurePrepareRequest, OpenAIParseResponse) for kind in _KINDS}
    request_options: ClassVar[Mapping[str, frozenset[str]] | None] = {
        kind: _with_version((OpenAIProvider.request_options or {}).get(kind)) for kind in _KINDS
    }

    def pipeline(self, kind: str) -> list[Any]:
        from ...plugs import ExecuteRequest, FetchConfig

        specs = super().pipeline(kind)
        specs.insert(specs.index(FetchConfig) + 1, AzureSetup)
        if kind in ("chat", "stream", "completion"):
            specs.insert(specs.index(ExecuteRequest) + 1, filters.AzureContentFilter)
        return specs

    def auth_headers(self, config: ProviderConfig) -> dict[str, str]:
        return auth.headers(config)

    def stream_decoder(self, request: Request) -> filters.AzureStreamDecoder:
        return filters.AzureStreamDecoder(self)

    def map_error(self, status: int, headers: Mapping[str, str], body: Any) -> ProviderError:
        return filters.map_error(self, status, headers, body)
