"""Google Vertex AI: Gemini models (the Gemini format) and Claude models (Anthropic's
Messages format) in a Google Cloud project, by OAuth2.

`request` holds the addresses and Vertex's own bodies, `response` its own answers,
`provider` the plugs and the provider; the wire formats are `providers/gemini` and
`providers/anthropic`, unchanged.
"""

from .provider import VertexParseResponse, VertexPrepareRequest, VertexProvider
from .request import (
    DEFAULT_ANTHROPIC_VERSION,
    anthropic_version,
    claude_body,
    host,
    predict_body,
    publisher,
)
from .response import parse_predictions, parse_publisher_models

__all__ = [
    "DEFAULT_ANTHROPIC_VERSION",
    "VertexParseResponse",
    "VertexPrepareRequest",
    "VertexProvider",
    "anthropic_version",
    "claude_body",
    "host",
    "parse_predictions",
    "parse_publisher_models",
    "predict_body",
    "publisher",
]
