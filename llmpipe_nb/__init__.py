"""llmpipe_nb: every LLM operation is a Request flowing through a pipeline of plugs.

    import llmpipe_nb as llm
    llm.chat("mock", "Hello!").content
    llm.build("openai", msgs).with_model("gpt-6-luna").with_cache().execute()

Importing this package is cheap: pandas, IPython, ipywidgets and the HTTP client are
imported only when a feature that needs them is first used.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from . import observability, providers, rendering
from ._version import __version__ as __version__
from .api import (
    achat,
    acomplete,
    aembeddings,
    alist_models,
    astream,
    avalidate,
    chat,
    complete,
    embeddings,
    list_models,
    stream,
    validate,
)
from .builder import Builder, PipelineInfo, build
from .config import ProviderConfig, Secret, configure, reset_configuration
from .errors import (
    AuthenticationError,
    BadRequestError,
    BatchJobError,
    BatchPendingError,
    BudgetExceededError,
    CircuitOpenError,
    ConfigError,
    ContentFilteredError,
    ContextLengthError,
    LLMPipeError,
    MissingDependencyError,
    MissingKeyError,
    ModelRetiredError,
    PipelineError,
    PipelineHalted,
    PlugContractError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    RefusalError,
    ReplayMissError,
    ResponseFormatError,
    SchemaValidationError,
    ServerError,
    StoreError,
    StreamInterruptedError,
    ToolFailedError,
    ToolLoopError,
    ToolLoopLimitError,
    UnknownProviderError,
)
from .ledger import Ledger, costs, ledger, tag, traces
from .lifecycle import ModelLifecycleWarning
from .observability import instrument, log_to_notebook, uninstrument
from .pipeline import Pipeline, Step
from .plug import Plug
from .request import Request
from .responses import (
    ChatResponse,
    EmbeddingResponse,
    ModelInfo,
    ReasoningPart,
    StreamChunk,
    ToolCall,
    Usage,
    ValidationResult,
)
from .streams import AsyncChatStream, ChatStream

if TYPE_CHECKING:
    from .context import Prompt, prompt, renderer
    from .plugs.replay_session import Recording, replay
    from .pricing import set_price
    from .tools import ModelTurn, Tool, ToolRun
    from .tools.mcp import mcp

#: names served lazily from modules that import heavy libraries only when used
_LAZY = {
    "nb": ("llmpipe_nb.nb", None),
    "tools": ("llmpipe_nb.tools", None),  # the tool loop's machinery loads with tools=
    "Tool": ("llmpipe_nb.tools", "Tool"),
    "ModelTurn": ("llmpipe_nb.tools", "ModelTurn"),
    "ToolRun": ("llmpipe_nb.tools", "ToolRun"),
    "PipelineInspector": ("llmpipe_nb.nb.inspector", "PipelineInspector"),
    "CostDashboard": ("llmpipe_nb.nb.dashboard", "CostDashboard"),
    "map": ("llmpipe_nb.batch", "map"),
    "amap": ("llmpipe_nb.batch", "amap"),
    "estimate": ("llmpipe_nb.batch", "estimate"),
    "BatchInterrupted": ("llmpipe_nb.batch", "BatchInterrupted"),
    "compare": ("llmpipe_nb.comparison", "compare"),
    "acompare": ("llmpipe_nb.comparison", "acompare"),
    "Comparison": ("llmpipe_nb.comparison", "Comparison"),
    "ComparisonInterrupted": ("llmpipe_nb.comparison", "ComparisonInterrupted"),
    "BatchJob": ("llmpipe_nb.batch", "BatchJob"),
    "batch_job": ("llmpipe_nb.batch", "batch_job"),
    "batch_jobs": ("llmpipe_nb.batch", "batch_jobs"),
    "set_price": ("llmpipe_nb.pricing", "set_price"),  # loads with the first priced request
    "prompt": ("llmpipe_nb.context", "prompt"),
    "Prompt": ("llmpipe_nb.context", "Prompt"),
    "renderer": ("llmpipe_nb.context", "renderer"),
    "replay": ("llmpipe_nb.plugs.replay_session", "replay"),
    "Recording": ("llmpipe_nb.plugs.replay_session", "Recording"),
    "mcp": ("llmpipe_nb.tools.mcp", "mcp"),  # the MCP SDK loads with the first server
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'llmpipe_nb' has no attribute {name!r}")
    module = importlib.import_module(target[0])
    value = module if target[1] is None else getattr(module, target[1])
    globals()[name] = value
    return value


if "pandas" in sys.modules:  # pandas came first: df.llm works at once (else on first llm.map)
    importlib.import_module("llmpipe_nb.batch")


def _load_views() -> None:
    from . import views  # noqa: F401 - importing the views registers them with the core


def _approval_card(reply: Any) -> Any:
    """A paused loop's approval card, in a kernel (ipywidgets loads when a card is made)."""
    return importlib.import_module("llmpipe_nb.nb.approval").mimebundle(reply)


rendering.add_loader(_load_views)
rendering.register(approval_card=_approval_card)
observability.instrument_from_env()  # OTEL_SERVICE_NAME or an OTLP endpoint: spans from the first request


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext llmpipe_nb`: registers the %%llm and %llm magics."""
    from .nb import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """`%unload_ext llmpipe_nb`: removes them again."""
    from .nb import unload_ipython_extension as unload

    unload(ipython)


__all__ = [
    "AsyncChatStream",
    "AuthenticationError",
    "BadRequestError",
    "BatchJobError",
    "BatchPendingError",
    "BudgetExceededError",
    "Builder",
    "ChatResponse",
    "ChatStream",
    "CircuitOpenError",
    "ConfigError",
    "ContentFilteredError",
    "ContextLengthError",
    "EmbeddingResponse",
    "LLMPipeError",
    "Ledger",
    "MissingDependencyError",
    "MissingKeyError",
    "ModelInfo",
    "ModelLifecycleWarning",
    "ModelRetiredError",
    "ModelTurn",
    "Pipeline",
    "PipelineError",
    "PipelineHalted",
    "PipelineInfo",
    "Plug",
    "PlugContractError",
    "Prompt",
    "ProviderConfig",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderTimeoutError",
    "RateLimitError",
    "ReasoningPart",
    "Recording",
    "RefusalError",
    "ReplayMissError",
    "Request",
    "ResponseFormatError",
    "SchemaValidationError",
    "Secret",
    "ServerError",
    "Step",
    "StoreError",
    "StreamChunk",
    "StreamInterruptedError",
    "Tool",
    "ToolCall",
    "ToolFailedError",
    "ToolLoopError",
    "ToolLoopLimitError",
    "ToolRun",
    "UnknownProviderError",
    "Usage",
    "ValidationResult",
    "achat",
    "acomplete",
    "aembeddings",
    "alist_models",
    "astream",
    "avalidate",
    "build",
    "chat",
    "complete",
    "configure",
    "costs",
    "embeddings",
    "instrument",
    "ledger",
    "list_models",
    "load_ipython_extension",
    "log_to_notebook",
    "mcp",
    "prompt",
    "providers",
    "renderer",
    "replay",
    "reset_configuration",
    "set_price",
    "stream",
    "tag",
    "tools",
    "traces",
    "uninstrument",
    "validate",
]
