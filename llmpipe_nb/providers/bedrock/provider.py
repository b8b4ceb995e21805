"""The AWS Bedrock provider: Converse for chat and streams, InvokeModel for embeddings,
ListFoundationModels (on the control-plane host) for the model list.

Model ids go in the address as they are given: base models (`amazon.nova-micro-v1:0`),
cross-region inference profiles (`us.anthropic.claude-haiku-5-5`, `global.…`) and ARNs.
The runtime host is `bedrock-runtime.{region}.amazonaws.com`, or `base_url` (or
`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, as boto3 reads it); the model list goes to
`bedrock.{region}.amazonaws.com`, or to `base_url` when one is given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from ...config import ProviderConfig
from ...errors import ConfigError, ProviderError
from ...plug import Plug
from ...request import Request
from ...transport import HttpCall, HttpResponse
from .. import defaults
from .._each_input import EachInput, one_call_each
from .._http import HttpProvider
from ..openai import validation
from . import auth, errors
from .converse import FIELDS, INFERENCE_OPTIONS, converse_body
from .parse import BedrockStreamDecoder, parse_converse, parse_embeddings, parse_models
from .sigv4 import signature_headers

if TYPE_CHECKING:
    import httpx2

SERVICE = "bedrock"
#: embedding options sent as they are, by model family
TITAN_OPTIONS = {"dimensions": "dimensions", "normalize": "normalize"}
COHERE_OPTIONS = {"input_type": "input_type", "truncate": "truncate"}
#: the one call that goes to the control-plane host
MODELS_PATH = "/foundation-models"
#: the model families whose Converse takes a tool forced by name (`toolChoice.tool`), by
#: base id, inference profile (`us.anthropic.…`) or ARN
_FORCED_TOOL = re.compile(r"(?:^|[./])(?:anthropic\.claude|amazon\.nova|mistral\.mistral-large)")


def model_path(model: str) -> str:
    """`/model/{id}` with the id percent-encoded whole (an ARN holds `/` and `:`)."""
    return f"/model/{quote(model, safe='')}"


def embeddings_calls(inputs: list[Any], options: Mapping[str, Any]) -> list[HttpCall]:
    """InvokeModel calls: one per input for Titan, one for all for Cohere."""
    model = str(options.get("model"))
    path = f"{model_path(model)}/invoke"
    if "cohere.embed" in model:
        body: dict[str, Any] = {"texts": [str(t) for t in inputs], "input_type": "search_document"}
        body |= {w: options[o] for o, w in COHERE_OPTIONS.items() if options.get(o) is not None}
        return [HttpCall("POST", path, json=body)]
    if "titan-embed" not in model:
        raise ConfigError(
            f"{model} is not an embedding model this provider knows: use an Amazon Titan "
            "(amazon.titan-embed-…) or Cohere (cohere.embed-…) embedding model."
        )
    extra = {w: options[o] for o, w in TITAN_OPTIONS.items() if options.get(o) is not None}
    return [HttpCall("POST", path, json={"inputText": str(t)} | extra) for t in inputs]


class BedrockPrepareRequest(Plug):
    """Builds the Converse, InvokeModel or ListFoundationModels call."""

    def call(self, request: Request) -> Request:
        kind, options = request.kind, request.options
        if kind in ("list_models", "validate"):
            return request.evolve(provider_request=HttpCall("GET", MODELS_PATH))
        if kind == "embeddings":
            return one_call_each(request, embeddings_calls(list(request.messages), options))
        stream = kind == "stream"
        action = "converse-stream" if stream else "converse"
        call = HttpCall(
            "POST",
            f"{model_path(str(options.get('model')))}/{action}",
            json=converse_body(request.messages, options),
            stream="eventstream" if stream else None,
        )
        return request.evolve(provider_request=call)


class BedrockParseResponse(Plug):
    """Turns the answer into the normalised result for the request's kind."""

    def call(self, request: Request) -> Request:
        response: HttpResponse = request.response
        name, kind = request.provider, request.kind
        result: Any
        if kind in ("chat", "stream"):
            result = parse_converse(
                response.body, provider=name, model=request.model, response=response
            )
        elif kind == "embeddings":
            result = parse_embeddings(
                response.body, provider=name, model=request.model, headers=response.headers
            )
        else:
            models = parse_models(response.body, provider=name)
            result = models if kind == "list_models" else validation(name, len(models))
        return request.put_result(result)


class BedrockSetup(Plug):
    """Credentials checked before anything is sent: a Bedrock API key or AWS credentials."""

    def call(self, request: Request) -> Request:
        auth.check(request.config)
        return request


_CHAT = frozenset(
    {
        *INFERENCE_OPTIONS,
        *FIELDS,
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "tools",
        "tool_choice",
        "extra_body",
    }
)


class BedrockProvider(HttpProvider):
    """AWS Bedrock: every model it serves, through one API (Converse), signed with SigV4."""

    name = "bedrock"
    default_model = defaults.CHAT["bedrock"]
    default_embedding_model = defaults.EMBEDDINGS["bedrock"]
    key_env = (auth.TOKEN_ENV,)
    base_url_env = "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"
    default_base_url = None  # from the region
    config_env = (*auth.REGION_ENV, *auth.KEY_ENV, "AWS_PROFILE")
    requires_key = False  # BedrockSetup asks for an API key or AWS credentials
    price_provider = "aws"
    #: Converse has no JSON-schema output field: a tool forced by name, whose input schema
    #: is the schema, where the model takes one; else the schema in the system message.
    #: Either way the answer is validated (and repaired with `repair=`).
    structured_forms = ("tool", "prompt")
    plugs = {
        kind: (BedrockPrepareRequest, BedrockParseResponse)
        for kind in ("chat", "stream", "embeddings", "list_models", "validate")
    }
    request_options: ClassVar[Mapping[str, frozenset[str]] | None] = {
        "chat": _CHAT,
        "stream": _CHAT,
        "embeddings": frozenset({*TITAN_OPTIONS, *COHERE_OPTIONS}),
    }

    def pipeline(self, kind: str) -> list[Any]:
        from ...plugs import ExecuteRequest, FetchConfig

        specs = super().pipeline(kind)
        specs.insert(specs.index(FetchConfig) + 1, BedrockSetup)
        if kind == "embeddings":
            specs.insert(specs.index(ExecuteRequest) + 1, EachInput)
        return specs

    def structured_for(self, model: str | None) -> tuple[tuple[str, ...], str]:
        """A forced tool, then the prompt, for the families that take one; the prompt for
        the others (a model that refuses the tool falls back to the prompt as well)."""
        if _FORCED_TOOL.search(str(model or self.default_model)):
            return self.structured_forms, self.schema_dialect
        return ("prompt",), self.schema_dialect

    def _resolve(self, explicit: Mapping[str, Any]) -> ProviderConfig:
        """The runtime and control-plane hosts for the region (the region is required: it is
        part of every signature)."""
        config = super()._resolve(explicit)
        region = auth.region(config)
        extra = dict(config.extra)
        extra["region"] = region
        extra.setdefault(
            "control_url", config.base_url or f"https://bedrock.{region}.amazonaws.com"
        )
        return replace(
            config,
            base_url=config.base_url or f"https://bedrock-runtime.{region}.amazonaws.com",
            extra=tuple(sorted(extra.items(), key=lambda item: item[0])),
        )

    def url(self, config: ProviderConfig, call: HttpCall) -> str:
        if call.path == MODELS_PATH:
            return str(dict(config.extra)["control_url"]).rstrip("/") + call.path
        return super().url(config, call)

    def sign(self, request: httpx2.Request, config: ProviderConfig) -> None:
        """SigV4 over the final request, unless a Bedrock API key (a bearer token) is used."""
        if config.api_key is not None:
            return
        credentials = auth.credentials(config)
        if credentials is None:  # gone since BedrockSetup checked: let Bedrock refuse it
            return
        headers = {
            name: request.headers[name]
            for name in ("host", "content-type")
            if name in request.headers
        }
        request.headers.update(
            signature_headers(
                request.method,
                str(request.url),
                headers,
                request.content,
                credentials,
                region=str(dict(config.extra)["region"]),
                service=SERVICE,
                when=datetime.now(timezone.utc),
            )
        )

    def stream_decoder(self, request: Request) -> BedrockStreamDecoder:
        return BedrockStreamDecoder(self)

    def map_error(self, status: int, headers: Mapping[str, str], body: Any) -> ProviderError:
        return errors.map_error(self, status, headers, body)

    def stream_error(self, name: str, data: Mapping[str, Any]) -> ProviderError:
        return errors.stream_error(self, name, data)
