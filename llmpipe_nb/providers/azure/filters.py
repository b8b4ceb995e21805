"""How Azure OpenAI says no: its content filter (on the prompt, a 400; on the answer, the
finish reason `content_filter`) and its error bodies, as typed errors.

Azure annotates every answer with `content_filter_results` per category (hate, sexual,
violence, self_harm, jailbreak, protected material, ...); the categories whose
`filtered` is true are the ones that fired, and the error names them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...errors import ContentFilteredError, ProviderError
from ...plug import Plug
from ...request import Request
from ...responses import StreamChunk
from ..openai import OpenAIStreamDecoder
from ..openai import errors as openai_errors

if TYPE_CHECKING:
    from .provider import AzureProvider


def fired(results: Any) -> tuple[str, ...]:
    """The categories of a `content_filter_results` object whose filter fired."""
    if not isinstance(results, Mapping):
        return ()
    return tuple(
        sorted(
            name
            for name, verdict in results.items()
            if isinstance(verdict, Mapping) and verdict.get("filtered")
        )
    )


def _named(categories: tuple[str, ...]) -> str:
    return f" ({', '.join(categories)})" if categories else ""


def map_error(
    provider: AzureProvider, status: int, headers: Mapping[str, str], body: Any
) -> ProviderError:
    """OpenAI's envelope as Azure fills it; a prompt its content filter refused is a
    ContentFilteredError naming the categories that fired."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping) and error.get("code") == "content_filter":
        inner = error.get("innererror") or {}
        categories = fired(inner.get("content_filter_result"))
        return ContentFilteredError(
            f"Azure's content filter refused the prompt{_named(categories)}: rephrase it, "
            "or ask the resource's owner about its content filter configuration.",
            categories=categories,
            provider=provider.name,
            status_code=status,
            error_type="content_filter",
            request_id=headers.get("x-request-id") or headers.get("apim-request-id"),
            body=body,
        )
    typed = openai_errors.map_error(provider, status, headers, body)
    if typed.request_id is None:
        typed.request_id = headers.get("apim-request-id")
    return typed


class AzureContentFilter(Plug):
    """An answer Azure's content filter withheld is a ContentFilteredError, not a short answer."""

    def call(self, request: Request) -> Request:
        body = request.response.body
        choices = body.get("choices") if isinstance(body, Mapping) else None
        choice = choices[0] if choices else {}
        if choice.get("finish_reason") != "content_filter":
            return request
        categories = fired(choice.get("content_filter_results"))
        raise ContentFilteredError(
            f"Azure's content filter withheld the answer{_named(categories)}: rephrase the "
            "prompt, or ask the resource's owner about its content filter configuration.",
            categories=categories,
            provider=request.provider,
            error_type="content_filter",
            request_id=request.response.request_id,
            body=body,
        )


class AzureStreamDecoder(OpenAIStreamDecoder):
    """OpenAI's decoder, keeping the filter verdicts: Azure's first chunk carries only the
    prompt's (`choices` empty, `model` blank), the last the answer's."""

    def __init__(self, provider: AzureProvider) -> None:
        super().__init__(provider)
        self._filter_results: Any = None

    def take(self, chunk: dict[str, Any]) -> list[StreamChunk]:
        if not chunk.get("choices") and "prompt_filter_results" in chunk:
            return []  # the prompt's verdicts, before the answer's id and model
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) == 0 and choice.get("content_filter_results"):
                self._filter_results = choice["content_filter_results"]
        return super().take(chunk)

    def result(self) -> dict[str, Any]:
        body = super().result()
        if self._filter_results is not None:
            body["choices"][0]["content_filter_results"] = self._filter_results
        return body
