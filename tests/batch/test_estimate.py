"""`llm.estimate`: the output length from max_tokens, the schema or a pilot of real rows,
shown as expected and ceiling with the assumption that made it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

import llmpipe_nb as llm

PROMPT = "Answer with one word, the sentiment of: {}"
REVIEWS = [f"review {i}: the kettle boils {'fast' if i % 2 else 'slowly'}" for i in range(20)]


@dataclass
class Verdict:
    sentiment: Literal["positive", "negative", "neutral"]
    confident: bool


@pytest.fixture
def priced(mock):
    llm.set_price("mock-1", input_per_mtok=3.0, output_per_mtok=15.0)
    mock.configure(respond=lambda body: "positive")  # one-word answers
    return mock


def test_a_pilot_of_real_rows_estimates_short_answers_closely(priced):
    guess = llm.estimate(REVIEWS, PROMPT)
    piloted = llm.estimate(REVIEWS, PROMPT, pilot=5)
    assert len(priced.requests) == 5  # the pilot rows, sent for real
    actual = llm.map(REVIEWS, PROMPT, progress=False).cost_usd.sum()

    assert guess.output_basis == "default" and guess.cost_usd > 40 * actual  # the old 43x
    assert "a guess of 256 tokens a row" in repr(guess) and "pilot=5" in repr(guess)
    assert piloted.output_basis == "pilot" and piloted.pilot_rows == 5
    assert piloted.cost_usd == pytest.approx(actual, rel=0.10)
    assert "the mean of 5 pilot rows sent for real" in repr(piloted)
    pilot_rows = llm.costs(tags="estimate-pilot")
    assert len(pilot_rows) == 5
    assert piloted.pilot_cost_usd == pytest.approx(pilot_rows.cost_usd.sum())
    assert "the pilot spent $" in repr(piloted)


def test_max_tokens_gives_the_expected_and_the_ceiling(priced):
    est = llm.estimate(REVIEWS, PROMPT, max_tokens=5)
    assert (est.output_basis, est.output_tokens, est.ceiling_output_tokens) == (
        "max_tokens",
        100,
        100,
    )
    assert est.ceiling_cost_usd == pytest.approx(est.cost_usd)
    assert "max_tokens=5" in repr(est) and "at most $" in repr(est)
    actual = llm.map(REVIEWS, PROMPT, max_tokens=5, progress=False).cost_usd.sum()
    assert actual <= est.ceiling_cost_usd


def test_a_schema_gives_the_size_of_its_json_and_bounds_it(priced):
    priced.configure(respond=lambda body: '{"sentiment": "negative", "confident": false}')
    est = llm.estimate(REVIEWS, PROMPT, schema=Verdict)
    out = llm.map(REVIEWS, PROMPT, schema=Verdict, progress=False)

    assert est.output_basis == "schema" and "the size of the schema's JSON" in est.assumption
    assert est.output_tokens == pytest.approx(out.output_tokens.sum(), rel=0.25)
    assert est.ceiling_output_tokens >= out.output_tokens.sum()  # enums and booleans are bounded
    assert est.cost_usd <= est.ceiling_cost_usd


def test_a_free_text_property_leaves_no_ceiling_unless_max_tokens_sets_one(priced):
    schema = {"type": "object", "properties": {"summary": {"type": "string"}}}
    est = llm.estimate(REVIEWS, PROMPT, schema=schema)
    assert est.ceiling_output_tokens is None and est.ceiling_cost_usd is None
    assert "no ceiling" in repr(est)
    capped = llm.estimate(REVIEWS, PROMPT, schema=schema, max_tokens=50)
    assert capped.ceiling_output_tokens == 20 * 50 and capped.output_basis == "schema"


def test_expected_output_tokens_still_wins_and_max_tokens_still_caps(priced):
    est = llm.estimate(REVIEWS, PROMPT, expected_output_tokens=3, max_tokens=10)
    assert (est.output_basis, est.output_tokens_per_row) == ("expected_output_tokens", 3.0)
    assert (est.output_tokens, est.ceiling_output_tokens) == (60, 200)
    assert priced.requests == []  # no pilot: nothing sent


def test_the_html_view_shows_expected_ceiling_and_assumption(priced):
    html = llm.estimate(REVIEWS, PROMPT, max_tokens=5, pilot=2)._repr_html_()
    assert "<th>expected</th><th>ceiling</th>" in html
    assert "the mean of 2 pilot rows sent for real" in html and "2 rows sent" in html


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pilot": 0}, "pilot must be a whole number of rows >= 1, not 0"),
        ({"pilot": 2.5}, "pilot must be a whole number of rows >= 1, not 2.5"),
        ({"pilot": True}, "pilot must be a whole number of rows >= 1, not True"),
        ({"pilot": 3, "expected_output_tokens": 2}, "expected_output_tokens or pilot, not both"),
    ],
)
def test_bad_pilot_options_are_refused_before_anything_is_sent(mock, options, message):
    with pytest.raises(llm.ConfigError, match=message):
        llm.estimate(REVIEWS, PROMPT, **options)
    assert mock.requests == []


def test_a_pilot_whose_rows_all_fail_raises_their_error(mock):
    mock.fail_next(llm.ServerError, times=3)
    with pytest.raises(llm.ServerError):
        llm.estimate(REVIEWS, PROMPT, pilot=3)
    assert len(mock.requests) == 3


def test_a_pilot_counts_only_the_rows_that_were_answered(priced):
    priced.fail_next(llm.ServerError)
    est = llm.estimate(REVIEWS, PROMPT, pilot=3)
    assert est.pilot_rows == 3 and "the mean of 2 pilot rows" in est.assumption


def test_a_pilot_over_http_needs_a_key_and_sends_its_rows(openai_fake):
    llm.reset_configuration("openai")
    llm.configure("openai", base_url=openai_fake.base_url)
    with pytest.raises(llm.MissingKeyError):
        llm.estimate(REVIEWS, PROMPT, "openai", pilot=3)
    assert openai_fake.requests == []
    llm.configure("openai", base_url=openai_fake.base_url, api_key="sk-pilot-0123456789")
    est = llm.estimate(REVIEWS, PROMPT, "openai", "gpt-4o-mini", pilot=3)
    assert len(openai_fake.requests) == 3 and est.pilot_rows == 3
    assert est.cost_status == "priced" and est.pilot_cost_usd > 0
