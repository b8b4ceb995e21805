"""Running the calls of one model turn: check, approve, call (concurrently), time out, report.

Sync tools run in worker threads, async ones are awaited (in the sync loop, each on its
own event loop in its worker thread, so the caller's running loop is never touched);
every call has a timeout. Whatever happens (arguments that do not fit the schema, a
denied approval, an exception, a timeout) becomes a `ToolRun` whose `output` goes back
to the model: the loop itself does not crash on a tool.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import inspect
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import ConfigError
from ..responses import ToolCall
from ..structured import Mismatch
from .steps import ToolRun
from .tool import Tool

APPROVE_WORDS = ("always", "never", "ask")


@dataclasses.dataclass(frozen=True)
class Settings:
    """How a loop runs its tools (the RunTools plug's options)."""

    max_steps: int = 10
    approve: Any = "always"
    timeout: float | None = 60.0
    parallel: bool = True
    max_failures: int = 3
    on_error: str = "message"

    def __post_init__(self) -> None:
        if not (callable(self.approve) or self.approve in APPROVE_WORDS):
            raise ConfigError(
                f"approve={self.approve!r} is not understood: use 'always', 'never', 'ask' "
                "or a function of the ToolCall that returns True to run it."
            )
        if self.on_error not in ("message", "raise"):
            raise ConfigError(f"on_error={self.on_error!r}: use 'message' or 'raise'.")
        for name in ("max_steps", "max_failures"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a whole number >= 1, not {value!r}.")
        if self.timeout is not None and not (
            isinstance(self.timeout, (int, float)) and self.timeout > 0
        ):
            raise ConfigError(f"timeout must be seconds > 0 or None, not {self.timeout!r}.")


#: decides a call that needs a person: True runs it, False refuses it, None pauses the loop
Asker = Callable[[Tool, ToolCall], "bool | None"]


@dataclasses.dataclass(frozen=True)
class Planned:
    """A call that may run: its tool and checked arguments."""

    call: ToolCall
    tool: Tool
    arguments: dict[str, Any]


def plan(
    call: ToolCall,
    tools: Mapping[str, Tool],
    settings: Settings,
    step: int,
    asker: Asker | None,
    approved: frozenset[str] | None = None,
) -> Planned | ToolRun | None:
    """The checked call, or the ToolRun that answers it without running; None: wait for a person."""
    tool = tools.get(call.name)
    if tool is None:
        known = ", ".join(sorted(tools)) or "none"
        return ToolRun(
            step, call, "invalid", f"Error: there is no tool {call.name!r} (tools: {known})."
        )
    try:
        arguments = tool.arguments(call.arguments)
    except Mismatch as mismatch:
        return ToolRun(
            step,
            call,
            "invalid",
            f"Error: the arguments do not fit {tool.name}'s schema: {mismatch}.",
        )
    verdict = _approval(tool, call, settings, asker, approved)
    if verdict is None:
        return None
    if not verdict:
        return ToolRun(step, call, "denied", f"The user refused to run {tool.name}.")
    return Planned(call, tool, arguments)


def _approval(
    tool: Tool,
    call: ToolCall,
    settings: Settings,
    asker: Asker | None,
    approved: frozenset[str] | None,
) -> bool | None:
    if approved is not None:  # a resumed loop: the person already chose
        return call.id in approved
    approve = settings.approve
    if callable(approve):
        return bool(approve(call))
    if approve == "never":
        return False
    if approve == "always" and not tool.requires_approval:
        return True
    return None if asker is None else asker(tool, call)


def output_of(value: Any) -> str:
    """A tool's return value as the text the model reads."""
    if isinstance(value, str):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    elif callable(getattr(value, "model_dump", None)):
        value = value.model_dump(mode="json")
    return json.dumps(value, ensure_ascii=False, default=str)


def _failed(step: int, planned: Planned, error: BaseException, started: float) -> ToolRun:
    took = (time.perf_counter() - started) * 1000
    if isinstance(error, (TimeoutError, concurrent.futures.TimeoutError, asyncio.TimeoutError)):
        text = f"Error: {planned.tool.name} took longer than its timeout and was abandoned."
        return ToolRun(step, planned.call, "timeout", text, None, took, _ns(started))
    text = f"Error: {type(error).__name__}: {error}"
    return ToolRun(step, planned.call, "error", text, None, took, _ns(started))


def _done(step: int, planned: Planned, value: Any, started: float) -> ToolRun:
    took = (time.perf_counter() - started) * 1000
    return ToolRun(step, planned.call, "ok", output_of(value), value, took, _ns(started))


def _ns(started: float) -> int:
    """A `time.perf_counter()` reading on the clock of `perf_counter_ns`."""
    return int(started * 1e9)


def _in_thread(planned: Planned, timeout: float | None) -> Any:
    fn, arguments = planned.tool.fn, planned.arguments
    if inspect.iscoroutinefunction(fn):
        return asyncio.run(asyncio.wait_for(fn(**arguments), timeout))
    value = fn(**arguments)
    if inspect.isawaitable(value):
        return asyncio.run(asyncio.wait_for(_awaited(value), timeout))
    return value


async def _awaited(value: Any) -> Any:
    return await value


def run(planned: Sequence[Planned], settings: Settings, step: int) -> list[ToolRun]:
    """Run the calls in worker threads (concurrently when `parallel`), each with the timeout."""
    if not planned:
        return []
    workers = len(planned) if settings.parallel else 1
    pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="llmpipe-tool")
    try:
        started = [time.perf_counter() for _ in planned]
        futures = []
        for index, item in enumerate(planned):
            started[index] = time.perf_counter()
            futures.append(pool.submit(_in_thread, item, settings.timeout))
            if not settings.parallel:
                concurrent.futures.wait([futures[-1]], settings.timeout)
        runs = []
        for item, future, began in zip(planned, futures, started, strict=True):
            left = (
                None
                if settings.timeout is None
                else settings.timeout - (time.perf_counter() - began)
            )
            try:
                runs.append(
                    _done(
                        step, item, future.result(max(left, 0) if left is not None else None), began
                    )
                )
            except Exception as error:  # it goes back to the model
                _reraise(error, settings)
                runs.append(_failed(step, item, error, began))
        return runs
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a tool past its timeout is left behind


async def arun(planned: Sequence[Planned], settings: Settings, step: int) -> list[ToolRun]:
    """Async `run`: async tools awaited on this loop, sync ones in threads."""

    async def one(item: Planned) -> ToolRun:
        began = time.perf_counter()
        fn, arguments = item.tool.fn, item.arguments
        try:
            if inspect.iscoroutinefunction(fn):
                value = await asyncio.wait_for(fn(**arguments), settings.timeout)
            else:
                value = await asyncio.wait_for(asyncio.to_thread(fn, **arguments), settings.timeout)
                if inspect.isawaitable(value):
                    value = await asyncio.wait_for(_awaited(value), settings.timeout)
        except Exception as error:  # it goes back to the model
            _reraise(error, settings)
            return _failed(step, item, error, began)
        return _done(step, item, value, began)

    if settings.parallel:
        return list(await asyncio.gather(*(one(item) for item in planned)))
    return [await one(item) for item in planned]


def _reraise(error: Exception, settings: Settings) -> None:
    timed_out = isinstance(
        error, (TimeoutError, concurrent.futures.TimeoutError, asyncio.TimeoutError)
    )
    if settings.on_error == "raise" and not timed_out:
        raise error
