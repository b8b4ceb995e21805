"""Asking a person whether a tool call may run, where there is a person to ask.

In a terminal, `approve="ask"` prompts on stdin. Where no prompt can wait (a notebook,
whose kernel must stay free; a script without a terminal), the loop pauses instead: the
reply carries the calls in `pending`, a notebook shows them as a card with Approve and
Deny buttons, and `reply.resume(approved=[...])` goes on.
"""

from __future__ import annotations

import json
import sys

from ..responses import ToolCall
from .execute import Asker
from .tool import Tool


def terminal_asker(tool: Tool, call: ToolCall) -> bool:
    """Ask on stdin: `Run get_weather({"city": "Paris"})? [y/N]`."""
    arguments = json.dumps(call.arguments, ensure_ascii=False, default=str)
    answer = input(f"Run {tool.name}({arguments})? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def default_asker() -> Asker | None:
    """The terminal prompt when stdin is a terminal outside a kernel, else None (pause)."""
    if "ipykernel" in sys.modules:
        return None
    stdin = sys.stdin
    return terminal_asker if stdin is not None and stdin.isatty() else None
