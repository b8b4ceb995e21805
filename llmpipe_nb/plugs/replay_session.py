"""`llm.replay(path)`: every request of the session through one recording.

One call at the top of a notebook routes every chat, stream, completion and embeddings
request through a `Replay` plug, however it was made (the simple API, a builder, a batch
row, a magic, a comparison), because the plug is added to each run by a pipeline
rewriter, not to any one pipeline. Rerun the notebook and it answers from the file, at $0,
with the same outputs; a colleague without a key can run it too.

`mode` defaults to $LLMPIPE_REPLAY_MODE, else "auto": CI can set it to "replay" so that a
request the recording lacks fails instead of reaching a provider. The rewriter lives in
this process: Dask workers in other processes are not recorded.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Collection
from pathlib import Path
from types import TracebackType

from .. import pipeline
from ..errors import ConfigError
from ..plug import Plug, is_streaming
from ..request import Request
from .replay import MODES, RECORDED, RecordChunks, Replay

MODE_ENV = "LLMPIPE_REPLAY_MODE"

_active: list[Recording] = []
_lock = threading.Lock()


class Recording:
    """The session's recording, while it is on: counts of what was replayed, sent and
    recorded, and what the replayed answers saved. `close()`, `llm.replay(None)` or the end
    of a `with llm.replay(path):` block ends it."""

    def __init__(self, plug: Replay) -> None:
        self.plug = plug

    @property
    def path(self) -> Path:
        return self.plug.cassette.path

    @property
    def mode(self) -> str:
        return self.plug.mode

    @property
    def replayed(self) -> int:
        """Answers given from the recording this session."""
        return self.plug.counts["replayed"]

    @property
    def sent(self) -> int:
        """Requests the recording did not answer, so they went to the provider."""
        return self.plug.counts["sent"]

    @property
    def recorded(self) -> int:
        """Answers written to the recording this session."""
        return self.plug.counts["recorded"]

    @property
    def missed(self) -> int:
        """Requests refused in replay mode (ReplayMissError)."""
        return self.plug.counts["missed"]

    @property
    def saved_usd(self) -> float:
        """What the replayed answers cost when they were recorded."""
        return self.plug.saved_usd

    @property
    def active(self) -> bool:
        return self in _active

    def unused(self) -> list[str]:
        """The keys of recordings this session neither replayed nor recorded."""
        used = self.plug.used
        return [e.key for e in self.plug.cassette.entries() if e.key not in used]

    def prune(self) -> int:
        """Delete the recordings this session did not use (run the whole notebook first);
        the number deleted."""
        if self.mode == "replay":
            raise ConfigError(
                "A recording opened in replay mode is read-only: prune it with mode='auto', "
                "or with `llmpipe replay prune PATH`."
            )
        return self.plug.cassette.delete(self.unused())

    def close(self) -> None:
        """End the recording: later requests go to their providers as usual."""
        with _lock:
            if self in _active:
                _active.remove(self)
            if not _active:
                pipeline.remove_rewriter(_rewrite)
        self.plug.close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "on" if self.active else "ended"
        return (
            f"Recording({str(self.path)!r}, mode={self.mode!r}, {state}: "
            f"{self.replayed} replayed, {self.sent} sent, {self.recorded} recorded, "
            f"${self.saved_usd:.6f} saved)"
        )


def replay(
    path: str | os.PathLike[str] | None,
    mode: str | None = None,
    *,
    ignore: Collection[str] = (),
    whitespace: str = "collapse",
    match_base_url: bool = False,
    key: Callable[[Request], str] | None = None,
    realtime: bool = False,
) -> Recording | None:
    """Route every request of this session through the recording at `path`.

    `mode`: "auto" (answer from the recording, else send and record), "record" (send
    everything, record every answer) or "replay" (answer only from the recording; a
    request it lacks raises ReplayMissError and nothing is sent); default
    $LLMPIPE_REPLAY_MODE, else "auto". `ignore`, `whitespace`, `match_base_url` and `key`
    decide what makes two requests the same (see `plugs.replay_keys`); `realtime=True`
    replays streams at their recorded pace. `llm.replay(None)` ends it; so does the end
    of `with llm.replay(path):`. A second call replaces the recording in use.
    """
    if path is None:
        for recording in list(_active):
            recording.close()
        return None
    plug = Replay(
        os.fspath(path),
        mode or os.environ.get(MODE_ENV) or "auto",
        ignore=ignore,
        whitespace=whitespace,
        match_base_url=match_base_url,
        key=key,
        realtime=realtime,
    )  # opens the file first: a bad path or mode changes nothing
    for recording in list(_active):
        recording.close()
    recording = Recording(plug)
    with _lock:
        _active.append(recording)
        pipeline.add_rewriter(_rewrite)
    return recording


def current() -> Recording | None:
    """The recording in use, if any."""
    return _active[-1] if _active else None


def _rewrite(request: Request, plugs: tuple[Plug, ...]) -> tuple[Plug, ...]:
    """Every recordable run gets the Replay plug before FetchConfig (first, in a pipeline
    without one); a recorded stream's execute step also keeps its chunks."""
    recording = current()
    if recording is None or request.kind not in RECORDED:
        return plugs
    if any(isinstance(p, Replay) for p in plugs):
        return plugs
    plug = recording.plug
    if request.kind == "stream" and plug.mode != "replay":
        plugs = tuple(RecordChunks(p) if is_streaming(p) else p for p in plugs)
    names = [p.name for p in plugs]
    at = names.index("FetchConfig") if "FetchConfig" in names else 0
    return (*plugs[:at], plug, *plugs[at:])


def describe(recording: Recording | None) -> str:
    """One line on the recording in use, for `%llm replay` and friends."""
    if recording is None:
        return "No recording is on: start one with llm.replay(PATH) or %llm replay PATH."
    return repr(recording)


__all__ = ["MODES", "MODE_ENV", "Recording", "current", "describe", "replay"]
