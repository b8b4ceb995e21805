"""Choosing the aiohttp transport, and its sessions' lifetime: one per event loop, closed when
the loop shuts down, when the transport leaves the pool, and at exit; never imported unasked."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

import llmpipe_nb as llm
from llmpipe_nb import providers
from llmpipe_nb.errors import ConfigError
from llmpipe_nb.providers._http import POOL_SIZE
from llmpipe_nb.testing import FakeServer

KEY = "sk-test-canary-0123456789"


@pytest.fixture
def transport(monkeypatch: pytest.MonkeyPatch) -> str:
    """This file chooses its transports itself: once is enough."""
    monkeypatch.delenv("LLMPIPE_TRANSPORT", raising=False)
    return "chosen per test"


def openai(server: FakeServer, **options):
    return {"api_key": KEY, "base_url": server.base_url, **options}


def kind(reply) -> str:
    return type(reply.request.http_client).__name__


async def test_chosen_per_provider_or_for_all(
    monkeypatch, openai_server: FakeServer, ollama_server: FakeServer
) -> None:
    assert kind(await llm.achat("openai", "a", **openai(openai_server))) == "HttpTransport"
    llm.configure("openai", transport="aiohttp")
    assert kind(await llm.achat("openai", "b", **openai(openai_server))) == "AiohttpTransport"
    assert kind(await llm.achat("ollama", "c", base_url=ollama_server.url)) == "HttpTransport"
    monkeypatch.setenv("LLMPIPE_TRANSPORT", "aiohttp")
    assert kind(await llm.achat("ollama", "d", base_url=ollama_server.url)) == "AiohttpTransport"
    llm.configure("openai", transport="httpx2")  # configure() beats the environment
    assert kind(await llm.achat("openai", "e", **openai(openai_server))) == "HttpTransport"


def test_sync_calls_on_the_aiohttp_transport_go_through_httpx2(openai_server: FakeServer) -> None:
    llm.configure("openai", transport="aiohttp")
    reply = llm.chat("openai", "hello", **openai(openai_server))
    assert reply.content == "Echo: hello" and kind(reply) == "AiohttpTransport"
    assert reply.request.http_client._http._sync is not None
    assert llm.stream("openai", "hello", **openai(openai_server)).text() == "Echo: hello"


def test_a_transport_that_is_not_one_is_refused_before_anything_is_sent(
    monkeypatch, openai_server: FakeServer
) -> None:
    with pytest.raises(
        ConfigError, match=r"transport for 'openai' must be one of 'httpx2', 'aiohttp'"
    ):
        llm.configure("openai", transport="curl")
    monkeypatch.setenv("LLMPIPE_TRANSPORT", "requests")
    with pytest.raises(ConfigError, match=r"LLMPIPE_TRANSPORT='requests' is not a transport"):
        llm.chat("openai", "hi", **openai(openai_server))
    assert openai_server.requests == []


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "dev", "-c", code], capture_output=True, text=True, timeout=120
    )


def test_aiohttp_is_imported_only_when_first_used(openai_server: FakeServer) -> None:
    out = run_python(
        "import asyncio, sys, llmpipe_nb as llm\n"
        "llm.configure('openai', transport='aiohttp')\n"
        "assert 'aiohttp' not in sys.modules, 'imported with the package'\n"
        f"asyncio.run(llm.achat('openai', 'x', api_key='k', base_url={openai_server.base_url!r}))\n"
        "assert 'aiohttp' in sys.modules\n"
    )
    assert out.returncode == 0, out.stderr


def test_without_aiohttp_the_transport_is_a_config_error(openai_server: FakeServer) -> None:
    out = run_python(
        "import asyncio, sys\n"
        "sys.modules['aiohttp'] = None  # as if it were not installed\n"
        "import llmpipe_nb as llm\n"
        "llm.configure('openai', transport='aiohttp')\n"
        "try:\n"
        f"    asyncio.run(llm.achat('openai', 'x', api_key='k', base_url={openai_server.base_url!r}))\n"
        "except llm.ConfigError as error:\n"
        "    print(error)\n"
    )
    assert out.returncode == 0, out.stderr
    assert "needs aiohttp: pip install 'llmpipe_nb[fast]'" in out.stdout
    assert openai_server.requests == []


def test_a_session_closes_when_its_loop_shuts_down(openai_server: FakeServer) -> None:
    llm.configure("openai", transport="aiohttp")
    seen = []

    async def call() -> None:
        reply = await llm.achat("openai", "x", **openai(openai_server))
        transport = reply.request.http_client
        (held,) = transport._sessions.values()
        seen.append((transport, held.session))

    asyncio.run(call())
    asyncio.run(call())
    (first_transport, first), (second_transport, second) = seen
    assert first_transport is second_transport  # one pooled transport, a session per loop
    assert first is not second and first.closed and second.closed
    assert len(first_transport._sessions) == 0


async def test_a_session_pushed_out_of_the_pool_closes_on_its_loop(
    openai_server: FakeServer,
) -> None:
    llm.configure("openai", transport="aiohttp")
    first = (await llm.achat("openai", "a", **openai(openai_server))).request.http_client
    (held,) = first._sessions.values()
    for i in range(POOL_SIZE):
        await llm.achat("openai", "x", **openai(openai_server, api_key=f"key-{i}"))
    for _ in range(50):
        if held.session.closed:
            break
        await asyncio.sleep(0.01)
    assert held.session.closed and not first._sessions
    provider = providers.get("openai")
    assert provider.client(provider.resolve_config(openai(openai_server))) is not first


def test_no_session_or_socket_is_left_open_at_exit(openai_server: FakeServer) -> None:
    out = run_python(
        "import asyncio, warnings, llmpipe_nb as llm\n"
        "warnings.simplefilter('always')\n"
        "llm.configure('openai', transport='aiohttp')\n"
        f"url = {openai_server.base_url!r}\n"
        "async def calls(n):\n"
        "    for i in range(n):\n"
        "        await llm.achat('openai', 'x', api_key=f'key-{i}', base_url=url)\n"
        "        await llm.astream('openai', 'y', api_key=f'key-{i}', base_url=url).atext()\n"
        "asyncio.run(calls(20))\n"
        "left = asyncio.new_event_loop()  # a loop left open: its session closes at exit\n"
        "left.run_until_complete(calls(2))\n"
    )
    assert out.returncode == 0, out.stderr
    assert "Unclosed" not in out.stderr and "unclosed transport" not in out.stderr, out.stderr
