"""A loopback HTTP server that speaks one provider's wire format, with injectable faults.

Real sockets on 127.0.0.1, a free port, one thread per connection, HTTP/1.1 keep-alive
and chunked streaming, so clients are tested exactly as they run against the real
APIs. Every request is recorded, so tests can count what went over the wire.

    with FakeServer("openai") as server:
        server.inject(faults.http_error(429, headers={"retry-after": "1"}))
        ...  # point the client at server.base_url

Run one by hand with `python -m llmpipe_nb.testing.server --provider openai --port 0`.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import socket
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

from llmpipe_nb.testing.anthropic_wire import AnthropicWire
from llmpipe_nb.testing.azure_wire import AzureWire
from llmpipe_nb.testing.bedrock_wire import BedrockWire
from llmpipe_nb.testing.faults import Fault
from llmpipe_nb.testing.gemini_wire import GeminiWire
from llmpipe_nb.testing.ollama_wire import OllamaWire
from llmpipe_nb.testing.openai_wire import OpenAIWire
from llmpipe_nb.testing.vertex_wire import VertexWire
from llmpipe_nb.testing.wire import RecordedRequest, Reply, Stream, Wire, dumps

__all__ = ["WIRES", "FakeServer", "main"]

WIRES: dict[str, type[Wire]] = {
    "openai": OpenAIWire,
    "anthropic": AnthropicWire,
    "gemini": GeminiWire,
    "ollama": OllamaWire,
    "azure": AzureWire,
    "vertex": VertexWire,
    "bedrock": BedrockWire,
}
_NO_FAULT = Fault()


class FakeServer:
    """One provider's fake API on a loopback port; a context manager."""

    def __init__(
        self,
        provider: str = "openai",
        *,
        flavor: str | None = None,
        api_key: str | None = None,
        line_ending: str | None = None,
        port: int = 0,
    ) -> None:
        if provider not in WIRES:
            raise ValueError(f"No fake server for {provider!r}; use one of {sorted(WIRES)}.")
        self.provider = provider
        self.wire = WIRES[provider](flavor=flavor, api_key=api_key, line_ending=line_ending)
        self._port = port
        self._faults: deque[Fault] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._closing = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> FakeServer:
        """Bind the port and serve in a background thread."""
        self._httpd = _HTTPServer(("127.0.0.1", self._port), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-{self.provider}-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and cut every open connection."""
        if self._httpd is None:
            return
        self._closing.set()
        self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            _cut(connection)
        self._httpd.server_close()
        self._httpd = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- what tests use -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server root, e.g. http://127.0.0.1:50123."""
        if self._httpd is None:
            raise RuntimeError(
                "The fake server is not running; call start() or use it in a with block."
            )
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        """The root plus the provider's API prefix: what a client's base_url should be."""
        return self.url + self.wire.base_path

    @property
    def open_connections(self) -> int:
        """Client connections open right now (a closed stream's ends once the server notices)."""
        with self._lock:
            return len(self._connections)

    def inject(self, *faults: Fault, times: int = 1) -> None:
        """Queue faults for the next requests, one request each, `times` rounds over."""
        with self._lock:
            self._faults.extend(list(faults) * times)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            if not self._requests:
                raise LookupError("The fake server has received no request yet.")
            return self._requests[-1]

    def clear(self) -> None:
        """Forget recorded requests and pending faults."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()

    # -- serving ------------------------------------------------------------------------

    def _record(
        self, handler: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[RecordedRequest, Fault]:
        parts = urlsplit(handler.path)
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        request = RecordedRequest(
            method=handler.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query)),
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=body,
            json=parsed,
            request_id=f"req_{next(self._ids):06d}",
        )
        with self._lock:
            self._requests.append(request)
            fault = self._faults.popleft() if self._faults else _NO_FAULT
        return request, fault

    def _serve(self, handler: _Handler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        request, fault = self._record(handler, handler.rfile.read(length))
        if fault.delay_s and self._closing.wait(fault.delay_s):
            return
        headers = self.wire.reply_headers(request)
        if fault.status is not None:
            body = (
                self.wire.error_body(fault.status, "Injected fault.")
                if fault.body is None
                else fault.body
            )
            answer: Reply | Stream = Reply(body, fault.status)
        elif not self.wire.credential_ok(request):
            answer = self.wire.error(401, "Invalid API key provided.")
        else:
            with self.wire.answering(fault.structured_text):
                answer = self.wire.handle(request, fault.chunk_count)
            if fault.no_usage:
                answer = self.wire.without_usage(answer)
        headers |= answer.headers | dict(fault.headers)
        if isinstance(answer, Reply):
            self._write_reply(handler, answer, headers, fault)
        else:
            self._write_stream(handler, answer, headers, fault)

    def _write_reply(
        self, handler: _Handler, reply: Reply, headers: dict[str, str], fault: Fault
    ) -> None:
        raw = reply.body if isinstance(reply.body, bytes) else None
        if raw is None:
            raw = (reply.body if isinstance(reply.body, str) else dumps(reply.body)).encode()
        if fault.malformed:
            raw = raw[: max(1, len(raw) // 2)]
        handler.send_response(reply.status)
        handler.send_header("Content-Type", reply.content_type)
        handler.send_header("Content-Length", str(len(raw)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if fault.drop_after is not None:
            handler.wfile.write(raw[: len(raw) // 2])
            handler.wfile.flush()
            _cut(handler.connection)
            handler.close_connection = True
            return
        handler.wfile.write(raw)

    def _write_stream(
        self, handler: _Handler, stream: Stream, headers: dict[str, str], fault: Fault
    ) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", stream.content_type)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Cache-Control", "no-cache")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        for index, frame in enumerate(stream.frames):
            if index == fault.drop_after:
                handler.wfile.flush()
                _cut(handler.connection)
                handler.close_connection = True
                return
            if index == fault.end_after:
                break
            if index == fault.error_after:
                _chunk(handler, self.wire.stream_error_frame())
                break
            if index and fault.chunk_delay_s and self._closing.wait(fault.chunk_delay_s):
                return
            _chunk(handler, frame)
            if fault.malformed and index == 0:
                _chunk(handler, self.wire.malformed_frame())
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()

    def _track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many clients connect at once in load tests; 5 would drop them
    block_on_close = False
    fake: FakeServer

    def process_request(self, request, client_address):
        self.fake._track(request, True)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        self.fake._track(request, False)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        """Clients that hang up early are part of the tests; stay quiet about them."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once, as real servers send them
    server: _HTTPServer

    def do_GET(self) -> None:
        self.server.fake._serve(self)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Requests are recorded, not logged."""


def _chunk(handler: BaseHTTPRequestHandler, frame: bytes) -> None:
    handler.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
    handler.wfile.flush()


def _cut(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)


def main(argv: list[str] | None = None) -> None:
    """Serve one fake provider until interrupted; prints the base URL to use."""
    parser = argparse.ArgumentParser(
        prog="python -m llmpipe_nb.testing.server", description=main.__doc__
    )
    parser.add_argument("--provider", choices=sorted(WIRES), default="openai")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--flavor", default=None, help="an OpenAI-compatible quirk set, e.g. openrouter"
    )
    parser.add_argument("--api-key", default=None, help="require this key on every request")
    args = parser.parse_args(argv)
    server = FakeServer(
        args.provider, flavor=args.flavor, api_key=args.api_key, port=args.port
    ).start()
    print(f"{args.provider} fake server: base_url {server.base_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


if __name__ == "__main__":
    main()
