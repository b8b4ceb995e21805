"""Which Batch API a provider has, and calls to it that ride out a flaky network.

OpenAI, the OpenAI-compatible servers known to have `/v1/batches` (Groq, Together, and
any `openai_compatible` server), Anthropic and the mock have one; every other provider
is refused with a ConfigError before anything is sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from .. import providers
from ..errors import ConfigError, ProviderError
from ..providers._batches import BatchAPI

T = TypeVar("T")

#: polls, downloads and cancels are tried this often when the network or the server fails
ATTEMPTS = 5
#: the first wait before trying again (doubling, at most MAX_WAIT_S; a Retry-After wins)
FIRST_WAIT_S = 0.5
MAX_WAIT_S = 30.0

_adapters: dict[str, tuple[Any, BatchAPI]] = {}


def batch_api(name: str) -> tuple[Any, BatchAPI]:
    """The provider registered as `name` and the adapter of its Batch API."""
    provider = providers.get(name)
    known = _adapters.get(name)
    if known is not None and known[0] is provider:
        return known
    api = _adapter_for(provider)
    if api is None:
        raise ConfigError(
            f"Provider '{name}' has no Batch API that engine='batch' can use: it works with "
            "openai (and groq, together or an openai_compatible server with /v1/batches), "
            "anthropic and mock; use engine='local' here."
        )
    _adapters[name] = (provider, api)
    return provider, api


def _adapter_for(provider: Any) -> BatchAPI | None:
    from ..providers.anthropic import AnthropicProvider
    from ..providers.mock import MockProvider
    from ..providers.openai import OpenAIProvider
    from ..providers.openai_compatible import (
        CompatibleProvider,
        GenericProvider,
        GroqProvider,
        TogetherProvider,
    )

    if isinstance(provider, MockProvider):
        from ..providers.mock.batches import MockBatches

        return MockBatches()
    if isinstance(provider, AnthropicProvider):
        from ..providers.anthropic.batches import AnthropicBatches

        return AnthropicBatches()
    with_batches = (GroqProvider, TogetherProvider, GenericProvider)
    if isinstance(provider, OpenAIProvider) and (
        not isinstance(provider, CompatibleProvider) or isinstance(provider, with_batches)
    ):
        from ..providers.openai.batches import OpenAIBatches

        return OpenAIBatches()
    return None


def retried(action: Callable[[], T]) -> T:
    """`action()`, tried again after a connection failure, a timeout, a 429 or a 5xx."""
    attempt = 0
    while True:
        try:
            return action()
        except ProviderError as error:
            attempt += 1
            if not error.retryable or attempt == ATTEMPTS:
                raise
            wait = error.retry_after
            time.sleep(min(FIRST_WAIT_S * 2 ** (attempt - 1) if wait is None else wait, MAX_WAIT_S))
