"""The normalised results every provider produces: one shape, whatever the wire said."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from . import rendering
from .credentials import masked
from .errors import ConfigError, redact

FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter", "error")


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts. `input_tokens` includes cached input; cached and reasoning are shown apart.

    `estimated` is True when the server sent no counts and they were counted here instead
    (with the server's or the model's tokenizer where one was at hand, else estimated).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.estimated or other.estimated,
        )


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function the model asks to call; `arguments` is already decoded from JSON.

    `signature` is the provider's opaque reasoning token attached to this call (Gemini's
    `thoughtSignature`); it must go back unmodified when the call is echoed next turn.
    """

    id: str
    name: str
    arguments: Any
    signature: str | None = None

    def __repr__(self) -> str:
        """Values under credential-like argument names show as '***', known keys redacted."""
        arguments = masked("arguments", self.arguments)
        return redact(
            f"ToolCall(id={self.id!r}, name={self.name!r}, arguments={arguments!r}, "
            f"signature={self.signature!r})"
        )


@dataclass(frozen=True, slots=True)
class ReasoningPart:
    """One piece of the model's reasoning, kept verbatim so it can be sent back next turn.

    `kind` is the provider's own name for it: Anthropic's "thinking" (text + signature) and
    "redacted_thinking" (`data`), Gemini's "thought" (text) or "signature" (a signed part's
    `signature`, with its `text`), Ollama's "thinking". Models that require their reasoning
    back (Anthropic thinking in tool loops, Gemini 3 function calls) reject a changed one.
    `offset` is where the part sat among the answer's text (the number of answer characters
    before it), for formats that interleave reasoning and text, so the turn goes back in order.
    """

    kind: str
    text: str = ""
    signature: str | None = None
    data: str | None = None
    offset: int | None = None


class _Rendered:
    """Rich display for result types, through the views registered in `rendering`."""

    __slots__ = ()

    def _repr_html_(self) -> str | None:
        return rendering.render("response_html", self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(rendering.render("response_text", self) or repr(self))

    def __rich__(self) -> Any:
        return rendering.render("response_rich", self) or repr(self)


@dataclass(slots=True, eq=False)
class ChatResponse(_Rendered):
    """The answer to a chat or completion request, with its cost and the finished Request."""

    content: str
    model: str | None = None
    provider: str | None = None
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost: float | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    id: str | None = None
    latency_ms: float | None = None
    raw: Any = None
    request: Any = None
    raw_finish_reason: str | None = None
    request_id: str | None = None
    cost_status: str | None = None
    cache_hit: bool | str = False  # True, or "semantic" or "replay": how it was answered
    cost_saved: float | None = None
    reasoning: tuple[ReasoningPart, ...] = ()
    #: a stream's time to its first chunk (`latency_ms` is its total time); None unstreamed
    ttft_ms: float | None = None
    #: the answer read as the `schema=` type (None without a schema); `content` keeps the text
    parsed: Any = None
    #: what the model said instead of the structured answer it declined to give
    refusal: str | None = None
    #: a tool loop's record: each model turn and tool run (`ModelTurn`, `ToolRun`), in order
    steps: tuple[Any, ...] = ()
    #: a paused tool loop: the calls waiting for a person's approval (see `resume`)
    pending: tuple[ToolCall, ...] = ()
    #: how a paused loop goes on; set by the loop
    continuation: Any = field(default=None, repr=False)

    def resume(self, approved: Any = (), **options: Any) -> ChatResponse:
        """Go on with a paused tool loop: run the `pending` calls whose ids (or ToolCalls) are
        in `approved`, refuse the others, and return the next answer."""
        if self.continuation is None:
            raise ConfigError("This answer is not a paused tool loop: there is nothing to resume.")
        ids = {getattr(item, "id", item) for item in approved}
        return self.continuation(frozenset(ids), **options)

    def __str__(self) -> str:
        return self.content

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        """A paused tool loop shows as an approval card where widgets render; None (the
        usual views) otherwise."""
        if not self.pending or self.continuation is None:
            return None
        return rendering.render("approval_card", self)

    @property
    def reasoning_text(self) -> str:
        """The readable part of the model's reasoning (empty when it was hidden or off)."""
        return "".join(part.text for part in self.reasoning if part.kind != "signature")

    @property
    def message(self) -> dict[str, Any]:
        """This answer as the assistant message that continues the conversation.

        It carries the tool calls and the reasoning, which some models require back unchanged.
        """
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = list(self.tool_calls)
        if self.reasoning:
            message["reasoning"] = list(self.reasoning)
        return message

    def __repr__(self) -> str:
        cost = "None" if self.cost is None else f"${self.cost:.6f}"
        answer = (
            f"content={_clip(self.content)!r}"
            if self.parsed is None
            else f"parsed={_clip(repr(self.parsed), 120)}"
        )
        return (
            f"ChatResponse(provider={self.provider!r}, model={self.model!r}, "
            f"finish_reason={self.finish_reason!r}, tokens={self.usage.input_tokens}+"
            f"{self.usage.output_tokens}, cost={cost}, {answer})"
        )

    # IPython prefers a class's own __repr__ over an inherited _repr_pretty_: restate it here
    _repr_pretty_ = _Rendered._repr_pretty_


@dataclass(frozen=True, slots=True)
class StreamChunk:
    """A piece of a streamed answer; the last one has `done=True`, the finish reason and usage."""

    content: str = ""
    done: bool = False
    finish_reason: str | None = None
    usage: Usage | None = None
    index: int = 0
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str = ""
    #: with `schema=`: the object so far, parsed from the JSON that has arrived
    partial: Any = None
    #: in a tool loop: the ToolCall about to run (kind "tool_start")
    tool_start: ToolCall | None = None
    #: in a tool loop: the ToolRun that ended, with its result and timing (kind "tool_result")
    tool_result: Any = None

    @property
    def kind(self) -> str:
        """ "text", "tool_calls" (a turn ended asking for tools), "tool_start", "tool_result", "done"."""
        if self.tool_start is not None:
            return "tool_start"
        if self.tool_result is not None:
            return "tool_result"
        if self.done:
            return "done"
        return "tool_calls" if self.tool_calls and self.finish_reason else "text"

    def __str__(self) -> str:
        return self.content


def _text_chunk_maker() -> Callable[[str, int], StreamChunk]:
    """`text_chunk(content, index)`: a StreamChunk of text, made by setting its slots
    directly, at half the cost of the frozen `__init__` (a stream makes one per token).
    Built from the fields, so a field added later gets its default here too."""
    new = object.__new__
    setters = {f.name: getattr(StreamChunk, f.name).__set__ for f in fields(StreamChunk)}
    set_content, set_index = setters.pop("content"), setters.pop("index")
    rest = tuple((setters[f.name], f) for f in fields(StreamChunk) if f.name in setters)
    if any(f.default is MISSING for _, f in rest):
        return lambda content, index: StreamChunk(content=content, index=index)
    defaults = tuple((setter, f.default) for setter, f in rest)

    def text_chunk(content: str, index: int) -> StreamChunk:
        chunk: StreamChunk = new(StreamChunk)
        set_content(chunk, content)
        set_index(chunk, index)
        for setter, default in defaults:
            setter(chunk, default)
        return chunk

    return text_chunk


text_chunk = _text_chunk_maker()


@dataclass(slots=True, eq=False)
class EmbeddingResponse(_Rendered):
    """Vectors for each input, in input order."""

    embeddings: list[list[float]]
    model: str | None = None
    provider: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost: float | None = None
    latency_ms: float | None = None
    raw: Any = None
    request: Any = None
    cost_status: str | None = None
    cache_hit: bool | str = False  # True, or "semantic" or "replay": how it was answered
    cost_saved: float | None = None

    def __repr__(self) -> str:
        dims = len(self.embeddings[0]) if self.embeddings else 0
        return (
            f"EmbeddingResponse(provider={self.provider!r}, model={self.model!r}, "
            f"vectors={len(self.embeddings)}, dims={dims})"
        )

    _repr_pretty_ = _Rendered._repr_pretty_


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model a provider offers; `status` (active, legacy, deprecated, retired), `retires`
    (ISO date) and `replacement` come from the provider's listing or the lifecycle table."""

    id: str
    provider: str
    context_window: int | None = None
    owned_by: str | None = None
    raw: Any = None
    status: str | None = None
    retires: str | None = None
    replacement: str | None = None


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """Whether a provider's configuration works: key present and accepted, endpoint reachable."""

    ok: bool
    provider: str
    message: str
    models: int | None = None


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
