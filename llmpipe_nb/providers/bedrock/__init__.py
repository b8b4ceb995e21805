"""AWS Bedrock: the Converse API (chat, event-stream streams) for every model it serves,
InvokeModel for Titan and Cohere embeddings, ListFoundationModels, signed with SigV4.

`sigv4` signs requests, `auth` finds credentials and the region, `converse` builds
bodies, `parse` reads answers and streams, `errors` reads error answers, `provider` ties
them into plugs. The event-stream framing is `providers/_eventstream.py`.
"""

from .auth import credentials, region
from .converse import converse_body, wire_turns
from .parse import BedrockStreamDecoder, parse_converse, parse_embeddings, parse_models
from .provider import BedrockParseResponse, BedrockPrepareRequest, BedrockProvider, model_path
from .sigv4 import AwsCredentials, canonical_request, signature_headers

__all__ = [
    "AwsCredentials",
    "BedrockParseResponse",
    "BedrockPrepareRequest",
    "BedrockProvider",
    "BedrockStreamDecoder",
    "canonical_request",
    "converse_body",
    "credentials",
    "model_path",
    "parse_converse",
    "parse_embeddings",
    "parse_models",
    "region",
    "signature_headers",
    "wire_turns",
]
