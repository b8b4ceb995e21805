"""Incremental stream framing: WHATWG server-sent events and newline-delimited JSON.

Both parsers take raw bytes exactly as the network delivers them, in pieces of any
size, and return only whole events or lines. They keep nothing but the unfinished
tail, so memory stays flat however long the stream runs. Standard library only.
"""

from __future__ import annotations

import codecs
import re
from typing import NamedTuple

__all__ = ["NDJSONSplitter", "SSEEvent", "SSEParser"]

_LINE_END = re.compile(r"\r\n|\r|\n")
_utf8 = codecs.getincrementaldecoder("utf-8")


class SSEEvent(NamedTuple):
    """One dispatched server-sent event (a named tuple: made once per event, cheaply)."""

    event: str = "message"
    data: str = ""
    id: str = ""


class SSEParser:
    """Turns event-stream bytes into `SSEEvent`s, by the WHATWG rules.

    Lines end at LF, CRLF or a lone CR (a CRLF split across two reads counts once);
    UTF-8 characters may be split across reads; `:` lines are comments; one space
    after the colon is dropped; several `data` lines join with LF; a blank line
    dispatches; an event without data is dropped. `close()` dispatches a final event
    that lacks its blank line, as the official SDKs do. One tolerance beyond the
    standard: a line starting with `{` is taken as data, because Gemini can send a
    bare `{"error": ...}` line mid-stream.

    It runs once per network read of every stream, so the usual read (whole UTF-8
    characters, LF line ends, `data: ` lines) takes a short path; the rest is the same
    rules, written out.
    """

    __slots__ = ("_data", "_decoder", "_event", "_id", "_partial", "_skip_lf", "_split", "_started")

    def __init__(self) -> None:
        self._decoder: codecs.IncrementalDecoder | None = None  # made when a read needs it
        self._split = False  # the decoder holds the first bytes of a character
        self._partial: list[str] = []
        self._skip_lf = False
        self._started = False
        self._event = ""
        self._data: list[str] = []
        self._id = ""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Consume one network read; return the events it completed."""
        if not self._split:
            try:
                text = chunk.decode()
            except UnicodeDecodeError:  # a character split across reads, or a bad byte
                pass
            else:
                if (  # the usual read: exactly one `data: ` line and its blank line
                    text[:6] == "data: "
                    and text[-2:] == "\n\n"
                    and text.count("\n") == 2
                    and "\r" not in text
                    and self._started
                    and not (self._partial or self._data or self._event or self._skip_lf)
                ):
                    return [SSEEvent("message", text[6:-2], self._id)]
                return self._feed_text(text)
        decoder = self._decoder
        if decoder is None:
            decoder = self._decoder = _utf8(errors="replace")
        text = decoder.decode(chunk)
        self._split = bool(decoder.getstate()[0])
        return self._feed_text(text)

    def close(self) -> list[SSEEvent]:
        """End of stream: return whatever the last, unterminated lines complete."""
        tail = "" if self._decoder is None else self._decoder.decode(b"", final=True)
        events = self._feed_text(tail)
        if self._partial:
            self._line("".join(self._partial))
            self._partial = []
        last = self._dispatch()
        if last is not None:
            events.append(last)
        return events

    def _feed_text(self, text: str) -> list[SSEEvent]:
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        if self._skip_lf and text:
            self._skip_lf = False
            text = text.removeprefix("\n")
        if not text:
            return []
        if "\r" in text:
            self._skip_lf = text[-1] == "\r"
            lines = _LINE_END.split(text)
        else:
            lines = text.split("\n")
        tail = lines.pop()
        events: list[SSEEvent] = []
        if lines:
            if self._partial:
                lines[0] = "".join(self._partial) + lines[0]
                self._partial = []
            data = self._data
            for line in lines:
                if not line:  # a blank line dispatches
                    if data:
                        events.append(SSEEvent(self._event or "message", "\n".join(data), self._id))
                        data = self._data = []
                    self._event = ""
                elif line.startswith("data: "):
                    data.append(line[6:])
                else:
                    self._line(line)
        if tail:
            self._partial.append(tail)
        return events

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line[0] == ":":
            return None
        if line[0] == "{":
            self._data.append(line)
            return None
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self) -> SSEEvent | None:
        event, data = self._event, self._data
        self._event, self._data = "", []
        if not data:
            return None
        return SSEEvent(event or "message", "\n".join(data), self._id)


class NDJSONSplitter:
    """Turns newline-delimited JSON bytes into whole lines (str), blank lines skipped."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[str]:
        """Consume one network read; return the lines it completed."""
        self._buffer += chunk
        end = self._buffer.rfind(b"\n")
        if end < 0:
            return []
        complete = bytes(self._buffer[: end + 1])
        del self._buffer[: end + 1]
        return _lines(complete)

    def close(self) -> list[str]:
        """End of stream: return a last line that had no newline."""
        rest, self._buffer = bytes(self._buffer), bytearray()
        return _lines(rest)


def _lines(raw: bytes) -> list[str]:
    text = raw.decode("utf-8", errors="replace")
    return [line for line in (part.strip() for part in text.split("\n")) if line]
