"""OpenAI's REST API: chat (tools, JSON mode, images), streaming, embeddings, legacy completions, models."""

from .build import (
    CHAT_OPTIONS,
    COMPLETION_OPTIONS,
    chat_body,
    completion_body,
    wire_message,
    wire_tools,
)
from .embeddings import (
    EMBEDDING_OPTIONS,
    embeddings_body,
    parse_embeddings,
    parse_models,
    validation,
)
from .parse import FINISH_REASONS, parse_chat, parse_tool_calls, parse_usage
from .provider import (
    CompletionModel,
    OpenAIParseResponse,
    OpenAIPrepareRequest,
    OpenAIProvider,
)
from .stream import OpenAIStreamDecoder

__all__ = [
    "CHAT_OPTIONS",
    "COMPLETION_OPTIONS",
    "EMBEDDING_OPTIONS",
    "FINISH_REASONS",
    "CompletionModel",
    "OpenAIParseResponse",
    "OpenAIPrepareRequest",
    "OpenAIProvider",
    "OpenAIStreamDecoder",
    "chat_body",
    "completion_body",
    "embeddings_body",
    "parse_chat",
    "parse_embeddings",
    "parse_models",
    "parse_tool_calls",
    "parse_usage",
    "validation",
    "wire_message",
    "wire_tools",
]
