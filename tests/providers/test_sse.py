"""The stream parsers must give the same events however the network splits the bytes."""

from __future__ import annotations

import itertools

import pytest

from llmpipe_nb.providers._sse import NDJSONSplitter, SSEEvent, SSEParser


def feed_split(raw: bytes, cuts: tuple[int, ...]) -> list[SSEEvent]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    bounds = [0, *cuts, len(raw)]
    for start, end in itertools.pairwise(bounds):
        events += parser.feed(raw[start:end])
    return events + parser.close()


def every_split(raw: bytes, max_cuts: int = 2):
    """Every way to cut `raw` into up to max_cuts + 1 reads, plus byte by byte."""
    positions = range(1, len(raw))
    for count in range(max_cuts + 1):
        yield from itertools.combinations(positions, count)
    yield tuple(positions)


CASES = {
    "lf": (b"data: a\n\ndata: b\n\n", [SSEEvent(data="a"), SSEEvent(data="b")]),
    "crlf": (b"data: a\r\n\r\ndata: b\r\n\r\n", [SSEEvent(data="a"), SSEEvent(data="b")]),
    "lone-cr": (b"data: a\r\rdata: b\r\r", [SSEEvent(data="a"), SSEEvent(data="b")]),
    "mixed-ends": (b"data: a\r\n\rdata: b\n\r\n", [SSEEvent(data="a"), SSEEvent(data="b")]),
    "comment": (b": keep-alive\n\n: OPENROUTER PROCESSING\ndata: x\n\n", [SSEEvent(data="x")]),
    "multi-line-crlf": (b"data: a\r\ndata: b\r\n\r\n", [SSEEvent(data="a\nb")]),
    "multi-line-data": (
        b"data: one\ndata:two\ndata:  three\n\n",
        [SSEEvent(data="one\ntwo\n three")],
    ),
    "no-space": (b"data:[DONE]\n\n", [SSEEvent(data="[DONE]")]),
    "event-and-id": (
        b'event: ping\nid: 7\ndata: {}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n',
        [
            SSEEvent("ping", "{}", "7"),
            SSEEvent("message_stop", '{"type":"message_stop"}', "7"),
        ],
    ),
    "unknown-field-and-retry": (b"retry: 10\nfoo: bar\ndata: x\n\n", [SSEEvent(data="x")]),
    "event-without-data-dropped": (b"event: lonely\n\ndata: x\n\n", [SSEEvent(data="x")]),
    "empty-data-line": (b"data:\n\n", [SSEEvent(data="")]),
    "trailing-event-flushed": (
        b"data: a\n\ndata: last",
        [SSEEvent(data="a"), SSEEvent(data="last")],
    ),
    "trailing-after-newline": (b"data: last\n", [SSEEvent(data="last")]),
    "utf8": ("data: Sunny, 18 °C 🌤\n\n".encode(), [SSEEvent(data="Sunny, 18 °C 🌤")]),
    "bom": (b"\xef\xbb\xbfdata: a\n\n", [SSEEvent(data="a")]),
    "bare-json-line": (
        b'data: {"a":1}\n\n{"error": {"code": 500}}\n\n',
        [SSEEvent(data='{"a":1}'), SSEEvent(data='{"error": {"code": 500}}')],
    ),
    "colon-in-value": (b"data: a: b\n\n", [SSEEvent(data="a: b")]),
}


@pytest.mark.parametrize("raw, expected", list(CASES.values()), ids=list(CASES))
def test_sse_same_events_for_every_split(raw: bytes, expected: list[SSEEvent]) -> None:
    for cuts in every_split(raw):
        assert feed_split(raw, cuts) == expected, f"cuts={cuts}"


def test_sse_events_arrive_as_soon_as_their_blank_line_does() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\n") == []
    assert parser.feed(b"\n") == [SSEEvent(data="a")]
    assert parser.feed(b"data: b") == []
    assert parser.close() == [SSEEvent(data="b")]


def test_sse_cr_at_end_of_read_then_lf_is_one_line_end() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\n") == []  # the LF belongs to the CR: no blank line yet
    assert parser.feed(b"\r\n") == [SSEEvent(data="a")]


def test_sse_keeps_only_the_unfinished_tail() -> None:
    parser = SSEParser()
    for _ in range(10_000):
        assert parser.feed(b'data: {"x": 1}\n\n') == [SSEEvent(data='{"x": 1}')]
    assert parser._partial == []
    assert parser._data == []


def test_sse_invalid_utf8_is_replaced_not_raised() -> None:
    assert feed_split(b"data: \xff\n\n", ()) == [SSEEvent(data="\ufffd")]


NDJSON = (
    '{"message":{"content":"Sun"},"done":false}\r\n'
    "\n"
    '{"message":{"content":"ny °C"},"done":false}\n'
    '{"done":true}'
).encode()


def test_ndjson_same_lines_for_every_split() -> None:
    expected = [
        '{"message":{"content":"Sun"},"done":false}',
        '{"message":{"content":"ny °C"},"done":false}',
        '{"done":true}',
    ]
    for cuts in every_split(NDJSON, max_cuts=2):
        splitter = NDJSONSplitter()
        lines: list[str] = []
        for start, end in itertools.pairwise([0, *cuts, len(NDJSON)]):
            lines += splitter.feed(NDJSON[start:end])
        assert lines + splitter.close() == expected, f"cuts={cuts}"


def test_ndjson_line_arrives_with_its_newline() -> None:
    splitter = NDJSONSplitter()
    assert splitter.feed(b'{"a":') == []
    assert splitter.feed(b"1}\n{") == ['{"a":1}']
    assert splitter.close() == ["{"]


def test_sse_one_event_per_read_keeps_what_earlier_reads_set() -> None:
    """A read of exactly one `data:` event takes a short path; what earlier reads left
    (an event name, an id, a line or data not yet finished) still applies to it."""
    parser = SSEParser()
    assert parser.feed(b"id: 7\ndata: a\n\n") == [SSEEvent(data="a", id="7")]
    assert parser.feed(b"data: b\n\n") == [SSEEvent(data="b", id="7")]
    assert parser.feed(b"event: ping\n") == []
    assert parser.feed(b"data: c\n\n") == [SSEEvent("ping", "c", "7")]
    assert parser.feed(b"data: d\n") == []
    assert parser.feed(b"data: e\n\n") == [SSEEvent(data="d\ne", id="7")]
    assert parser.feed(b"da") == []
    assert parser.feed(b"ta: f\n\n") == [SSEEvent(data="f", id="7")]
    assert parser.feed(b"data: g\r") == []
    assert parser.feed(b"\n\n") == [SSEEvent(data="g", id="7")]


def test_sse_character_split_across_reads_then_whole_reads() -> None:
    parser = SSEParser()
    raw = "data: 18 °C\n\n".encode()
    cut = raw.index(b"\xb0")  # inside the two bytes of the degree sign
    assert parser.feed(raw[:cut]) == []
    assert parser.feed(raw[cut:]) == [SSEEvent(data="18 °C")]
    assert parser.feed(raw) == [SSEEvent(data="18 °C")]
