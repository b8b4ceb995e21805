"""llm.compare over real HTTP: OpenAI, Anthropic, Ollama and Gemini loopback servers at once."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import llmpipe_nb as llm
from llmpipe_nb.testing import FakeServer, echo, faults

TEST_KEY = "sk-compare-test-0123456789abcdef"  # what the servers fixture configures
MODELS = {  # one current model per loopback provider, as in the servers fixture
    "openai": "openai:gpt-6-luna",
    "anthropic": "anthropic:claude-haiku-5-5",
    "ollama": "ollama:llama3.2",
    "gemini": "gemini:gemini-3.5-flash-lite",
}

PROMPTS = ["Hello there", "Tell me about sharks"]


def overlap(requests) -> int:
    """The most requests that were in the pipeline at the same moment."""
    events = []
    for r in requests:
        start = r.metadata["started_at_ns"]
        events += [(start, 1), (start + r.metadata["duration_ns"], -1)]
    most = now = 0
    for _, step in sorted(events):
        now += step
        most = max(most, now)
    return most


def test_four_providers_answer_side_by_side_and_stream(servers):
    cmp = llm.compare(PROMPTS, models=list(MODELS.values()), live=False)

    assert cmp.models == list(MODELS.values())
    for row, prompt in zip(cmp.cells, PROMPTS, strict=True):
        assert [c.text for c in row] == [echo.echo(prompt)] * 4
    for name, server in servers.items():
        assert len(server.requests) == 2, name
    assert servers["openai"].requests[0].json["stream"] is True
    assert servers["anthropic"].requests[0].json["stream"] is True
    assert ":streamGenerateContent" in servers["gemini"].requests[0].path

    frame = cmp.to_frame()
    assert frame.error.isna().all()
    assert frame.ttft_ms.notna().all() and (frame.ttft_ms <= frame.latency_ms).all()
    assert (frame.input_tokens > 0).all() and (frame.output_tokens > 0).all()
    priced = frame[frame.model != MODELS["ollama"]]
    assert (priced.cost_usd > 0).all()
    assert (frame[frame.model == MODELS["ollama"]].cost_usd == 0).all()  # a local model

    rows = llm.costs(tags=cmp.tag)
    assert len(rows) == 8 and set(rows.provider) == set(MODELS)
    assert sorted(rows.cost_usd) == pytest.approx(sorted(frame.cost_usd.astype(float)))
    summary = cmp.summary()
    assert summary.answers.tolist() == [2, 2, 2, 2]
    assert summary.cost_usd.sum() == pytest.approx(rows.cost_usd.sum())


def test_a_provider_that_refuses_the_key_fails_in_its_cells_and_never_shows_it(servers):
    with FakeServer("anthropic", api_key="sk-the-right-one-000000000") as strict:
        llm.configure("anthropic", base_url=strict.base_url, api_key=TEST_KEY)
        cmp = llm.compare(PROMPTS, models=list(MODELS.values()), live=False)

    frame = cmp.to_frame()
    refused = frame[frame.model == MODELS["anthropic"]]
    assert all(isinstance(e, llm.AuthenticationError) for e in refused.error)
    assert refused.content.isna().all()
    others = frame[frame.model != MODELS["anthropic"]]
    assert others.error.isna().all() and others.content.notna().all()
    assert cmp.summary().loc[MODELS["anthropic"], "failures"] == 2
    shown = [
        repr(cmp),
        cmp._repr_html_(),
        frame.to_csv(),
        *map(str, frame.error),
        *map(repr, frame.error),
        llm.costs(tags=cmp.tag).to_csv(),
        llm.traces().to_csv(),
    ]
    assert not any(TEST_KEY in text for text in shown)
    assert "AuthenticationError" in shown[0] and "AuthenticationError" in shown[1]


def test_requests_are_bounded_per_provider_and_providers_run_at_once(servers):
    for name in ("openai", "ollama"):
        servers[name].inject(faults.delay(0.15), times=6)
    cmp = llm.compare(
        [f"question {i}" for i in range(6)],
        models=[MODELS["openai"], MODELS["ollama"]],
        concurrency=2,
        live=False,
    )

    assert cmp.to_frame().error.isna().all()
    cells = cmp.flat()
    per_provider = {
        name: [c.request for c in cells if c.request.provider == name]
        for name in ("openai", "ollama")
    }
    assert all(len(reqs) == 6 for reqs in per_provider.values())
    assert overlap(per_provider["openai"]) == 2
    assert overlap(per_provider["ollama"]) == 2
    assert overlap([c.request for c in cells]) > 2  # the two providers were sent to together


def test_a_stream_that_breaks_off_marks_only_its_cell(servers):
    servers["openai"].inject(faults.drop_connection(after_chunks=2))
    cmp = llm.compare(
        "Tell me about sharks",
        models=[MODELS["openai"], MODELS["gemini"]],
        concurrency=1,
        live=False,
    )
    broken, fine = cmp.cells[0]
    assert broken.state == "error" and isinstance(broken.error, llm.ProviderError)
    assert fine.state == "done" and fine.text == echo.echo("Tell me about sharks")


def test_a_missing_key_is_found_before_any_server_is_called(servers):
    llm.reset_configuration("anthropic")
    llm.configure("anthropic", base_url=servers["anthropic"].base_url)
    with pytest.raises(llm.MissingKeyError, match="ANTHROPIC_API_KEY"):
        llm.compare(PROMPTS, models=list(MODELS.values()), live=False)
    assert all(server.requests == [] for server in servers.values())


@pytest.mark.filterwarnings("ignore:No price known for model 'my-finetune'")
def test_max_cost_needs_a_price_for_every_model(servers):
    with pytest.raises(llm.ConfigError, match="max_cost needs a price for model 'my-finetune'"):
        llm.compare("Hi", models=[MODELS["openai"], "openai:my-finetune"], max_cost=1.0, live=False)
    assert servers["openai"].requests == []


@dataclass
class Invoice:
    vendor: str
    total: float


def test_schema_is_asked_in_each_providers_own_form_and_read_into_columns(servers):
    cmp = llm.compare(
        ["Extract: ACME 12", "Extract: Initech 30"],
        models=list(MODELS.values()),
        schema=Invoice,
        live=False,
    )

    body = {name: server.last_request.json for name, server in servers.items()}
    assert body["openai"]["response_format"]["json_schema"]["name"] == "Invoice"
    assert body["anthropic"]["output_config"]["format"]["schema"]["additionalProperties"] is False
    assert "responseJsonSchema" in body["gemini"]["generationConfig"]
    assert body["ollama"]["format"]["required"] == ["vendor", "total"]
    frame = cmp.to_frame()
    assert frame.error.isna().all()
    assert list(frame.columns[3:6]) == ["content", "vendor", "total"]
    assert frame.total.tolist() == [12.0] * 4 + [30.0] * 4
    assert all(isinstance(c.request.result.parsed, Invoice) for c in cmp.flat())
    assert set(llm.costs(tags=cmp.tag).tags.map(lambda t: "schema:Invoice" in t)) == {True}


def test_a_server_that_refuses_the_form_gets_the_next_one_in_its_cell(servers, fake_server):
    no_format = fake_server("anthropic", flavor="no_output_config")
    llm.configure("anthropic", base_url=no_format.base_url, api_key=TEST_KEY)
    cmp = llm.compare(
        "Extract: ACME 12",
        models=[MODELS["openai"], MODELS["anthropic"]],
        schema=Invoice,
        live=False,
    )

    assert cmp.to_frame().total.tolist() == [12.0, 12.0]
    assert [("tools" in r.json, "output_config" in r.json) for r in no_format.requests] == [
        (False, True),
        (True, False),
    ]
