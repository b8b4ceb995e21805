"""Which models are deprecated, retired or re-routed: the bundled table, and what it drives.

`lifecycle.json` (next to this module) lists, per provider and model: its status
(active, legacy, deprecated, retired), its deprecation and retirement dates, the
recommended replacement, whether the provider re-routes the retired id to that
replacement, the source and how it was verified. The request path reads it through a
cached dict lookup, never anything slower:

- FetchConfig warns once per process and model when a request names a deprecated model;
- the HTTP error mapping turns a provider's not-found answer for a retired model into
  `ModelRetiredError` naming the replacement;
- TrackCost prices a re-routed answer as the model that gave it, and says so once;
- `list_models()` and `llmpipe models --check` show each model's status.

The table is data about the providers, not a source of truth about them: the live
`/v1/models` lifecycle fields, where a provider sends them, win over it.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import notices
from .errors import BadRequestError, ModelRetiredError, ProviderError

TABLE = Path(__file__).with_name("lifecycle.json")
STATUSES = ("active", "legacy", "deprecated", "retired")
_DATED = re.compile(r"-\d{4}-\d{2}-\d{2}$")
#: the model a request asked for, from a Gemini-style URL path (`.../models/<id>:action`)
_MODEL_PATH = re.compile(r"/models/([^/:]+):\w+$")
#: how providers name the model in a not-found answer (Anthropic, OpenAI)
_NAMED = (re.compile(r"^model: (\S+)$"), re.compile(r"model [`'\"]([^`'\"]+)[`'\"]"))
_NOT_FOUND_CODES = frozenset({"model_not_found", "model_decommissioned", "not_found_error"})
_warned: set[tuple[str, str]] = set()


class ModelLifecycleWarning(UserWarning):
    """A request named a deprecated model, or a retired one the provider answered with another.

    A `UserWarning`, so it shows by default wherever the call is made; silence it with
    `warnings.filterwarnings("ignore", category=llm.ModelLifecycleWarning)`.
    """


@dataclass(frozen=True, slots=True)
class ModelLifecycle:
    """One model's row of the lifecycle table; dates are ISO `YYYY-MM-DD` strings."""

    provider: str
    model: str
    status: str
    deprecated: str | None
    retires: str | None
    replacement: str | None
    rerouted: bool
    note: str | None
    source: str
    checked: str
    verified: str

    @property
    def gone(self) -> bool:
        """Retired, or deprecated with its retirement date passed (overdue, probably gone)."""
        return self.status == "retired" or (
            self.status == "deprecated" and self.retires is not None and self.retires <= today()
        )

    def advice(self) -> str:
        """What to do instead, in a few words."""
        use = f"use '{self.replacement}' instead" if self.replacement else "no replacement is named"
        return f"{use} ({self.note})" if self.note else use


def today() -> str:
    """Today's date in UTC, as the table writes dates."""
    return datetime.now(timezone.utc).date().isoformat()


@lru_cache(maxsize=1)
def _index() -> tuple[dict[tuple[str, str], ModelLifecycle], frozenset[tuple[str, str]]]:
    """(provider, model) -> row, and the rows whose dated snapshots (`-YYYY-MM-DD`) share it."""
    data = json.loads(TABLE.read_text(encoding="utf-8"))
    rows: dict[tuple[str, str], ModelLifecycle] = {}
    dated = set()
    for row in data["models"]:
        for model in row["models"]:
            key = (row["provider"], model)
            rows[key] = ModelLifecycle(
                provider=row["provider"],
                model=model,
                status=row["status"],
                deprecated=row.get("deprecated"),
                retires=row.get("retires"),
                replacement=row.get("replacement"),
                rerouted=bool(row.get("rerouted")),
                note=row.get("note"),
                source=row["source"],
                checked=row["checked"],
                verified=row["verified"],
            )
            if row.get("dated_ids"):
                dated.add(key)
    return rows, frozenset(dated)


def entries() -> list[ModelLifecycle]:
    """Every row of the table, in its order."""
    return list(_index()[0].values())


@lru_cache(maxsize=1024)
def lookup(provider: str, model: str | None) -> ModelLifecycle | None:
    """The row for `model` of `provider` (a dated snapshot finds its family's), or None."""
    if not model:
        return None
    rows, dated = _index()
    model = model.removeprefix("models/")
    row = rows.get((provider, model))
    if row is None and _DATED.search(model):
        family = (provider, _DATED.sub("", model))
        if family in dated:
            return rows[family]
    return row


def warn_if_deprecated(provider: str, model: str | None) -> None:
    """Warn once per process and model when `model` is deprecated (FetchConfig calls this)."""
    row = lookup(provider, model)
    if row is None or row.status != "deprecated" or (provider, str(model)) in _warned:
        return
    _warned.add((provider, str(model)))
    when = (
        "with no retirement date announced"
        if row.retires is None
        else f"and was due to retire on {row.retires}, so it may be gone"
        if row.gone
        else f"and retires on {row.retires}"
    )
    notices.warn(
        __name__,
        f"Model '{model}' of {provider} is deprecated {when}: {row.advice()}.",
        ModelLifecycleWarning,
        stacklevel=_outside(),
    )


def answered_by(provider: str, requested: str | None, answered: str | None) -> str | None:
    """The model whose price applies to an answer: for a model the provider re-routes, the
    model that answered (the replacement when the answer names the retired id), said once."""
    row = lookup(provider, requested)
    if row is None or not row.rerouted or not row.replacement or requested is None:
        return answered
    same = not answered or answered == requested or answered.startswith(requested + "-")
    actual = row.replacement if same else answered
    if (provider, requested) not in _warned:
        _warned.add((provider, requested))
        retired = f"was retired on {row.retires}" if row.retires else "was retired"
        notices.warn(
            __name__,
            f"Model '{requested}' of {provider} {retired}: {provider} answered with "
            f"'{actual}' instead, at that model's price (recorded as such); ask for "
            f"'{row.replacement}' or another current model directly.",
            ModelLifecycleWarning,
            stacklevel=_outside(),
        )
    return actual


def retired_error(error: ProviderError, path: str, sent: bytes) -> ProviderError:
    """`error` as a `ModelRetiredError` when it is a not-found answer for a model the table
    says is gone (the model named in the answer, else the one the request at `path`, with
    JSON body `sent`, asked for); else `error`."""
    if not isinstance(error, BadRequestError) or isinstance(error, ModelRetiredError):
        return error
    codes = {error.error_type, _code(error.body)}
    if error.status_code != 404 and not codes & _NOT_FOUND_CODES:
        return error
    provider = error.provider or ""
    model = _named_model(error.message)
    row = lookup(provider, model)
    if row is None:
        model = requested_model(path, sent)
        row = lookup(provider, model)
    if row is None or model is None or not row.gone:
        return error
    when = f" on {row.retires}" if row.retires else ""
    return ModelRetiredError(
        f"Model '{model}' was retired{when} and {provider} no longer serves it: "
        f"{row.advice()}; {provider} said: {error.message}",
        model=model,
        replacement=row.replacement,
        provider=error.provider,
        status_code=error.status_code,
        error_type=error.error_type,
        request_id=error.request_id,
        body=error.body,
        request=error.request,
    )


def requested_model(path: str, body: bytes) -> str | None:
    """The model a sent request named: in its URL path (Gemini), else its JSON body's `model`."""
    match = _MODEL_PATH.search(path)
    if match:
        return match.group(1)
    try:
        sent = json.loads(body) if body else None
    except ValueError:
        return None
    model = sent.get("model") if isinstance(sent, dict) else None
    return model if isinstance(model, str) else None


def status_of(provider: str, model: str, listed: Any = None) -> tuple[str | None, str | None]:
    """(status, retirement date) of a listed model: from its `/models` entry where the provider
    sends lifecycle fields (OpenAI `shutdown_date`, Anthropic `lifecycle`/`retires_at`,
    Bedrock `modelLifecycle.status`),
    else from the table."""
    if isinstance(listed, dict):
        lifecycle, retires_at = listed.get("lifecycle"), listed.get("retires_at")
        if lifecycle in STATUSES:
            return lifecycle, _day(retires_at)
        bedrock = listed.get("modelLifecycle")  # Bedrock's ListFoundationModels: ACTIVE, LEGACY
        if isinstance(bedrock, dict) and str(bedrock.get("status")).lower() in STATUSES:
            return str(bedrock["status"]).lower(), None
        shutdown = _day(listed.get("shutdown_date"))
        if shutdown is not None:
            return ("retired" if shutdown <= today() else "deprecated"), shutdown
    row = lookup(provider, model)
    return (row.status, row.retires) if row is not None else (None, None)


def _outside() -> int:
    """The `stacklevel` of the first caller outside llmpipe_nb, for a function here that
    warns: the warning then names the user's line, not a plug's."""
    package = str(TABLE.parent)
    level, frame = 2, sys._getframe(2)
    while frame.f_code.co_filename.startswith(package) and frame.f_back is not None:
        level, frame = level + 1, frame.f_back
    return level


def _day(value: Any) -> str | None:
    """The `YYYY-MM-DD` of an ISO date or RFC 3339 time, or None."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


def _code(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def _named_model(message: str) -> str | None:
    for pattern in _NAMED:
        match = pattern.search(message)
        if match:
            return match.group(1)
    return None
