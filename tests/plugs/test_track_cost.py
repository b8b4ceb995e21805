"""TrackCost: prices from genai-prices' bundled table, $0 for local providers, overrides, unpriced."""

from __future__ import annotations

import warnings

import pytest
from genai_prices import Usage as GUsage
from genai_prices import calc_price

import llmpipe_nb as llm
from llmpipe_nb.testing import FakeServer


@pytest.mark.parametrize(
    ("provider", "model", "price_id"),
    [
        ("openai", "gpt-4o-mini", "openai"),
        ("openai", "gpt-4o", "openai"),
        ("anthropic", "claude-3-5-haiku-latest", "anthropic"),
        ("gemini", "gemini-2.0-flash", "google"),
    ],
)
def test_costs_match_genai_prices(provider, model, price_id):
    with FakeServer(provider) as server:
        answer = llm.chat(
            provider,
            "a question of several words to price",
            model=model,
            base_url=server.base_url,
            api_key="sk-test-0000000000",
        )
    usage = answer.usage
    assert usage.input_tokens > 0 and usage.output_tokens > 0
    expected = calc_price(
        GUsage(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens),
        model,
        provider_id=price_id,
    ).total_price
    assert answer.cost == pytest.approx(float(expected), rel=1e-9)
    assert answer.cost_status == "priced"
    assert answer.request.metadata["cost_usd"] == answer.cost


def test_local_providers_cost_nothing():
    with FakeServer("ollama") as server:
        answer = llm.chat("ollama", "hi", model="llama3.1", base_url=server.base_url)
    assert (answer.cost, answer.cost_status) == (0.0, "local")
    mock = llm.chat("mock", "hi")
    assert (mock.cost, mock.cost_status) == (0.0, "local")


@pytest.mark.parametrize("name", ["ollama", "lmstudio", "vllm", "llamacpp", "mock"])
def test_local_providers_are_marked_local(name):
    assert llm.providers.get(name).local


def test_a_user_price_beats_the_table(openai_opts):
    llm.set_price("gpt-4o-mini", input_per_mtok=1_000_000, output_per_mtok=2_000_000)
    answer = llm.chat("openai", "hi", **openai_opts)
    usage = answer.usage
    assert answer.cost == pytest.approx(usage.input_tokens * 1.0 + usage.output_tokens * 2.0)


def test_a_user_price_can_make_a_local_model_cost():
    llm.set_price("mock-1", input_per_mtok=1_000_000, output_per_mtok=0)
    answer = llm.chat("mock", "hi")
    assert answer.cost == pytest.approx(answer.usage.input_tokens)
    assert answer.cost_status == "priced"


def test_an_unknown_model_is_unpriced_with_one_warning(openai_opts):
    opts = {**openai_opts, "model": "house-model-unpriced-1"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = llm.chat("openai", "hi", **opts)
        second = llm.chat("openai", "again", **opts)
    assert first.cost is None and first.cost_status == "unpriced"
    assert second.cost_status == "unpriced"
    messages = [
        str(w.message)
        for w in caught
        if w.category is UserWarning and "house-model-unpriced-1" in str(w.message)
    ]
    assert len(messages) == 1 and "llm.set_price" in messages[0]


def test_without_cost_tracking_removes_the_plug(openai_opts):
    b = llm.build("openai", "hi").with_options(**openai_opts).without_cost_tracking()
    assert "TrackCost" not in b.inspect_pipeline().names
    assert b.execute().cost is None


def test_a_cache_hit_costs_nothing_and_saves_the_original(openai_opts):
    first = llm.chat("openai", "hi", cache=True, **openai_opts)
    hit = llm.chat("openai", "hi", cache=True, **openai_opts)
    assert (hit.cost, hit.cost_status, hit.cost_saved) == (0.0, "cached", first.cost)
    steps = [s.plug for s in hit.request.trace]
    assert "TrackCost" not in steps


def test_inconsistent_usage_is_unpriced_not_a_crash():
    from llmpipe_nb.pricing import cost_for

    with pytest.warns(UserWarning, match="cannot be priced"):
        cost = cost_for("openai", "gpt-4o-mini", llm.Usage(10, 5, cached_input_tokens=50))
    assert cost == (None, "unpriced")


@pytest.mark.parametrize("model", ["gpt-6-luna", "gpt-6.1-sol"])
@pytest.mark.parametrize(
    ("prompt", "cached", "output"),
    [(1_000, 200, 500), (271_999, 90_000, 10), (272_000, 0, 10), (300_000, 100_000, 1_000)],
)
def test_prices_with_context_tiers_match_genai_prices_on_both_sides_of_the_tier(
    model, prompt, cached, output
):
    """Under its first tier a tiered price is computed from the base rates directly; at and
    above it, by genai-prices: the same amounts either way."""
    from llmpipe_nb.pricing import cost_for
    from llmpipe_nb.responses import Usage

    ours, status = cost_for("openai", model, Usage(prompt, output, cached))
    usage = GUsage(input_tokens=prompt, output_tokens=output, cache_read_tokens=cached or None)
    expected = float(calc_price(usage, model, provider_id="openai").total_price)
    assert status == "priced" and ours == pytest.approx(expected, rel=1e-12)
