"""Incremental AWS event-stream framing (`application/vnd.amazon.eventstream`), both ways.

A message is a 12-byte prelude (total length, headers length, CRC32 of those 8 bytes),
the headers, the payload, and a CRC32 of everything before it, all big-endian. The
parser takes bytes in pieces of any size, checks both CRCs, and keeps only the
unfinished tail. `encode` builds a message (the loopback server and tests use it).
Standard library only.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["EventMessage", "EventStreamError", "EventStreamParser", "encode"]

_PRELUDE = 12
_MAX_MESSAGE = 16 * 1024 * 1024 + 128 * 1024  # the format's limit: 16 MiB payload, 128 KiB headers
#: header value types: (size of the fixed-size ones, or None for length-prefixed)
_BOOL_TRUE, _BOOL_FALSE, _BYTE, _SHORT, _INT, _LONG, _BYTES, _STRING, _TIME, _UUID = range(10)
_FIXED = {_BYTE: ">b", _SHORT: ">h", _INT: ">i", _LONG: ">q", _TIME: ">q"}


class EventStreamError(ValueError):
    """A frame that is not valid event-stream (a CRC mismatch, an impossible length)."""


@dataclass(frozen=True, slots=True)
class EventMessage:
    """One event-stream message: its headers (`:event-type`, `:message-type`, ...) and payload."""

    headers: Mapping[str, object] = field(default_factory=dict)
    payload: bytes = b""

    @property
    def message_type(self) -> str:
        return str(self.headers.get(":message-type", "event"))

    @property
    def event_type(self) -> str:
        """The event's name, or for an exception message the exception's."""
        name = self.headers.get(":exception-type") or self.headers.get(":event-type")
        return str(name or "")


class EventStreamParser:
    """Turns event-stream bytes into `EventMessage`s, checking both CRCs of every message."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[EventMessage]:
        """Consume one network read; return the messages it completed."""
        self._buffer += chunk
        messages = []
        while len(self._buffer) >= _PRELUDE:
            total, headers_length, prelude_crc = struct.unpack_from(">III", self._buffer)
            if zlib.crc32(self._buffer[:8]) != prelude_crc:
                raise EventStreamError("the prelude CRC does not match")
            if total > _MAX_MESSAGE or headers_length > total - _PRELUDE - 4:
                raise EventStreamError(f"a message claims an impossible length ({total} bytes)")
            if len(self._buffer) < total:
                break
            frame = bytes(self._buffer[:total])
            del self._buffer[:total]
            (message_crc,) = struct.unpack_from(">I", frame, total - 4)
            if zlib.crc32(frame[:-4]) != message_crc:
                raise EventStreamError("the message CRC does not match")
            end = _PRELUDE + headers_length
            messages.append(EventMessage(_headers(frame[_PRELUDE:end]), frame[end:-4]))
        return messages

    def close(self) -> list[EventMessage]:
        """End of stream. An unfinished message is dropped: the stream's own end marker
        (which then never came) is what tells a whole answer from a cut one."""
        self._buffer.clear()
        return []


def _headers(raw: bytes) -> dict[str, object]:
    headers: dict[str, object] = {}
    at = 0
    try:
        while at < len(raw):
            size = raw[at]
            name = raw[at + 1 : at + 1 + size].decode()
            at += 1 + size
            kind = raw[at]
            at += 1
            value: object
            if kind in (_BOOL_TRUE, _BOOL_FALSE):
                value = kind == _BOOL_TRUE
            elif kind in _FIXED:
                fmt = _FIXED[kind]
                (value,) = struct.unpack_from(fmt, raw, at)
                at += struct.calcsize(fmt)
            elif kind in (_BYTES, _STRING):
                (length,) = struct.unpack_from(">H", raw, at)
                data = raw[at + 2 : at + 2 + length]
                value = data.decode() if kind == _STRING else data
                at += 2 + length
            elif kind == _UUID:
                value, at = raw[at : at + 16], at + 16
            else:
                raise EventStreamError(f"a header has an unknown value type {kind}")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError):
        raise EventStreamError("the headers are cut short or not UTF-8") from None
    return headers


def encode(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One message with string headers, as Bedrock sends them."""
    raw = b"".join(
        struct.pack(">B", len(name.encode()))
        + name.encode()
        + struct.pack(">BH", _STRING, len(value.encode()))
        + value.encode()
        for name, value in headers.items()
    )
    total = _PRELUDE + len(raw) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw))
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + raw + payload
    return body + struct.pack(">I", zlib.crc32(body))
