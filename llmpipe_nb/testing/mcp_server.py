"""A small MCP server for tests and examples, written with the `mcp` SDK's server API.

    python -m llmpipe_nb.testing.mcp_server              # over stdio
    python -m llmpipe_nb.testing.mcp_server --http PORT  # streamable HTTP on 127.0.0.1:PORT/mcp

Tools: `weather` (structured result), `shout` (async), `fail` (raises), `env_value`
(reads the environment it was started with), `header` (an HTTP header sent), `add`
(integers), `pid`, `nap` (slow) and `notes/search` (a name the providers refuse); a
resource `notes://readme`; a prompt `review`. Needs `pip install 'llmpipe_nb[mcp]'`.
"""

from __future__ import annotations

import asyncio
import os
import sys

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("llmpipe-test", log_level="WARNING")


@server.tool()
def weather(city: str) -> dict[str, object]:
    """Current weather for a city."""
    return {"city": city, "temp_c": 18, "sky": "clear"}


@server.tool()
async def shout(text: str) -> str:
    """The text in capitals, after a short wait."""
    await asyncio.sleep(0.01)
    return text.upper()


@server.tool()
def fail(reason: str) -> str:
    """Always fails, with the reason given."""
    raise ToolError(f"failed on purpose: {reason}")


@server.tool()
def env_value(name: str) -> str:
    """The value of an environment variable in the server's process."""
    return os.environ.get(name, "")


@server.tool()
def header(name: str, ctx: Context) -> str:
    """The value of an HTTP request header the client sent ('' over stdio)."""
    return (ctx.headers or {}).get(name.lower(), "")


@server.tool()
def add(a: int, b: int) -> int:
    """The sum of two whole numbers."""
    return a + b


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


@server.tool()
async def nap(seconds: str) -> str:
    """Sleep that many seconds (given as text), then say so."""
    await asyncio.sleep(float(seconds))
    return f"slept {seconds} s"


@server.tool(name="notes/search")
def search(query: str) -> str:
    """Search the notes (a name with a '/', which the providers refuse)."""
    return f"no notes about {query}"


@server.resource("notes://readme", mime_type="text/markdown")
def readme() -> str:
    """The project's notes."""
    return "# Notes\nThe weather is always clear."


@server.prompt()
def review(code: str) -> str:
    """Ask for a review of some code."""
    return f"Please review this code:\n{code}"


def main(argv: list[str]) -> None:
    if argv[:1] == ["--http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(argv[1]))
    else:
        server.run()


if __name__ == "__main__":
    main(sys.argv[1:])
