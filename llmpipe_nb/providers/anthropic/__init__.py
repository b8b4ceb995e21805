"""Anthropic's Messages API: chat, streaming (every event type), tool use, thinking, models.

One module per concern: `request` builds the body, `output` the thinking, effort and
output cap, `rules` applies what the API version and the model allow, `generations`
reads the Claude version from a model id, `parse` reads answers and streams, `errors`
reads error bodies, and `provider` ties them into plugs.
"""

from .errors import ERROR_STATUS
from .output import DEFAULT_MAX_TOKENS, THINKING_MAX_TOKENS
from .parse import (
    FINISH_REASONS,
    AnthropicStreamDecoder,
    parse_message,
    parse_models,
    parse_reasoning,
    parse_usage,
)
from .provider import AnthropicParseResponse, AnthropicPrepareRequest, AnthropicProvider
from .request import OPTIONS, messages_body, reasoning_blocks, wire_tool_choice, wire_turns
from .rules import DEFAULT_VERSION, api_version

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_VERSION",
    "ERROR_STATUS",
    "FINISH_REASONS",
    "OPTIONS",
    "THINKING_MAX_TOKENS",
    "AnthropicParseResponse",
    "AnthropicPrepareRequest",
    "AnthropicProvider",
    "AnthropicStreamDecoder",
    "api_version",
    "messages_body",
    "parse_message",
    "parse_models",
    "parse_reasoning",
    "parse_usage",
    "reasoning_blocks",
    "wire_tool_choice",
    "wire_turns",
]
