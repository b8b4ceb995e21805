"""FetchConfig: resolve where and how to reach the provider, and the default model.

Plugs that a per-call option brings along (a cache, structured output, the tool loop)
go right after it (`after_fetch_config`), where they see the request's final options.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import lifecycle, registry
from ..errors import ConfigError
from ..messages import count_images
from ..plug import Plug
from ..request import Request
from .validate_provider import CONFIG_OPTIONS


class FetchConfig(Plug):
    """Puts the ProviderConfig in `request.config`; moves api_key/base_url/timeout/headers out of options.

    Explicit request options beat `llm.configure()`, which beats environment variables.
    A missing key raises MissingKeyError naming the variable, before anything is sent.
    A deprecated model (per the lifecycle table) gets one warning per process. A prompt
    with images for a model known to take none is refused here, before anything is sent.
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
        model = options.get("model")
        lifecycle.warn_if_deprecated(request.provider, model)
        if request.kind in ("chat", "stream") and not provider.takes_images(model):
            _refuse_images(request.provider, model, count_images(request.messages))
        return request.evolve(config=config, options=options)


def _refuse_images(provider: str, model: str | None, images: int) -> None:
    if images:
        raise ConfigError(
            f"Model '{model}' of provider '{provider}' takes no images, and the prompt has "
            f"{images}: choose a model that takes images, or leave the image out."
        )


def after_fetch_config(plugs: Sequence[Plug], plug: Plug, needs: str) -> tuple[Plug, ...]:
    """`plugs` with `plug` right after FetchConfig; a pipeline without one raises
    ConfigError(`needs`)."""
    names = [p.name for p in plugs]
    if "FetchConfig" not in names:
        raise ConfigError(needs)
    at = names.index("FetchConfig") + 1
    return (*plugs[:at], plug, *plugs[at:])
