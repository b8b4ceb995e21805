"""Google's Gemini API (Generative Language): chat, streaming, embeddings, models.

One module per concept: `request` builds bodies and `contents` their turns, `response`
reads answers, `stream` decodes the SSE stream, `continuation` follows answers that come
in several requests, `errors` reads error bodies and refusals, `auth` holds the
key/OAuth2 credentials, `provider` ties them into pipelines.
"""

from .auth import OAUTH_SCOPES, GeminiOauth2
from .contents import model_parts
from .continuation import GeminiContinuation, merge_hops
from .errors import FILTER_REASONS, GeminiContentFilter, blocked
from .provider import GeminiParseResponse, GeminiPrepareRequest, GeminiProvider
from .request import (
    EMBED_OPTIONS,
    GENERATION_OPTIONS,
    embed_body,
    generate_body,
    model_path,
    wire_contents,
)
from .response import (
    FINISH_REASONS,
    parse_embeddings,
    parse_generate,
    parse_models,
    parse_usage,
    reasoning_parts,
)
from .stream import GeminiStreamDecoder

__all__ = [
    "EMBED_OPTIONS",
    "FILTER_REASONS",
    "FINISH_REASONS",
    "GENERATION_OPTIONS",
    "OAUTH_SCOPES",
    "GeminiContentFilter",
    "GeminiContinuation",
    "GeminiOauth2",
    "GeminiParseResponse",
    "GeminiPrepareRequest",
    "GeminiProvider",
    "GeminiStreamDecoder",
    "blocked",
    "embed_body",
    "generate_body",
    "merge_hops",
    "model_parts",
    "model_path",
    "parse_embeddings",
    "parse_generate",
    "parse_models",
    "parse_usage",
    "reasoning_parts",
    "wire_contents",
]
