"""RunTools: the tool loop's plug. It turns `tools=` functions into the provider's tool specs.

Placed right after FetchConfig (before the cache, so the cache key holds the specs as
sent), it reads `tools=` (functions, `Tool`s, toolsets such as `llm.tools.dataframe` or
`llm.mcp`), refuses bad ones with a ConfigError before anything is sent, replaces them
with the flat specs every provider's prepare plug writes in its own shape, and leaves
the tools and the plug's settings in `private` for the loop (`tool_loop.py`), which
runs the calls the model asks for and sends the request round again, each turn through
this whole pipeline.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal

from ..errors import ConfigError
from ..pipeline import NOTE
from ..plug import Plug
from ..request import Request
from ..responses import ToolCall
from ..tools.execute import Settings
from ..tools.tool import Tool, as_tools, runnable
from .fetch_config import after_fetch_config

KEY = "llmpipe.run_tools.loop"


@dataclasses.dataclass(frozen=True)
class Loop:
    """What the loop needs from this plug: the tools by name and how to run them."""

    tools: Mapping[str, Tool]
    settings: Settings


class RunTools(Plug):
    """Runs the model's tool calls until it answers (see the module doc)."""

    position: ClassVar[tuple[str, str]] = ("after", "FetchConfig")

    def __init__(
        self,
        max_steps: int = 10,
        approve: Literal["always", "never", "ask"] | Callable[[ToolCall], bool] = "always",
        timeout: float | None = 60.0,
        parallel: bool = True,
        max_failures: int = 3,
        on_error: Literal["message", "raise"] = "message",
    ) -> None:
        self.settings = Settings(max_steps, approve, timeout, parallel, max_failures, on_error)
        self.max_steps, self.approve, self.timeout = max_steps, approve, timeout
        self.parallel, self.max_failures, self.on_error = parallel, max_failures, on_error

    def call(self, request: Request) -> Request:
        given = request.options.get("tools")
        if not runnable(given):
            return request
        if request.kind not in ("chat", "stream"):
            raise ConfigError(f"tools= runs in a chat, not in {request.kind}.")
        tools = as_tools(given)
        if not tools:
            return request
        options = {**request.options, "tools": [tool.spec for tool in tools]}
        loop = Loop({tool.name: tool for tool in tools}, self.settings)
        note = f"{len(tools)} tools: " + ", ".join(tool.name for tool in tools)
        return request.evolve(options=options, private={**request.private, KEY: loop, NOTE: note})


_DEFAULT = RunTools()
#: the per-call options that set up the loop, and the RunTools option each one sets
CALL_OPTIONS = {
    "max_steps": "max_steps",
    "approve": "approve",
    "tool_timeout": "timeout",
    "parallel_tools": "parallel",
    "max_tool_failures": "max_failures",
    "on_tool_error": "on_error",
}


def ensure_run_tools(plugs: Sequence[Plug], options: dict[str, Any]) -> tuple[Plug, ...]:
    """`plugs` with RunTools after FetchConfig, set by (and taking out) the loop's call options."""
    chosen = {CALL_OPTIONS[k]: options.pop(k) for k in list(options) if k in CALL_OPTIONS}
    names = [p.name for p in plugs]
    if "RunTools" in names:
        if not chosen:
            return tuple(plugs)
        at = names.index("RunTools")
        base = plugs[at].options if isinstance(plugs[at], RunTools) else {}
        return (*plugs[:at], RunTools(**{**base, **chosen}), *plugs[at + 1 :])
    return after_fetch_config(
        plugs,
        RunTools(**chosen) if chosen else _DEFAULT,
        "tools= needs a pipeline with FetchConfig: add RunTools after your configuration "
        "plug yourself.",
    )
