"""The record of a tool loop: each model turn and each tool run, with timing and cost.

`reply.steps` is a tuple of these, in the order they happened; views draw the
transcript and the waterfall from it, and `ToolLoopError.steps` carries it when a loop
stops early.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from ..credentials import masked
from ..errors import redact
from ..responses import ChatResponse, ToolCall

#: how a tool run ended: ran, raised, arguments did not fit, refused by approval, too slow
Status = Literal["ok", "error", "invalid", "denied", "timeout"]


@dataclasses.dataclass(frozen=True)
class ModelTurn:
    """One trip to the model: its answer (with the tool calls it asked for) and the request."""

    step: int
    response: ChatResponse
    duration_ms: float
    #: when the turn began (`time.perf_counter_ns()`, the clock of the plugs' trace)
    started_at_ns: int | None = None

    @property
    def cost(self) -> float | None:
        return self.response.cost

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return self.response.tool_calls

    def __repr__(self) -> str:
        asked = ", ".join(c.name for c in self.tool_calls) or "answer"
        return f"ModelTurn(step={self.step}, {asked}, {self.duration_ms:.1f} ms)"


@dataclasses.dataclass(frozen=True)
class ToolRun:
    """One tool call: the arguments, what went back to the model, and how it ended."""

    step: int
    call: ToolCall
    status: Status
    #: the text sent back to the model as the tool's result
    output: str
    #: the function's return value (None unless it ran and returned)
    value: Any = None
    duration_ms: float = 0.0
    #: when the call began (`time.perf_counter_ns()`); None for a call answered without running
    started_at_ns: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def message(self) -> dict[str, Any]:
        """The tool-result message that answers the call, in the common chat shape; a run
        that did not return (`is_error`) is flagged where the provider has a field for it."""
        message: dict[str, Any] = {
            "role": "tool",
            "tool_call_id": self.call.id,
            "name": self.call.name,
            "content": self.output,
        }
        if not self.ok:
            message["is_error"] = True
        return message

    def __repr__(self) -> str:
        return (
            f"ToolRun(step={self.step}, {self.call.name}({_short(self.call.arguments)}) -> "
            f"{self.status}: {_short(self.output)}, {self.duration_ms:.1f} ms)"
        )


def _short(value: Any, n: int = 60) -> str:
    """Arguments or a result for a repr: credential-named values masked, keys redacted."""
    text = redact(value if isinstance(value, str) else repr(masked("arguments", value)))
    return text if len(text) <= n else text[: n - 1] + "…"
