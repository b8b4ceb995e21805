"""Tools from MCP servers: `llm.mcp(command=[...])` (stdio) or `llm.mcp(url=...)` (streamable HTTP).

The official `mcp` SDK (the `[mcp]` extra) talks to the server; it is imported when a
server is first opened, never by `import llmpipe_nb`. The session lives on an event loop
of its own in a background thread, so neither a kernel's running loop nor the caller's
thread is ever used for it: each tool is an async function that hands its call to that
loop and waits on the answer (awaited by `llm.achat`, run on a private loop in a worker
thread by `llm.chat`). The server starts once, when the object is made, and stops on
`close()`, at the end of a `with` block, or when the interpreter exits.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import importlib
import os
import tempfile
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import (
    BadRequestError,
    ConfigError,
    ProviderConnectionError,
    ProviderTimeoutError,
    redact,
)
from .mcp_content import prompt_messages, resource_value, result_of, shown_url, tool_name
from .mcp_options import check, remember_secrets
from .tool import Tool

INSTALL = "pip install 'llmpipe_nb[mcp]'"
#: the longest wait for a server to start, and for a resource or prompt, unless told
TIMEOUT = 30.0
#: the last bytes of a stdio server's stderr that an error shows
STDERR_TAIL = 2000

_OPEN: weakref.WeakSet[MCPServer] = weakref.WeakSet()
_atexit_registered = False


def _sdk() -> Any:
    try:
        return importlib.import_module("mcp")
    except ImportError:
        raise ConfigError(
            f"llm.mcp needs the official MCP SDK, which is not installed: {INSTALL}."
        ) from None


class MCPServer:
    """A running MCP server whose tools the model may call; pass it (or its `tools()`) as `tools=`."""

    def __init__(
        self,
        command: Sequence[str] | None = None,
        *,
        url: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        headers: Mapping[str, str] | None = None,
        prefix: str = "",
        requires_approval: bool = False,
        timeout: float = TIMEOUT,
    ) -> None:
        check(command, url=url, env=env, cwd=cwd, headers=headers, prefix=prefix, timeout=timeout)
        remember_secrets(env, headers, command)
        self.command = tuple(command) if command is not None else None
        self.url = url
        self._env = dict(env) if env is not None else None
        self._cwd = os.fspath(cwd) if cwd is not None else None
        self._headers = dict(headers) if headers is not None else None
        self.prefix = prefix
        self.requires_approval = requires_approval
        self.timeout = float(timeout)
        self._sdk = _sdk()
        #: where a stdio server's stderr goes (closed with the server), for the errors' tail
        self._stderr = tempfile.TemporaryFile() if command is not None else None  # noqa: SIM115
        self._closed = False
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._main: asyncio.Task[Any] | None = None
        self._client: Any = None
        self._tools: tuple[Tool, ...] = ()
        self._start()

    # -- the session, on its own loop and thread -------------------------------------------

    def _start(self) -> None:
        ready: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._hold(ready),), name="llmpipe-mcp", daemon=True
        )
        self._thread.start()
        try:
            listing = ready.result(self.timeout)
            self._tools = self._as_tools(listing)
        except BaseException as error:
            failure = self._failed(error)
            if not isinstance(error, Exception):
                raise  # Ctrl-C while it started: stopped, and passed on
            raise failure from None
        _register(self)

    async def _hold(self, ready: concurrent.futures.Future[Any]) -> None:
        """Open the session, list the tools, then keep it open until `close()`."""
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._main = asyncio.current_task()
        if self._closed:  # given up on before this thread got going
            return
        try:
            async with contextlib.AsyncExitStack() as stack:
                client = self._sdk.Client(await self._transport(stack), cache=None)
                self._client = await stack.enter_async_context(client)
                tools: list[Any] = []
                cursor = None
                while True:
                    page = await self._client.list_tools(cursor=cursor)
                    tools.extend(page.tools)
                    cursor = page.next_cursor
                    if not cursor:
                        break
                ready.set_result(tools)
                if any(tool.output_schema for tool in tools):
                    # the SDK checks structured results with jsonschema, imported at the first
                    # call (seconds on a busy machine): import it now, off this loop
                    with contextlib.suppress(ImportError):
                        await asyncio.to_thread(importlib.import_module, "jsonschema")
                await self._stopping.wait()
        except BaseException as error:
            if not ready.done():
                ready.set_exception(error)
            if not isinstance(error, (Exception, asyncio.CancelledError)):
                raise
        finally:
            self._client = None

    async def _transport(self, stack: contextlib.AsyncExitStack) -> Any:
        if self.command is not None:
            from mcp.client.stdio import stdio_client

            params = self._sdk.StdioServerParameters(
                command=self.command[0], args=list(self.command[1:]), env=self._env, cwd=self._cwd
            )
            return stdio_client(params, errlog=self._stderr)  # type: ignore[arg-type]
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        http = await stack.enter_async_context(create_mcp_http_client(headers=self._headers))
        return streamable_http_client(str(self.url), http_client=http)

    def _shut(self) -> None:
        """Stop the session's loop (the stdio transport ends the process) and its thread."""
        loop, main, stopping = self._loop, self._main, self._stopping
        if loop is not None and main is not None and stopping is not None:

            def stop() -> None:
                if self._client is not None:
                    stopping.set()  # leaves the session's `async with` blocks in order
                else:
                    main.cancel()  # still starting: give up on it

            with contextlib.suppress(RuntimeError):  # the loop has ended already
                loop.call_soon_threadsafe(stop)
        self._thread.join(max(self.timeout, 10.0))

    def _failed(self, error: BaseException) -> Exception:
        """The error to raise for a server that did not start; nothing is left running."""
        self._closed = True
        self._shut()
        if isinstance(error, ConfigError):
            message: Exception = error
        elif isinstance(error, concurrent.futures.TimeoutError):
            message = ProviderConnectionError(
                f"The MCP server {self.label} did not answer within {self.timeout:g} s"
                f"{self._stderr_tail()}; check that it speaks MCP, or raise timeout=.",
                provider="mcp",
            )
        else:
            while isinstance(getattr(error, "exceptions", None), tuple) and error.exceptions:  # type: ignore[attr-defined]
                error = error.exceptions[0]  # type: ignore[attr-defined]
            cause = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            verb = "did not start" if self.command is not None else "could not be reached"
            message = ProviderConnectionError(
                f"The MCP server {self.label} {verb} ({cause}){self._stderr_tail()}; "
                "check the command or URL.",
                provider="mcp",
            )
        if self._stderr is not None:
            self._stderr.close()
        return message

    def _stderr_tail(self) -> str:
        """Its last whole lines: a line cut by the window could hold part of a secret."""
        if self._stderr is None or self._stderr.closed:
            return ""
        fd = self._stderr.fileno()
        start = max(0, os.fstat(fd).st_size - STDERR_TAIL)
        tail = os.pread(fd, STDERR_TAIL, start).decode(errors="replace")
        if start:
            tail = tail.partition("\n")[2]
        tail = tail.strip()
        return f"; its stderr ended with: {tail}" if tail else ""

    def _ask(self, make: Any, what: str) -> Any:
        """Run `make(client)` on the session's loop and wait (at most `timeout`) for the answer."""
        future = self._submit(make)
        try:
            return future.result(self.timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise ProviderTimeoutError(
                f"The MCP server {self.label} did not answer {what} within {self.timeout:g} s; "
                "raise timeout=, or check the server.",
                provider="mcp",
            ) from None
        except Exception as error:
            raise BadRequestError(
                f"The MCP server {self.label} refused {what}: {error}", provider="mcp"
            ) from error

    def _submit(self, make: Any) -> concurrent.futures.Future[Any]:
        client, loop = self._client, self._loop
        if self._closed or client is None or loop is None:
            raise ConfigError(f"The MCP server {self.label} is closed: open a new llm.mcp(...).")
        return asyncio.run_coroutine_threadsafe(make(client), loop)

    # -- tools -------------------------------------------------------------------------------

    def _as_tools(self, listing: Sequence[Any]) -> tuple[Tool, ...]:
        tools: dict[str, Tool] = {}
        for item in listing:
            name = tool_name(item.name, self.prefix)
            if name in tools:
                raise ConfigError(
                    f"The MCP server {self.label} has two tools named {name!r} once made safe "
                    f"for the providers (one is {item.name!r}); give llm.mcp a prefix=."
                )
            tools[name] = Tool(
                name,
                item.description or item.title or "",
                item.input_schema or {"type": "object", "properties": {}},
                self._caller(item.name),
                self.requires_approval,
            )
        return tuple(tools.values())

    def _caller(self, remote: str) -> Any:
        async def call(**arguments: Any) -> Any:
            future = self._submit(lambda client: client.call_tool(remote, arguments))
            return result_of(await asyncio.wrap_future(future))

        call.__name__ = call.__qualname__ = remote
        return call

    def tools(self) -> tuple[Tool, ...]:
        """The server's tools as `Tool`s (listed once, when it started)."""
        return self._tools

    # -- resources and prompts ---------------------------------------------------------------

    def _pages(self, method: str, field: str) -> list[Any]:
        async def every(client: Any) -> list[Any]:
            found: list[Any] = []
            cursor = None
            while True:
                page = await getattr(client, method)(cursor=cursor)
                found.extend(getattr(page, field))
                cursor = page.next_cursor
                if not cursor:
                    return found

        return list(self._ask(every, f"the {field} list"))

    def resources(self) -> list[Any]:
        """The server's resources (each with `uri`, `name`, `description`, `mime_type`)."""
        return self._pages("list_resources", "resources")

    def read_resource(self, uri: str) -> str | bytes:
        """A resource's text (its parts joined), or its bytes when it has no text."""
        answer = self._ask(lambda client: client.read_resource(uri), f"the resource {uri!r}")
        return resource_value(answer)

    def prompts(self) -> list[Any]:
        """The server's prompts (each with `name`, `description`, `arguments`)."""
        return self._pages("list_prompts", "prompts")

    def get_prompt(
        self, name: str, arguments: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """A prompt filled in, as chat messages to pass to `llm.chat`."""
        if arguments is not None and not isinstance(arguments, Mapping):
            raise ConfigError(
                f"The arguments of the prompt {name!r} are a dict of names to values, such as "
                f"{{'code': 'x = 1'}}, not a {type(arguments).__name__}."
            )
        args = {key: str(value) for key, value in (arguments or {}).items()}
        answer = self._ask(lambda client: client.get_prompt(name, args), f"the prompt {name!r}")
        return prompt_messages(answer)

    # -- lifetime ----------------------------------------------------------------------------

    @property
    def label(self) -> str:
        if self.command is not None:
            return " ".join(self.command)
        return shown_url(str(self.url))

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop the server (or end the HTTP session) and the thread behind it; safe to repeat."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._shut()
        if self._stderr is not None:
            self._stderr.close()
        _OPEN.discard(self)

    def __enter__(self) -> MCPServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = (
            f"command={redact(repr(list(self.command)))}" if self.command else f"url={self.label!r}"
        )
        extra = ""
        if self._headers:
            extra += f", headers=[{', '.join(sorted(self._headers))}]"
        if self._env:
            extra += f", env=[{', '.join(sorted(self._env))}]"
        state = "closed" if self._closed else f"{len(self._tools)} tools"
        return f"MCPServer({where}{extra}, {state})"


def _register(server: MCPServer) -> None:
    global _atexit_registered
    _OPEN.add(server)
    if not _atexit_registered:
        atexit.register(close_all)
        _atexit_registered = True


def close_all() -> None:
    """Close every MCP server still open (run at interpreter exit)."""
    for server in list(_OPEN):
        server.close()


def mcp(
    command: Sequence[str] | None = None,
    *,
    url: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    headers: Mapping[str, str] | None = None,
    prefix: str = "",
    requires_approval: bool = False,
    timeout: float = TIMEOUT,
) -> MCPServer:
    """Start an MCP server (`command=[...]`, over stdio) or reach one (`url=...`, streamable HTTP)."""
    return MCPServer(
        command,
        url=url,
        env=env,
        cwd=cwd,
        headers=headers,
        prefix=prefix,
        requires_approval=requires_approval,
        timeout=timeout,
    )


__all__ = ["MCPServer", "close_all", "mcp"]
