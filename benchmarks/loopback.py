"""A fast loopback server in the OpenAI chat-completions format, for the benchmarks.

The test servers in `llmpipe_nb.testing` are built for faults, one thread per
connection; this one is built to cost the client's measurements nothing: one asyncio
loop, canned answers rendered once, keep-alive, chunked streaming that waits on the
socket (so a slow reader holds the server back, as a real provider's would).

    python benchmarks/loopback.py --port 0    # prints "port N", then serves

A request's `max_tokens` (or `max_completion_tokens`) is how many content chunks a
streamed answer has (default 50), `n_bytes` how long each is (default a short token);
`hold: true` pauses a stream after its first chunk until `GET /release` (`GET /hold`
pauses the next ones again); `GET /stats` answers the bytes of the last stream written so
far, for the backpressure benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

CHUNK = b'{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"gpt-6-luna","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":{"content":"%s"},"logprobs":null,"finish_reason":null}]}'
PIECES = [b" tok%d" % n for n in range(10)]
REPLY = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-6-luna",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello there, how can I help?"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 8, "total_tokens": 17},
    }
).encode()
TAIL = (
    b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"gpt-6-luna","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"gpt-6-luna","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":%d,"total_tokens":%d}}\n\n'
    b"data: [DONE]\n\n"
)
WRITE = 16 * 1024  # bytes per socket write of a stream
_streams: dict[int, list[bytes]] = {}
_sent = [0]  # bytes of the last stream written
_released = asyncio.Event()


def _events(count: int, size: int) -> list[bytes]:
    """A stream's HTTP chunks: each SSE event framed on its own, as providers send them."""
    key = count * 1000 + size
    if key not in _streams:
        piece = b"x" * size if size else None
        events = [b"data: " + CHUNK % (piece or PIECES[n % 10]) + b"\n\n" for n in range(count)]
        events.append(TAIL % (count, count + 9))
        _streams.clear()
        _streams[key] = [b"%x\r\n%s\r\n" % (len(e), e) for e in events] + [b"0\r\n\r\n"]
    return _streams[key]


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length) if length else b""
            if head.startswith(b"GET /"):
                if head.startswith(b"GET /release"):
                    _released.set()
                elif head.startswith(b"GET /hold"):
                    _released.clear()
                writer.write(_reply(b'{"sent": %d}' % _sent[0]))
                continue
            request = json.loads(body) if body else {}
            if not request.get("stream"):
                writer.write(_reply(REPLY))
                continue
            count = int(request.get("max_completion_tokens") or request.get("max_tokens") or 50)
            size = int(request.get("n_bytes", 0) or 0)
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"transfer-encoding: chunked\r\n\r\n"
            )
            _sent[0] = 0
            frames = _events(count, size)
            if request.get("hold"):
                writer.write(frames[0])
                await writer.drain()
                await _released.wait()
                frames = frames[1:]
            batch: list[bytes] = []
            batched = 0
            for frame in frames:
                batch.append(frame)
                batched += len(frame)
                if batched >= WRITE:
                    writer.write(b"".join(batch))
                    _sent[0] += batched
                    batch, batched = [], 0
                    await writer.drain()
            writer.write(b"".join(batch))
            _sent[0] += batched
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _reply(payload: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
        len(payload),
        payload,
    )


async def _main(port: int) -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", port, backlog=4096, limit=1 << 20)
    print("port", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        asyncio.run(_main(args.port))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
