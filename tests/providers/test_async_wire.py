"""Async calls of every wire format and fault, over each transport (the `transport` fixture
runs this file once with httpx2 and once with aiohttp): `llm.achat` and `llm.astream` must
behave the same whichever client carries them."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import ssl
import subprocess
import threading

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import (
    AuthenticationError,
    ContextLengthError,
    ProviderConnectionError,
    ProviderTimeoutError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
    StreamInterruptedError,
)
from llmpipe_nb.testing import FakeServer, echo, faults

KEY = "sk-test-canary-0123456789"
PIECES = list(echo.pieces("Echo: hello there"))


def openai(server: FakeServer, **options):
    return {"api_key": KEY, "base_url": server.base_url, **options}


async def texts(stream) -> list[str]:
    return [chunk.content async for chunk in stream if not chunk.done]


async def test_the_configured_transport_carries_the_call(
    openai_server: FakeServer, transport: str
) -> None:
    reply = await llm.achat("openai", "hello there", **openai(openai_server))
    assert reply.content == "Echo: hello there"
    name = type(reply.request.http_client).__name__
    assert name == {"httpx2": "HttpTransport", "aiohttp": "AiohttpTransport"}[transport]
    recorded = openai_server.last_request
    assert recorded.headers["authorization"] == f"Bearer {KEY}"
    assert recorded.headers["user-agent"].startswith("llmpipe_nb/")
    assert recorded.headers["content-type"] == "application/json"


@pytest.mark.parametrize("line_ending", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
async def test_openai_stream_with_any_line_ending(fake_server, line_ending) -> None:
    server = fake_server("openai", line_ending=line_ending)
    stream = llm.astream("openai", "hello there", **openai(server))
    assert await texts(stream) == PIECES  # comments (keep-alives) in between are skipped
    assert stream.response.usage.output_tokens == 3
    assert stream.response.request_id == server.last_request.request_id


async def test_a_long_stream_arrives_whole(openai_server: FakeServer) -> None:
    openai_server.inject(faults.chunks(3000))
    text = "Sunny, 18 °C 🌤 " * 20  # characters of two to four bytes, split anywhere by reads
    stream = llm.astream("openai", text, **openai(openai_server))
    assert await texts(stream) == list(echo.pieces(echo.echo(text), 3000))
    assert stream.request.metadata["ttft_ms"] <= stream.request.metadata["latency_ms"]


async def test_streamed_tool_calls_are_assembled(openai_server: FakeServer) -> None:
    weather = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
    stream = llm.astream("openai", "Paris", **openai(openai_server, tools=[weather]))
    await stream.atext()
    assert stream.response.finish_reason == "tool_calls"
    assert [call.name for call in stream.response.tool_calls] == ["get_weather"]


async def test_http_errors_are_typed_with_retry_hints(openai_server: FakeServer) -> None:
    openai_server.inject(faults.http_error(429, headers={"retry-after": "7"}))
    with pytest.raises(RateLimitError) as limited:
        await llm.achat("openai", "hi", **openai(openai_server))
    assert limited.value.retry_after == 7.0
    assert limited.value.request_id == openai_server.last_request.request_id
    openai_server.inject(faults.http_error(429, headers={"retry-after-ms": "250"}))
    with pytest.raises(RateLimitError) as stream_limited:
        await llm.astream("openai", "hi", **openai(openai_server)).atext()
    assert stream_limited.value.retry_after == 0.25
    openai_server.inject(faults.http_error(503, headers={"x-should-retry": "false"}))
    with pytest.raises(ServerError) as unavailable:
        await llm.astream("openai", "hi", **openai(openai_server)).atext()
    assert unavailable.value.status_code == 503 and unavailable.value.retryable is False
    openai_server.inject(faults.http_error(401, body={"error": {"message": f"bad key {KEY}"}}))
    with pytest.raises(AuthenticationError) as refused:
        await llm.achat("openai", "hi", **openai(openai_server))
    assert KEY not in str(refused.value) and KEY not in str(refused.value.body)


async def test_a_context_length_answer_is_recognised(openai_server: FakeServer) -> None:
    body = {"error": {"message": "This model's maximum context length is 8192 tokens"}}
    openai_server.inject(faults.http_error(400, body=body))
    with pytest.raises(ContextLengthError):
        await llm.achat("openai", "hi", **openai(openai_server))


async def test_retries_wait_as_the_server_asks(openai_server: FakeServer) -> None:
    waits: list[float] = []
    openai_server.inject(faults.http_error(429, headers={"retry-after-ms": "20"}))
    reply = await (
        llm.build("openai", "hello there")
        .with_options(**openai(openai_server))
        .with_retry(max_attempts=2, base_delay=0.01, jitter=0, sleep=waits.append)
        .aexecute()
    )
    assert reply.content == "Echo: hello there" and waits == [0.02]


async def test_timeouts_are_typed(openai_server: FakeServer) -> None:
    openai_server.inject(faults.delay(2))
    with pytest.raises(ProviderTimeoutError, match=r"did not answer within 0\.3 s"):
        await llm.achat("openai", "hi", **openai(openai_server, timeout=0.3))
    llm.configure("openai", extra={"idle_timeout": 0.3})
    openai_server.inject(faults.slow_chunks(2))
    with pytest.raises(ProviderTimeoutError, match=r"sent nothing for 0\.3 s between chunks"):
        await llm.astream("openai", "hi", **openai(openai_server)).atext()


async def test_nothing_listening_and_not_http_are_typed() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ProviderConnectionError, match="Could not connect to openai") as refused:
        await llm.achat("openai", "hi", api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1")
    assert refused.value.retryable
    with pytest.raises(ProviderConnectionError, match="not an http") as wrong:
        await llm.achat("openai", "hi", api_key=KEY, base_url="ftp://127.0.0.1/v1")
    assert not wrong.value.retryable


async def test_drops_and_unfinished_streams(openai_server: FakeServer) -> None:
    openai_server.inject(faults.drop_connection())
    with pytest.raises(ProviderConnectionError, match="broke off"):
        await llm.achat("openai", "hi", **openai(openai_server))
    openai_server.inject(faults.drop_connection(after_chunks=3))  # role, "Echo: ", "one "
    seen: list[str] = []
    with pytest.raises(StreamInterruptedError) as dropped:
        async for chunk in llm.astream("openai", "one two three", **openai(openai_server)):
            seen.append(chunk.content)
    assert seen == ["Echo: ", "one "] and dropped.value.partial_text == "Echo: one "
    openai_server.inject(faults.end_stream(after_chunks=3))
    with pytest.raises(StreamInterruptedError, match="without its end marker"):
        await llm.astream("openai", "one two", **openai(openai_server)).atext()
    openai_server.inject(faults.malformed_json(), times=2)
    with pytest.raises(ResponseFormatError, match="not valid JSON"):
        await llm.achat("openai", "hi", **openai(openai_server))
    with pytest.raises(ResponseFormatError, match="not valid JSON"):
        await llm.astream("openai", "hi", **openai(openai_server)).atext()


async def test_a_stream_left_early_closes_its_connection(openai_server: FakeServer) -> None:
    openai_server.inject(faults.Fault(chunk_count=500, chunk_delay_s=0.01))
    stream = llm.astream("openai", "x", **openai(openai_server))
    await anext(aiter(stream))
    assert openai_server.open_connections == 1
    await stream.aclose()
    assert stream.request.state == "cancelled"
    for _ in range(100):  # the server notices at its next write
        if openai_server.open_connections == 0:
            break
        await asyncio.sleep(0.02)
    assert openai_server.open_connections == 0
    assert (await llm.achat("openai", "again", **openai(openai_server))).content == "Echo: again"


async def test_a_cancelled_task_closes_its_stream(openai_server: FakeServer) -> None:
    openai_server.inject(faults.Fault(chunk_count=500, chunk_delay_s=0.01))
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in llm.astream("openai", "x", **openai(openai_server)):
            started.set()

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if openai_server.open_connections == 0:
            break
        await asyncio.sleep(0.02)
    assert openai_server.open_connections == 0


async def test_proxies_come_from_the_environment(monkeypatch, openai_server: FakeServer) -> None:
    """A proxy named in HTTP_PROXY gets the request, in the absolute form proxies take."""
    seen: list[bytes] = []
    proxy = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        connection, _ = proxy.accept()
        with connection:
            seen.append(connection.recv(65536).split(b"\r\n", 1)[0])
            connection.sendall(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.getsockname()[1]}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    try:
        with pytest.raises(ServerError) as caught:
            await llm.achat("openai", "hi", **openai(openai_server))
    finally:
        thread.join(5)
        proxy.close()
    assert caught.value.status_code == 502
    assert seen == [f"POST {openai_server.base_url}/chat/completions HTTP/1.1".encode()]
    assert openai_server.requests == []


def read_request(conn: socket.socket) -> bytes:
    """One HTTP request read to its end: the head, then `content-length` bytes of body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.fixture
def tls_server(tmp_path):
    """An https server on loopback with a certificate of its own (not in any CA bundle):
    answers every request with one chat completion. Yields (base_url, certificate path)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    make = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    names = ["-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        [*make, "-keyout", str(key), "-out", str(cert), *names],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    body = json.dumps(
        {
            "id": "chatcmpl-tls",
            "model": "gpt-6-luna",
            "choices": [{"index": 0, "message": {"content": "over TLS"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2},
        }
    ).encode()
    reply = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
    reply += b"content-length: %d\r\n\r\n%s" % (len(body), body)

    def serve() -> None:
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(raw, server_side=True) as conn:
                    read_request(conn)  # whole, or closing with data unread resets the client
                    conn.sendall(reply)
            except (ssl.SSLError, OSError):  # a client that refused our certificate
                raw.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{listener.getsockname()[1]}/v1", str(cert)
    listener.close()
    thread.join(5)


async def test_tls_is_verified_and_a_custom_ca_is_taken_from_the_environment(
    monkeypatch, tls_server
) -> None:
    base_url, cert = tls_server
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(ProviderConnectionError, match="Could not connect to openai"):
        await llm.achat("openai", "hi", api_key=KEY, base_url=base_url)
    llm.providers._http.close_transports()  # a new client reads the variable
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    reply = await llm.achat("openai", "hi", api_key=KEY, base_url=base_url)
    assert reply.content == "over TLS"


# -- the other wire formats ----------------------------------------------------------------


async def test_anthropic_named_events_and_an_error_event(anthropic_server: FakeServer) -> None:
    options = {"api_key": KEY, "base_url": anthropic_server.base_url}
    stream = llm.astream("anthropic", "hello there", **options)
    assert await texts(stream) == PIECES
    assert anthropic_server.last_request.headers["x-api-key"] == KEY
    anthropic_server.inject(faults.stream_error(after_chunks=4))
    with pytest.raises(ServerError) as caught:
        await llm.astream("anthropic", "hello there", **options).atext()
    assert caught.value.error_type == "overloaded_error" and caught.value.retryable


async def test_gemini_sse_with_a_query_and_crlf_frames(gemini_server: FakeServer) -> None:
    options = {"api_key": KEY, "base_url": gemini_server.base_url}
    stream = llm.astream("gemini", "hello there", **options)
    assert await texts(stream) == PIECES
    recorded = gemini_server.last_request
    assert recorded.path.endswith(":streamGenerateContent") and recorded.query == {"alt": "sse"}
    assert (await llm.achat("gemini", "hi", **options)).content == "Echo: hi"


async def test_ollama_ndjson_and_a_cut_stream(ollama_server: FakeServer) -> None:
    stream = llm.astream("ollama", "hello there", base_url=ollama_server.url)
    assert await texts(stream) == PIECES
    ollama_server.inject(faults.end_stream(after_chunks=2))
    with pytest.raises(StreamInterruptedError) as caught:
        await llm.astream("ollama", "hello there", base_url=ollama_server.url).atext()
    assert caught.value.partial_text == "Echo: hello "


async def test_bedrock_signed_event_stream(aws_static_credentials, fake_server) -> None:
    server = fake_server("bedrock")  # checks each SigV4 signature against the request it got
    llm.configure("bedrock", base_url=server.url)
    stream = llm.astream("bedrock", "hello there")
    assert await texts(stream) == ["Echo: ", "hello ", "there"]
    assert server.last_request.path.endswith("/converse-stream")
    assert "%3A" in server.last_request.path  # the model id's colon, sent as signed
    assert (await llm.achat("bedrock", "hi")).content == "Echo: hi"
    server.inject(faults.malformed_json())
    with pytest.raises(ResponseFormatError, match="damaged event-stream frame"):
        await llm.astream("bedrock", "hello there").atext()


async def test_azure_deployment_url_with_its_query_and_key_header(monkeypatch, fake_server) -> None:
    for name in ("AZURE_OPENAI_AD_TOKEN", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_DEPLOYMENT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    server = fake_server("azure", api_key=KEY)
    llm.configure("azure", api_key=KEY, base_url=server.url)
    stream = llm.astream("azure", "hello there", model="chat")
    assert await texts(stream) == PIECES
    sent = server.last_request
    assert sent.path == "/openai/deployments/chat/chat/completions"
    assert sent.query == {"api-version": "2024-10-21"} and sent.headers["api-key"] == KEY


async def test_the_pool_size_bounds_open_connections(openai_server: FakeServer) -> None:
    llm.configure("openai", extra={"max_connections": 2})
    openai_server.inject(faults.Fault(chunk_count=20, chunk_delay_s=0.01), times=5)
    most = 0

    async def watch() -> None:
        nonlocal most
        while True:
            most = max(most, openai_server.open_connections)
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    try:
        texts_ = await asyncio.gather(
            *(llm.astream("openai", "x", **openai(openai_server)).atext() for _ in range(5))
        )
    finally:
        watcher.cancel()
    assert len(texts_) == 5 and len(set(texts_)) == 1
    assert most == 2
