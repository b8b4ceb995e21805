"""`llm.prompt(...)`: a user message built from a template and values, within a token budget.

    llm.chat("openai", llm.prompt("Summarise {df}", df=df, budget=1500))

A `Prompt` is a message (`{"role": "user", "content": ...}`), so it goes wherever
messages go. A value that renders as several lines is set off in a ``` block. Its content is text, or text and image parts when a value is a figure or
an image. Only the values the template names are rendered; `preview()` shows what a
provider would be sent, its tokens and its cost, and sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .. import registry, views
from ..context_windows import context_window
from ..errors import ConfigError, redact
from ..tokens import count_tokens, tokenizer_for
from .budget import FENCE_START, fit
from .images import DEFAULT_MAX_SIDE, MAX_SIDE, Image
from .template import BRACES, Field, parse

#: the budget when the model's context window is unknown
DEFAULT_BUDGET = 8_000
#: the share of the context window a prompt may take by default (the rest: the answer,
#: the conversation, the system message)
WINDOW_SHARE = 4


def default_budget(provider: str | None, model: str | None) -> int:
    """A quarter of the model's context window, or DEFAULT_BUDGET when it is unknown."""
    if provider and not model:
        model = registry.get(provider).default_model
    window = context_window(model, provider) if model else None
    return window // WINDOW_SHARE if window else DEFAULT_BUDGET


def check_budget(budget: Any) -> int:
    if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
        raise ConfigError(f"The budget must be a positive whole number of tokens, not {budget!r}.")
    return budget


class Prompt(Mapping[str, Any]):
    """A rendered user message, with its token count, its budget and what was shortened."""

    __slots__ = ("budget", "content", "counted_by", "notes", "tokens")

    def __init__(
        self,
        content: str | list[dict[str, Any]],
        *,
        tokens: int,
        budget: int,
        notes: Sequence[str] = (),
        counted_by: str = "estimate",
    ) -> None:
        self.content = content
        self.tokens = tokens
        self.budget = budget
        self.notes = tuple(notes)
        self.counted_by = counted_by

    def __getitem__(self, key: str) -> Any:
        if key == "role":
            return "user"
        if key == "content":
            return self.content
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(("role", "content"))

    def __len__(self) -> int:
        return 2

    @property
    def text(self) -> str:
        """The text of the message, each image shown as a short label."""
        if isinstance(self.content, str):
            return self.content
        return "".join(
            p["text"] if p["type"] == "text" else f"[image: {p['media_type']}]"
            for p in self.content
        )

    @property
    def images(self) -> int:
        return (
            0 if isinstance(self.content, str) else sum(p["type"] == "image" for p in self.content)
        )

    def preview(self, provider: str | None = None, model: str | None = None, **options: Any) -> Any:
        """What `provider` would be sent for this prompt, its tokens and its cost; sends nothing."""
        from ..builder import build
        from .dryrun import dry_run

        builder = build(provider, [self])
        if model or options:
            builder = builder.with_options(**({"model": model} if model else {}), **options)
        return dry_run(builder)

    def _facts(self) -> str:
        images = f", {self.images} image{'s' * (self.images != 1)}" if self.images else ""
        return f"{self.tokens:,} of {self.budget:,} tokens ({self.counted_by}){images}"

    def __repr__(self) -> str:
        return f"Prompt({self._facts()}): {views.clip(self.text, 200)!r}"

    def _view(self) -> views.View:
        notes = "".join(f"<li>{views.esc(n)}</li>" for n in self.notes)
        html = views.frame(
            f'<div class="lp-card"><div class="lp-head"><span class="lp-title">Prompt</span>'
            f"{views.esc(self._facts())}</div>"
            f'<pre class="lp-pre">{views.esc(self.text)}</pre>'
            + (f'<ul class="lp-note">{notes}</ul>' if notes else "")
            + "</div>"
        )
        text = "\n".join([f"Prompt: {self._facts()}", self.text, *self.notes])
        return views.View(html, redact(text))

    def _repr_html_(self) -> str:
        return self._view().html

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self._view().text)


def compose(
    pieces: Sequence[str | Field],
    *,
    budget: int,
    fixed: int = 0,
    provider: str | None = None,
    model: str | None = None,
) -> Prompt:
    """The prompt of `pieces`, fitted to `budget` tokens (`fixed` of them already taken)."""
    counter = tokenizer_for(provider)
    fitted = fit(
        [redact(p) if isinstance(p, str) else p for p in pieces],
        budget=check_budget(budget),
        fixed=fixed,
        count=lambda text: count_tokens(text, provider, model),
        max_side=MAX_SIDE.get(provider or "", DEFAULT_MAX_SIDE),
    )
    out = fitted.pieces
    parts: list[dict[str, Any]] = []
    for i, piece in enumerate(out):
        if isinstance(piece, Image):
            parts.append(piece.part())
            continue
        if piece.startswith(FENCE_START) and isinstance(pieces[i], Field):
            before = out[i - 1] if i else "\n"
            after = out[i + 1] if i + 1 < len(out) else ""
            if isinstance(before, str) and before.endswith("\n"):
                piece = piece[1:]  # the fence's own line break is not needed
            if isinstance(after, str) and after.startswith("\n"):
                piece = piece[:-1]
        if parts and parts[-1]["type"] == "text":
            parts[-1]["text"] += piece
        else:
            parts.append({"type": "text", "text": piece})
    images = [p for p in out if isinstance(p, Image)]
    content: str | list[dict[str, Any]] = parts if images else "".join(p["text"] for p in parts)
    text_tokens = sum(
        count_tokens(p["text"], provider, model) for p in parts if p["type"] == "text"
    )
    return Prompt(
        content,
        tokens=text_tokens + sum(i.tokens for i in images),
        budget=budget,
        notes=fitted.notes,
        counted_by="estimate" if counter is None else f"{provider}'s tokenizer",
    )


def prompt(
    template: str, /, *, budget: int | None = None, target: str | None = None, **values: Any
) -> Prompt:
    """A user message from `template`, its `{name}` fields rendered from `values` to fit `budget`.

    `target` ("provider" or "provider:model") picks the tokenizer, the image size limit and
    the default budget (a quarter of the model's context window; else 8,000 tokens).
    """
    if not isinstance(template, str):
        raise ConfigError(f"llm.prompt takes a template string, not {type(template).__name__}.")
    provider, _, model = (target or "").partition(":")
    pieces = parse(template, values, BRACES)
    if budget is None:
        budget = default_budget(provider or None, model or None)
    return compose(pieces, budget=budget, provider=provider or None, model=model or None)
