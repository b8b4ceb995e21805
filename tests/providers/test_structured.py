"""`schema=` over each provider's loopback wire server: the native request, the typed answer,
misfits and repair, refusals, streamed partial objects, and the forms servers accept."""

from __future__ import annotations

import asyncio
import json
from typing import Literal

import httpx2
import pytest
from pydantic import BaseModel

import llmpipe_nb as llm
from llmpipe_nb.errors import BadRequestError, RefusalError, SchemaValidationError
from llmpipe_nb.structured import Schema, example_of
from llmpipe_nb.testing import FakeServer, faults

KEY = "sk-structured-test-0123456789"
PROMPT = "Extract: ACME, 12.50 EUR"


class Invoice(BaseModel):
    vendor: str
    total: float
    currency: Literal["EUR", "USD"]


PROVIDERS = ("openai", "anthropic", "gemini", "ollama")


@pytest.fixture(autouse=True)
def each_with_a_fresh_ledger(fresh_ledger):
    """Every test here starts with a fresh, unpersisted ledger (see tests/conftest.py)."""


def at(server: FakeServer, **options):
    return {"api_key": KEY, "base_url": server.base_url, **options}


def sent_schema(provider: str, body: dict) -> dict:
    """The schema as it went over the wire, in each provider's own field."""
    if provider == "openai":
        return body["response_format"]["json_schema"]["schema"]
    if provider == "anthropic":
        return body["output_config"]["format"]["schema"]
    if provider == "gemini":
        return body["generationConfig"]["responseJsonSchema"]
    return body["format"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_provider_gets_the_schema_in_its_own_field_and_the_answer_comes_back_typed(
    provider, fake_server
):
    server = fake_server(provider)
    reply = llm.chat(provider, PROMPT, schema=Invoice, **at(server))
    body = server.last_request.json
    schema = Schema(Invoice)
    expected = {
        "openai": schema.wire("openai")[0],
        "anthropic": schema.wire("anthropic")[0],
        "gemini": schema.wire("gemini")[0],
        "ollama": schema.json_schema,
    }[provider]
    assert sent_schema(provider, body) == expected
    if provider == "openai":
        assert body["response_format"]["json_schema"] == {
            "name": "Invoice",
            "schema": expected,
            "strict": True,
        }
        assert expected["additionalProperties"] is False
    if provider == "anthropic":
        assert "response_format" not in body and expected["additionalProperties"] is False
    if provider == "gemini":
        assert body["generationConfig"]["responseMimeType"] == "application/json"
    assert isinstance(reply.parsed, Invoice)
    assert reply.parsed == Invoice.model_validate(example_of(expected, PROMPT))
    assert reply.request.metadata["structured_form"] == "json_schema"


MISFITS = {
    "not-json": ("The vendor is ACME.", "the answer", "not JSON"),
    "missing": ('{"vendor": "ACME", "currency": "EUR"}', "total", "Field required"),
    "wrong-enum": (
        '{"vendor": "ACME", "total": 1, "currency": "GBP"}',
        "currency",
        "'EUR' or 'USD'",
    ),
}


@pytest.mark.parametrize("case", list(MISFITS))
@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_answer_that_does_not_fit_is_a_typed_error_with_its_path(provider, case, fake_server):
    text, path, reason = MISFITS[case]
    server = fake_server(provider)
    server.inject(faults.structured_answer(text))
    with pytest.raises(SchemaValidationError) as caught:
        llm.chat(provider, PROMPT, schema=Invoice, **at(server))
    error = caught.value
    assert error.path == path and reason in error.reason and error.raw == text
    assert error.provider == provider and error.request.state == "error"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_fenced_answer_is_read_through_the_fence(provider, fake_server):
    server = fake_server(provider)
    server.inject(
        faults.structured_answer('```json\n{"vendor": "A", "total": 2, "currency": "USD"}\n```')
    )
    reply = llm.chat(provider, PROMPT, schema=Invoice, **at(server))
    assert reply.parsed == Invoice(vendor="A", total=2, currency="USD")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_repair_succeeds_on_the_second_attempt(provider, fake_server):
    server = fake_server(provider)
    server.inject(
        faults.structured_answer('{"vendor": "ACME", "total": "twelve", "currency": "EUR"}')
    )
    reply = llm.chat(provider, PROMPT, schema=Invoice, repair=1, **at(server))
    assert isinstance(reply.parsed, Invoice) and len(server.requests) == 2
    retried = json.dumps(server.requests[1].json)
    assert "twelve" in retried and "does not fit the schema Invoice: at total" in retried
    rows = llm.costs()
    assert list(rows.status) == ["error", "completed"] and "repair:1" in rows.tags.iloc[1]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stream_gives_partial_objects_that_end_as_the_parsed_answer(provider, fake_server):
    server = fake_server(provider)
    stream = llm.stream(provider, PROMPT, schema=Invoice, **at(server))
    partials = [chunk.partial for chunk in stream]
    final = stream.response
    assert isinstance(final.parsed, Invoice)
    assert partials[-1] == final.parsed.model_dump() == json.loads(final.content)
    distinct = {json.dumps(p) for p in partials if p is not None}
    assert len(distinct) >= 3  # it grew while it came


def test_openai_refusals_are_a_refusal_error_plain_and_streamed(openai_server):
    for run in (llm.chat, lambda *a, **k: llm.stream(*a, **k).text()):
        with pytest.raises(RefusalError) as caught:
            run("openai", "[refuse] Extract", schema=Invoice, **at(openai_server))
        assert caught.value.refusal == "I'm sorry, I can't help with that request."
        assert "declined to answer in Invoice" in str(caught.value)


def test_anthropic_refusal_stop_reason_is_a_refusal_error(anthropic_server):
    with pytest.raises(RefusalError, match="declined"):
        llm.chat("anthropic", "[refuse] Extract", schema=Invoice, **at(anthropic_server))


def test_anthropic_refuses_an_open_object_so_the_schema_is_sent_closed(anthropic_server):
    """The fake refuses what the API refuses, so sending the schema closed is tested."""
    open_schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    raw = httpx2.post(
        anthropic_server.url + "/v1/messages",
        headers={"anthropic-version": "2023-06-01"},
        json={
            "model": "claude-haiku-5-5",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "hi"}],
            "output_config": {"format": {"type": "json_schema", "schema": open_schema}},
        },
    )
    assert raw.status_code == 400 and "'additionalProperties' must be" in raw.text
    reply = llm.chat("anthropic", PROMPT, schema=open_schema, **at(anthropic_server))
    assert reply.parsed.keys() == {"a"}


# -- forms: a forced tool, and what a server refuses ---------------------------------------


def test_anthropic_forced_tool_when_set_for_the_provider(anthropic_server):
    llm.configure("anthropic", extra={"schema_form": "tool"})
    reply = llm.chat("anthropic", PROMPT, schema=Invoice, **at(anthropic_server))
    body = anthropic_server.last_request.json
    assert "output_config" not in body
    assert body["tool_choice"] == {"type": "tool", "name": "Invoice"}
    assert body["tools"][0]["input_schema"] == Schema(Invoice).wire("anthropic")[0]
    assert isinstance(reply.parsed, Invoice) and reply.tool_calls == ()
    assert json.loads(reply.content) == reply.parsed.model_dump()


def test_anthropic_without_output_config_falls_back_to_a_forced_tool_and_remembers(fake_server):
    server = fake_server("anthropic", flavor="no_output_config")
    reply = llm.chat("anthropic", PROMPT, schema=Invoice, **at(server))
    assert isinstance(reply.parsed, Invoice) and len(server.requests) == 2
    assert "output_config" in server.requests[0].json and "tools" in server.requests[1].json
    note = next(s.note for s in reply.request.trace if s.plug == "StructuredOutput")
    assert (
        note
        == f"Invoice as tool (json_schema refused by the server, remembered for {server.base_url})"
    )
    llm.chat("anthropic", PROMPT, schema=Invoice, **at(server))
    assert len(server.requests) == 3 and "tools" in server.requests[2].json
    assert next(iter(llm.costs().error_type)) == "BadRequestError"


def test_llama_cpp_python_refuses_json_schema_so_json_object_with_the_schema_is_sent(fake_server):
    server = fake_server("openai", flavor="llama_cpp_python")
    reply = llm.chat("llamacpp", PROMPT, model="smollm2", schema=Invoice, base_url=server.base_url)
    assert isinstance(reply.parsed, Invoice)
    first, second = (r.json for r in server.requests)
    assert first["response_format"]["type"] == "json_schema"
    assert second["response_format"] == {
        "type": "json_object",
        "schema": Schema(Invoice).json_schema,
    }
    assert (
        second["messages"][0]["role"] == "system"
        and "JSON Schema" in second["messages"][0]["content"]
    )
    assert reply.request.metadata["structured_history"][0]["form"] == "json_schema"
    again = llm.stream(
        "llamacpp", PROMPT, model="smollm2", schema=Invoice, base_url=server.base_url
    )
    assert isinstance(again.text(), str) and again.response.parsed == reply.parsed
    assert len(server.requests) == 3  # remembered for this server: no refusal this time


def test_a_refusal_that_is_not_about_the_form_is_not_retried(fake_server):
    server = fake_server("openai", flavor="llama_cpp_python")
    server.inject(faults.http_error(400))
    with pytest.raises(BadRequestError):
        llm.chat("llamacpp", PROMPT, model="m", schema=Invoice, base_url=server.base_url)
    assert len(server.requests) == 1


def test_vllm_gets_structured_outputs_and_guided_json_when_asked(fake_server):
    server = fake_server("openai", flavor="vllm")
    reply = llm.chat("vllm", PROMPT, model="m", schema=Invoice, base_url=server.base_url)
    body = server.last_request.json
    assert body["structured_outputs"] == {"json": Schema(Invoice).json_schema}
    assert isinstance(reply.parsed, Invoice)
    with pytest.raises(SchemaValidationError):  # this fake is vLLM 0.12: it ignores guided_json
        llm.chat(
            "vllm",
            PROMPT,
            model="m",
            schema=Invoice,
            schema_form="guided_json",
            base_url=server.base_url,
        )
    body = server.last_request.json
    assert body["guided_json"] == Schema(Invoice).json_schema
    assert "response_format" not in body and "structured_outputs" not in body


def test_the_prompt_form_writes_the_schema_into_the_system_message(fake_server):
    server = fake_server("openai", flavor="groq")
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": PROMPT}]
    with pytest.raises(SchemaValidationError, match="not JSON"):  # the fake only echoes
        llm.chat("groq", messages, schema=Invoice, schema_form="prompt", **at(server))
    body = server.last_request.json
    assert "response_format" not in body
    system = body["messages"][0]
    assert system["role"] == "system" and system["content"].startswith(
        "Be brief.\n\nAnswer with one JSON"
    )


@pytest.mark.parametrize(
    "spec, name, wrap",
    [
        (list[Invoice], "Invoice_list", "items"),
        (Literal["yes", "no"], "choice", "value"),
        (int, "int", "value"),
        ({"title": "Tags", "type": "array", "items": {"type": "string"}}, "Tags", "items"),
        (
            {"title": "Flags", "type": "object", "properties": {"ok": {"type": "boolean"}}},
            "Flags",
            None,
        ),
    ],
    ids=["list", "literal", "int", "json-array", "json-object"],
)
def test_each_kind_of_schema_goes_over_the_wire_as_an_object(spec, name, wrap, openai_server):
    reply = llm.chat("openai", PROMPT, schema=spec, **at(openai_server))
    sent = openai_server.last_request.json["response_format"]["json_schema"]
    assert sent["name"] == name and sent["schema"]["type"] == "object"
    assert sent["schema"] == Schema.of(spec).wire("openai")[0]
    if wrap is None:
        assert reply.parsed == json.loads(reply.content)
    else:
        assert sent["schema"]["required"] == [wrap]
        assert reply.parsed == Schema.of(spec).parse(reply.content)


def test_an_async_stream_takes_the_next_form_too(fake_server):
    server = fake_server("openai", flavor="llama_cpp_python")

    async def run():
        stream = llm.astream(
            "llamacpp", PROMPT, model="m", schema=Invoice, base_url=server.base_url
        )
        partials = [chunk.partial async for chunk in stream]
        return partials, stream.response

    partials, final = asyncio.run(run())
    assert isinstance(final.parsed, Invoice) and partials[-1] == final.parsed.model_dump()
    assert [r.json["response_format"]["type"] for r in server.requests] == [
        "json_schema",
        "json_object",
    ]
