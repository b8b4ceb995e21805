"""Running a structured request again when its answer asks for it, for every entry point.

`run`, `arun`, `stream` and `astream` are the pipeline's runners plus the retries of
`plugs/structured_retry.py`: a repair of an answer that does not fit, or the next form
of structured output when a server refused one. A request without `schema=` runs exactly
as through `Pipeline`. Streams also give each chunk its `partial`, the object parsed
from the JSON so far; a repair after a stream is asked as a plain chat, and its object
arrives as one last chunk before the end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Generator, Iterable
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from .pipeline import Pipeline
from .request import Request
from .responses import StreamChunk

if TYPE_CHECKING:
    from .structured import Schema

#: the options that bring the StructuredOutput plug into a pipeline
OPTIONS = frozenset({"schema", "repair", "schema_form"})
#: a chunk's fields but `partial`, to copy one fast (`dataclasses.replace` costs ~5 µs)
_CHUNK_FIELDS = tuple(f.name for f in dataclasses.fields(StreamChunk) if f.name != "partial")


def _structured(pipeline: tuple[Any, ...]) -> bool:
    """Whether the pipeline can ask for a structured answer; without it nothing is run again,
    and the schema machinery is not even imported."""
    return any(getattr(plug, "name", None) == "StructuredOutput" for plug in pipeline)


def _next(done: Request) -> tuple[Request, str] | None:
    from .plugs.structured_retry import next_attempt
    from .structured import PRIVATE_KEY

    if PRIVATE_KEY not in done.private:
        return None

    return next_attempt(done)


def run(request: Request, pipeline: Iterable[Any], *, trace: bool = True) -> Request:
    """Run, and again while the answer asks for a repair or the next form."""
    pipeline = tuple(pipeline)
    done = Pipeline.run(request, pipeline, trace=trace)
    if not _structured(pipeline):
        return done
    while (again := _next(done)) is not None:
        done = Pipeline.run(_as_chat(again[0]), pipeline, trace=trace)
    return done


async def arun(request: Request, pipeline: Iterable[Any], *, trace: bool = True) -> Request:
    """Async `run`."""
    pipeline = tuple(pipeline)
    done = await Pipeline.arun(request, pipeline, trace=trace)
    if not _structured(pipeline):
        return done
    while (again := _next(done)) is not None:
        done = await Pipeline.arun(_as_chat(again[0]), pipeline, trace=trace)
    return done


def _as_chat(request: Request) -> Request:
    return request if request.kind != "stream" else request.evolve(kind="chat")


class _Reader:
    """The partial object of a stream, from the text of its chunks."""

    def __init__(self, schema: Schema) -> None:
        from .structured import PartialJSON

        self.schema = schema
        self.json = PartialJSON()
        self.last: Any = None

    def chunk(self, chunk: StreamChunk) -> StreamChunk:
        if chunk.content:
            self.json.feed(chunk.content)
            self.last = self.schema.unwrap(self.json.value)
        if self.last is None:
            return chunk
        return StreamChunk(
            **{name: getattr(chunk, name) for name in _CHUNK_FIELDS}, partial=self.last
        )

    def ending(self, done: Request, repaired: bool) -> list[StreamChunk | Request]:
        """The last items of the stream: the finished request, after the object of a repaired
        answer (which came whole) as one chunk."""
        if not repaired or getattr(done.result, "parsed", None) is None:
            return [done]
        from .structured import PartialJSON

        whole = PartialJSON()
        whole.feed(done.result.content)
        return [StreamChunk(partial=self.schema.unwrap(whole.value)), done]


def _reader(request: Request) -> _Reader | None:
    spec = request.options.get("schema")
    if spec is None:
        return None
    from .structured import Schema

    return _Reader(Schema.of(spec))


def stream(
    request: Request, pipeline: Iterable[Any], *, trace: bool = True
) -> Generator[StreamChunk | Request, None, None]:
    """`Pipeline.stream`, with partial objects and the retries of a structured request."""
    reader = _reader(request)
    if reader is None:
        return Pipeline.stream(request, pipeline, trace=trace)
    return _stream(request, tuple(pipeline), reader, trace)


def _stream(
    request: Request, pipeline: tuple[Any, ...], reader: _Reader, trace: bool
) -> Generator[Any, None, None]:
    while True:
        items = Pipeline.stream(request, pipeline, trace=trace)
        done: Request | None = None
        for item in items:
            if isinstance(item, Request):
                done = item
                continue
            try:
                yield reader.chunk(item)
            except BaseException as stop:  # closed: the run in flight hears it and records it
                with suppress(StopIteration):
                    items.throw(stop)
                raise
        assert done is not None
        again = _next(done)
        if again is not None and again[1] != "repair":  # the next form, streamed afresh
            request, reader = again[0], _Reader(reader.schema)
            continue
        if again is not None:
            done = run(_as_chat(again[0]), pipeline, trace=trace)
        yield from reader.ending(done, repaired=again is not None)
        return


def astream(
    request: Request, pipeline: Iterable[Any], *, trace: bool = True
) -> AsyncGenerator[StreamChunk | Request, None]:
    """Async `stream`."""
    reader = _reader(request)
    if reader is None:
        return Pipeline.astream(request, pipeline, trace=trace)
    return _astream(request, tuple(pipeline), reader, trace)


async def _astream(
    request: Request, pipeline: tuple[Any, ...], reader: _Reader, trace: bool
) -> AsyncGenerator[Any, None]:
    while True:
        items = Pipeline.astream(request, pipeline, trace=trace)
        done: Request | None = None
        async for item in items:
            if isinstance(item, Request):
                done = item
                continue
            try:
                yield reader.chunk(item)
            except BaseException as stop:
                with suppress(StopAsyncIteration):
                    await items.athrow(stop)
                raise
        assert done is not None
        again = _next(done)
        if again is not None and again[1] != "repair":
            request, reader = again[0], _Reader(reader.schema)
            continue
        if again is not None:
            done = await arun(_as_chat(again[0]), pipeline, trace=trace)
        for item in reader.ending(done, repaired=again is not None):
            yield item
        return
