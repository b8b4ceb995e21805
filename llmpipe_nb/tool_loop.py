"""The tool loop: the model asks for calls, they run, the results go back, until it answers.

Each model turn is a full run of the provider's pipeline (cache, retry, rate limit,
budget, ledger), so a loop is seen and paid for like any chat; the turns share a
`loop:<id>` tag, the loop's conversation id in the ledger. The RunTools plug has left
the tools and settings in `private`; this module keeps the conversation, runs the calls
(`tools/execute.py`), and stops on an answer, at `max_steps` (ToolLoopLimitError), when
one tool fails `max_failures` times in a row (ToolFailedError), on any error of a turn
(the budget's included, with the steps so far attached), or to wait for a person's
approval (`reply.pending`, `reply.resume`). The answer carries `steps`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from . import rerun
from .errors import ConfigError, LLMPipeError, ToolFailedError, ToolLoopLimitError
from .outcome import finish
from .plugs.run_tools import KEY, Loop
from .request import Request
from .responses import ChatResponse
from .tagging import merge
from .tools.approval import default_asker
from .tools.execute import Asker, Planned, plan
from .tools.execute import arun as arun_calls
from .tools.execute import run as run_calls
from .tools.steps import ModelTurn, ToolRun
from .tools.tool import runnable


class Conversation:
    """One loop's state: the messages so far, the steps, the failures in a row."""

    def __init__(self, request: Request, pipeline: tuple[Any, ...], asker: Asker | None) -> None:
        self.first = request
        self.pipeline = pipeline
        self.asker = asker
        self.messages = list(request.messages)
        self.steps: list[Any] = []
        self.failures: dict[str, int] = {}
        looped = runnable(request.options.get("tools")) and any(
            getattr(p, "name", None) == "RunTools" for p in pipeline
        )
        #: the loop's conversation id, a tag on every turn's ledger row
        self.tag = f"loop:{request.id}" if looped else None
        self.turns = 0
        #: the turn and its loop state while the loop waits for approval
        self.paused: tuple[Request, Loop] | None = None
        #: "chat", or "stream" while a streamed loop runs (a resumed one goes on as a chat)
        self.kind = request.kind

    def request(self) -> Request:
        if self.tag is None:
            return self.first
        if self.turns == 0:
            base = self.first
        else:
            base = Request.new(
                self.first.provider,
                self.messages,
                self.first.options,
                kind=self.kind,
                assigns=self.first.assigns,
            )
        tags = merge(tuple(self.first.metadata.get("tags", ())), (self.tag,))
        return base.put_metadata("tags", tags)

    def model_turn(self, done: Request, began: float) -> Loop | None:
        """Record a finished turn; the loop's state when it asks for tools, else None."""
        loop: Loop | None = done.private.get(KEY)
        if done.terminal_error is not None:
            error = done.terminal_error
            if isinstance(error, LLMPipeError) and self.steps:
                error.steps = tuple(self.steps)  # type: ignore[attr-defined]
            return None
        result = done.result
        if loop is None or not isinstance(result, ChatResponse):
            return None
        self.turns += 1
        result.request = done  # each turn keeps its own trace, cost and timing
        took = (time.perf_counter() - began) * 1000
        self.steps.append(ModelTurn(self.turns, result, took, int(began * 1e9)))
        if not result.tool_calls:
            return None
        if self.turns >= loop.settings.max_steps:
            raise ToolLoopLimitError(
                f"The model still asked for tools after {self.turns} steps (max_steps="
                f"{loop.settings.max_steps}): raise max_steps, or ask for an answer without tools.",
                steps=tuple(self.steps),
                request=done,
            )
        self.messages.append(result.message)
        return loop

    def plan(
        self, loop: Loop, done: Request, approved: frozenset[str] | None
    ) -> tuple[list[Planned], list[ToolRun], list[Any]]:
        """(calls to run, calls already answered, calls waiting for a person)."""
        planned: list[Planned] = []
        answered: list[ToolRun] = []
        waiting: list[Any] = []
        for call in done.result.tool_calls:
            item = plan(call, loop.tools, loop.settings, self.turns, self.asker, approved)
            if item is None:
                waiting.append(call)
            elif isinstance(item, Planned):
                planned.append(item)
            else:
                answered.append(item)
        return planned, answered, waiting

    def tool_runs(self, loop: Loop, done: Request, runs: Iterable[ToolRun]) -> None:
        order = {call.id: i for i, call in enumerate(done.result.tool_calls)}
        for run in sorted(runs, key=lambda r: order.get(r.call.id, 0)):
            self.steps.append(run)
            self.messages.append(run.message())
            if run.status in ("error", "timeout", "invalid"):
                count = self.failures.get(run.call.name, 0) + 1
                self.failures[run.call.name] = count
                if count >= loop.settings.max_failures:
                    raise ToolFailedError(
                        f"The tool {run.call.name!r} failed {count} times in a row (last: "
                        f"{run.output}); fix the tool, or raise max_failures.",
                        tool=run.call.name,
                        steps=tuple(self.steps),
                        request=done,
                    )
            else:
                self.failures[run.call.name] = 0

    def answer(self, done: Request) -> Request:
        if isinstance(done.result, ChatResponse) and self.steps:
            done.result.steps = tuple(self.steps)
        return done

    def pause(self, done: Request, waiting: list[Any], resume: Any) -> Request:
        result = done.result
        result.steps, result.pending = tuple(self.steps), tuple(waiting)
        result.continuation = resume
        return done


def run(request: Request, pipeline: Iterable[Any], *, asker: Asker | None = None) -> Request:
    """Run a chat, and its tool calls, until the model answers (see the module doc)."""
    return _go(Conversation(request, tuple(pipeline), asker or default_asker()), None)


def resumer(talk: Conversation) -> Any:
    """How `reply.resume(approved=...)` goes on with a paused loop (always synchronously).

    A paused loop goes on once: a second resume would run the same calls again."""
    used = False

    def resume(ids: frozenset[str] | None, **_: Any) -> Any:
        nonlocal used
        if used:
            raise ConfigError(
                "This paused loop was already resumed: use the answer that resume returned."
            )
        used = True
        talk.kind = "chat"
        return finish(_go(talk, ids))

    return resume


def _go(talk: Conversation, approved: frozenset[str] | None) -> Request:
    while True:
        if approved is None:
            began = time.perf_counter()
            done = rerun.run(talk.request(), talk.pipeline)
            loop = talk.model_turn(done, began)
            if loop is None:
                return talk.answer(done)
        else:
            assert talk.paused is not None
            done, loop = talk.paused
        planned, answered, waiting = talk.plan(loop, done, approved)
        approved = None
        if waiting:
            talk.paused = (done, loop)
            return talk.pause(done, waiting, resumer(talk))
        talk.tool_runs(loop, done, [*answered, *run_calls(planned, loop.settings, talk.turns)])


async def arun(request: Request, pipeline: Iterable[Any], *, asker: Asker | None = None) -> Request:
    """Async `run`: async tools are awaited on the caller's loop, sync ones in threads."""
    talk = Conversation(request, tuple(pipeline), asker or default_asker())
    while True:
        began = time.perf_counter()
        done = await rerun.arun(talk.request(), talk.pipeline)
        loop = talk.model_turn(done, began)
        if loop is None:
            return talk.answer(done)
        planned, answered, waiting = talk.plan(loop, done, None)
        if waiting:
            talk.paused = (done, loop)
            return talk.pause(done, waiting, resumer(talk))
        ran = await arun_calls(planned, loop.settings, talk.turns)
        talk.tool_runs(loop, done, [*answered, *ran])
