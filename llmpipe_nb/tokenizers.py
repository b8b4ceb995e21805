"""Counting the tokens a server did not count: its own tokenizer, tiktoken, or the estimate.

Some servers leave usage out (llama-cpp-python's streams, proxies, a stripped answer). The
best count then comes from the server's own tokenizer endpoint, where it has one:
`POST /tokenize` on llama.cpp's llama-server and vLLM, `POST /extras/tokenize` on
llama-cpp-python. Which one a server answers is found once and remembered per base URL.
OpenAI models are counted with `tiktoken` when it is installed and has its vocabulary;
anything else gets the offline estimate of `tokens.py`. Every such count is marked
estimated: the chat template's tokens are approximated, not known.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from .errors import LLMPipeError
from .tokens import estimate_tokens
from .transport import HttpCall

#: the tokenizer endpoints of self-hosted servers, tried in order: (path from the server's
#: root, body) — llama-server reads `content`, vLLM `prompt`, llama-cpp-python `input`
ROUTES: tuple[tuple[str, Callable[[str, str | None], dict[str, Any]]], ...] = (
    ("/tokenize", lambda text, model: {"content": text, "prompt": text, "model": model}),
    ("/extras/tokenize", lambda text, model: {"input": text, "model": model}),
)
_NONE = -1
_routes: dict[str, int] = {}
_routes_lock = threading.Lock()
_encodings: dict[str, Any] = {}


def read_count(body: Any) -> int | None:
    """The token count in a tokenizer endpoint's answer (`count`, or the `tokens` list)."""
    if not isinstance(body, Mapping):
        return None
    count = body.get("count")
    if isinstance(count, int) and not isinstance(count, bool):
        return count
    tokens = body.get("tokens")
    return len(tokens) if isinstance(tokens, list) else None


def _root(base_url: str) -> str:
    """The path from the base URL up to the server's root, where tokenizer endpoints live."""
    return "/.." if base_url.rstrip("/").endswith("/v1") else ""


class Tokenizer:
    """Counts text for one request: through `transport` (the request's pooled client) when the
    server has a tokenizer endpoint, else tiktoken for OpenAI models, else the estimate."""

    def __init__(
        self,
        *,
        transport: Any = None,
        base_url: str | None = None,
        model: str | None = None,
        openai_model: bool = False,
    ) -> None:
        self.transport: Any = transport if base_url else None
        self.base_url = base_url or ""
        self.model = model
        self.encoding = _tiktoken(model) if openai_model and model else None
        #: what counted: "server", "tiktoken" or "estimate"
        self.source = "estimate"

    def _candidates(self) -> list[int]:
        if self.transport is None:
            return []
        with _routes_lock:
            known = _routes.get(self.base_url)
        if known is None:
            return list(range(len(ROUTES)))
        return [] if known == _NONE else [known]

    def _call(self, index: int, text: str) -> HttpCall:
        path, body = ROUTES[index]
        return HttpCall("POST", _root(self.base_url) + path, json=body(text, self.model))

    def _found(self, index: int, count: int | None) -> int | None:
        with _routes_lock:
            if count is not None:
                _routes[self.base_url] = index
            elif _routes.get(self.base_url) is None and index == len(ROUTES) - 1:
                _routes[self.base_url] = _NONE
        if count is not None:
            self.source = "server"
        return count

    def _offline(self, text: str) -> int:
        if self.encoding is not None:
            self.source = "tiktoken"
            return len(self.encoding.encode(text, disallowed_special=()))
        return estimate_tokens(text)

    def count(self, text: str) -> int:
        """Tokens in `text`."""
        if not text:
            return 0
        for index in self._candidates():
            try:
                body = self.transport.send(self._call(index, text)).body
            except LLMPipeError:
                body = None
            if (count := self._found(index, read_count(body))) is not None:
                return count
        return self._offline(text)

    async def acount(self, text: str) -> int:
        """Async `count`: the endpoint is asked without blocking the event loop."""
        if not text:
            return 0
        for index in self._candidates():
            try:
                body = (await self.transport.asend(self._call(index, text))).body
            except LLMPipeError:
                body = None
            if (count := self._found(index, read_count(body))) is not None:
                return count
        return self._offline(text)


def _tiktoken(model: str) -> Any:
    """tiktoken's encoding for an OpenAI model, or None (not installed, unknown model, or its
    vocabulary cannot be loaded offline); looked up once per model."""
    if model not in _encodings:
        try:
            import tiktoken

            _encodings[model] = tiktoken.encoding_for_model(model)
        except Exception:  # ImportError, KeyError, or a failed vocabulary download
            _encodings[model] = None
    return _encodings[model]


def forget_routes() -> None:
    """Forget which tokenizer endpoint each server answered (a server was replaced)."""
    with _routes_lock:
        _routes.clear()
