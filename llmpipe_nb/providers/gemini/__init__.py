"""Google's Gemini API (Generative Language): chat, streaming, embeddings, models.

One module per concept: `request` builds bodies, `response` reads answers, `stream`
decodes the SSE stream, `errors` reads error bodies and blocked answers, `auth` holds
the key/OAuth2 credentials, `provider` ties them into pipelines.
"""

from .auth import OAUTH_SCOPES, GeminiOauth2
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
from .response import FINISH_REASONS, parse_embeddings, parse_generate, parse_models, parse_usage
from .stream import GeminiStreamDecoder

__all__ = [
    "EMBED_OPTIONS",
    "FILTER_REASONS",
    "FINISH_REASONS",
    "GENERATION_OPTIONS",
    "OAUTH_SCOPES",
    "GeminiContentFilter",
    "GeminiOauth2",
    "GeminiParseResponse",
    "GeminiPrepareRequest",
    "GeminiProvider",
    "GeminiStreamDecoder",
    "blocked",
    "embed_body",
    "generate_body",
    "model_path",
    "parse_embeddings",
    "parse_generate",
    "parse_models",
    "parse_usage",
    "wire_contents",
]
