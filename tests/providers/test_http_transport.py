"""The shared HTTP transport: pooling, credentials at send time, timeouts, drops, typed errors."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import gc
import socket
import subprocess
import sys
import time
import tracemalloc
import warnings

import pytest

import llmpipe_nb as llm
from llmpipe_nb import providers
from llmpipe_nb.errors import (
    AuthenticationError,
    ProviderConnectionError,
    ProviderTimeoutError,
    ResponseFormatError,
    ServerError,
    StreamInterruptedError,
)
from llmpipe_nb.providers._http import POOL_SIZE, parse_retry_after, pooled_transport
from llmpipe_nb.providers._http.pool import _pool
from llmpipe_nb.providers._http.transport import HttpTransport
from llmpipe_nb.testing import FakeServer, echo, faults
from llmpipe_nb.transport import HttpCall

KEY = "sk-test-canary-0123456789"


def openai(server: FakeServer, **options):
    return {"api_key": KEY, "base_url": server.base_url, **options}


def sync_part(transport):
    """The httpx2 transport that carries sync calls: the transport itself, or the one the
    aiohttp transport holds for them."""
    return getattr(transport, "_http", transport)


def test_one_pooled_client_per_configuration(openai_server: FakeServer) -> None:
    llm.chat("openai", "a", **openai(openai_server))
    llm.chat("openai", "b", **openai(openai_server))
    provider = providers.get("openai")
    config = provider.resolve_config({"api_key": KEY, "base_url": openai_server.base_url})
    transport = pooled_transport(provider, config)
    assert transport is provider.client(config)
    assert sync_part(transport)._sync is not None  # the one client both chats went through
    other = provider.resolve_config(
        {"api_key": KEY, "base_url": openai_server.base_url, "timeout": 5}
    )
    assert provider.client(other) is not transport


def test_the_pool_keeps_the_most_recent_configurations_and_closes_the_rest(
    openai_server: FakeServer,
) -> None:
    provider = providers.get("openai")

    def transport(i: int):
        return provider.client(provider.resolve_config(openai(openai_server, api_key=f"key-{i}")))

    first = transport(0)
    llm.chat("openai", "a", **openai(openai_server, api_key="key-0"))
    client = sync_part(first)._sync
    assert client is not None and not client.is_closed
    for i in range(1, 40):
        llm.chat("openai", "b", **openai(openai_server, api_key=f"key-{i}"))
    assert len(_pool) == POOL_SIZE
    assert client.is_closed and sync_part(first)._sync is None  # pushed out, its socket closed
    assert sync_part(transport(39))._sync is not None  # the recent ones stay open
    assert llm.chat("openai", "c", **openai(openai_server, api_key="key-0")).content == "Echo: c"


def test_a_transport_pushed_out_mid_stream_closes_when_the_stream_ends(
    openai_server: FakeServer,
) -> None:
    stream = iter(llm.stream("openai", "one two three four five six", **openai(openai_server)))
    first = next(stream).content
    provider = providers.get("openai")
    busy = provider.client(provider.resolve_config(openai(openai_server)))
    client = sync_part(busy)._sync
    for i in range(POOL_SIZE):
        llm.chat("openai", "x", **openai(openai_server, api_key=f"key-{i}"))
    assert not client.is_closed  # still streaming
    rest = "".join(chunk.content for chunk in stream)
    assert first + rest == "Echo: one two three four five six"
    assert client.is_closed


def test_registering_a_provider_again_closes_its_old_client(openai_server: FakeServer) -> None:
    llm.chat("openai", "a", **openai(openai_server))
    provider = providers.get("openai")
    old = provider.client(provider.resolve_config(openai(openai_server)))
    client = sync_part(old)._sync
    providers.register("openai", type(provider))
    try:
        assert llm.chat("openai", "b", **openai(openai_server)).content == "Echo: b"
        assert client.is_closed
    finally:
        providers.register("openai", type(provider))


async def test_an_async_client_pushed_out_closes_on_its_loop(
    openai_server: FakeServer, transport: str
) -> None:
    if transport != "httpx2":
        pytest.skip("the aiohttp sessions' closing is tested in test_aiohttp_transport.py")
    await llm.achat("openai", "a", **openai(openai_server))
    provider = providers.get("openai")
    first = provider.client(provider.resolve_config(openai(openai_server)))
    ((aclient, _),) = first._async.values()
    for i in range(POOL_SIZE):
        await llm.achat("openai", "x", **openai(openai_server, api_key=f"key-{i}"))
    for _ in range(20):
        if aclient.is_closed:
            break
        await asyncio.sleep(0.01)
    assert aclient.is_closed


def test_no_socket_is_left_open_at_exit(openai_server: FakeServer) -> None:
    code = (
        "import warnings, llmpipe_nb as llm\n"
        "warnings.simplefilter('always')\n"
        "for i in range(20):\n"
        f"    llm.chat('openai', 'x', api_key=f'key-{{i}}', base_url={openai_server.base_url!r})\n"
    )
    out = subprocess.run(
        [sys.executable, "-X", "dev", "-c", code], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "ResourceWarning" not in out.stderr


def test_a_finished_event_loop_closes_its_client(openai_server: FakeServer) -> None:
    """asyncio.run makes a loop per call: each loop's client closes with it, sockets and all."""
    transport = pooled_transport(
        providers.get("openai"),  # type: ignore[arg-type]
        providers.get("openai").resolve_config(openai(openai_server)),
    )
    seen = []

    async def ask(text: str) -> str:
        reply = await llm.achat("openai", text, **openai(openai_server))
        if isinstance(transport, HttpTransport):
            ((client, _),) = transport._async.values()
            seen.append(lambda: client.is_closed)
        else:  # aiohttp: the loop's session
            (held,) = transport._sessions.values()
            seen.append(lambda: held.session.closed)
        return reply.content

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        assert asyncio.run(ask("a")) == "Echo: a"
        assert asyncio.run(ask("b")) == "Echo: b"
        gc.collect()
    assert len(seen) == 2 and all(closed() for closed in seen)
    assert not (transport._async if isinstance(transport, HttpTransport) else transport._sessions)
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []


def test_a_stream_cancelled_mid_way_leaves_no_socket(openai_server: FakeServer) -> None:
    openai_server.inject(faults.slow_chunks(0.05))

    async def abandon() -> str:
        first = ""
        # a cancelled reader only pauses the stream (it is its own iterator); its owner closes it
        async with llm.astream("openai", "one two three four", **openai(openai_server)) as stream:

            async def read() -> None:
                nonlocal first
                async for chunk in stream:
                    first += chunk.content
                    await asyncio.sleep(10)

            task = asyncio.create_task(read())
            await asyncio.sleep(0.3)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return first

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        assert asyncio.run(abandon())
        gc.collect()
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []


def test_keep_alive_connection_is_reused(openai_server: FakeServer) -> None:
    provider = providers.get("openai")
    config = provider.resolve_config({"api_key": KEY, "base_url": openai_server.base_url})
    transport = provider.client(config)
    transport.send(HttpCall("GET", "/models"))
    pool = sync_part(transport)._sync._transport._pool
    first = list(pool.connections)
    transport.send(HttpCall("GET", "/models"))
    assert len(first) == 1 and list(pool.connections) == first


def test_key_is_sent_as_header_and_shown_nowhere(openai_server: FakeServer) -> None:
    openai_server.inject(
        faults.http_error(401, body={"error": {"message": f"Incorrect API key provided: {KEY}"}})
    )
    with pytest.raises(AuthenticationError) as caught:
        llm.chat("openai", "hi", **openai(openai_server))
    assert openai_server.last_request.headers["authorization"] == f"Bearer {KEY}"
    error = caught.value
    shown = [
        str(error),
        repr(error),
        error.message,
        repr(error.request),
        repr(error.request.config),
    ]
    shown.append(repr(providers.get("openai").client(error.request.config)))
    assert all(KEY not in text for text in shown)
    assert "***" in str(error)


def test_user_headers_and_user_agent_are_sent(openai_server: FakeServer) -> None:
    llm.chat("openai", "hi", **openai(openai_server, headers={"X-Title": "notebook"}))
    headers = openai_server.last_request.headers
    assert headers["x-title"] == "notebook"
    assert headers["user-agent"].startswith("llmpipe_nb/")


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
    ids=["ms-wins", "seconds", "fractional", "garbage", "absent"],
)
def test_parse_retry_after(headers, expected) -> None:
    assert parse_retry_after(headers) == expected


def test_parse_retry_after_http_date() -> None:
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 27 <= parse_retry_after({"retry-after": date}) <= 30


def test_read_timeout_is_typed(openai_server: FakeServer) -> None:
    openai_server.inject(faults.delay(2))
    with pytest.raises(ProviderTimeoutError, match=r"did not answer within 0\.3 s"):
        llm.chat("openai", "hi", **openai(openai_server, timeout=0.3))


def test_idle_time_between_chunks_is_typed(openai_server: FakeServer) -> None:
    llm.configure("openai", extra={"idle_timeout": 0.3})
    openai_server.inject(faults.slow_chunks(2))
    with pytest.raises(ProviderTimeoutError, match=r"sent nothing for 0\.3 s between chunks"):
        llm.stream("openai", "hi", **openai(openai_server)).text()


def test_connection_refused_is_typed() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ProviderConnectionError, match="Could not connect to openai") as caught:
        llm.chat("openai", "hi", api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1")
    assert caught.value.retryable


def test_connection_dropped_mid_body_is_a_connection_error(openai_server: FakeServer) -> None:
    openai_server.inject(faults.drop_connection())
    with pytest.raises(ProviderConnectionError, match="broke off"):
        llm.chat("openai", "hi", **openai(openai_server))


def test_stream_dropped_after_content_keeps_the_partial_text(openai_server: FakeServer) -> None:
    openai_server.inject(faults.drop_connection(after_chunks=3))  # role, "Echo: ", "one "
    stream = llm.stream("openai", "one two three", **openai(openai_server))
    seen = []
    with pytest.raises(StreamInterruptedError) as caught:
        for chunk in stream:
            seen.append(chunk.content)
    assert seen == ["Echo: ", "one "]
    assert caught.value.partial_text == "Echo: one "


def test_stream_that_ends_without_its_marker_is_interrupted(openai_server: FakeServer) -> None:
    openai_server.inject(faults.end_stream(after_chunks=3))  # a clean end, but no [DONE]
    with pytest.raises(StreamInterruptedError, match="without its end marker") as caught:
        llm.stream("openai", "one two", **openai(openai_server)).text()
    assert caught.value.partial_text == "Echo: one "


def test_malformed_json_is_a_response_format_error(openai_server: FakeServer) -> None:
    openai_server.inject(faults.malformed_json(), times=2)
    with pytest.raises(ResponseFormatError, match="not valid JSON"):
        llm.chat("openai", "hi", **openai(openai_server))
    with pytest.raises(ResponseFormatError, match="not valid JSON"):
        llm.stream("openai", "hi", **openai(openai_server)).text()


def test_error_status_on_a_stream_is_typed_before_any_chunk(openai_server: FakeServer) -> None:
    openai_server.inject(faults.http_error(503, headers={"x-should-retry": "false"}))
    with pytest.raises(ServerError) as caught:
        llm.stream("openai", "hi", **openai(openai_server)).text()
    assert caught.value.status_code == 503
    assert caught.value.retryable is False  # the server's x-should-retry wins
    assert caught.value.request_id == openai_server.last_request.request_id


def _peak_while(run):
    """`run()`'s result and the most memory it held at once above where it started."""
    tracing = tracemalloc.is_tracing()  # the suite traces allocations to name leaks
    if not tracing:
        tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    try:
        result = run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not tracing:
            tracemalloc.stop()
    return result, peak - before


def test_a_10000_chunk_stream_keeps_memory_flat(openai_server: FakeServer) -> None:
    llm.stream("openai", "x", **openai(openai_server)).text()  # price table loaded, client made
    openai_server.inject(faults.chunks(10_000))
    stream = llm.stream("openai", "x", **openai(openai_server))
    count, peak = _peak_while(lambda: sum(1 for chunk in stream if chunk.content))
    assert count == 10_000
    assert stream.response.content == "".join(echo.pieces(echo.echo("x"), 10_000))
    # about 2.5 MB crossed the socket; besides the 35 kB of text, only buffers may stay
    assert peak < 1_000_000  # keeping the 10,000 chunks alone would take 1.5 MB


def test_a_long_answer_is_held_once_not_as_a_buffer_and_its_copy(
    openai_server: FakeServer,
) -> None:
    llm.stream("openai", "x", **openai(openai_server)).text()  # price table loaded, client made
    openai_server.inject(faults.chunks(1_000))  # "Echo: " and 4,000 x's, in turns: 2 MB
    text, peak = _peak_while(
        lambda: llm.stream("openai", "x" * 4_000, **openai(openai_server)).text()
    )
    assert text == "".join(echo.pieces(echo.echo("x" * 4_000), 1_000))
    # the text grows in place: a buffer turned into a str at the end would need twice its size
    assert peak < 1.4 * len(text)


async def test_async_chat_and_stream(openai_server: FakeServer) -> None:
    reply = await llm.achat("openai", "hello there", **openai(openai_server))
    assert reply.content == "Echo: hello there"
    pieces = [
        chunk.content
        async for chunk in llm.astream("openai", "hello there", **openai(openai_server))
    ]
    assert "".join(pieces) == "Echo: hello there"


async def test_async_timeout_and_drop_are_typed(openai_server: FakeServer) -> None:
    openai_server.inject(faults.delay(2))
    with pytest.raises(ProviderTimeoutError):
        await llm.achat("openai", "hi", **openai(openai_server, timeout=0.3))
    openai_server.inject(faults.drop_connection(after_chunks=3))
    with pytest.raises(StreamInterruptedError) as caught:
        await llm.astream("openai", "one two", **openai(openai_server)).atext()
    assert caught.value.partial_text == "Echo: one "


def test_retry_policy_waits_as_the_server_asks(openai_server: FakeServer) -> None:
    waits: list[float] = []
    openai_server.inject(
        faults.http_error(429, headers={"retry-after-ms": "20"}), faults.http_error(503)
    )
    reply = (
        llm.build("openai", "hello there")
        .with_options(**openai(openai_server))
        .with_retry(max_attempts=3, base_delay=0.01, jitter=0, sleep=waits.append)
        .execute()
    )
    assert reply.content == "Echo: hello there"
    assert len(openai_server.requests) == 3
    assert waits == [0.02, 0.02]  # the server's retry-after-ms, then the backoff
    assert reply.request.metadata["attempts"] == 3


@pytest.mark.parametrize("line_ending", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_streams_parse_with_any_line_ending(fake_server, line_ending) -> None:
    server = fake_server("openai", line_ending=line_ending)
    stream = llm.stream("openai", "one two three", **openai(server))
    assert stream.text() == "Echo: one two three"
    assert stream.response.usage.output_tokens == 4
