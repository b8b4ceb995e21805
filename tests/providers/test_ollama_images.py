"""Ollama takes images only as bytes: URLs are fetched from a loopback image host (bounded,
timed, with a clear error and nothing sent to Ollama on failure), `data:` URLs decoded."""

from __future__ import annotations

import base64
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import ConfigError
from llmpipe_nb.testing import FakeServer

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # 1,032 bytes
PNG_B64 = base64.b64encode(PNG).decode()


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that hung up on purpose (a body refused half way) is not an error here."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class ImageHost:
    """A loopback HTTP server with one image, a page, a 404 and some awkward answers."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.release = threading.Event()  # lets a stalled answer finish at teardown
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                path = self.path.split("?")[0]
                if path == "/cat.png":
                    self._send(200, "image/png", PNG)
                elif path == "/cat":  # no content type: taken as bytes
                    self._send(200, None, PNG)
                elif path == "/moved.png":
                    self.send_response(302)
                    self.send_header("Location", "/cat.png")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif path == "/page.html":
                    self._send(200, "text/html; charset=utf-8", b"<html>login</html>")
                elif path == "/endless.png":  # no Content-Length: only reading tells the size
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for _ in range(64):
                        self.wfile.write(PNG)
                elif path == "/slow.png":
                    host.release.wait(5)
                    self._send(200, "image/png", PNG)
                else:
                    self._send(404, "text/plain", b"not found")

            def _send(self, status: int, media_type: str | None, body: bytes) -> None:
                self.send_response(status)
                if media_type:
                    self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def image_host() -> Iterator[ImageHost]:
    host = ImageHost()
    yield host
    host.close()


def look_at(*parts: dict) -> list[dict]:
    return [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, *parts]}]


def image_url(url: str) -> dict:
    return {"type": "image_url", "image_url": {"url": url}}


def test_an_image_url_is_fetched_and_sent_as_bytes(
    ollama_server: FakeServer, image_host: ImageHost
) -> None:
    messages = look_at(
        image_url(f"{image_host.url}/cat.png"),
        {"type": "image", "url": f"{image_host.url}/cat"},
        image_url(f"{image_host.url}/moved.png"),
    )
    llm.chat("ollama", messages, base_url=ollama_server.url)
    sent = ollama_server.last_request.json["messages"][0]
    assert sent == {"role": "user", "content": "What is this?", "images": [PNG_B64] * 3}
    assert [path for path, _ in image_host.seen] == ["/cat.png", "/cat", "/moved.png", "/cat.png"]


async def test_an_async_chat_fetches_too(ollama_server: FakeServer, image_host: ImageHost) -> None:
    reply = await llm.achat(
        "ollama", look_at(image_url(f"{image_host.url}/cat.png")), base_url=ollama_server.url
    )
    assert reply.content == "Echo: What is this?"
    assert ollama_server.last_request.json["messages"][0]["images"] == [PNG_B64]


def test_a_streamed_chat_fetches_too(ollama_server: FakeServer, image_host: ImageHost) -> None:
    stream = llm.stream(
        "ollama", look_at(image_url(f"{image_host.url}/cat.png")), base_url=ollama_server.url
    )
    assert stream.text() == "Echo: What is this?"
    assert ollama_server.last_request.json["messages"][0]["images"] == [PNG_B64]


def test_the_image_host_never_sees_the_providers_key_or_headers(
    ollama_server: FakeServer, image_host: ImageHost
) -> None:
    llm.chat(
        "ollama",
        look_at(image_url(f"{image_host.url}/cat.png")),
        base_url=ollama_server.url,
        api_key="ollama-key-123456",
        headers={"X-Team": "blue"},
    )
    assert ollama_server.last_request.headers["authorization"] == "Bearer ollama-key-123456"
    (_, headers), *_ = image_host.seen
    assert "authorization" not in headers and "x-team" not in headers
    assert headers["user-agent"].startswith("llmpipe_nb/")


@pytest.mark.parametrize(
    "path, options, error",
    [
        ("/missing.png", {}, r"could not be fetched \(HTTP 404\): check the URL"),
        ("/page.html", {}, "answered with text/html, not an image"),
        ("/cat.png", {"max_image_bytes": 1000}, r"larger than max_image_bytes \(1,000 bytes\)"),
        ("/endless.png", {"max_image_bytes": 10_000}, r"larger than max_image_bytes"),
        ("/slow.png", {"timeout": 0.3}, "did not arrive within 0.3 s"),
    ],
    ids=["404", "not-an-image", "announced-too-large", "read-too-large", "timeout"],
)
def test_an_image_that_cannot_be_fetched_is_a_config_error_and_nothing_is_sent(
    ollama_server: FakeServer, image_host: ImageHost, path: str, options: dict, error: str
) -> None:
    messages = look_at(image_url(f"{image_host.url}{path}"))
    with pytest.raises(ConfigError, match=error) as caught:
        llm.chat("ollama", messages, base_url=ollama_server.url, **options)
    assert "{'type': 'image', 'data': <base64>" in str(caught.value)  # how to pass bytes instead
    assert ollama_server.requests == []


def test_a_failing_url_is_shown_without_its_query(
    ollama_server: FakeServer, image_host: ImageHost
) -> None:
    url = f"{image_host.url}/missing.png?X-Amz-Signature=abcdef0123&token=s3cr3t"
    with pytest.raises(ConfigError) as caught:
        llm.chat("ollama", look_at(image_url(url)), base_url=ollama_server.url)
    assert f"{image_host.url}/missing.png " in str(caught.value)
    assert "s3cr3t" not in str(caught.value) and "abcdef" not in str(caught.value)


def test_nothing_listening_at_the_image_url_is_a_config_error(ollama_server: FakeServer) -> None:
    host = ImageHost()
    host.close()
    with pytest.raises(
        ConfigError, match=r"Could not connect to fetch the image at http://127\.0\.0\.1"
    ):
        llm.chat("ollama", look_at(image_url(f"{host.url}/cat.png")), base_url=ollama_server.url)
    assert ollama_server.requests == []


@pytest.mark.parametrize(
    "url, data",
    [
        (f"data:image/png;base64,{PNG_B64}", PNG_B64),
        ("data:image/svg+xml;charset=utf-8,%3Csvg%2F%3E", base64.b64encode(b"<svg/>").decode()),
        ("data:,GIF89a", base64.b64encode(b"GIF89a").decode()),
    ],
    ids=["base64", "percent-encoded", "no-media-type"],
)
def test_a_data_url_is_decoded_and_sent(ollama_server: FakeServer, url: str, data: str) -> None:
    llm.chat("ollama", look_at(image_url(url)), base_url=ollama_server.url)
    assert ollama_server.last_request.json["messages"][0]["images"] == [data]


@pytest.mark.parametrize(
    "url", ["ftp://example.com/cat.png", "file:///tmp/cat.png", "cat.png", "data:image/png"]
)
def test_an_image_url_that_cannot_be_fetched_is_refused(ollama_server: FakeServer, url) -> None:
    with pytest.raises(ConfigError, match="pass the bytes as"):
        llm.chat("ollama", look_at(image_url(url)), base_url=ollama_server.url)
    assert ollama_server.requests == []


@pytest.mark.parametrize("value", [0, -1, 1.5, "1MB", True])
def test_max_image_bytes_must_be_a_positive_whole_number(ollama_server: FakeServer, value) -> None:
    with pytest.raises(ConfigError, match="max_image_bytes must be a positive whole number"):
        llm.chat("ollama", "hi", max_image_bytes=value, base_url=ollama_server.url)
    assert ollama_server.requests == []


def test_images_go_with_any_role(ollama_server: FakeServer) -> None:
    part = {"type": "image", "data": PNG_B64, "media_type": "image/png"}
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "S"}, part]},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c", "name": "f"}]},
        {"role": "tool", "tool_call_id": "c", "content": [{"type": "text", "text": "R"}, part]},
    ]
    llm.chat("ollama", messages, base_url=ollama_server.url)
    sent = ollama_server.last_request.json["messages"]
    assert sent[0]["images"] == sent[3]["images"] == [PNG_B64]


def test_nothing_is_fetched_for_a_request_refused_for_its_options(
    ollama_server: FakeServer, image_host: ImageHost
) -> None:
    messages = look_at(image_url(f"{image_host.url}/cat.png"))
    with pytest.raises(ConfigError, match="think='hgih' is not understood"):
        llm.chat("ollama", messages, think="hgih", base_url=ollama_server.url)
    assert image_host.seen == [] and ollama_server.requests == []
