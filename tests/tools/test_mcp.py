"""MCP servers as tools: a real MCP server (llmpipe_nb/testing/mcp_server.py) over stdio and
streamable HTTP, through the real tool loop against the loopback wire servers."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("mcp")

import llmpipe_nb as llm
import llmpipe_nb.testing
from llmpipe_nb.errors import ConfigError, ProviderConnectionError
from llmpipe_nb.tools.mcp_content import MCPToolError, result_of, tool_name

SERVER = Path(llmpipe_nb.testing.__file__).parent / "mcp_server.py"
COMMAND = [sys.executable, str(SERVER)]
TOKEN = "sk-mcp-secret-token-0123456789"


@pytest.fixture(scope="module")
def server():
    """One stdio server for the module's tests (starting one takes about a second)."""
    with llm.mcp(COMMAND, env={"LLMPIPE_MCP_CHECK": "from-env"}) as started:
        yield started


@pytest.fixture
def by_name(server):
    return {tool.name: tool for tool in server.tools()}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def http_url():
    """The same server over streamable HTTP on 127.0.0.1, in a subprocess; stopped at the end."""
    port = free_port()
    process = subprocess.Popen(
        [*COMMAND, "--http", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "no HTTP server"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


def mcp_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "llmpipe-mcp"}


@pytest.fixture(autouse=True)
def no_new_thread():
    """Fails a test that leaves a session thread behind (the module's servers start first)."""
    before = mcp_threads()
    yield
    assert mcp_threads() == before


def gone(pid: int) -> bool:
    """Whether the process has ended (a zombie nobody reaped counts as ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


def test_the_tools_come_from_the_servers_listing(server) -> None:
    tools = {tool.name: tool for tool in server.tools()}
    assert list(tools)[:3] == ["weather", "shout", "fail"]
    assert tools["weather"].description == "Current weather for a city."
    assert tools["weather"].schema["properties"]["city"]["type"] == "string"
    assert tools["weather"].schema["required"] == ["city"]
    assert "notes_search" in tools and "notes/search" not in tools  # made safe for providers
    assert not any(tool.requires_approval for tool in tools.values())


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_the_model_calls_mcp_tools_and_the_answer_comes(served, server, provider) -> None:
    wire, options = served(provider)
    reply = llm.chat(provider, "Paris", tools=[server], **options)
    kinds = [type(step).__name__ for step in reply.steps]
    assert kinds == ["ModelTurn", "ToolRun", "ToolRun", "ModelTurn"]
    weather, shout = reply.steps[1], reply.steps[2]
    assert (weather.call.name, weather.status) == ("weather", "ok")
    assert weather.value == {"city": "Paris", "temp_c": 18, "sky": "clear"}  # structured content
    assert (shout.call.name, shout.status, shout.value) == ("shout", "ok", {"result": "PARIS"})
    assert len(wire.requests) == 2
    sent = json.dumps(wire.last_request.json)
    assert "PARIS" in sent and "clear" in sent
    assert reply.content and not reply.tool_calls


def test_mcp_tools_mix_with_functions_in_one_list(served, server, by_name) -> None:
    def local_time(zone: str) -> str:
        """Local time in a zone."""
        return "12:00"

    _wire, options = served("openai")
    reply = llm.chat("openai", "Rome", tools=[local_time, by_name["shout"]], **options)
    runs = [step for step in reply.steps if isinstance(step, llm.ToolRun)]
    assert [(r.call.name, r.status, r.output) for r in runs] == [
        ("local_time", "ok", "12:00"),
        ("shout", "ok", '{"result": "ROME"}'),
    ]


def test_a_tool_with_a_name_made_safe_calls_the_servers_own_name(served, by_name) -> None:
    wire, options = served("openai")
    reply = llm.chat("openai", "rain", tools=[by_name["notes_search"]], **options)
    run = reply.steps[1]
    assert (run.call.name, run.status, run.output) == (
        "notes_search",
        "ok",
        '{"result": "no notes about rain"}',
    )
    assert wire.requests[0].json["tools"][0]["function"]["name"] == "notes_search"


def test_an_error_of_the_server_goes_back_to_the_model(served, by_name) -> None:
    wire, options = served("anthropic")
    reply = llm.chat("anthropic", "disk full", tools=[by_name["fail"]], **options)
    run = reply.steps[1]
    assert run.status == "error"
    assert run.output.startswith("Error: MCPToolError: ")
    assert run.output.endswith("failed on purpose: disk full")
    assert "failed on purpose: disk full" in json.dumps(wire.last_request.json)


def test_arguments_that_break_the_servers_schema_never_reach_it(served, by_name) -> None:
    _wire, options = served("openai")  # the fake sends {"a": "Paris"}; `a` is an integer
    reply = llm.chat("openai", "Paris", tools=[by_name["add"]], **options)
    run = reply.steps[1]
    assert run.status == "invalid" and "do not fit add's schema" in run.output


def test_the_tool_runs_with_the_environment_given(by_name) -> None:
    assert asyncio.run(by_name["env_value"].fn(name="LLMPIPE_MCP_CHECK")) == {"result": "from-env"}


async def test_achat_awaits_the_tools_without_blocking_the_callers_loop(served, by_name) -> None:
    _wire, options = served("openai")
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.001)

    running = asyncio.ensure_future(ticker())
    try:
        reply = await llm.achat("openai", "hello", tools=[by_name["shout"]], **options)
    finally:
        done.set()
        await running
    assert reply.steps[1].value == {"result": "HELLO"}
    assert ticks > 5  # the loop went on while the server answered


def test_a_call_past_its_timeout_is_abandoned_and_the_server_goes_on(served, by_name) -> None:
    _wire, options = served("openai")  # the fake sends {"seconds": "5"}
    began = time.perf_counter()
    reply = llm.chat("openai", "5", tools=[by_name["nap"]], tool_timeout=0.3, **options)
    assert reply.steps[1].status == "timeout" and time.perf_counter() - began < 4
    assert asyncio.run(by_name["shout"].fn(text="still here")) == {"result": "STILL HERE"}


def test_streaming_shows_the_mcp_tool_running(served, by_name) -> None:
    _wire, options = served("openai")
    with llm.stream("openai", "Lima", tools=[by_name["shout"]], **options) as stream:
        kinds = [(chunk.kind, chunk.tool_result) for chunk in stream]
    runs = [run for kind, run in kinds if kind == "tool_result"]
    assert [kind for kind, _ in kinds if kind.startswith("tool")] == [
        "tool_calls",
        "tool_start",
        "tool_result",
    ]
    assert runs[0].value == {"result": "LIMA"}


def test_resources_and_prompts_are_listed_and_read(server) -> None:
    [resource] = server.resources()
    assert (resource.uri, resource.name, resource.mime_type) == (
        "notes://readme",
        "readme",
        "text/markdown",
    )
    assert server.read_resource("notes://readme") == "# Notes\nThe weather is always clear."
    [prompt] = server.prompts()
    assert prompt.name == "review" and [a.name for a in prompt.arguments] == ["code"]
    messages = server.get_prompt("review", {"code": "x = 1"})
    assert messages == [{"role": "user", "content": "Please review this code:\nx = 1"}]
    assert llm.chat("mock", messages).content  # ready to send


def test_what_the_server_refuses_is_a_typed_error(server) -> None:
    with pytest.raises(llm.BadRequestError, match=r"refused the resource 'nope://x'.*Unknown"):
        server.read_resource("nope://x")
    with pytest.raises(llm.BadRequestError, match="refused the prompt 'nope'"):
        server.get_prompt("nope")
    assert server.read_resource("notes://readme")  # and it goes on


def test_prompt_arguments_that_are_not_a_dict_are_a_config_error(server) -> None:
    with pytest.raises(
        ConfigError, match=r"arguments of the prompt 'review' are a dict.*not a str"
    ):
        server.get_prompt("review", "code=x")


def test_the_repr_names_the_command_and_hides_values(server) -> None:
    shown = repr(server)
    assert "mcp_server.py" in shown and "env=[LLMPIPE_MCP_CHECK]" in shown
    assert "from-env" not in shown and "tools" in shown


def test_streamable_http_end_to_end_with_headers_never_shown(served, http_url) -> None:
    _wire, options = served("openai")
    with llm.mcp(url=http_url, headers={"Authorization": f"Bearer {TOKEN}"}) as remote:
        assert TOKEN not in repr(remote) and "headers=[Authorization]" in repr(remote)
        reply = llm.chat("openai", "Oslo", tools=[remote], **options)
        assert remote.read_resource("notes://readme").startswith("# Notes")
        header = {t.name: t for t in remote.tools()}["header"]
        assert asyncio.run(header.fn(name="Authorization")) == {"result": f"Bearer {TOKEN}"}
    assert [s.value for s in reply.steps[1:3]] == [
        {"city": "Oslo", "temp_c": 18, "sky": "clear"},
        {"result": "OSLO"},
    ]
    assert remote.closed


def test_close_stops_the_process_and_the_thread_and_later_use_is_refused(served) -> None:
    own = llm.mcp(COMMAND, prefix="own_", requires_approval=True)
    tools = {t.name: t for t in own.tools()}
    assert "own_weather" in tools and all(t.requires_approval for t in tools.values())
    pid = asyncio.run(tools["own_pid"].fn())["result"]
    assert not gone(pid) and mcp_threads()
    own.close()
    own.close()  # twice is fine
    assert gone(pid) and "closed" in repr(own)
    with pytest.raises(ConfigError, match="is closed"):
        own.resources()
    _wire, options = served("openai")
    reply = llm.chat(
        "openai", "Paris", tools=[own.tools()[0]], approve=lambda call: True, **options
    )
    assert reply.steps[1].status == "error" and "is closed" in reply.steps[1].output


def test_closing_during_a_call_ends_the_call_with_an_error() -> None:
    own = llm.mcp(COMMAND)
    nap = {t.name: t for t in own.tools()}["nap"]
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            asyncio.run(nap.fn(seconds="30"))
        except BaseException as error:
            outcome.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.5)
    own.close()
    caller.join(10)
    assert not caller.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], Exception), outcome  # not a hang
    assert "closed" in str(outcome[0])


@pytest.mark.slow
def test_a_server_left_open_is_stopped_at_interpreter_exit(tmp_path) -> None:
    script = tmp_path / "left_open.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio
            import llmpipe_nb as llm
            server = llm.mcp({COMMAND!r})
            print(asyncio.run({{t.name: t for t in server.tools()}}["pid"].fn())["result"], flush=True)
            """
        )
    )
    ran = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(llmpipe_nb.__file__).parents[1],
    )
    assert ran.returncode == 0, ran.stderr
    assert "Warning" not in ran.stderr and "Traceback" not in ran.stderr, ran.stderr
    assert gone(int(ran.stdout))


def test_a_command_that_does_not_exist_is_a_typed_error_and_nothing_is_sent(served) -> None:
    wire, options = served("openai")
    with pytest.raises(ProviderConnectionError, match=r"did not start.*No such file"):
        llm.chat("openai", "x", tools=[llm.mcp(["/nonexistent/mcp-server"])], **options)
    assert wire.requests == []


def test_a_command_that_exits_shows_the_end_of_its_stderr() -> None:
    crash = "import sys; print('config file missing', file=sys.stderr); sys.exit(3)"
    with pytest.raises(ProviderConnectionError) as caught:
        llm.mcp([sys.executable, "-c", crash])
    assert "its stderr ended with: config file missing" in str(caught.value)


def test_a_secret_given_in_env_is_not_shown_when_the_server_prints_it() -> None:
    crash = "import os, sys; print('rejected', os.environ['SERVICE_TOKEN'], file=sys.stderr); sys.exit(3)"
    with pytest.raises(ProviderConnectionError) as caught:
        llm.mcp([sys.executable, "-c", crash], env={"SERVICE_TOKEN": "tok-9f8e7d6c5b4a"})
    assert "its stderr ended with: rejected ***" in str(caught.value)
    assert "tok-9f8e7d6c5b4a" not in str(caught.value)


@pytest.mark.parametrize("flags", [["--api-key", "tok-3c4d5e6f7a8b"], ["--token=tok-3c4d5e6f7a8b"]])
def test_a_secret_given_as_a_command_option_is_not_shown(flags) -> None:
    crash = "import sys; print('bad', sys.argv[1:], file=sys.stderr); sys.exit(3)"
    with pytest.raises(ProviderConnectionError) as caught:
        llm.mcp([sys.executable, "-c", crash, *flags])
    assert "bad" in str(caught.value) and "tok-3c4d5e6f7a8b" not in str(caught.value)
    with llm.mcp([*COMMAND, *flags]) as started:  # the test server ignores other arguments
        assert "mcp_server.py" in repr(started) and "tok-3c4d5e6f7a8b" not in repr(started)


def test_the_stderr_shown_starts_at_a_whole_line() -> None:
    token = "tok-1a2b3c4d5e6f"  # its line is cut by the window of the last 2,000 bytes
    crash = (
        "import os, sys; print('token', os.environ['SERVICE_TOKEN'], file=sys.stderr); "
        "print('.' * 1990, file=sys.stderr); print('bye', file=sys.stderr); sys.exit(3)"
    )
    with pytest.raises(ProviderConnectionError) as caught:
        llm.mcp([sys.executable, "-c", crash], env={"SERVICE_TOKEN": token})
    assert str(caught.value).split("its stderr ended with: ")[1].startswith("." * 1990 + "\nbye")
    assert token[8:] not in str(caught.value)


def test_a_command_that_never_answers_is_stopped_after_the_timeout() -> None:
    with pytest.raises(ProviderConnectionError, match=r"did not answer within 0\.5 s"):
        llm.mcp([sys.executable, "-c", "import time; time.sleep(60)"], timeout=0.5)


def test_a_url_that_does_not_answer_shows_no_secrets() -> None:
    url = f"http://user:hunter2@127.0.0.1:{free_port()}/mcp?key=abc123"
    with pytest.raises(ProviderConnectionError, match="could not be reached") as caught:
        llm.mcp(url=url, headers={"Authorization": f"Bearer {TOKEN}"})
    text = str(caught.value)
    assert "127.0.0.1" in text
    assert not any(secret in text for secret in (TOKEN, "hunter2", "abc123"))


def test_without_the_extra_a_config_error_names_the_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "mcp", None)  # `import mcp` fails as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'llmpipe_nb\[mcp\]'"):
        llm.mcp(COMMAND)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"command": "uvx mcp-server-git"}, "list of strings"),
        ({"command": []}, "list of strings"),
        ({}, "either command"),
        ({"command": ["x"], "url": "http://h/mcp"}, "either command"),
        ({"url": "ftp://h/mcp"}, "not an http"),
        ({"url": "http://h/mcp", "env": {"A": "1"}}, "for a command"),
        ({"command": ["x"], "headers": {"A": "1"}}, "for an HTTP server"),
        ({"command": ["x"], "timeout": 0}, "timeout"),
        ({"command": ["x"], "env": {"A": 1}}, r"env= must map names to text values"),
        ({"command": ["x"], "env": ["A=1"]}, r"env= must map names to text values"),
        ({"url": "http://h/mcp", "headers": {"A": 1}}, r"headers= must map names to text"),
    ],
)
def test_bad_arguments_are_config_errors(kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        llm.mcp(**kwargs)


def test_names_that_collide_once_made_safe_are_refused(tmp_path) -> None:
    script = tmp_path / "colliding.py"
    script.write_text(
        textwrap.dedent(
            """
            from mcp.server.mcpserver import MCPServer
            server = MCPServer("colliding", log_level="WARNING")
            server.tool(name="a/b")(lambda: "one")
            server.tool(name="a_b")(lambda: "two")
            server.run()
            """
        )
    )
    with pytest.raises(ConfigError, match=r"two tools named 'a_b'.*prefix="):
        llm.mcp([sys.executable, str(script)])


def test_tool_names_are_made_safe() -> None:
    assert tool_name("git/status") == "git_status"
    assert tool_name("3d render") == "_3d_render"
    assert tool_name("search", "docs.") == "docs.search"
    assert len(tool_name("x" * 100)) == 64


def test_results_become_the_tools_value() -> None:
    def result(*blocks, structured=None, error=False):
        return SimpleNamespace(content=list(blocks), structured_content=structured, is_error=error)

    text = SimpleNamespace(type="text", text="hello")
    image = SimpleNamespace(type="image", data="aGVsbG8=", mime_type="image/png")
    embedded = SimpleNamespace(
        type="resource", resource=SimpleNamespace(uri="notes://a", text="inside")
    )
    link = SimpleNamespace(type="resource_link", uri="notes://b")
    assert result_of(result(text, image, embedded, link)) == (
        "hello\n[image image/png, about 6 bytes]\ninside\n[resource notes://b]"
    )
    assert result_of(result(text, structured={"n": 1})) == {"n": 1}
    with pytest.raises(MCPToolError, match="without a message"):
        result_of(result(error=True))
