"""FetchConfig: resolve where and how to reach the provider, and the default model."""

from __future__ import annotations

from .. import lifecycle, registry
from ..plug import Plug
from ..request import Request
from .validate_provider import CONFIG_OPTIONS


class FetchConfig(Plug):
    """Puts the ProviderConfig in `request.config`; moves api_key/base_url/timeout/headers out of options.

    Explicit request options beat `llm.configure()`, which beats environment variables.
    A missing key raises MissingKeyError naming the variable, before anything is sent.
    A deprecated model (per the lifecycle table) gets one warning per process.
    """

    def call(self, request: Request) -> Request:
        provider = registry.get(request.provider)
        opts = request.options
        explicit = {k: opts[k] for k in CONFIG_OPTIONS if k in opts}
        config = provider.resolve_config(explicit)
        options = {k: v for k, v in opts.items() if k not in CONFIG_OPTIONS} if explicit else opts
        if not options.get("model"):
            default = (
                (provider.default_embedding_model if request.kind == "embeddings" else None)
                or config.default_model
                or provider.default_model
            )
            if default:
                options = {**options, "model": default}
        lifecycle.warn_if_deprecated(request.provider, options.get("model"))
        return request.evolve(config=config, options=options)
