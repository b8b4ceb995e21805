"""How Gemini says no: error bodies and their retry hints, blocked prompts and answers, and
a turn refused because a thought signature was not sent back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import BadRequestError, ContentFilteredError
from ...plug import Plug
from ...request import Request

FILTER_REASONS = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
    }
)
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


def blocked(body: Mapping[str, Any], provider: str) -> ContentFilteredError | None:
    """The ContentFilteredError a blocked prompt or answer stands for, if it was blocked."""
    reason = (body.get("promptFeedback") or {}).get("blockReason")
    if reason and not body.get("candidates"):
        return ContentFilteredError(
            f"{provider} blocked the prompt ({reason}): rephrase it, or loosen safety_settings.",
            provider=provider,
            error_type=reason,
            body=body,
        )
    candidates = body.get("candidates") or [{}]
    reason = candidates[0].get("finishReason")
    if reason in FILTER_REASONS:
        return ContentFilteredError(
            f"{provider} withheld the answer ({reason}): rephrase the prompt, or loosen safety_settings.",
            provider=provider,
            error_type=reason,
            body=body,
        )
    return None


def missing_signature(body: Mapping[str, Any], provider: str) -> BadRequestError | None:
    """The error a MISSING_THOUGHT_SIGNATURE answer stands for, if it is one."""
    candidates = body.get("candidates") or [{}]
    if candidates[0].get("finishReason") != "MISSING_THOUGHT_SIGNATURE":
        return None
    return BadRequestError(
        f"{provider} refused the turn because a thought signature of its earlier answer is "
        "missing (MISSING_THOUGHT_SIGNATURE): send reply.message back unchanged as the "
        "assistant message, with its tool calls and reasoning.",
        provider=provider,
        error_type="MISSING_THOUGHT_SIGNATURE",
        body=body,
    )


class GeminiContentFilter(Plug):
    """A blocked prompt or answer is a ContentFilteredError, and a turn refused for a missing
    thought signature a BadRequestError, not an empty answer."""

    def call(self, request: Request) -> Request:
        body = request.response.body or {}
        error = blocked(body, request.provider) or missing_signature(body, request.provider)
        if error is not None:
            raise error
        return request


def retry_delay(details: Any) -> float | None:
    """RetryInfo.retryDelay ("53s", "0.5s") in seconds."""
    for detail in details or ():
        if isinstance(detail, Mapping) and detail.get("@type") == RETRY_INFO:
            try:
                return float(str(detail.get("retryDelay", "")).removesuffix("s"))
            except ValueError:
                return None
    return None
