"""ManageContext: fit the conversation into the model's context window before it is sent.

Strategies (system messages are always kept, in place, unless `preserve_system=False`
for `summarize`):

- `truncate`: drop the oldest other messages until the prompt fits `max_tokens`;
- `sliding_window`: keep the last `window_size` other messages, then truncate if needed;
- `summarize`: replace the older messages by a summary written by `summary_model`
  (default: the request's own model and provider) through the same pipeline machinery,
  and keep the recent ones verbatim. If the summary call fails, truncation is used and
  the error is recorded.

`max_tokens` is the prompt budget; by default the model's context window less the
output the request asks for (or 1,024 tokens). Counts are the offline estimate of
`llmpipe_nb.tokens`. A tool result never survives without the call it answers. What
was dropped is in metadata: `context` (a summary of the change) and `context_dropped`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from .. import registry
from ..errors import ConfigError, ContextLengthError
from ..pipeline import Pipeline
from ..plug import Plug
from ..request import Request, message_text
from ..tokens import CHARS_PER_TOKEN, MESSAGE_OVERHEAD, estimate_message_tokens

SYSTEM_ROLES = ("system", "developer")
OUTPUT_RESERVE = 1024
SUMMARY_INSTRUCTION = (
    "Summarise the conversation below for the assistant that continues it. Keep every fact, "
    "name, number, decision and open question; drop pleasantries. Write at most {words} words."
)

Message = Mapping[str, Any]


def _is_system(message: Message) -> bool:
    return message.get("role") in SYSTEM_ROLES


def _cost(message: Message) -> int:
    return estimate_message_tokens((message,))


class ManageContext(Plug):
    """Fits messages to the context window: "truncate", "sliding_window" or "summarize"."""

    position: ClassVar[tuple[str, str]] = ("before", "BuildHttpClient")

    def __init__(
        self,
        strategy: Literal["truncate", "sliding_window", "summarize"] = "truncate",
        max_tokens: int | None = None,
        window_size: int = 20,
        preserve_system: bool = True,
        summary_model: str | None = None,
        summary_provider: str | None = None,
        summary_max_tokens: int = 512,
    ) -> None:
        if max_tokens is not None and max_tokens < 1:
            raise ConfigError(
                f"Plug ManageContext option 'max_tokens' must be 1 or more, not {max_tokens}."
            )
        if window_size < 1:
            raise ConfigError(
                f"Plug ManageContext option 'window_size' must be 1 or more, not {window_size}."
            )
        if summary_max_tokens < 16:
            raise ConfigError(
                "Plug ManageContext option 'summary_max_tokens' must be 16 or more, "
                f"not {summary_max_tokens}."
            )
        if summary_provider is not None:
            registry.get(summary_provider)
        self.strategy = strategy
        self.max_tokens = max_tokens
        self.window_size = window_size
        self.preserve_system = preserve_system
        self.summary_model = summary_model
        self.summary_provider = summary_provider
        self.summary_max_tokens = summary_max_tokens

    # -- running -------------------------------------------------------------------------

    def call(self, request: Request) -> Request:
        plan = self._plan(request)
        if isinstance(plan, Request):
            return plan
        done = Pipeline.run(*self._summary_request(request, plan[0], plan[2]))
        return self._summarised(request, plan, done)

    async def acall(self, request: Request) -> Request:
        plan = self._plan(request)
        if isinstance(plan, Request):
            return plan
        done = await Pipeline.arun(*self._summary_request(request, plan[0], plan[2]))
        return self._summarised(request, plan, done)

    def budget(self, request: Request) -> int | None:
        """The prompt budget in tokens for this request, if one can be known."""
        if self.max_tokens is not None:
            return self.max_tokens
        provider = registry.get(request.provider)
        window = provider.context_window(request)
        if window is None:
            return None
        out = request.options.get("max_tokens") or request.options.get("max_completion_tokens")
        return max(1, window - (out if isinstance(out, int) else OUTPUT_RESERVE))

    def _plan(self, request: Request) -> Request | tuple[list[Message], list[Message], int]:
        """The fitted request, or (older, rest, budget) when a summary must be written."""
        if request.kind not in ("chat", "stream"):
            return request
        messages = list(request.messages)
        budget = self.budget(request)
        if budget is None and self.strategy != "sliding_window":
            raise ConfigError(
                f"ManageContext does not know the context window of model {request.model!r}: "
                "pass max_tokens=, the prompt budget in tokens."
            )
        before = estimate_message_tokens(messages)
        if self.strategy == "sliding_window":
            kept = _sliding(messages, self.window_size)
            if budget is not None:
                kept = _truncate(kept, budget, request.provider)
        elif budget is None or before <= budget:
            kept = messages
        elif self.strategy == "truncate":
            kept = _truncate(messages, budget, request.provider)
        else:
            older, rest = self._split_for_summary(messages, budget)
            if older:
                return older, rest, budget
            kept = _truncate(messages, budget, request.provider)
        return _record(request, messages, kept, self.strategy, before, budget)

    def _split_for_summary(
        self, messages: list[Message], budget: int
    ) -> tuple[list[Message], list[Message]]:
        """(older messages to summarise, the rest kept verbatim, in order)."""
        keep_system = self.preserve_system
        room = budget - self._summary_tokens(budget) - MESSAGE_OVERHEAD
        room -= sum(_cost(m) for m in messages if keep_system and _is_system(m))
        convo = [i for i, m in enumerate(messages) if not (keep_system and _is_system(m))]
        cut = len(convo)
        while cut > 0 and room - _cost(messages[convo[cut - 1]]) >= 0:
            cut -= 1
            room -= _cost(messages[convo[cut]])
        cut = min(cut, len(convo) - 1)  # the last message is always kept verbatim
        while cut < len(convo) - 1 and messages[convo[cut]].get("role") == "tool":
            cut += 1  # a tool result goes with the call it answers
        older_idx = set(convo[:cut])
        older = [m for i, m in enumerate(messages) if i in older_idx]
        rest = [m for i, m in enumerate(messages) if i not in older_idx]
        return older, rest

    def _summary_tokens(self, budget: int) -> int:
        """Room for the summary: `summary_max_tokens`, at most a quarter of the budget."""
        return max(1, min(self.summary_max_tokens, budget // 4))

    def _summary_request(
        self, request: Request, older: list[Message], budget: int
    ) -> tuple[Request, Any]:
        provider = self.summary_provider or request.provider
        options: dict[str, Any] = {
            "model": self.summary_model or request.model,
            "max_tokens": self._summary_tokens(budget),
        }
        config = request.config
        if provider == request.provider and config is not None:
            options.update(
                {k: getattr(config, k) for k in ("api_key", "base_url") if getattr(config, k)}
            )
        transcript = "\n\n".join(f"{m.get('role')}: {message_text((m,))}" for m in older)
        words = max(10, self._summary_tokens(budget) * 3 // 4)
        messages = [
            {"role": "system", "content": SUMMARY_INSTRUCTION.format(words=words)},
            {"role": "user", "content": transcript},
        ]
        summary = Request.new(provider, messages, options).put_metadata(
            "tags", ("context-summary",)
        )
        return summary, registry.get_pipeline(provider, "chat")

    def _summarised(
        self, request: Request, plan: tuple[list[Message], list[Message], int], done: Request
    ) -> Request:
        older, rest, budget = plan
        messages = list(request.messages)
        before = estimate_message_tokens(messages)
        error = done.terminal_error
        if error is not None:
            request = request.add_error(error, plug=self.name)
            return _record(
                request,
                messages,
                _truncate(messages, budget, request.provider),
                "truncate",
                before,
                budget,
            )
        text = getattr(done.result, "content", "") or ""
        text = text[: self._summary_tokens(budget) * CHARS_PER_TOKEN]  # a summary that ran long
        note = {"role": "system", "content": f"Summary of the earlier conversation: {text}"}
        head = [m for m in rest if _is_system(m) and self.preserve_system]
        tail = [m for m in rest if not (_is_system(m) and self.preserve_system)]
        kept = _truncate([*head, note, *tail], budget, request.provider)
        out = _record(request, messages, kept, "summarize", before, budget, dropped=older)
        context = {**out.metadata["context"], "summary_request_id": done.id}
        return out.update_metadata(
            {"context": context, "context_summary_cost_usd": done.metadata.get("cost_usd")}
        )


# -- strategies (pure functions of the message list) ------------------------------------


def _sliding(messages: Sequence[Message], window: int) -> list[Message]:
    others = [i for i, m in enumerate(messages) if not _is_system(m)]
    keep = set(_without_orphans(messages, others[-window:]))
    return [m for i, m in enumerate(messages) if _is_system(m) or i in keep]


def _truncate(messages: Sequence[Message], budget: int, provider: str) -> list[Message]:
    """Drop the oldest non-system messages until the estimate fits `budget`."""
    costs = [_cost(m) for m in messages]
    others = [i for i, m in enumerate(messages) if not _is_system(m)]
    total = sum(costs)
    start = 0
    while total > budget and start < len(others) - 1:
        total -= costs[others[start]]
        start += 1
    keep = set(_without_orphans(messages, others[start:]))
    total -= sum(costs[i] for i in others[start:] if i not in keep)
    if total > budget or (others and not keep):
        raise ContextLengthError(
            f"The system messages and the last message alone need about {total} tokens, more "
            f"than the prompt budget of {budget}: shorten them or raise max_tokens.",
            provider=provider,
        )
    return [m for i, m in enumerate(messages) if _is_system(m) or i in keep]


def _without_orphans(messages: Sequence[Message], indices: Sequence[int]) -> list[int]:
    """Drop leading tool results whose assistant call is no longer kept."""
    start = 0
    while start < len(indices) and messages[indices[start]].get("role") == "tool":
        start += 1
    return list(indices[start:])


def _record(
    request: Request,
    messages: list[Message],
    kept: list[Message],
    strategy: str,
    before: int,
    budget: int | None,
    dropped: list[Message] | None = None,
) -> Request:
    if dropped is None:
        kept_ids = {id(m) for m in kept}
        dropped = [m for m in messages if id(m) not in kept_ids]
    context = {
        "strategy": strategy,
        "budget": budget,
        "tokens_before": before,
        "tokens_after": estimate_message_tokens(kept),
        "messages_before": len(messages),
        "messages_after": len(kept),
        "dropped": len(dropped),
    }
    return request.evolve(
        messages=tuple(kept) if dropped else request.messages,
        metadata={**request.metadata, "context": context, "context_dropped": tuple(dropped)},
    )
