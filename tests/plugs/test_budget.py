"""Budget: refuses before sending once the ledger's recorded spend would pass a limit."""

from __future__ import annotations

import warnings

import pytest

import llmpipe_nb as llm


@pytest.fixture
def priced_mock():
    """The mock at $1 per input token and $2 per output token, so spend adds up fast."""
    llm.set_price("mock-1", input_per_mtok=1_000_000, output_per_mtok=2_000_000)
    llm.set_price("mock-large", input_per_mtok=1_000_000, output_per_mtok=2_000_000)
    return llm.providers.get("mock")


def spend_until_refused(builder, limit=50):
    answers = []
    for _ in range(limit):
        try:
            answers.append(builder.execute())
        except llm.BudgetExceededError as error:
            return answers, error
    raise AssertionError("the budget never stopped a request")


def test_raises_once_the_ledger_spend_would_pass_the_limit(priced_mock):
    priced_mock.configure(reply="ok")  # $5 of prompt and $2 of answer a request
    b = llm.build("mock", "hi").with_budget(limit=100.0)
    answers, error = spend_until_refused(b)
    spent = llm.ledger().spent()
    assert spent == pytest.approx(sum(a.cost for a in answers))
    assert spent <= 100.0 < spent + answers[0].cost
    assert len(priced_mock.requests) == len(answers)  # the refused one was not sent
    assert "not sent" in str(error) and "$100.0000" in str(error)
    facts = error.request.metadata["budget_exceeded"]
    assert facts["scope"] == "overall" and facts["spent_usd"] == pytest.approx(spent)


def test_halt_stops_without_an_error(priced_mock):
    b = llm.build("mock", "hi").with_budget(limit=0.0, on_exceed="halt", estimate=False)
    llm.chat("mock", "spend something")
    done = b.run()
    assert done.state == "halted" and done.result is None and done.errors == ()
    assert done.metadata["halt_reason"] == "budget for overall reached"
    assert len(priced_mock.requests) == 1


def test_the_estimate_of_the_request_itself_counts(priced_mock):
    b = llm.build("mock", "x" * 400).with_options(max_tokens=10)
    with pytest.raises(llm.BudgetExceededError, match="this request: about"):
        b.with_budget(limit=50.0).execute()  # ~104 prompt + 10 output tokens at $1-$2 each
    assert priced_mock.requests == []
    assert b.with_budget(limit=50.0, estimate=False).execute().cost > 50


def test_per_provider_model_and_tag_limits(priced_mock, monkeypatch):
    from llmpipe_nb.plugs import budget

    monkeypatch.setattr(budget, "_warned", set())  # each unmatched table warns once a process
    llm.chat("mock", "spend on the default model")
    spent = llm.ledger().spent()
    assert spent > 0
    with pytest.raises(llm.BudgetExceededError, match="provider 'mock'"):
        llm.build("mock", "hi").with_budget(per_provider={"mock": spent}).execute()
    with pytest.raises(llm.BudgetExceededError, match="model 'mock-1'"):
        llm.build("mock", "hi").with_budget(per_model={"mock-1": spent}).execute()
    other_model = llm.build("mock", "hi").with_model("mock-large")
    with pytest.warns(UserWarning, match="this request's model is 'mock-large'"):
        assert other_model.with_budget(per_model={"mock-1": spent}).execute().content
    tagged = llm.build("mock", "hi").with_tags("exp").with_budget(per_tag={"exp": 1e9}).execute()
    tag_spent = llm.ledger().spent(tag="exp")
    assert tag_spent == pytest.approx(tagged.cost)
    with pytest.raises(llm.BudgetExceededError, match="tag 'exp'"):
        llm.build("mock", "hi").with_tags("exp").with_budget(per_tag={"exp": tag_spent}).execute()
    with llm.tag("exp"), pytest.raises(llm.BudgetExceededError):
        llm.build("mock", "hi").with_budget(per_tag={"exp": tag_spent}).execute()
    with pytest.warns(UserWarning, match="this request has no tag"):
        assert llm.build("mock", "hi").with_budget(per_tag={"exp": tag_spent}).execute().content


def test_a_custom_spend_source(priced_mock):
    calls = []

    def spent(**filters):
        calls.append(filters)
        return 10.0

    b = llm.build("mock", "hi").with_budget(
        limit=20.0, per_provider={"mock": 10.0}, spent=spent, estimate=False
    )
    with pytest.raises(llm.BudgetExceededError, match="provider 'mock'"):
        b.execute()
    assert calls == [{}, {"provider": "mock"}]


def test_cache_hits_skip_the_budget(priced_mock):
    b = llm.build("mock", "hi").with_cache().with_budget(limit=1e9)
    b.execute()
    hit = llm.build("mock", "hi").with_cache().with_budget(limit=0.0).execute()
    assert hit.cache_hit


def test_the_budget_sits_just_before_the_call():
    names = llm.build("mock", "hi").with_budget(limit=1.0).inspect_pipeline().names
    assert names.index("Budget") == names.index("ExecuteRequest") - 1


@pytest.mark.parametrize(
    "options",
    [{}, {"limit": -1}, {"per_model": {"m": "lots"}}, {"limit": 1, "on_exceed": "warn"}],
    ids=["none", "negative", "not-a-number", "mode"],
)
def test_bad_options_fail_when_built(options):
    with pytest.raises(llm.ConfigError):
        llm.build("mock", "hi").with_budget(**options)


@pytest.fixture
def fresh_warnings():
    from llmpipe_nb.plugs import budget

    budget._warned.clear()
    yield
    budget._warned.clear()


def test_a_misspelled_model_warns_once_that_it_limits_nothing(priced_mock, fresh_warnings):
    b = llm.build("mock", "hi").with_budget(per_model={"mock1": 0.0})
    with pytest.warns(UserWarning, match="Budget per_model") as caught:
        assert b.execute().content  # the zero limit is for a model no request has
    (warning,) = [
        w for w in caught if w.category is UserWarning and str(w.message).startswith("Budget ")
    ]
    assert str(warning.message) == (
        "Budget per_model limits 'mock1', but this request's model is 'mock-1', so none of "
        "those limits applies to it (did you mean 'mock-1' instead of 'mock1'?)."
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "Budget ", UserWarning)  # no other Budget warning
        b.execute()  # said once
        llm.build("mock", "hi").with_budget(per_model={"mock-1": 1e9}).execute()  # it fits


def test_a_tag_limit_for_untagged_requests_warns(priced_mock, fresh_warnings):
    with pytest.warns(UserWarning, match="per_tag limits 'exp', but this request has no tag"):
        llm.build("mock", "hi").with_budget(per_tag={"exp": 1.0}).execute()
    with pytest.warns(UserWarning, match="tag is 'exp-2'.*did you mean 'exp-2' instead of 'exp'"):
        llm.build("mock", "hi").with_tags("exp-2").with_budget(per_tag={"exp": 1.0}).execute()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "Budget ", UserWarning)  # no other Budget warning
        llm.build("mock", "hi").with_tags("exp").with_budget(per_tag={"exp": 1e9}).execute()
