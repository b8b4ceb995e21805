"""The incremental JSON parser behind `StreamChunk.partial`."""

from __future__ import annotations

import json

import pytest

from llmpipe_nb.structured import PartialJSON

DOC = {
    "vendor": 'ACME "Tools" é\U0001f600\n',
    "total": -12.5e1,
    "count": 3,
    "paid": False,
    "ok": True,
    "note": None,
    "lines": [{"item": "bolt", "sizes": [1, 2, {"mm": 3}]}, {}, []],
    "empty": {},
    "last": "end",
}


def feed_in(text: str, size: int) -> list[object]:
    parser = PartialJSON()
    seen = []
    for start in range(0, len(text), size):
        parser.feed(text[start : start + size])
        seen.append(parser.value)
    assert parser.complete
    return seen


@pytest.mark.parametrize("size", [1, 2, 3, 5, 17, 10_000])
@pytest.mark.parametrize("indent", [None, 2])
def test_any_split_of_the_text_ends_in_the_whole_value(size, indent):
    text = json.dumps(DOC, indent=indent)
    assert feed_in(text, size)[-1] == DOC
    ascii_text = json.dumps(DOC, indent=indent, ensure_ascii=True)  # \\u escapes, split anywhere
    assert feed_in(ascii_text, size)[-1] == DOC


def test_each_value_is_a_snapshot_that_later_text_does_not_change():
    text = json.dumps(DOC)
    seen = feed_in(text, 1)
    frozen = [json.dumps(v) for v in seen]
    assert [json.dumps(v) for v in seen] == frozen  # nothing handed out was changed afterwards
    assert all(isinstance(v, dict) for v in seen[1:])


def test_open_strings_show_as_far_as_they_came_and_unfinished_numbers_wait():
    parser = PartialJSON()
    parser.feed('{"name": "Ad')
    assert parser.value == {"name": "Ad"}
    parser.feed("a\\u00")
    assert parser.value == {"name": "Ada"}  # a cut escape is left out until it is whole
    parser.feed('e9", "age": 3')
    assert parser.value == {"name": "Adaé"}  # 3 might become 36
    parser.feed('6, "tags": ["x", tr')
    assert parser.value == {"name": "Adaé", "age": 36, "tags": ["x"]}
    parser.feed("ue]}")
    assert parser.value == {"name": "Adaé", "age": 36, "tags": ["x", True]} and parser.complete


def test_prose_and_fences_around_the_json_are_skipped():
    parser = PartialJSON()
    assert parser.value is None
    parser.feed('Sure! ```json\n{"a": [1, 2]}\n``` hope this helps')
    assert parser.value == {"a": [1, 2]} and parser.complete


def test_text_that_stops_being_json_keeps_what_came_before():
    parser = PartialJSON()
    parser.feed('{"a": 1, "b": oops')
    assert parser.broken and parser.value == {"a": 1} and not parser.complete
    parser.feed('"more"}')
    assert parser.value == {"a": 1}


def test_a_ten_thousand_chunk_stream_ends_in_the_whole_value():
    doc = {
        "items": [{"name": f"item {i}", "price": i * 1.5} for i in range(400)],
        "summary": "word " * 2000,
    }
    text = json.dumps(doc)
    size = len(text) // 10_000 + 1
    parser = PartialJSON()
    for start in range(0, len(text), size):
        parser.feed(text[start : start + size])
        parser.value  # noqa: B018 - a snapshot per chunk, as a stream takes
    assert parser.value == doc
