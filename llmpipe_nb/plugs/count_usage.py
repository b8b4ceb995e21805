"""CountUsage: when a server leaves its token counts out, count them instead of recording 0.

A missing usage otherwise reads as 0 tokens and $0 in the ledger, the views and the budget.
This step, between the parse step and TrackCost, fills in what is missing (the prompt's
tokens, the answer's tokens) with the best tokenizer at hand (see `tokenizers.py`) and
marks the usage `estimated`, which the views show as "≈" and the ledger as a column.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from .. import registry
from ..plug import Plug
from ..request import Request, message_text
from ..responses import Usage
from ..tokenizers import Tokenizer
from ..tokens import MESSAGE_OVERHEAD

COUNTED_KINDS = ("chat", "stream", "completion", "embeddings")


def _prompt_text(request: Request) -> tuple[str, int]:
    """The text of the prompt and the per-message overhead tokens around it."""
    if request.kind == "embeddings":
        return "\n".join(str(text) for text in request.messages), 0
    overhead = MESSAGE_OVERHEAD * len(request.messages) if request.kind != "completion" else 0
    return message_text(request.messages), overhead


def _answer_text(result: Any) -> str:
    text = getattr(result, "content", "") or ""
    for call in getattr(result, "tool_calls", ()):
        arguments = (
            call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
        )
        text += call.name + arguments
    return text


def _missing(request: Request) -> tuple[bool, bool]:
    """(prompt count missing, answer count missing): a prompt always has tokens, and an
    answer with text or tool calls does too."""
    result = request.result
    usage = getattr(result, "usage", None)
    if request.kind not in COUNTED_KINDS or not isinstance(usage, Usage) or usage.estimated:
        return False, False
    prompt = usage.input_tokens == 0 and bool(request.messages)
    answer = (
        request.kind != "embeddings" and usage.output_tokens == 0 and bool(_answer_text(result))
    )
    return prompt, answer


def _tokenizer(request: Request) -> Tokenizer:
    provider = registry.get(request.provider)
    config = request.config
    self_hosted = provider.local or not provider.requires_key
    return Tokenizer(
        transport=request.http_client if self_hosted else None,
        base_url=getattr(config, "base_url", None) if self_hosted else None,
        model=getattr(request.result, "model", None) or request.model,
        openai_model=(provider.price_provider or provider.name) == "openai",
    )


def _counted(request: Request, prompt: int | None, answer: int | None, source: str) -> Request:
    result = request.result
    usage: Usage = result.usage
    usage = dataclasses.replace(
        usage,
        input_tokens=usage.input_tokens if prompt is None else prompt,
        output_tokens=usage.output_tokens if answer is None else answer,
        estimated=True,
    )
    return request.evolve(
        result=dataclasses.replace(result, usage=usage),
        metadata={**request.metadata, "usage_counted_by": source},
    )


class CountUsage(Plug):
    """Counts the tokens the server did not report; `metadata["usage_counted_by"]` says how
    ("server": its tokenizer endpoint, "tiktoken", or "estimate")."""

    def call(self, request: Request) -> Request:
        need_prompt, need_answer = _missing(request)
        if not (need_prompt or need_answer):
            return request
        tokenizer = _tokenizer(request)
        prompt = answer = None
        if need_prompt:
            text, overhead = _prompt_text(request)
            prompt = tokenizer.count(text) + overhead
        if need_answer:
            answer = tokenizer.count(_answer_text(request.result))
        return _counted(request, prompt, answer, tokenizer.source)

    async def acall(self, request: Request) -> Request:
        need_prompt, need_answer = _missing(request)
        if not (need_prompt or need_answer):
            return request
        tokenizer = _tokenizer(request)
        prompt = answer = None
        if need_prompt:
            text, overhead = _prompt_text(request)
            prompt = await tokenizer.acount(text) + overhead
        if need_answer:
            answer = await tokenizer.acount(_answer_text(request.result))
        return _counted(request, prompt, answer, tokenizer.source)
