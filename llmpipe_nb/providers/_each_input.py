"""Embedding models that take one input per call (Bedrock's Titan, Vertex's Gemini embeddings):
the calls for the other inputs, sent after the first, and their answers as one.

The prepare plug sends the first input's call and leaves the rest in `private`; this plug,
right after the execute step, sends them in order, each through the execute step (so
retries and the circuit breaker apply per call, and every attempt shows in
`attempt_log`, with its input's index), and replaces the answer's body with the list of
every call's body, in input order. One failed call fails the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from time import perf_counter
from typing import Any

from ..plug import Plug
from ..plugs.execute_request import ExecuteRequest
from ..request import Request
from ..transport import HttpCall

PENDING = "llmpipe.each_input.calls"


def one_call_each(request: Request, calls: Sequence[HttpCall]) -> Request:
    """`request` with the first input's call to send, and the others kept for EachInput."""
    return request.evolve(provider_request=calls[0]).put_private(PENDING, tuple(calls[1:]))


class _Calls:
    def __init__(self, request: Request) -> None:
        self.first = request
        self.pending: tuple[HttpCall, ...] = request.private.get(PENDING, ())
        self.bodies: list[Any] = [request.response.body]
        self.log = [entry | {"input": 0} for entry in request.metadata.get("attempt_log", ())]
        self.started = perf_counter()

    def add(self, index: int, done: Request) -> Request | None:
        """Take one input's finished call; the failed request, if it failed."""
        self.log += [entry | {"input": index} for entry in done.metadata.get("attempt_log", ())]
        if done.state == "error" or done.response is None:
            return done.evolve(metadata={**done.metadata, **self._facts()})
        self.bodies.append(done.response.body)
        return None

    def finish(self) -> Request:
        response = replace(self.first.response, body=self.bodies)
        return self.first.evolve(
            response=response, metadata={**self.first.metadata, **self._facts()}
        )

    def _facts(self) -> dict[str, Any]:
        first = self.first.metadata.get("latency_ms", 0.0)
        return {
            "attempts": len(self.log),
            "attempt_log": tuple(self.log),
            "latency_ms": first + (perf_counter() - self.started) * 1000,
        }


class EachInput(Plug):
    """Sends the other inputs' calls after the first; the answer's body becomes the list of
    every call's body, in input order."""

    def call(self, request: Request) -> Request:
        if PENDING not in request.private:
            return request
        calls = _Calls(request)
        for index, call in enumerate(calls.pending, 1):
            done = ExecuteRequest().call(request.evolve(provider_request=call))
            if (failed := calls.add(index, done)) is not None:
                return failed
        return calls.finish()

    async def acall(self, request: Request) -> Request:
        if PENDING not in request.private:
            return request
        calls = _Calls(request)
        for index, call in enumerate(calls.pending, 1):
            done = await ExecuteRequest().acall(request.evolve(provider_request=call))
            if (failed := calls.add(index, done)) is not None:
                return failed
        return calls.finish()
