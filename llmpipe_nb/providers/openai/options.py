"""Chat options checked against the capability table before anything is sent.

A parameter the model refuses is a ConfigError naming the model, the parameter and what to
do instead, since a 400 after a round trip says less. Two cases are mended with a one-time
warning instead, because the request could not succeed otherwise and the fix is what the
API itself asks for: an explicit `n=1` is dropped (it is the default), and when the
reasoning effort was left unset, sampling parameters or function tools on a model that
takes them only without reasoning send `reasoning_effort="none"`. `extra_body` is sent as
given and never checked: it is the way around a table that is behind the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ... import notices
from ...errors import ConfigError
from .capabilities import EFFORTS, SERVICE_TIERS, VERBOSITIES, ModelRules, rules_for

_SAMPLING = ("temperature", "top_p")
_LOGPROBS = ("logprobs", "top_logprobs")
_warned: set[tuple[str, str]] = set()


def checked_options(model: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """`options` as they may be sent to `model`; ConfigError for what it refuses."""
    out = dict(options)
    _check_values(out)
    rules = rules_for(model)
    effort = out.get("reasoning_effort")
    if effort is not None:
        _check_effort(model, rules, effort)
    if out.get("verbosity") is not None and not rules.verbosity:
        raise ConfigError(
            f"{model} does not accept verbosity: remove it (a GPT-5 or later model takes it)."
        )
    if out.get("stop") is not None and not rules.stop:
        raise ConfigError(
            f"{model} does not accept stop: remove it, and cut the answer where you need to."
        )
    if out.get("n") is not None and not rules.n:
        if out["n"] != 1:
            raise ConfigError(
                f"{model} does not accept n={out['n']}: send one request per answer you need."
            )
        del out["n"]
        _warn_once(model, "n", f"{model} refuses an explicit n, even n=1: n=1 is not sent.")
    sampling = [key for key in _SAMPLING if out.get(key) is not None]
    if rules.sampling == "never":
        refused = sampling + [key for key in _LOGPROBS if out.get(key)]
        if refused:
            raise ConfigError(
                f"{model} always reasons and refuses {' and '.join(refused)}: remove "
                f"{'it' if len(refused) == 1 else 'them'} (reasoning_effort steers it instead)."
            )
    elif rules.sampling == "effort_none" and sampling:
        names = " and ".join(sampling)
        _need_effort_none(model, out, names, f"remove {names}")
    if rules.tools_need_effort_none and out.get("tools"):
        _need_effort_none(model, out, "function tools", "drop the tools")
    return out


def _check_values(options: Mapping[str, Any]) -> None:
    for key, values in (
        ("reasoning_effort", EFFORTS),
        ("verbosity", VERBOSITIES),
        ("service_tier", SERVICE_TIERS),
    ):
        value = options.get(key)
        if value is not None and value not in values:
            raise ConfigError(f"{key} must be one of {_listed(values)}, not {value!r}.")


def _check_effort(model: str, rules: ModelRules, effort: str) -> None:
    if not rules.reasoning:
        raise ConfigError(
            f"{model} is not a reasoning model and refuses reasoning_effort: remove it, "
            "or choose a reasoning model."
        )
    if rules.efforts is not None and effort not in rules.efforts:
        raise ConfigError(
            f"{model} does not accept reasoning_effort={effort!r}: "
            f"use one of {_listed(rules.efforts)}."
        )


def _need_effort_none(model: str, out: dict[str, Any], what: str, other_way: str) -> None:
    """Require reasoning_effort "none": refuse another value, send it when none was set."""
    effort = out.get("reasoning_effort")
    if effort == "none":
        return
    if effort is not None:
        raise ConfigError(
            f"{model} takes {what} only with reasoning_effort='none', not {effort!r}: "
            f"pass reasoning_effort='none', or {other_way}."
        )
    out["reasoning_effort"] = "none"
    _warn_once(
        model,
        what,
        f"{model} takes {what} only without reasoning: reasoning_effort='none' is sent. "
        f"Pass reasoning_effort='none' yourself to silence this, or {other_way}.",
    )


def _warn_once(model: str, what: str, message: str) -> None:
    if (model, what) not in _warned:
        _warned.add((model, what))
        notices.warn(__name__, message, UserWarning, stacklevel=2)


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(repr(v) for v in values)
