"""Fill a cell's prompt from the notebook: `{name}` from its variables, `{In[3]}`, `{Out[3]}`,
`{Err}` from its history, each rendered by type (`llmpipe_nb.context`) within the budget.

Values are rendered exactly once and never parsed again, so a value that contains braces
stays as it is. `{{` and `}}` give literal braces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import registry
from ..builder import Builder
from ..context import Field, Prompt, compose, default_budget, parse
from ..context.dryrun import input_tokens
from ..errors import LLMPipeError
from ..tokens import MESSAGE_OVERHEAD
from .cells import NotebookNamespace

HINT = "write {{ and }} for literal braces, or use --no-interpolate"


def target(builder: Builder) -> tuple[str, str | None]:
    """The provider and the model a builder will ask (the default model when none is set)."""
    provider = registry.get(builder.provider)
    model = builder.options.get("model")
    if not model:
        try:
            model = provider.resolve_config({}).default_model
        except LLMPipeError:  # no key yet: the send will say so
            model = None
        model = model or provider.default_model
    return builder.provider, model


def pieces_of(shell: Any, session: Any, template: str) -> list[str | Field]:
    """The template's text and fields, looked up in the notebook."""
    return parse(template, NotebookNamespace(shell, session), HINT)


def render(builder: Builder, pieces: Sequence[str | Field], budget: int | None) -> Prompt:
    """The last message of `builder`, rendered from `pieces` within `budget` tokens
    (default: a quarter of the model's context window), the messages before it counted."""
    provider, model = target(builder)
    earlier = list(builder.messages)[:-1]
    fixed = MESSAGE_OVERHEAD + (input_tokens(earlier, provider, model)[0] if earlier else 0)
    if budget is None:
        budget = default_budget(provider, model)
    return compose(pieces, budget=budget, fixed=fixed, provider=provider, model=model)
