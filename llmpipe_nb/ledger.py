"""The ledger: one cost row per finished request and one trace row per plug it ran.

Every request that finishes in any pipeline (simple API, builder, magic; answered,
cached, failed or halted) is recorded by a pipeline listener as plain tuples appended
under a lock: a few microseconds, nothing more on the hot path. DataFrames, summaries
and plots are built only when asked, so pandas and matplotlib are imported then and
never at `import llmpipe_nb`.

    llm.costs(provider="openai", since="2024-06-01")   # one row per request
    llm.traces()                                        # one row per plug execution
    llm.ledger().summary()                              # per provider and model
    llm.ledger().persist("costs.sqlite")                # or LLMPIPE_LEDGER=costs.sqlite
    llm.Ledger.open("costs.sqlite").costs()             # the history, in a new kernel
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from . import pipeline
from .errors import ConfigError, MissingDependencyError, StoreError, redact
from .request import Request
from .responses import Usage
from .tagging import active_tags, check_tags, merge, tag

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from .stores.ledger_sqlite import SQLiteLedgerStore

LEDGER_ENV = "LLMPIPE_LEDGER"
log = logging.getLogger("llmpipe_nb.ledger")

#: column -> dtype of `costs()`, in order
COST_DTYPES: Mapping[str, str] = {
    "request_id": "string",
    "ts": "datetime64[ns, UTC]",
    "provider": "string",
    "model": "string",
    "kind": "string",
    "status": "string",
    "input_tokens": "int64",
    "output_tokens": "int64",
    "cached_input_tokens": "int64",
    "reasoning_tokens": "int64",
    "cost_usd": "float64",
    "cost_status": "string",
    "cost_saved_usd": "float64",
    "latency_ms": "float64",
    "ttft_ms": "float64",
    "cache_hit": "bool",
    "attempts": "int64",
    "error_type": "string",
    "tags": "object",  # a tuple of strings
}
#: column -> dtype of `traces()`, in order
TRACE_DTYPES: Mapping[str, str] = {
    "request_id": "string",
    "step": "int64",
    "plug": "string",
    "started_at": "datetime64[ns, UTC]",
    "duration_us": "float64",
    "outcome": "string",
    "note": "string",
}
COST_COLUMNS = tuple(COST_DTYPES)
TRACE_COLUMNS = tuple(TRACE_DTYPES)
_PROVIDER, _MODEL, _COST, _TAGS = (
    COST_COLUMNS.index(c) for c in ("provider", "model", "cost_usd", "tags")
)


class LedgerRows(NamedTuple):
    """Plain rows in column order (picklable: they travel between processes)."""

    costs: list[tuple[Any, ...]]
    traces: list[tuple[Any, ...]]


def rows_for(done: Request) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """The cost row and trace rows of one finished request."""
    meta = done.metadata
    result = done.result
    cache_hit = bool(meta.get("cache_hit") or getattr(result, "cache_hit", False))
    usage = None if cache_hit else getattr(result, "usage", None)
    error = done.terminal_error
    if usage is None and error is not None:
        usage = getattr(error, "usage", None)  # an interrupted stream was billed for its part
    if not isinstance(usage, Usage):
        usage = None
    if "cost_usd" in meta:
        cost, status = meta["cost_usd"], meta.get("cost_status")
    elif cache_hit:
        cost, status = 0.0, "cached"
    elif usage is not None:
        cost, status = getattr(result, "cost", None), getattr(result, "cost_status", None)
    else:
        cost, status = 0.0, None
    saved = meta.get("cost_saved", getattr(result, "cost_saved", None)) if cache_hit else 0.0
    started = meta.get("started_at_ns", 0)
    model = getattr(result, "model", None) or done.model
    latency = meta.get("latency_ms")
    if latency is None:
        latency = meta.get("duration_ns", 0) / 1e6
    cost_row = (
        done.id,
        started,
        done.provider,
        model,
        done.kind,
        done.state,
        usage.input_tokens if usage else 0,
        usage.output_tokens if usage else 0,
        usage.cached_input_tokens if usage else 0,
        usage.reasoning_tokens if usage else 0,
        cost,
        status,
        saved,
        latency,
        meta.get("ttft_ms"),
        cache_hit,
        meta.get("attempts", 0),
        None if error is None else type(error).__name__,
        merge(tuple(meta.get("tags", ())), active_tags()),
    )
    steps = meta.get("trace", ())
    origin = started - steps[0].started_at_ns if steps else 0
    trace_rows = [
        (
            done.id,
            s.index,
            s.plug,
            origin + s.started_at_ns,
            s.duration_ns / 1000,
            s.outcome,
            None if s.note is None else redact(str(s.note)),
        )
        for s in steps
    ]
    return cost_row, trace_rows


class Ledger:
    """Cost and trace rows, with DataFrames, a summary, plots and exports built on demand.

    `llm.ledger()` is the ledger of this process; `Ledger.open(path)` is a snapshot of a
    persisted file (every process that wrote to it).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._costs: list[tuple[Any, ...]] = []
        self._traces: list[tuple[Any, ...]] = []
        self._spent: dict[tuple[str, str | None, str | None], float] = {}
        self._store: SQLiteLedgerStore | None = None
        self._from_env = False

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Ledger:
        """The rows of a persisted ledger file, as they are now (open it again for later rows)."""
        from .stores.ledger_sqlite import SQLiteLedgerStore

        store = SQLiteLedgerStore(path, create=False)
        try:
            ledger = cls()
            ledger._add(*store.read())
        finally:
            store.close()
        return ledger

    # -- recording ---------------------------------------------------------------------

    def record(self, done: Request) -> None:
        """Add the rows of a finished request (the pipeline listener calls this)."""
        cost_row, trace_rows = rows_for(done)
        self._add([cost_row], trace_rows)

    def extend(self, rows: LedgerRows) -> None:
        """Add rows recorded elsewhere (another process, a worker) to this ledger."""
        self._add(list(rows.costs), list(rows.traces))

    def _add(self, costs: list[tuple[Any, ...]], traces: list[tuple[Any, ...]]) -> None:
        with self._lock:
            self._costs.extend(costs)
            self._traces.extend(traces)
            spent = self._spent
            for row in costs:
                cost = row[_COST]
                if cost:
                    for key in _spent_keys(row):
                        spent[key] = spent.get(key, 0.0) + cost
            store = self._store
        if store is not None:
            store.write(costs, traces)

    def rows(self) -> LedgerRows:
        """A copy of every row, in recording order."""
        with self._lock:
            return LedgerRows(list(self._costs), list(self._traces))

    def __len__(self) -> int:
        return len(self._costs)

    def spent(
        self, *, provider: str | None = None, model: str | None = None, tag: str | None = None
    ) -> float:
        """USD recorded so far, overall or for one provider, model or tag (without pandas)."""
        with self._lock:
            return sum(
                v
                for (p, m, t), v in self._spent.items()
                if t == tag and provider in (None, p) and model in (None, m)
            )

    def reset(self) -> None:
        """Forget the rows in memory (a persisted file keeps them)."""
        with self._lock:
            self._costs.clear()
            self._traces.clear()
            self._spent.clear()

    # -- persistence -------------------------------------------------------------------

    def persist(self, path: str | os.PathLike[str] | None) -> Ledger:
        """Write the rows so far and every later row to the SQLite file at `path`; None stops."""
        from .stores.ledger_sqlite import SQLiteLedgerStore

        store = None if path is None else SQLiteLedgerStore(path)
        with self._lock:
            old, self._store, self._from_env = self._store, store, False
            backlog = LedgerRows(list(self._costs), list(self._traces))
        if old is not None:
            old.close()
        if store is not None and backlog.costs:
            store.write(backlog.costs, backlog.traces)
        return self

    @property
    def path(self) -> str | None:
        """The file rows are written to, if any."""
        store = self._store
        return None if store is None else str(store.path)

    # -- DataFrames --------------------------------------------------------------------

    def costs(
        self,
        *,
        since: Any = None,
        provider: str | Iterable[str] | None = None,
        model: str | Iterable[str] | None = None,
        tags: str | Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """One row per request, in time order; filter by start time, provider, model, tags.

        `since` is a datetime, a date string, or a timedelta (the last hour: timedelta(hours=1));
        `tags` keeps rows that carry every given tag.
        """
        with self._lock:
            rows = list(self._costs)
        df = _frame(rows, COST_DTYPES, "ts")
        return _filter(df, "ts", since, provider=provider, model=model, tags=tags)

    def traces(
        self,
        *,
        since: Any = None,
        provider: str | Iterable[str] | None = None,
        model: str | Iterable[str] | None = None,
        tags: str | Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """One row per plug execution, in time order; the filters apply to each request's row."""
        with self._lock:
            rows = list(self._traces)
        df = _frame(rows, TRACE_DTYPES, "started_at")
        df = _filter(df, "started_at", since)
        if provider is None and model is None and tags is None:
            return df
        keep = self.costs(provider=provider, model=model, tags=tags).request_id
        return df[df.request_id.isin(keep)].reset_index(drop=True)

    def summary(self, **filters: Any) -> pd.DataFrame:
        """Per provider and model: requests, tokens, cost, cache hits, cost saved, error rate,
        p50 and p95 latency."""
        return _summary(self.costs(**filters))

    # -- plots (matplotlib through pandas; each returns its Axes) ----------------------

    def plot_cost_over_time(self, ax: Axes | None = None, **filters: Any) -> Axes:
        """Cumulative spend over time, one line per provider/model."""
        df = _labelled(self.costs(**filters))
        wide = df.pivot_table(index="ts", columns="label", values="cost", aggfunc="sum")
        return _plot(
            wide.fillna(0.0).cumsum(),
            ax,
            "Cumulative cost (USD)",
            "line",
            "time",
            "USD",
            drawstyle="steps-post",
        )

    def plot_cost_by_model(self, ax: Axes | None = None, **filters: Any) -> Axes:
        """Total cost per provider/model, as horizontal bars."""
        by = _labelled(self.costs(**filters)).groupby("label").cost.sum().sort_values()
        return _plot(by, ax, "Cost by model (USD)", "barh", "USD")

    def plot_latency(self, ax: Axes | None = None, bins: int = 30, **filters: Any) -> Axes:
        """The distribution of request latency in milliseconds."""
        latency = self.costs(**filters).latency_ms.dropna()
        return _plot(latency, ax, "Latency (ms)", "hist", "ms", "requests", bins=bins)

    def plot_plug_time(self, ax: Axes | None = None, **filters: Any) -> Axes:
        """Each plug's share of the total time spent in plugs, in percent."""
        by = self.traces(**filters).groupby("plug").duration_us.sum()
        share = (100 * by / by.sum()).sort_values()
        return _plot(share, ax, "Share of time per plug (%)", "barh", "% of time")

    # -- export ------------------------------------------------------------------------

    def to_csv(self, path: str | os.PathLike[str], table: str = "costs", **filters: Any) -> None:
        """Write the costs (or traces) table as CSV; tags become a JSON list."""
        _exportable(self._table(table, filters)).to_csv(path, index=False)

    def to_parquet(
        self, path: str | os.PathLike[str], table: str = "costs", **filters: Any
    ) -> None:
        """Write the costs (or traces) table as Parquet (needs pyarrow: the `parquet` extra)."""
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise MissingDependencyError("pyarrow", "parquet") from None
        df = self._table(table, filters)
        if "tags" in df:
            df = df.assign(tags=df.tags.map(list))
        df.to_parquet(path, index=False)

    def _table(self, table: str, filters: Mapping[str, Any]) -> pd.DataFrame:
        if table not in ("costs", "traces"):
            raise ConfigError(f"Unknown ledger table {table!r}: use 'costs' or 'traces'.")
        return self.costs(**filters) if table == "costs" else self.traces(**filters)

    # -- display -----------------------------------------------------------------------

    def __repr__(self) -> str:
        with self._lock:
            n = len(self._costs)
            spent = sum(v for (_, _, t), v in self._spent.items() if t is None)
        where = f", persisted to {self.path}" if self.path else ""
        return f"Ledger(requests={n}, cost=${spent:.6f}{where})"

    def __rich__(self) -> Any:
        """The summary as a rich Table (the `llmpipe costs` command prints this)."""
        return _rich_table(repr(self), self.summary())

    def _repr_html_(self) -> str | None:
        if not len(self):
            table = "<p>No requests recorded yet.</p>"
        else:
            try:
                table = self.summary().to_html(float_format=lambda v: f"{v:.6g}", na_rep="-")
            except MissingDependencyError:
                return None  # the text repr stands in
        import html

        box = f"llmpipe-ledger-{os.urandom(6).hex()}"
        return (
            f'<div id="{box}"><style>#{box} table{{border-collapse:collapse;font-size:12px}}'
            f"#{box} th,#{box} td{{padding:2px 8px;text-align:right}}"
            f"#{box} caption{{text-align:left;font-weight:bold}}</style>"
            f"<p><b>{html.escape(repr(self))}</b></p>{table}</div>"
        )


def _rich_table(title: str, summary: pd.DataFrame) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text  # plain text: names are never read as rich markup

    table = Table(title=Text(title), title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("provider/model")
    for name in ("requests", "tokens in/out", "cost $", "cache hits", "saved $", "errors"):
        table.add_column(name, justify="right")
    table.add_column("p50/p95 ms", justify="right")
    for r in summary.itertuples():  # keeps each column's dtype, unlike iterrows
        provider, model = r.Index
        table.add_row(
            Text(f"{provider}/{model}"),
            f"{r.requests:,}",
            f"{r.input_tokens:,}/{r.output_tokens:,}",
            _usd(r.cost_usd),
            f"{r.cache_hits:,}",
            _usd(r.cost_saved_usd),
            f"{r.error_rate:.1%}",
            f"{r.p50_latency_ms:,.1f}/{r.p95_latency_ms:,.1f}",
        )
    return table


def _usd(value: float) -> str:
    return "unpriced" if value != value else f"{value:.6f}"


def _labelled(df: pd.DataFrame) -> pd.DataFrame:
    """Costs with a "provider/model" label and unpriced rows counted as 0 for drawing."""
    return df.assign(label=df.provider + "/" + df.model.fillna("?"), cost=df.cost_usd.fillna(0.0))


def _plot(
    data: Any,
    ax: Axes | None,
    title: str,
    kind: str,
    xlabel: str,
    ylabel: str | None = None,
    **options: Any,
) -> Axes:
    """Draw through pandas; with no rows, an empty chart that says so instead of an error."""
    if data.empty:
        import matplotlib.pyplot as plt

        ax = ax if ax is not None else plt.figure().add_subplot()
        ax.set_title(title)
        ax.text(0.5, 0.5, "no rows", ha="center", va="center", transform=ax.transAxes)
    else:
        ax = data.plot(kind=kind, ax=ax, title=title, **options)
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    return ax


def _spent_keys(row: tuple[Any, ...]) -> list[tuple[str, str | None, str | None]]:
    provider, model = row[_PROVIDER], row[_MODEL]
    return [(provider, model, None), *((provider, model, t) for t in row[_TAGS])]


# -- DataFrame building (pandas imported here, on demand) -----------------------------


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise MissingDependencyError("pandas", "notebook") from None
    return pd


def _frame(rows: list[tuple[Any, ...]], dtypes: Mapping[str, str], time_col: str) -> pd.DataFrame:
    pd = _pandas()
    df = pd.DataFrame.from_records(rows, columns=list(dtypes))
    for name, dtype in dtypes.items():
        if dtype.startswith("datetime"):
            df[name] = pd.to_datetime(df[name].astype("int64"), unit="ns", utc=True)
    df = df.astype({n: t for n, t in dtypes.items() if t != "object" and not t.startswith("date")})
    return df.sort_values(time_col, kind="stable", ignore_index=True)


def _filter(
    df: pd.DataFrame,
    time_col: str,
    since: Any,
    *,
    provider: Any = None,
    model: Any = None,
    tags: Any = None,
) -> pd.DataFrame:
    mask = None
    if since is not None:
        mask = df[time_col] >= _since(since)
    for col, wanted in (("provider", provider), ("model", model)):
        if wanted is not None:
            values = [wanted] if isinstance(wanted, str) else list(wanted)
            m = df[col].isin(values)
            mask = m if mask is None else mask & m
    if tags is not None:
        needed = set(check_tags([tags] if isinstance(tags, str) else tags))
        m = df.tags.map(lambda t: needed.issubset(t)).astype(bool)
        mask = m if mask is None else mask & m
    return df if mask is None else df[mask].reset_index(drop=True)


def _since(since: Any) -> Any:
    from datetime import datetime, timedelta, timezone

    pd = _pandas()
    if isinstance(since, timedelta):
        return pd.Timestamp(datetime.now(timezone.utc) - since)
    try:
        ts = pd.Timestamp(since)
    except (ValueError, TypeError):
        raise ConfigError(
            f"since={since!r} is not a time: give a datetime, a date string such as "
            "'2024-06-01 12:00', or a timedelta."
        ) from None
    if ts.tzinfo is None:  # a naive time is the user's local time
        ts = ts.tz_localize(datetime.now().astimezone().tzinfo)
    return ts


def _summary(df: pd.DataFrame) -> pd.DataFrame:
    pd = _pandas()
    df = df.assign(
        model=df.model.fillna("?"),
        is_error=(df.status == "error").astype(bool),
        tokens=df.input_tokens + df.output_tokens,
    )
    grouped = df.groupby(["provider", "model"], sort=True)
    out = pd.DataFrame(
        {
            "requests": grouped.size(),
            "input_tokens": grouped.input_tokens.sum(),
            "output_tokens": grouped.output_tokens.sum(),
            "cost_usd": grouped.cost_usd.sum(min_count=1),
            "cache_hits": grouped.cache_hit.sum(),
            "cost_saved_usd": grouped.cost_saved_usd.sum(min_count=0),
            "error_rate": grouped.is_error.mean(),
            "p50_latency_ms": grouped.latency_ms.quantile(0.5),
            "p95_latency_ms": grouped.latency_ms.quantile(0.95),
        }
    )
    return out.astype({"requests": "int64", "cache_hits": "int64", "error_rate": "float64"})


def _exportable(df: pd.DataFrame) -> pd.DataFrame:
    import json

    return df.assign(tags=df.tags.map(lambda t: json.dumps(list(t)))) if "tags" in df else df


# -- the process ledger --------------------------------------------------------------

_ledger = Ledger()
_env_path: str | None = None
_env_lock = threading.Lock()


def ledger() -> Ledger:
    """The ledger of this process: every request any pipeline finished here."""
    return _ledger


def costs(**filters: Any) -> pd.DataFrame:
    """One row per request this process finished (see `Ledger.costs` for the filters)."""
    return _ledger.costs(**filters)


def traces(**filters: Any) -> pd.DataFrame:
    """One row per plug execution of the requests this process finished."""
    return _ledger.traces(**filters)


def _record(done: Request) -> None:
    """The pipeline listener: follows LLMPIPE_LEDGER, then records the request."""
    global _env_path
    path = os.environ.get(LEDGER_ENV) or None
    if path != _env_path:
        with _env_lock:
            if path != _env_path:
                _env_path = path
                if _ledger._store is None or _ledger._from_env:
                    try:
                        _ledger.persist(path)
                        _ledger._from_env = path is not None
                    except StoreError as error:  # the rows stay in memory
                        _ledger.persist(None)
                        log.warning("%s=%s is not used: %s", LEDGER_ENV, path, error)
    _ledger.record(done)


pipeline.add_listener(_record)

__all__ = ["Ledger", "LedgerRows", "costs", "ledger", "tag", "traces"]
