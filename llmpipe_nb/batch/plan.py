"""The plan of a batch: what every row runs through, as plain data that can travel to a worker.

A plan names the provider, the request options, the feature plugs (cache, retry,
rate limiter, circuit breaker) with their options, and the ledger tags. It is built
into a pipeline once per process, so a Dask worker rebuilds it (and connects to the
shared Redis cache) instead of receiving live plugs or connections.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import config, providers
from ..builder import Builder
from ..config import ProviderConfig
from ..errors import ConfigError
from ..plug import Plug
from ..plugs.validate_provider import CONFIG_OPTIONS
from ..pricing import Price, clear_prices, price_override, set_price
from ..request import Request

#: map() keyword -> the builder method that adds that feature plug
FEATURES = {
    "cache": "with_cache",
    "retry": "with_retry",
    "rate_limit": "with_rate_limit",
    "circuit_breaker": "with_circuit_breaker",
}


def chosen_features(
    cache: Any = None, retry: Any = None, rate_limit: Any = None, circuit_breaker: Any = None
) -> dict[str, Any]:
    """The feature keywords of `map()` and `compare()`, by name, as `Plan.make` takes them."""
    return dict(zip(FEATURES, (cache, retry, rate_limit, circuit_breaker), strict=True))


def feature_options(name: str, value: Any) -> Mapping[str, Any] | None:
    """`cache=True`, `cache="redis"` or `cache={...}` as builder options; None when off."""
    if value is None or value is False:
        return None
    if value is True:
        return {}
    if name == "cache" and isinstance(value, str):
        return {"store": value}
    if isinstance(value, Mapping):
        return dict(value)
    raise ConfigError(
        f"{name}= takes True, a dict of options{' or a store name' if name == 'cache' else ''}, "
        f"not {value!r}."
    )


@dataclass(frozen=True)
class Plan:
    """Provider, options, feature plugs and tags shared by every row of one batch."""

    provider: str
    options: Mapping[str, Any]
    features: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    tags: tuple[str, ...] = ()
    #: the caller's `llm.configure()` settings and `llm.set_price()` price for the model,
    #: applied where the plan runs in another process
    settings: Mapping[str, Any] = field(default_factory=dict)
    price: Price | None = None
    #: "stream" sends every row as a streamed chat (the chunks reach `Pipeline.astream`)
    kind: str = "chat"
    _built: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def make(
        cls,
        provider: str,
        options: Mapping[str, Any],
        tags: tuple[str, ...],
        *,
        kind: str = "chat",
        **features: Any,
    ) -> Plan:
        chosen = []
        for name, value in features.items():
            opts = feature_options(name, value)
            if opts is not None:
                chosen.append((name, opts))
        model = options.get("model") or providers.get(provider).default_model
        price = price_override(provider, model) if isinstance(model, str) else None
        settings = dict(config.configured(provider))
        plan = cls(provider, dict(options), tuple(chosen), tags, settings, price, kind)
        plan.pipeline()  # bad options and unknown providers fail here, before anything is sent
        return plan

    def config(self) -> ProviderConfig:
        """Where and how to reach the provider; MissingKeyError when there is no key, asked
        once before the first row is sent instead of failing every row."""
        explicit = {k: self.options[k] for k in CONFIG_OPTIONS if k in self.options}
        return providers.get(self.provider).resolve_config(explicit)

    def builder(self) -> Builder:
        b = Builder(self.provider, kind=self.kind).with_options(**self.options)
        for name, opts in self.features:
            b = getattr(b, FEATURES[name])(**opts)
        return b.with_tags(*self.tags) if self.tags else b

    def pipeline(self) -> tuple[Plug, ...]:
        """The built plugs, once per process."""
        plugs = self._built.get("pipeline")
        if plugs is None:
            plugs = self._built["pipeline"] = self.builder().pipeline()
        return plugs

    def request(self, messages: Any) -> Request:
        req = Request.new(self.provider, messages, self.options, kind=self.kind)
        return req.evolve(metadata={"tags": self.tags}) if self.tags else req

    def apply_settings(self) -> None:
        """Make this (worker) process reach and price the provider exactly as the caller does."""
        config.reset_configuration(self.provider)
        if self.settings:
            config.configure(self.provider, **self.settings)
        model = self.options.get("model") or providers.get(self.provider).default_model
        if not isinstance(model, str):
            return
        clear_prices(model)
        price = self.price
        if price is not None:
            set_price(
                model,
                input_per_mtok=price.input_per_mtok,
                output_per_mtok=price.output_per_mtok,
                cached_input_per_mtok=price.cached_input_per_mtok,
                provider=self.provider,
            )

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_built"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        shown = {k: ("***" if k == "api_key" else v) for k, v in self.options.items()}
        names = ", ".join(n for n, _ in self.features) or "none"
        return f"Plan({self.provider}, options={shown}, features={names}, tags={self.tags})"
