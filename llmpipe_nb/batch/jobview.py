"""How a batch job shows: a line of text, an HTML card, a card that follows the job in a
notebook, and the progress `wait()` draws (a widget in Jupyter, rich in a terminal, or
a function called with the job).

The counts are the provider's `request_counts`; the price so far is exact once the
answers are in, else the provider's token counts at the batch price where it reports
them, else the submitted estimate times the share answered (marked with ~).
"""

from __future__ import annotations

import html
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, MissingDependencyError, redact
from ..pricing import BATCH, cost_for
from ..responses import Usage
from .engine import usd
from .progress import _duration, _importable, in_jupyter

if TYPE_CHECKING:
    from .handle import BatchJob

#: the badge each status wears (the shared views' colours: green, red, amber)
_BADGES = {"completed": "completed", "failed": "error", "expired": "error", "cancelled": "error"}


def price_so_far(job: BatchJob) -> str:
    """What the job has cost so far, at the batch price."""
    spent = job.collected_cost_usd
    if spent is not None:
        return usd(spent)
    parts = job.remotes
    if parts and all(p.input_tokens is not None for p in parts):
        usage = Usage(
            input_tokens=sum(p.input_tokens or 0 for p in parts),
            output_tokens=sum(p.output_tokens or 0 for p in parts),
        )
        from .. import providers

        provider = providers.get(job.provider)
        cost, _ = cost_for(
            job.provider,
            job.model,
            usage,
            local=provider.local,
            price_provider=provider.price_provider,
            service_tier=BATCH,
        )
        if cost is not None:
            return usd(cost)
    expected = job.expected_cost_usd
    if expected is None:
        return "unpriced"
    share = job.succeeded / job.requests if job.requests else 1.0
    return f"~{usd(expected * share)}"


def job_line(job: BatchJob) -> str:
    """`in_progress · 930/1000 requests · 925 done · 5 failed · ~$0.0123 · 3m02s · ETA 12s`"""
    finished = job.succeeded + job.failed
    parts = [
        job.status,
        f"{finished}/{job.requests} requests",
        f"{job.succeeded} done",
        f"{job.failed} failed",
        price_so_far(job),
        f"elapsed {_duration(job.elapsed_s())}",
    ]
    eta = job.eta_s()
    if eta is not None:
        parts.append(f"ETA {_duration(eta)}")
    return " · ".join(parts)


def job_text(job: BatchJob) -> str:
    batches = ", ".join(job.batch_ids) or "none"
    why = f"; {job.error}" if job.error else ""
    return (
        f"BatchJob({job.id}, {job.provider}/{job.model}: {job_line(job)}; batches: {batches}{why})"
    )


def job_html(job: BatchJob, problem: str | None = None) -> str:
    from ..views import badge, esc, frame, table

    local = job.rows - job.requests
    rows: list[tuple[str, str]] = [
        ("status", badge(job.status, _BADGES.get(job.status, "halted"))),
        ("rows", esc(f"{job.rows:,} ({local:,} answered here: cached, repeated or not sendable)")),
        ("requests", esc(f"{job.succeeded:,} done · {job.failed:,} failed of {job.requests:,}")),
        ("price so far", esc(f"{price_so_far(job)} at the batch price")),
        ("elapsed", esc(_duration(job.elapsed_s()))),
    ]
    eta = job.eta_s()
    if eta is not None:
        rows.append(("ETA", esc(_duration(eta))))
    rows.append(("provider batches", esc(", ".join(job.batch_ids) or "none")))
    if job.error:
        rows.append(("why", esc(job.error)))
    if problem:
        rows.append(("last poll", esc(problem)))
    rows.append(
        ("next", esc("job.result()" if job.terminal else "job.wait() returns the DataFrame"))
    )
    title = esc(f"BatchJob {job.id}: {job.provider}/{job.model}")
    cells = [(esc(name), value) for name, value in rows]
    return frame(
        f'<div class="lp-card"><div class="lp-title">{title}</div>{table(("", ""), cells)}</div>'
    )


class LiveView:
    """An HTML widget that polls the job from a daemon thread until it ends."""

    def __init__(self, job: BatchJob) -> None:
        import ipywidgets as widgets

        self.widget = widgets.HTML(job_html(job))
        if not job.terminal:
            threading.Thread(
                target=self._follow, args=(job,), name="llmpipe-batch-view", daemon=True
            ).start()

    def _follow(self, job: BatchJob) -> None:
        interval = job.poll_interval()
        while not job.terminal:
            time.sleep(interval)
            interval = min(interval * 1.5, 60.0)
            try:
                job.refresh()
            except Exception as error:  # shown, not raised: nobody would see it in a thread
                self.widget.value = job_html(job, redact(f"{type(error).__name__}: {error}"))
                return
            self.widget.value = job_html(job)


_views: weakref.WeakKeyDictionary[Any, LiveView] = weakref.WeakKeyDictionary()


def mimebundle(job: BatchJob) -> dict[str, Any]:
    """The card, following the job live when this is a notebook with ipywidgets (one
    following view per job, however often it is shown)."""
    bundle: dict[str, Any] = {"text/html": job_html(job)}
    if not job.terminal and in_jupyter() and _importable("ipywidgets"):
        view = _views.get(job)
        if view is None:
            view = _views[job] = LiveView(job)
        bundle.update(view.widget._repr_mimebundle_())
    bundle["text/plain"] = job_text(job)
    return bundle


# -- the progress of wait() ----------------------------------------------------------------


class _WidgetProgress:
    def __init__(self, job: BatchJob) -> None:
        import ipywidgets as widgets
        from IPython.display import display

        self.bar = widgets.IntProgress(
            value=0, min=0, max=max(job.requests, 1), description="batch"
        )
        self.label = widgets.HTML()
        display(widgets.HBox([self.bar, self.label]))

    def update(self, job: BatchJob) -> None:
        self.bar.value = job.succeeded + job.failed
        self.label.value = f"<code>{html.escape(job_line(job))}</code>"

    def close(self, job: BatchJob, note: str | None = None) -> None:
        self.update(job)
        if note:
            self.label.value = f"<code>{html.escape(job_line(job) + ' · ' + note)}</code>"
        failed = job.status != "completed" or job.failed
        self.bar.bar_style = "warning" if note else "danger" if failed else "success"


class _RichProgress:
    def __init__(self, job: BatchJob) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn

        self.progress = Progress(
            TextColumn("batch"),
            BarColumn(),
            TextColumn("{task.fields[line]}"),
            console=Console(stderr=True),
            auto_refresh=False,
        )
        self.task = self.progress.add_task("batch", total=max(job.requests, 1), line="")
        self.progress.start()

    def update(self, job: BatchJob) -> None:
        done = job.succeeded + job.failed
        self.progress.update(self.task, completed=done, line=job_line(job))
        self.progress.refresh()

    def close(self, job: BatchJob, note: str | None = None) -> None:
        line = job_line(job) + (f" · {note}" if note else "")
        self.progress.update(self.task, completed=job.succeeded + job.failed, line=line)
        self.progress.refresh()
        self.progress.stop()


class _CallbackProgress:
    def __init__(self, fn: Callable[[BatchJob], Any]) -> None:
        self.fn = fn

    def update(self, job: BatchJob) -> None:
        self.fn(job)

    def close(self, job: BatchJob, note: str | None = None) -> None:
        self.fn(job)


def make_progress(progress: Any, job: BatchJob) -> Any:
    """The display `progress=` asks for (as for llm.map); None when there is nothing to show."""
    if progress is False or progress is None:
        return None
    if callable(progress):
        return _CallbackProgress(progress)
    if progress is True:
        if in_jupyter():
            return _WidgetProgress(job) if _importable("ipywidgets") else None
        if sys.stderr.isatty() and _importable("rich"):
            return _RichProgress(job)
        return None
    if progress in ("widget", "rich"):
        package = "ipywidgets" if progress == "widget" else "rich"
        if not _importable(package):
            raise MissingDependencyError(package, "notebook")
        return _WidgetProgress(job) if progress == "widget" else _RichProgress(job)
    raise ConfigError(
        f"progress= takes True, False, 'widget', 'rich' or a function of the job, not {progress!r}."
    )
