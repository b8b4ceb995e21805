"""The cells of a comparison: one prompt (a row of the grid) sent to one model (a column).

A cell grows while its answer streams in, then keeps the finished Request, so its cost,
latency, time to first token, tokens and trace are those the ledger recorded. It is
written by the event loop that runs it and read by whoever draws the grid; `version`
moves on every change, so a display redraws only when something did.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from ..api import finish
from ..errors import LLMPipeError, PipelineError, ResponseFormatError
from ..request import Request
from ..views.compare import GridCell

#: states a cell ends in without an answer
FAILED = ("error", "unsent", "interrupted")


@dataclass(frozen=True)
class Row:
    """A row of the grid: the prompt as given, the data row it was filled from, what was sent."""

    prompt: str  # the template or prompt text, or a prompt function's name
    key: Hashable | None  # the data row's index label; None without data
    text: str  # the user message sent


class Cell:
    """One model's answer to one row, from waiting to done (or error, unsent, interrupted)."""

    __slots__ = ("column", "error", "fields", "parts", "request", "row", "state", "version")

    def __init__(self, row: int, column: int) -> None:
        self.row = row
        self.column = column
        self.state = "waiting"
        self.parts: list[str] = []
        self.request: Request | None = None
        self.error: BaseException | None = None
        self.fields: dict[str, Any] | None = None
        self.version = 0

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def finished(self) -> bool:
        return self.state not in ("waiting", "streaming")

    def start(self) -> None:
        self.state = "streaming"
        self.version += 1

    def add(self, text: str | None) -> None:
        if text:
            self.parts.append(text)
            self.version += 1

    def finish(self, done: Request, schema: Any = None, provider: str | None = None) -> None:
        """Keep the finished request; its answer replaces what streamed, parsed when asked."""
        self.request = done
        self.state = "done"
        if done.state == "cancelled":
            self.state = "interrupted"
        else:
            try:
                result = finish(
                    done
                )  # the typed error, linked to its request, as llm.chat raises it
                if result is None:
                    raise PipelineError(
                        f"The pipeline stopped without an answer ({done.metadata.get('halt_reason')})."
                    )
                content = getattr(result, "content", None) or ""
                self.parts = [content]
                if schema is not None:  # one value per column, as llm.map's columns
                    self.fields = schema.row(schema.read(content, provider)[0])
            except ResponseFormatError as error:
                error.provider = provider
                raw = getattr(error, "raw", None)
                if isinstance(raw, str) and raw:  # a chat that did not fit streamed nothing
                    self.parts = [raw]
                self.error, self.state = error, "error"
            except LLMPipeError as error:
                self.error, self.state = error, "error"
        self.version += 1

    def refuse(self, error: BaseException, state: str = "unsent") -> None:
        """Never sent (an empty field, the spending limit), or stopped before it finished."""
        self.error, self.state = error, state
        self.version += 1

    # -- what the grid and the table read -----------------------------------------------

    def facts(self) -> dict[str, Any]:
        """Latency, first token, tokens and cost of the finished request (None when unknown)."""
        done = self.request
        if done is None:
            return dict.fromkeys(
                ("latency_ms", "ttft_ms", "input_tokens", "output_tokens", "cost_usd")
            ) | {"cost_status": None, "cache_hit": False}
        meta = done.metadata
        latency = meta.get("latency_ms")
        if latency is None and "duration_ns" in meta:
            latency = meta["duration_ns"] / 1e6
        usage = getattr(done.result, "usage", None)
        hit = bool(meta.get("cache_hit"))
        cost = meta.get("cost_usd")
        return {
            "latency_ms": latency,
            "ttft_ms": meta.get("ttft_ms"),
            "input_tokens": None if usage is None else usage.input_tokens,
            "output_tokens": None if usage is None else usage.output_tokens,
            "cost_usd": 0.0 if cost is None and hit else cost,
            "cost_status": "cached" if hit else meta.get("cost_status"),
            "cache_hit": hit,
        }

    def view(self) -> GridCell:
        return GridCell(
            text=self.text,
            state=self.state,
            error=self.error,
            fields=self.fields,
            **self.facts(),
        )

    def record(self) -> dict[str, Any]:
        """The cell's columns in the result table."""
        facts = self.facts()
        del facts["cost_status"], facts["cache_hit"]
        # an answer that did not fit the schema stays readable next to its error
        answered = self.state == "done" or isinstance(self.error, ResponseFormatError)
        return {"content": self.text if answered else None, **facts, "error": self.error}
