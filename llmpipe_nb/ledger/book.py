"""`Ledger`: cost and trace rows in memory, persisted to SQLite on request, and the
DataFrames, summary, plots and exports built from them on demand (pandas and matplotlib
are imported then, never at `import llmpipe_nb`)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, MissingDependencyError
from ..request import Request
from . import frames, plots
from .rows import LedgerRows, add_spending, rows_for
from .schema import COST_DTYPES, TRACE_DTYPES

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from .store import SQLiteLedgerStore


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
        from .store import SQLiteLedgerStore

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
            add_spending(self._spent, costs)
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
        from .store import SQLiteLedgerStore

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
        df = frames.dataframe(rows, COST_DTYPES, "ts")
        return frames.filtered(df, "ts", since, provider=provider, model=model, tags=tags)

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
        df = frames.dataframe(rows, TRACE_DTYPES, "started_at")
        df = frames.filtered(df, "started_at", since)
        if provider is None and model is None and tags is None:
            return df
        keep = self.costs(provider=provider, model=model, tags=tags).request_id
        return df[df.request_id.isin(keep)].reset_index(drop=True)

    def summary(self, **filters: Any) -> pd.DataFrame:
        """Per provider and model: requests, tokens, cost, cache hits, cost saved, error rate,
        p50 and p95 latency."""
        return frames.summary(self.costs(**filters))

    # -- plots (matplotlib through pandas; each returns its Axes) ----------------------

    def plot_cost_over_time(self, ax: Axes | None = None, **filters: Any) -> Axes:
        """Cumulative spend over time, one line per provider/model."""
        return plots.cost_over_time(self.costs(**filters), ax)

    def plot_cost_by_model(self, ax: Axes | None = None, **filters: Any) -> Axes:
        """Total cost per provider/model, as horizontal bars."""
        return plots.cost_by_model(self.costs(**filters), ax)

    def plot_latency(self, ax: Axes | None = None, bins: int = 30, **filters: Any) -> Axes:
        """The distribution of request latency in milliseconds."""
        return plots.latency(self.costs(**filters), ax, bins)

    def plot_plug_time(self, ax: Axes | None = None, **filters: Any) -> Axes:
        """Each plug's share of the total time spent in plugs, in percent."""
        return plots.plug_time(self.traces(**filters), ax)

    # -- export ------------------------------------------------------------------------

    def to_csv(self, path: str | os.PathLike[str], table: str = "costs", **filters: Any) -> None:
        """Write the costs (or traces) table as CSV; tags become a JSON list."""
        frames.exportable(self._table(table, filters)).to_csv(path, index=False)

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
        return frames.summary_table(repr(self), self.summary())

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
