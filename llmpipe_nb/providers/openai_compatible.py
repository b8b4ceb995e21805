"""The OpenAI-compatible family: one preset per server, each a base URL, a key variable and quirks.

Everything else is the OpenAI provider, without OpenAI's model capability table (these
servers run other models). Each preset states which output-cap field its server takes:
`max_completion_tokens` where the server documents it as the current field, `max_tokens`
where that is the only one or the one every version accepts. `openai_compatible` is the
generic one: give it `base_url` (and a key if the server wants one) to reach any server
that speaks `/chat/completions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .. import notices
from ..errors import ConfigError
from ..request import Request
from ..responses import StreamChunk
from . import defaults
from .openai import OpenAIParseResponse, OpenAIPrepareRequest, OpenAIProvider, OpenAIStreamDecoder

#: a JSON-schema response format any JSON object satisfies (LM Studio's json_object)
JSON_OBJECT_SCHEMA = {
    "type": "json_schema",
    "json_schema": {"name": "out", "schema": {"type": "object"}},
}
#: the fields vLLM 0.12 removed (it ignores them, answering 200) -> their structured_outputs key
GUIDED_FIELDS = {
    "guided_json": "json",
    "guided_regex": "regex",
    "guided_choice": "choice",
    "guided_grammar": "grammar",
    "guided_whitespace_pattern": "whitespace_pattern",
    "structural_tag": "structural_tag",
    "guided_decoding_backend": None,  # now a server setting: not sent
}
_CONSTRAINTS = ("json", "regex", "choice", "grammar", "json_object", "structural_tag")
_VLLM_CHAT_OPTIONS = (OpenAIProvider.request_options or {})["chat"] | {
    "structured_outputs",
    *GUIDED_FIELDS,
}
_warned: set[str] = set()

_ALL = ("chat", "stream", "embeddings", "completion", "list_models", "validate")


def _plugs(*kinds: str) -> dict[str, tuple[type, type]]:
    return {kind: (OpenAIPrepareRequest, OpenAIParseResponse) for kind in kinds}


class CompatibleProvider(OpenAIProvider):
    """A server that speaks OpenAI's wire format: `max_tokens`, and only the roles all know."""

    default_embedding_model: ClassVar[str | None] = None
    default_completion_model: ClassVar[str | None] = None
    completion_needs_own_model = False
    max_tokens_field = "max_tokens"
    developer_role = False
    plugs = _plugs(*_ALL)
    #: JSON-schema mode, else the schema in the prompt (validated, and repaired on request)
    structured_forms: ClassVar[tuple[str, ...]] = ("json_schema", "prompt")

    def chat_options(self, options: Mapping[str, Any]) -> Mapping[str, Any]:
        return options  # the server judges its own models


class GroqProvider(CompatibleProvider):
    """Groq; streamed usage arrives in `x_groq.usage` (read as well as `usage`).

    `max_completion_tokens`: Groq's SDK and API reference have it, `max_tokens` deprecated.
    """

    name = "groq"
    default_model = defaults.CHAT["groq"]
    key_env = ("GROQ_API_KEY",)
    base_url_env = "GROQ_BASE_URL"
    default_base_url = "https://api.groq.com/openai/v1"
    max_tokens_field = "max_completion_tokens"
    plugs = _plugs("chat", "stream", "list_models", "validate")


class MistralProvider(CompatibleProvider):
    """Mistral: the seed is `random_seed`, `stream_options` is not accepted, and `max_tokens`
    is its only output cap."""

    name = "mistral"
    default_model = defaults.CHAT["mistral"]
    default_embedding_model = defaults.EMBEDDINGS["mistral"]
    key_env = ("MISTRAL_API_KEY",)
    base_url_env = "MISTRAL_BASE_URL"
    default_base_url = "https://api.mistral.ai/v1"
    stream_usage = False
    renames = {"seed": "random_seed"}
    plugs = _plugs("chat", "stream", "embeddings", "list_models", "validate")


class OpenRouterProvider(CompatibleProvider):
    """OpenRouter: keep-alive comment lines in streams, integer error codes; `max_tokens`,
    which it maps to each upstream model's own field."""

    name = "openrouter"
    default_model = defaults.CHAT["openrouter"]
    key_env = ("OPENROUTER_API_KEY",)
    base_url_env = "OPENROUTER_BASE_URL"
    default_base_url = "https://openrouter.ai/api/v1"
    plugs = _plugs("chat", "stream", "list_models", "validate")


class XAIProvider(CompatibleProvider):
    """xAI: `max_completion_tokens`, which its reasoning models (grok-4 and later) expect."""

    name = "xai"
    default_model = defaults.CHAT["xai"]
    key_env = ("XAI_API_KEY",)
    base_url_env = "XAI_BASE_URL"
    default_base_url = "https://api.x.ai/v1"
    max_tokens_field = "max_completion_tokens"
    price_provider = "x-ai"
    plugs = _plugs("chat", "stream", "list_models", "validate")


class DeepSeekProvider(CompatibleProvider):
    """DeepSeek: `max_tokens`, the only output cap its API documents."""

    name = "deepseek"
    default_model = defaults.CHAT["deepseek"]
    key_env = ("DEEPSEEK_API_KEY",)
    base_url_env = "DEEPSEEK_BASE_URL"
    default_base_url = "https://api.deepseek.com/v1"
    plugs = _plugs("chat", "stream", "list_models", "validate")


class TogetherProvider(CompatibleProvider):
    """Together: `max_tokens`, the output cap its API documents."""

    name = "together"
    default_model = defaults.CHAT["together"]
    default_embedding_model = defaults.EMBEDDINGS["together"]
    key_env = ("TOGETHER_API_KEY",)
    base_url_env = "TOGETHER_BASE_URL"
    default_base_url = "https://api.together.xyz/v1"


#: Perplexity's search options, sent as they are
PERPLEXITY_OPTIONS = (
    "search_mode",
    "search_domain_filter",
    "search_recency_filter",
    "search_after_date_filter",
    "search_before_date_filter",
    "return_images",
    "return_related_questions",
    "web_search_options",
)
#: the answer's fields about its sources, kept on the response (`reply.raw`)
PERPLEXITY_SOURCES = ("citations", "search_results", "images", "related_questions")
_PERPLEXITY_CHAT = (OpenAIProvider.request_options or {})["chat"] | set(PERPLEXITY_OPTIONS)


class PerplexityStreamDecoder(OpenAIStreamDecoder):
    """OpenAI's decoder, keeping the sources Perplexity sends alongside the streamed text."""

    def __init__(self, provider: OpenAIProvider) -> None:
        super().__init__(provider)
        self._sources: dict[str, Any] = {}

    def take(self, chunk: dict[str, Any]) -> list[StreamChunk]:
        self._sources |= {key: chunk[key] for key in PERPLEXITY_SOURCES if chunk.get(key)}
        return super().take(chunk)

    def result(self) -> dict[str, Any]:
        return super().result() | self._sources


class PerplexityProvider(CompatibleProvider):
    """Perplexity's Sonar models: web-grounded answers whose `citations` and `search_results`
    stay on the response (`reply.raw`) and show in its views. `max_tokens`; usage comes in
    every streamed chunk, so `stream_options` is not sent."""

    name = "perplexity"
    default_model = defaults.CHAT["perplexity"]
    key_env = ("PERPLEXITY_API_KEY",)
    base_url_env = "PERPLEXITY_BASE_URL"
    default_base_url = "https://api.perplexity.ai"
    stream_usage = False
    plugs = _plugs("chat", "stream")
    request_options: ClassVar[Mapping[str, frozenset[str]] | None] = {
        "chat": _PERPLEXITY_CHAT,
        "stream": _PERPLEXITY_CHAT,
    }

    def adapt_chat_body(self, body: dict[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
        searched = {key: options[key] for key in PERPLEXITY_OPTIONS if options.get(key) is not None}
        return searched | body

    def stream_decoder(self, request: Request) -> PerplexityStreamDecoder:
        return PerplexityStreamDecoder(self)


class LocalProvider(CompatibleProvider):
    """A server on the user's machine: no key needed, priced at $0, the model is whatever it serves."""

    default_model: ClassVar[str | None] = None
    requires_key = False
    local = True
    schema_dialect: ClassVar[str] = "json"  # the server compiles any JSON Schema to a grammar
    #: then JSON mode with the schema beside it, which llama-cpp-python's server takes
    structured_forms: ClassVar[tuple[str, ...]] = ("json_schema", "json_object", "prompt")


class LMStudioProvider(LocalProvider):
    """LM Studio: `max_tokens`. It refuses `response_format` `json_object` (a 400 whose body is
    a flat string), so that asks for a JSON-object schema instead, which means the same."""

    name = "lmstudio"
    structured_forms = ("json_schema", "prompt")
    key_env = ("LMSTUDIO_API_KEY",)
    base_url_env = "LMSTUDIO_BASE_URL"
    default_base_url = "http://127.0.0.1:1234/v1"

    def adapt_chat_body(self, body: dict[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
        if (body.get("response_format") or {}).get("type") != "json_object":
            return body
        return body | {"response_format": JSON_OBJECT_SCHEMA}


class VLLMProvider(LocalProvider):
    """vLLM; its error bodies carry the HTTP status as an integer `code` (flat before v0.10.1).

    `max_completion_tokens` (it marks `max_tokens` deprecated). Structured output goes in
    `structured_outputs` (vLLM 0.12 and later): a JSON-schema `response_format` is also sent
    as `{"json": schema}`, and the removed `guided_*` fields, which the server would ignore
    without a word, are moved there with a one-time warning.
    """

    name = "vllm"
    structured_forms = ("json_schema", "guided_json", "prompt")  # guided_json: before 0.12
    key_env = ("VLLM_API_KEY",)
    base_url_env = "VLLM_BASE_URL"
    default_base_url = "http://127.0.0.1:8000/v1"
    max_tokens_field = "max_completion_tokens"
    request_options: ClassVar[Mapping[str, frozenset[str]] | None] = {
        **(OpenAIProvider.request_options or {}),
        "chat": _VLLM_CHAT_OPTIONS,
        "stream": _VLLM_CHAT_OPTIONS,
    }

    def adapt_chat_body(self, body: dict[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
        body = dict(body)
        structured = dict(
            body.pop("structured_outputs", None) or options.get("structured_outputs") or {}
        )
        if options.get("schema_form") == "guided_json":  # a server before 0.12, asked so
            return body
        moved = []
        for field, key in GUIDED_FIELDS.items():
            value = body.pop(field, options.get(field))
            if value is not None:
                moved.append((field, key))
                if key is not None:
                    structured[key] = value
        response_format = body.get("response_format") or {}
        if response_format.get("type") == "json_schema":  # kept too, for servers before 0.12
            schema = (response_format.get("json_schema") or {}).get("schema") or {"type": "object"}
            structured.setdefault("json", schema)
        given = [key for key in _CONSTRAINTS if key in structured]
        if len(given) > 1:
            raise ConfigError(
                f"vLLM takes one structured-output constraint, not {' and '.join(given)}: keep one."
            )
        for field, key in moved:
            _warn_once(field, key)
        return body | {"structured_outputs": structured} if structured else body


def _warn_once(field: str, key: str | None) -> None:
    if field in _warned:
        return
    _warned.add(field)
    instead = (
        f"it is sent as structured_outputs={{'{key}': ...}}; pass that instead"
        if key
        else "it is not sent; set the backend when starting the server"
    )
    notices.warn(
        __name__, f"vLLM 0.12 and later ignore {field}: {instead}.", UserWarning, stacklevel=2
    )


class LlamaCppProvider(LocalProvider):
    """llama.cpp's llama-server; answers 503 while the model loads (a retryable ServerError).

    `max_tokens`, the field every llama-server version reads. It serves the model it was
    started with under any name, so calls without model= send a placeholder name.
    """

    name = "llamacpp"
    default_model = defaults.CHAT["llamacpp"]
    key_env = ("LLAMACPP_API_KEY",)
    base_url_env = "LLAMACPP_BASE_URL"
    default_base_url = "http://127.0.0.1:8080/v1"


class GenericProvider(CompatibleProvider):
    """Any OpenAI-compatible server: `base_url` is required, a key only if the server asks.

    `max_tokens`: every compatible server reads it (Ollama's `/v1` layer, LM Studio and
    llama.cpp know no other), while `max_completion_tokens` is newer.
    """

    name = "openai_compatible"
    default_model = None
    key_env = ("OPENAI_COMPATIBLE_API_KEY",)
    base_url_env = "OPENAI_COMPATIBLE_BASE_URL"
    default_base_url = None
    requires_key = False
    structured_forms = LocalProvider.structured_forms
