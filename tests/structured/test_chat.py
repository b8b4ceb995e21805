"""`schema=` through the public API on the offline mock: chat, builder, streams, repair, cache."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import itertools
import json
from typing import Literal

import pytest
from pydantic import BaseModel

import llmpipe_nb as llm
from llmpipe_nb import views
from llmpipe_nb.errors import ConfigError, SchemaValidationError


class Invoice(BaseModel):
    vendor: str
    total: float
    currency: Literal["EUR", "USD"]


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


PROMPT = "Extract: ACME, 12.50 EUR"


def sent_format(mock) -> dict:
    return mock.requests[-1].json["response_format"]


def test_chat_returns_the_typed_value_and_keeps_the_text(mock):
    reply = llm.chat("mock", PROMPT, schema=Invoice)
    assert isinstance(reply.parsed, Invoice)
    assert reply.parsed == Invoice.model_validate_json(reply.content)
    assert reply.parsed.total == 12.5 and reply.parsed.currency == "EUR"  # borrowed from the prompt
    assert sent_format(mock)["json_schema"]["name"] == "Invoice"
    assert llm.chat("mock", PROMPT, schema=Invoice).parsed == reply.parsed  # deterministic
    assert "parsed=Invoice(" in repr(reply)


@pytest.mark.parametrize(
    "spec, check",
    [
        (list[Point], lambda v: isinstance(v, list) and all(isinstance(p, Point) for p in v)),
        (Literal["yes", "no"], lambda v: v in ("yes", "no")),
        (Mood, lambda v: isinstance(v, Mood)),
        (int, lambda v: isinstance(v, int)),
        (
            {"type": "object", "properties": {"a": {"type": "boolean"}}, "required": ["a"]},
            lambda v: isinstance(v["a"], bool),
        ),
    ],
    ids=["list", "literal", "enum", "int", "json-schema"],
)
def test_every_kind_of_schema_comes_back_typed(mock, spec, check):
    assert check(llm.chat("mock", "Give 2 points", schema=spec).parsed)


def test_the_builder_async_twin_and_completion_share_it(mock):
    built = llm.build("mock", PROMPT).with_schema(Point)
    assert isinstance(built.execute().parsed, Point)
    assert "StructuredOutput" in built.inspect_pipeline().names
    assert isinstance(asyncio.run(built.aexecute()).parsed, Point)
    assert isinstance(asyncio.run(llm.achat("mock", PROMPT, schema=Point)).parsed, Point)
    assert built.run().result.parsed == built.execute().parsed


def test_a_stream_grows_a_partial_object_that_ends_as_the_parsed_one(mock):
    mock.configure(chunk_size=3)
    stream = llm.stream("mock", PROMPT, schema=Invoice)
    parts = [chunk.partial for chunk in stream]
    final = stream.response
    assert parts[-1] == json.loads(final.content) == final.parsed.model_dump()
    growing = [p for p in parts if p is not None]
    assert len(growing) > 5 and growing[0] == {}
    assert all(set(a) <= set(b) for a, b in itertools.pairwise(growing))  # fields only arrive


def test_an_async_stream_of_a_list_gives_the_list_so_far(mock):
    mock.configure(chunk_size=4)

    async def run():
        parts = []
        stream = llm.astream("mock", "Points", schema=list[Point])
        async for chunk in stream:
            parts.append(chunk.partial)
        return parts, stream.response

    parts, final = asyncio.run(run())
    assert parts[-1] == [dataclasses.asdict(p) for p in final.parsed]
    assert all(isinstance(p, list) for p in parts if p is not None)  # never the wrapper


def test_repair_sends_the_error_back_and_every_attempt_is_recorded(mock):
    bad = '{"vendor": "ACME", "total": "lots", "currency": "EUR"}'
    good = '{"vendor": "ACME", "total": 12.5, "currency": "EUR"}'
    mock.configure(replies=[bad, good])
    reply = llm.chat("mock", PROMPT, schema=Invoice, repair=2)
    assert reply.parsed.total == 12.5
    repair_turn = mock.requests[-1].json["messages"]
    assert repair_turn[-2] == {"role": "assistant", "content": bad}
    assert "at total" in repair_turn[-1]["content"] and repair_turn[-1]["role"] == "user"
    history = reply.request.metadata["structured_history"]
    assert [h["kind"] for h in history] == ["repair"]
    note = next(s.note for s in reply.request.trace if s.plug == "StructuredOutput")
    assert note == "Invoice as json_schema (repair 1 of 2)"
    rows = llm.costs()
    assert list(rows.status) == ["error", "completed"]
    assert next(iter(rows.error_type)) == "SchemaValidationError"
    assert [tuple(t) for t in rows.tags] == [("schema:Invoice",), ("schema:Invoice", "repair:1")]
    assert history[0]["request_id"] == rows.request_id.iloc[0]


def test_without_repair_or_once_it_runs_out_the_misfit_is_raised(mock):
    mock.configure(replies=['{"vendor": 1}'] * 3)
    with pytest.raises(SchemaValidationError) as caught:
        llm.chat("mock", PROMPT, schema=Invoice, repair=1)
    error = caught.value
    assert error.path == "vendor" and error.raw == '{"vendor": 1}' and error.provider == "mock"
    assert error.request.state == "error" and len(mock.requests) == 2


def test_a_stream_is_repaired_by_a_plain_chat_whose_object_arrives_last(mock):
    good = '{"vendor": "ACME", "total": 1, "currency": "USD"}'
    mock.configure(replies=['{"vendor": "ACME", "total": 1, "currency": "GBP"}', good])
    stream = llm.stream("mock", PROMPT, schema=Invoice, repair=1)
    chunks = list(stream)
    assert chunks[-1].done and chunks[-1].partial == json.loads(good)
    assert stream.response.parsed.currency == "USD"
    assert [r.stream for r in mock.requests] == ["sse", None]


def test_the_cache_keeps_what_fits_and_a_hit_is_parsed_again(mock):
    reply = llm.chat("mock", PROMPT, schema=Invoice, cache=True)
    hit = llm.chat("mock", PROMPT, schema=Invoice, cache=True)
    assert hit.cache_hit and hit.parsed == reply.parsed and len(mock.requests) == 1
    assert "ParseStructured" in [s.plug for s in hit.request.trace]
    other = llm.chat("mock", PROMPT, schema=Point, cache=True)  # the schema is in the key
    assert not other.cache_hit and len(mock.requests) == 2


def test_an_answer_that_does_not_fit_is_not_cached(mock):
    mock.configure(replies=["not json", '{"x": 1}'])
    with pytest.raises(SchemaValidationError):
        llm.chat("mock", "p", schema=Point, cache=True)
    assert llm.chat("mock", "p", schema=Point, cache=True).parsed == Point(1)
    assert len(mock.requests) == 2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"schema": 42}, "schema= takes"),
        ({"schema": Point, "response_format": {"type": "json_object"}}, "not both"),
        ({"repair": 1}, "go with schema="),
        ({"schema": Point, "repair": -1}, "repair"),
        ({"schema": Point, "schema_form": "tool"}, "schema_form='tool' is not one 'mock' takes"),
    ],
    ids=["not-a-schema", "two-formats", "repair-alone", "negative-repair", "unknown-form"],
)
def test_bad_input_is_a_config_error_and_nothing_is_sent(mock, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        llm.chat("mock", PROMPT, **kwargs)
    assert mock.requests == []


def test_schema_goes_with_chats_only(mock):
    with pytest.raises(ConfigError, match="not for embeddings"):
        llm.embeddings("mock", "x", schema=Point)
    with pytest.raises(ConfigError, match="schema= takes"):
        llm.build("mock", PROMPT).with_schema(object())
    assert mock.requests == []


def test_the_parsed_answer_renders_as_a_field_table(mock):
    reply = llm.chat("mock", PROMPT, schema=Invoice)
    html = reply._repr_html_()
    assert "<th>field</th>" in html and "<code>currency</code>" in html and "EUR" in html
    text = views.response_text(reply)
    assert text.splitlines()[:2] == ["Invoice", "  vendor    " + reply.parsed.vendor]


def test_an_async_stream_is_repaired_too(mock):
    good = '{"vendor": "ACME", "total": 2, "currency": "EUR"}'
    mock.configure(replies=["{broken", good])

    async def run():
        stream = llm.astream("mock", PROMPT, schema=Invoice, repair=1)
        chunks = [chunk async for chunk in stream]
        return chunks, stream.response

    chunks, final = asyncio.run(run())
    assert final.parsed.total == 2 and chunks[-1].partial == json.loads(good)
    assert [r.stream for r in mock.requests] == ["sse", None]


def test_a_structured_stream_closed_early_is_recorded_once_as_cancelled(mock):
    mock.configure(chunk_size=2)
    with llm.stream("mock", PROMPT, schema=Invoice) as stream:
        first = [next(stream).partial for _ in range(3)]
    assert first[-1] is not None and stream.request.state == "cancelled"
    rows = llm.costs()
    assert list(rows.status) == ["cancelled"] and len(mock.requests) == 1
