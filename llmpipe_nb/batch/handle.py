"""`BatchJob`: one job at a provider's Batch API, from the kernel that made it or any other.

    job = llm.map(df, "Classify: {text}", "openai", engine="batch")
    job                      # status, counts, price so far, elapsed (live in a notebook)
    df = job.wait()          # polls with progress, then the DataFrame llm.map returns
    job = llm.batch_job("batch_abc123")   # after a restart; nothing is sent again
    job.cancel()

A job may span several provider batches (the engine splits what one batch cannot
take); its status is theirs combined. Polls, downloads and cancels are retried when
the network or the server fails.
"""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Any

from ..config import ProviderConfig
from ..errors import BatchPendingError, ConfigError, LLMPipeError, redact
from ..providers._batches import ACTIVE, BatchAPI, RemoteBatch
from ..structured import Schema
from . import jobview
from .frame import Outcome, to_frame
from .jobstore import JobRecord, JobStore, Part
from .plan import Plan
from .remote import batch_api, retried

#: the longest wait between two polls when the interval grows by itself
MAX_POLL_S = 60.0
_GONE = "the process that submitted the job stopped before this part was sent"


def overall(parts: list[Part]) -> str:
    """The job's status from its parts': the least advanced while any runs, then the worst."""
    states = [p.remote.status if p.remote is not None else "failed" for p in parts]
    running = [s for s in states if s in ACTIVE]
    if running:
        return "cancelling" if "cancelling" in running else min(running, key=ACTIVE.index)
    for status in ("cancelled", "expired", "failed"):
        if status in states:
            return status
    return "completed"


class BatchJob:
    """A provider batch job: `status`, `refresh()`, `wait()`, `result()`, `cancel()`."""

    def __init__(
        self,
        record: JobRecord,
        store: JobStore,
        plan: Plan | None = None,
        reattached: bool = False,
    ) -> None:
        self._record = record
        self._store = store
        self._plan = plan
        self._frame: Any = None
        #: whether llm.map found this job already running for the same rows
        self.reattached = reattached

    # -- what it is ----------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def provider(self) -> str:
        return self._record.provider

    @property
    def model(self) -> str | None:
        return self._record.model

    @property
    def batch_ids(self) -> list[str]:
        """The provider's ids of the job's batches."""
        return self._record.batch_ids

    @property
    def status(self) -> str:
        """submitting, validating, in_progress, finalizing, cancelling, then completed,
        failed, expired or cancelled (as last polled: `refresh()` asks again)."""
        return self._record.status

    @property
    def terminal(self) -> bool:
        return self.status in ("completed", "failed", "expired", "cancelled")

    @property
    def created_at(self) -> float:
        return self._record.created_at

    @property
    def finished_at(self) -> float | None:
        return self._record.finished_at

    @property
    def rows(self) -> int:
        return self._record.rows

    @property
    def requests(self) -> int:
        """Requests sent to the provider (rows the cache answered, or identical to another
        row, are not sent)."""
        return self._record.requests

    @property
    def succeeded(self) -> int:
        return sum(p.remote.succeeded for p in self._record.parts if p.remote is not None)

    @property
    def failed(self) -> int:
        """Requests that got no answer: errored, expired, cancelled, or never submitted."""
        parts = self._record.parts
        return sum(p.remote.failed if p.remote is not None else p.size for p in parts)

    @property
    def error(self) -> str | None:
        """Why a batch of the job failed or could not be submitted, in the provider's words."""
        reasons = [p.error or (p.remote.error if p.remote else None) for p in self._record.parts]
        return redact("; ".join(r for r in reasons if r)) or None

    @property
    def remotes(self) -> list[RemoteBatch]:
        """The provider's view of each of the job's batches, as last polled."""
        return [p.remote for p in self._record.parts if p.remote is not None]

    @property
    def collected_cost_usd(self) -> float | None:
        """What the answers cost at the batch price, once `result()` has them."""
        if self._frame is None:
            return None
        return float(self._frame.cost_usd.sum())

    @property
    def expected_cost_usd(self) -> float | None:
        """The estimate at the batch price when it was submitted."""
        return self._record.plan.get("estimate_usd")

    @property
    def plan(self) -> Plan:
        """What every row runs through, rebuilt from the store in a new process."""
        if self._plan is None:
            kept = self._record.plan
            options = dict(kept["options"])
            if self._record.base_url and "base_url" not in options:
                options["base_url"] = self._record.base_url  # the server that has the batch
            features = {name: opts for name, opts in kept["features"]}
            self._plan = Plan.make(kept["provider"], options, tuple(kept["tags"]), **features)
        return self._plan

    # -- talking to the provider ---------------------------------------------------------

    def submit_parts(
        self,
        provider: Any,
        api: BatchAPI,
        config: ProviderConfig,
        parts: list[list[Any]],
    ) -> None:
        """Create the provider batches, saving each id as soon as it is known. The first
        one refused raises (the job is forgotten: nothing was sent); a later one refused
        is kept with its reason, and its rows fail with it."""
        record = self._record
        for part, calls in zip(record.parts, parts, strict=True):
            label = {"llmpipe_job": record.id, "part": str(part.part)}
            try:
                part.remote = api.submit(provider, config, calls, label)
            except LLMPipeError as error:
                if part.part == 0:
                    self._store.delete(record.id)
                    raise
                part.error = getattr(error, "message", str(error))
            part.submitted_at = time.time()
            self._store.save_part(record.id, part)
        self._settle()

    def refresh(self) -> BatchJob:
        """Ask the provider how far each unfinished batch is."""
        if self.terminal:
            return self
        provider, api, config = self._connect()
        for part in self._record.parts:
            remote = part.remote
            if remote is None and part.error is None and self.status != "submitting":
                part.error = _GONE
                self._store.save_part(self.id, part)
            if remote is None or remote.terminal:
                continue
            part.remote = retried(partial(api.status, provider, config, remote))
            self._store.save_part(self.id, part)
        self._settle()
        return self

    def cancel(self) -> BatchJob:
        """Ask the provider to stop; rows it already answered keep their answers."""
        provider, api, config = self._connect()
        for part in self._record.parts:
            remote = part.remote
            if remote is not None and not remote.terminal:
                part.remote = retried(partial(api.cancel, provider, config, remote))
                self._store.save_part(self.id, part)
        self._settle()
        return self

    def wait(
        self, poll_interval: float | None = None, timeout: float | None = None, progress: Any = True
    ) -> Any:
        """Poll until the job ends, with progress, and return its DataFrame (`result()`).

        The wait between polls starts at `poll_interval` (else the provider's usual one)
        and, when not given, grows to a minute. After `timeout` seconds BatchPendingError
        says how far it is; the job runs on at the provider either way.
        """
        interval = self._interval(poll_interval)
        _check_seconds("timeout", timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        display = jobview.make_progress(progress, self)
        note = None
        try:
            while not self.refresh().terminal:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    note = "still running"
                    raise BatchPendingError(self._pending(f"after {timeout:g} s"), **self._ids())
                self._sleep(interval if left is None else min(interval, left), display)
                if poll_interval is None:
                    interval = min(interval * 1.5, MAX_POLL_S)
        except KeyboardInterrupt:
            note = "interrupted: the job runs on at the provider"
            raise
        finally:
            if display is not None:
                display.close(self, note)
        return self.result()

    async def wait_async(
        self, poll_interval: float | None = None, timeout: float | None = None
    ) -> Any:
        """`wait()` on the caller's event loop (without a progress display)."""
        interval = self._interval(poll_interval)
        _check_seconds("timeout", timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not (await asyncio.to_thread(self.refresh)).terminal:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise BatchPendingError(self._pending(f"after {timeout:g} s"), **self._ids())
            await asyncio.sleep(interval if left is None else min(interval, left))
            if poll_interval is None:
                interval = min(interval * 1.5, MAX_POLL_S)
        return await asyncio.to_thread(self.result)

    def result(self) -> Any:
        """The DataFrame llm.map would have returned, aligned with the input's index;
        BatchPendingError while the job runs."""
        if self._frame is not None:
            return self._frame
        if not self.refresh().terminal:
            raise BatchPendingError(self._pending("now"), **self._ids())
        from .collect import collect

        fresh = self._store.job(self.id)
        if fresh is not None and fresh.collected_at is not None:
            outcomes: list[Outcome] = [o for _, o in self._store.rows(self.id)]  # type: ignore[misc]
        else:
            outcomes = collect(self._record, self._store, self.plan)
        kept = self._record.plan.get("schema")
        schema = None if kept is None else Schema.of(kept)
        frame = to_frame(self._record.index, outcomes, schema, self.provider)
        frame.attrs["batch_id"] = self.id
        frame.attrs["batch_ids"] = self.batch_ids
        self._frame = frame
        return frame

    # -- time ----------------------------------------------------------------------------

    def elapsed_s(self) -> float:
        return (self.finished_at or time.time()) - self.created_at

    def eta_s(self) -> float | None:
        """Seconds until the provider has answered every row, at its rate so far."""
        finished = self.succeeded + self.failed
        if self.terminal or not finished or not self.requests:
            return None
        return self.elapsed_s() / finished * max(0, self.requests - finished)

    # -- showing -------------------------------------------------------------------------

    def __repr__(self) -> str:
        return jobview.job_text(self)

    def _repr_html_(self) -> str:
        return jobview.job_html(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """A view that follows the job while it runs, in a notebook; else the snapshot."""
        return jobview.mimebundle(self)

    # -- inside ----------------------------------------------------------------------------

    def _connect(self) -> tuple[Any, BatchAPI, ProviderConfig]:
        provider, api = batch_api(self.provider)
        return provider, api, self.plan.config()

    def _settle(self) -> None:
        record = self._record
        record.status = overall(record.parts) if record.parts else "completed"
        if record.status in ACTIVE or record.status == "submitting":
            record.finished_at = None
        elif record.finished_at is None:
            ends = [p.remote.finished_at for p in record.parts if p.remote is not None]
            record.finished_at = max((t for t in ends if t is not None), default=time.time())
        self._store.save_status(record.id, record.status, record.finished_at)

    def poll_interval(self) -> float:
        """The provider's usual first wait between polls, in seconds."""
        return batch_api(self.provider)[1].poll_interval

    def _interval(self, poll_interval: float | None) -> float:
        _check_seconds("poll_interval", poll_interval)
        if poll_interval is not None:
            if poll_interval <= 0:
                raise ConfigError(f"poll_interval must be > 0 seconds, not {poll_interval!r}.")
            return float(poll_interval)
        return self.poll_interval()

    def _sleep(self, seconds: float, display: Any) -> None:
        """Sleep, redrawing the progress (elapsed time, ETA) every second."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 1.0))
            if display is not None:
                display.update(self)

    def _pending(self, when: str) -> str:
        finished = self.succeeded + self.failed
        return (
            f"Batch job {self.id} is {self.status} {when} ({finished}/{self.requests} requests "
            "finished): it runs on at the provider; call job.wait() again, or "
            f"llm.batch_job({self.id!r}).wait() from any kernel."
        )

    def _ids(self) -> dict[str, Any]:
        return {
            "job_id": self.id,
            "batch_id": ",".join(self.batch_ids) or None,
            "status": self.status,
            "provider": self.provider,
        }


def _check_seconds(name: str, value: float | None) -> None:
    if value is not None and (
        not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0
    ):
        raise ConfigError(f"{name} must be a number of seconds >= 0, not {value!r}.")
