"""A dry run: exactly what a builder would send, its tokens and its cost; nothing is sent.

The request goes through the pipeline's plugs up to the execute step, so the options are
checked, the configuration and the default model resolved, and the provider's prepare
plug builds the very call the execute step would send. Plugs that wait, spend, remember
or connect (cache, rate limiter, budget, breaker, retry, the HTTP client, a summarising
context manager, OAuth) are skipped, and no listener hears of it: the ledger records
nothing. Keys never show: the credential header is masked and every text is redacted.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .. import registry, views
from .._version import __version__
from ..credentials import mask_header
from ..errors import ConfigError, redact
from ..pricing import cost_for
from ..responses import Usage
from ..tokens import MESSAGE_OVERHEAD, count_tokens, tokenizer_for
from .images import from_bytes

SKIPPED = frozenset(
    {"Cache", "RateLimiter", "Budget", "CircuitBreaker", "RetryPolicy", "BuildHttpClient"}
    | {"GeminiOauth2"}
)
#: how the base64 of a PNG, JPEG, GIF and WEBP file begins
_IMAGE_STARTS = ("iVBORw0KGgo", "/9j/", "R0lGOD", "UklGR")
_SHOWN_IMAGE = 48  # characters of an image's base64 shown in the view


@dataclass(frozen=True)
class DryRun:
    """What would be sent: the call (method, URL, headers, JSON body) and what it would cost."""

    provider: str
    model: str | None
    method: str
    url: str
    headers: Mapping[str, str]
    body: Any
    input_tokens: int
    counted_by: str
    images: int
    cost_usd: float | None
    cost_status: str
    max_output_tokens: int | None = None
    max_cost_usd: float | None = None
    skipped: tuple[str, ...] = field(default=())

    def facts(self) -> list[tuple[str, str]]:
        cost = views.money(self.cost_usd, self.cost_status)
        if self.max_cost_usd is not None:
            cost += (
                f" in, at most {views.money(self.max_cost_usd)} with {self.max_output_tokens:,} out"
            )
        images = f" with {self.images} image{'s' * (self.images != 1)}" if self.images else ""
        return [
            ("model", self.model or "-"),
            ("input tokens", f"{self.input_tokens:,} ({self.counted_by}){images}"),
            ("cost", cost),
        ]

    def text(self) -> str:
        """The text twin: the facts, the request line, the headers and the body."""
        lines = [f"Dry run: {self.provider}, nothing was sent"]
        lines += [f"{k}: {v}" for k, v in self.facts()]
        lines.append(f"{self.method} {self.url}")
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        if self.body is not None:
            lines.append(json.dumps(_abbreviated(self.body), indent=2, ensure_ascii=False))
        if self.skipped:
            lines.append(f"(skipped in a dry run: {', '.join(self.skipped)})")
        return redact("\n".join(lines))

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        head = (
            f'<div class="lp-head"><span class="lp-title">Dry run · {views.esc(self.provider)}'
            f"</span>{views.badge('nothing sent', 'halted')}</div>"
        )
        facts = views.facts_html(self.facts())
        request = "\n".join(
            [f"{self.method} {self.url}", *(f"{k}: {v}" for k, v in self.headers.items())]
        )
        body = (
            json.dumps(_abbreviated(self.body), indent=2, ensure_ascii=False)
            if self.body is not None
            else ""
        )
        skipped = (
            f'<div class="lp-note">skipped in a dry run: {views.esc(", ".join(self.skipped))}</div>'
            if self.skipped
            else ""
        )
        return views.frame(
            f'<div class="lp-card">{head}{facts}<pre class="lp-pre">{views.esc(request)}</pre>'
            f'<pre class="lp-pre">{views.esc(body)}</pre>{skipped}</div>'
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())


def dry_run(builder: Any) -> DryRun:
    """Run `builder`'s pipeline up to the execute step and describe the call it prepared."""
    request = builder.request()
    skipped = []
    for plug in builder.pipeline():
        if plug.name == "ExecuteRequest":
            break
        if plug.name in SKIPPED or (
            plug.name == "ManageContext" and plug.options.get("strategy") == "summarize"
        ):
            if plug.name != "BuildHttpClient":  # in every pipeline: no need to say so
                skipped.append(plug.name)
            continue
        request = plug.call(request)
        if request.halted:
            raise ConfigError(
                f"The plug {plug.name} would answer without calling {builder.provider} "
                f"({request.metadata.get('halt_reason') or 'halted'}): nothing would be sent."
            )
    call = request.provider_request
    if call is None:
        raise ConfigError(
            "The pipeline prepared no call before its execute step: put the provider's "
            "prepare plug before ExecuteRequest."
        )
    provider = registry.get(request.provider)
    config = request.config
    model = request.options.get("model")
    tokens, images = input_tokens(request.messages, request.provider, model)
    limit = request.options.get("max_tokens") or request.options.get("max_completion_tokens")
    local, priced_as = provider.local, provider.price_provider
    cost, status = cost_for(
        request.provider, model, Usage(input_tokens=tokens), local=local, price_provider=priced_as
    )
    out_cost = None
    if isinstance(limit, int) and cost is not None:
        most, _ = cost_for(
            request.provider,
            model,
            Usage(output_tokens=limit),
            local=local,
            price_provider=priced_as,
        )
        out_cost = None if most is None else cost + most
    base = getattr(config, "base_url", None) or f"{request.provider}:"
    query = {k: ("***" if "key" in k.lower() else v) for k, v in dict(call.params).items()}
    return DryRun(
        provider=request.provider,
        model=model,
        method=call.method,
        url=base + call.path + (f"?{urlencode(query)}" if query else ""),
        headers=_headers(provider, config, call),
        body=_scrubbed(call.json),
        input_tokens=tokens,
        counted_by="estimate" if tokenizer_for(request.provider) is None else "tokenizer",
        images=images,
        cost_usd=cost,
        cost_status=status,
        max_output_tokens=limit if isinstance(limit, int) else None,
        max_cost_usd=out_cost,
        skipped=tuple(skipped),
    )


def input_tokens(messages: Any, provider: str, model: str | None) -> tuple[int, int]:
    """(tokens, images) of the messages: text with the provider's counter, images by size."""
    total = images = 0
    for message in messages:
        content = message.get("content")
        parts = content if isinstance(content, list) else [{"type": "text", "text": content or ""}]
        for part in parts:
            if part.get("type") == "text":
                total += count_tokens(part.get("text") or "", provider, model)
            else:
                images += 1
                total += _image_tokens(part)
        total += MESSAGE_OVERHEAD
    return total, images


def _image_tokens(part: Mapping[str, Any]) -> int:
    """An image part's tokens by its size (see `images`); 1,000 for one given by URL."""
    data = part.get("data")
    if not isinstance(data, str):
        return 1_000
    return from_bytes(base64.b64decode(data)).tokens


def _headers(provider: Any, config: Any, call: Any) -> dict[str, str]:
    """The HTTP headers, the credential masked; none for a provider not reached over HTTP."""
    header = getattr(provider, "auth_header", None)
    if header is None:
        return {}
    headers = {"User-Agent": f"llmpipe_nb/{__version__}", **dict(getattr(config, "headers", ()))}
    headers.update(call.headers)
    if getattr(config, "api_key", None) is not None:
        headers[header] = f"{getattr(provider, 'auth_prefix', '')}***"
    if call.stream == "sse":
        headers.setdefault("Accept", "text/event-stream")
    return {k: mask_header(k, redact(str(v))) for k, v in headers.items()}


def _scrubbed(value: Any) -> Any:
    """The JSON body with every text redacted, except image data (base64 is not text)."""
    if isinstance(value, Mapping):
        return {k: _scrubbed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrubbed(v) for v in value]
    if isinstance(value, str) and not _is_image_data(value):
        return redact(value)
    return value


def _abbreviated(value: Any) -> Any:
    """The body as shown: each image's base64 cut short, with its length."""
    if isinstance(value, Mapping):
        return {k: _abbreviated(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_abbreviated(v) for v in value]
    if isinstance(value, str) and _is_image_data(value):
        return f"{value[:_SHOWN_IMAGE]}… ({len(value):,} characters of base64 image data)"
    return value


def _is_image_data(text: str) -> bool:
    """A data: URL of an image, or base64 that starts like a PNG, JPEG, GIF or WEBP file."""
    return text.startswith("data:image/") or (len(text) >= 64 and text.startswith(_IMAGE_STARTS))
