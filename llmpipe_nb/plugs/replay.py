"""Replay: answer a request from a recording, or send it and record the answer.

`llm.replay(path)` puts this plug into every run of the session, just before FetchConfig,
so a replayed request needs no API key and sends nothing. Modes:

    mode       read the recording   on a miss
    "auto"     yes                  send, and record the answer
    "record"   no                   send, and record (overwrite) the answer
    "replay"   yes                  raise ReplayMissError, naming what differed; send nothing

A replayed answer is the recorded one (content, usage, tool calls, the provider's raw body)
with `cost_status="replayed"`, cost 0 and `cost_saved` = the recorded cost, so the ledger
shows what the rerun saved. A stream replays its recorded chunks with their original
boundaries, and with `realtime=True` their original timing. Only answers are recorded: a
request that failed is sent again (auto) or misses (replay).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from contextlib import suppress
from time import perf_counter
from typing import Any, ClassVar

from .. import notices
from ..errors import ConfigError, ReplayMissError, StoreError
from ..plug import Plug
from ..request import Request
from ..responses import StreamChunk, ToolCall, Usage
from ..stores.cassette import Cassette, Recorded
from .cache import Cache, _hit
from .replay_keys import KeyRules, nearest

MODES = ("auto", "record", "replay")
RECORDED = ("chat", "stream", "completion", "embeddings")
PENDING = "llmpipe.replay.pending"  # (key, normalised request) of a miss, for the recorder
CHUNKS = "llmpipe.replay.chunks"  # a recorded stream's (offset, chunk) pairs
_entries = Cache()  # writes answers the way the cache stores them


class Replay(Plug):
    """Answers from the recording at `path`, or sends and records (see the module doc)."""

    position: ClassVar[tuple[str, str]] = ("before", "FetchConfig")

    def __init__(
        self,
        path: str,
        mode: str = "auto",
        ignore: Collection[str] = (),
        whitespace: str = "collapse",
        match_base_url: bool = False,
        key: Callable[[Request], str] | None = None,
        realtime: bool = False,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"Replay mode must be 'auto', 'record' or 'replay', not {mode!r}.")
        self.rules = KeyRules.of(ignore, whitespace, match_base_url, key)
        self.path, self.mode, self.realtime = path, mode, realtime
        self.ignore, self.whitespace = tuple(ignore), whitespace
        self.match_base_url, self.key = match_base_url, key
        self.cassette = Cassette(path, writable=mode != "replay")
        self.counts: Counter[str] = Counter()
        self.saved_usd = 0.0
        self.used: set[str] = set()
        self.closed = False
        self._tally = threading.Lock()
        self._recorder = ReplayRecord(self)

    # -- the lookup ------------------------------------------------------------------

    def call(self, request: Request) -> Request:
        if self.closed:  # a run kept from a recording that has ended: nothing to do
            return request
        return self._decide(request, *self._lookup(request))[0]

    async def acall(self, request: Request) -> Request:
        if self.closed:
            return request
        return self._decide(request, *await asyncio.to_thread(self._lookup, request))[0]

    def stream(self, request: Request) -> Iterator[StreamChunk | Request]:
        """A streamed request: the recorded chunks (timed with `realtime`), then the answer."""
        if self.closed:
            yield request
            return
        done, chunks = self._decide(request, *self._lookup(request))
        last = 0.0
        for offset, chunk in chunks:
            if self.realtime and offset > last:
                time.sleep(offset - last)
            last = offset
            yield chunk
        yield done

    async def astream(self, request: Request) -> AsyncIterator[StreamChunk | Request]:
        if self.closed:
            yield request
            return
        done, chunks = self._decide(request, *await asyncio.to_thread(self._lookup, request))
        last = 0.0
        for offset, chunk in chunks:
            if self.realtime and offset > last:
                await asyncio.sleep(offset - last)
            last = offset
            yield chunk
        yield done

    def _lookup(self, request: Request) -> tuple[str, dict[str, Any], Recorded | None]:
        """The request's key, its normalised form, and its recording (never read to record)."""
        payload = self.rules.payload(request)
        key = self.rules.key_of(request, payload)
        return key, payload, None if self.mode == "record" else self.cassette.get(key)

    def _decide(
        self, request: Request, key: str, payload: dict[str, Any], found: Recorded | None
    ) -> tuple[Request, list[tuple[float, StreamChunk]]]:
        if found is not None:
            done = self._answer(request, found)
            if done is not None:
                chunks = [(float(t), chunk_from(c)) for t, c in found.chunks or ()]
                return done, chunks
        if self.mode == "replay":
            raise self._miss(request, payload)
        self._count("sent")
        request = request.put_private(PENDING, (key, payload)).put_metadata("replay", "sent")
        return request.register_after_run(self._recorder), []

    def _answer(self, request: Request, found: Recorded) -> Request | None:
        done = _hit(request, found.key, found.answer, older=True)
        if done is None or done.result is None:
            return None
        saved = found.cost_usd or 0.0
        result = done.result
        result.cost, result.cost_status, result.cost_saved = 0.0, "replayed", saved
        result.cache_hit = "replay"
        done = done.update_metadata(
            {"cache_hit": "replay", "cost_status": "replayed", "cost_saved": saved}
        ).put_metadata("replay", "replayed")
        self._count("replayed", found.key, saved)
        return done.halt(f"replayed from {self.cassette.path.name}")

    def _miss(self, request: Request, payload: dict[str, Any]) -> ReplayMissError:
        self._count("missed")
        near, found = nearest(self.cassette.requests(request.provider, request.kind), payload)
        if near is None:
            detail = f"it holds no {request.kind} requests to {request.provider}"
        elif not found:
            detail = "the nearest recorded request is the same, so the key function told them apart"
        else:
            more = f", and {len(found) - 4} more" if len(found) > 4 else ""
            detail = "the nearest recorded one differs in " + "; ".join(found[:4]) + more
        return ReplayMissError(
            f"No recording in {self.path} answers this {request.kind} request ({detail}), so "
            "nothing was sent: record it with mode='auto' or 'record', or leave out what may "
            "change with ignore=[...].",
            path=self.path,
            differences=found,
        )

    def _count(self, what: str, key: str | None = None, saved: float = 0.0) -> None:
        with self._tally:
            self.counts[what] += 1
            self.saved_usd += saved
            if key is not None:
                self.used.add(key)

    def close(self) -> None:
        self.closed = True
        self.cassette.close()


class ReplayRecord(Plug):
    """Records the answer of a request the recording did not have; runs after the pipeline."""

    _warned: ClassVar[set[str]] = set()

    def __init__(self, replay: Replay) -> None:
        self.replay = replay

    @property
    def options(self) -> dict[str, Any]:
        return {}

    def call(self, request: Request) -> Request:
        pending = request.private.get(PENDING)
        entry = _entries.entry(request)
        if pending is None or entry is None:
            return request
        key, payload = pending
        result = request.result
        cost = result.cost_saved if result.cache_hit else result.cost
        data = json.loads(entry)
        data["cost"] = cost
        kept = request.private.get(CHUNKS)
        try:
            self.replay.cassette.put(
                key,
                provider=request.provider,
                kind=request.kind,
                model=getattr(result, "model", None) or payload.get("model"),
                request=payload,
                answer=json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                chunks=None if kept is None else [[round(t, 6), chunk_record(c)] for t, c in kept],
                cost_usd=cost,
            )
        except StoreError as error:
            if self.replay.path not in self._warned:
                self._warned.add(self.replay.path)
                notices.warn(__name__, f"{error.message} Answers are not being recorded.")
            return request.add_error(error, plug=self.name)
        self.replay._count("recorded", key)
        return request.put_metadata("replay", "recorded")

    async def acall(self, request: Request) -> Request:
        return await asyncio.to_thread(self.call, request)


class RecordChunks(Plug):
    """Wraps the execute step of a stream being recorded: hands every chunk on and keeps it
    with its time since the call began, for the recorder."""

    def __init__(self, inner: Plug) -> None:
        self.inner = inner

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.inner.name

    @property
    def options(self) -> dict[str, Any]:
        return self.inner.options

    def call(self, request: Request) -> Request:
        return self.inner.call(request)

    async def acall(self, request: Request) -> Request:
        return await self.inner.acall(request)

    def stream(self, request: Request) -> Iterator[StreamChunk | Request]:
        items = self.inner.stream(request)  # type: ignore[attr-defined]
        kept: list[tuple[float, StreamChunk]] = []
        start = perf_counter()
        for item in items:
            if isinstance(item, StreamChunk):
                kept.append((perf_counter() - start, item))
                try:
                    yield item
                except BaseException as stop:  # closed or interrupted: the step hears it too
                    with suppress(StopIteration):
                        items.throw(stop)
                    raise
            else:
                yield item.put_private(CHUNKS, tuple(kept)) if isinstance(item, Request) else item

    async def astream(self, request: Request) -> AsyncIterator[StreamChunk | Request]:
        items = self.inner.astream(request)  # type: ignore[attr-defined]
        kept: list[tuple[float, StreamChunk]] = []
        start = perf_counter()
        async for item in items:
            if isinstance(item, StreamChunk):
                kept.append((perf_counter() - start, item))
                try:
                    yield item
                except BaseException as stop:
                    with suppress(StopAsyncIteration):
                        await items.athrow(stop)
                    raise
            else:
                yield item.put_private(CHUNKS, tuple(kept)) if isinstance(item, Request) else item


# -- chunks as stored --------------------------------------------------------------------


def chunk_record(chunk: StreamChunk) -> dict[str, Any]:
    """A chunk as JSON: the fields that differ from a blank chunk."""
    blank = StreamChunk()
    out: dict[str, Any] = {}
    for f in dataclasses.fields(StreamChunk):
        value = getattr(chunk, f.name)
        if value == getattr(blank, f.name):
            continue
        if isinstance(value, Usage):
            value = list(dataclasses.astuple(value))
        elif isinstance(value, tuple):
            value = [
                dataclasses.asdict(v)
                if dataclasses.is_dataclass(v) and not isinstance(v, type)
                else v
                for v in value
            ]
        out[f.name] = value
    return out


def chunk_from(data: dict[str, Any]) -> StreamChunk:
    """The chunk a `chunk_record` stored (fields this version does not know are left out)."""
    known = {f.name for f in dataclasses.fields(StreamChunk)}
    fields = {k: v for k, v in data.items() if k in known}
    if fields.get("usage") is not None:
        fields["usage"] = Usage(*fields["usage"])
    if "tool_calls" in fields:
        fields["tool_calls"] = tuple(ToolCall(**c) for c in fields["tool_calls"])
    return StreamChunk(**fields)
