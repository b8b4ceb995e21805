"""Ledger rows as typed DataFrames, their filters, the summary and its exports.

pandas is imported inside these functions, on the first call, never at `import llmpipe_nb`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, MissingDependencyError
from ..tagging import check_tags

if TYPE_CHECKING:
    import pandas as pd


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise MissingDependencyError("pandas", "notebook") from None
    return pd


def dataframe(
    rows: list[tuple[Any, ...]], dtypes: Mapping[str, str], time_col: str
) -> pd.DataFrame:
    """Rows as a DataFrame with the schema's dtypes (times in UTC), in time order."""
    pd = _pandas()
    df = pd.DataFrame.from_records(rows, columns=list(dtypes))
    for name, dtype in dtypes.items():
        if dtype.startswith("datetime"):
            df[name] = pd.to_datetime(df[name].astype("int64"), unit="ns", utc=True)
    df = df.astype({n: t for n, t in dtypes.items() if t != "object" and not t.startswith("date")})
    return df.sort_values(time_col, kind="stable", ignore_index=True)


def filtered(
    df: pd.DataFrame,
    time_col: str,
    since: Any,
    *,
    provider: Any = None,
    model: Any = None,
    tags: Any = None,
) -> pd.DataFrame:
    """The rows from `since` on, of the given providers and models, carrying every tag."""
    mask = None
    if since is not None:
        mask = df[time_col] >= _since(since)
    for col, wanted in (("provider", provider), ("model", model)):
        if wanted is not None:
            m = df[col].isin(_names(col, wanted))
            mask = m if mask is None else mask & m
    if tags is not None:
        needed = set(check_tags(_listed("tags", tags)))
        m = df.tags.map(lambda t: needed.issubset(t)).astype(bool)
        mask = m if mask is None else mask & m
    return df if mask is None else df[mask].reset_index(drop=True)


FILTERS = ("since", "provider", "model", "tags")


def known_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """`filters`, or ConfigError naming one that does not exist and the closest that does."""
    for name in filters:
        if name not in FILTERS:
            close = difflib.get_close_matches(name, FILTERS, n=1)
            hint = f"did you mean {close[0]}=? " if close else ""
            raise ConfigError(
                f"There is no filter {name}=: {hint}The filters are {', '.join(FILTERS)}."
            )
    return filters


def _listed(what: str, wanted: Any) -> tuple[Any, ...]:
    """One name or an iterable of names, as a tuple; ConfigError for anything else."""
    if isinstance(wanted, str):
        return (wanted,)
    try:
        return tuple(wanted)
    except TypeError:
        raise ConfigError(
            f"{what}={wanted!r} is not a filter: give a name or a list of names."
        ) from None


def _names(what: str, wanted: Any) -> tuple[str, ...]:
    names = _listed(what, wanted)
    for name in names:
        if not isinstance(name, str):
            raise ConfigError(f"{what}= takes names (strings), not {name!r}.")
    return names


def _since(since: Any) -> Any:
    from datetime import datetime, timedelta, timezone

    pd = _pandas()
    if isinstance(since, timedelta):
        return pd.Timestamp(datetime.now(timezone.utc) - since)
    try:
        if isinstance(since, (int, float)):  # pandas reads 5 as 5 ns after 1970: everything
            raise TypeError
        ts = pd.Timestamp(since)
    except (ValueError, TypeError):
        raise ConfigError(
            f"since={since!r} is not a time: give a datetime, a date string such as "
            "'2024-06-01 12:00', or a timedelta."
        ) from None
    if ts.tzinfo is None:  # a naive time is the user's local time
        ts = ts.tz_localize(datetime.now().astimezone().tzinfo)
    return ts


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Cost rows aggregated per provider and model."""
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


def exportable(df: pd.DataFrame) -> pd.DataFrame:
    """Tags as JSON lists, which a CSV cell can hold."""
    import json

    return df.assign(tags=df.tags.map(lambda t: json.dumps(list(t)))) if "tags" in df else df


def summary_table(title: str, summary: pd.DataFrame) -> Any:
    """The summary as a rich Table for terminals."""
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
