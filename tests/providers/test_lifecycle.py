"""The model lifecycle table and what it drives, through the public API over loopback HTTP:
current defaults, deprecation warnings, retired-model errors, re-routed answers, listings."""

from __future__ import annotations

import json
import re
import warnings
from datetime import date

import pytest

import llmpipe_nb as llm
from llmpipe_nb import lifecycle, pricing, providers
from llmpipe_nb.errors import BadRequestError, ConfigError, ModelRetiredError
from llmpipe_nb.providers import defaults
from llmpipe_nb.responses import Usage
from llmpipe_nb.testing import FakeServer, faults

KEY = "sk-test-lifecycle-0123456789"
#: providers the table has lifecycle data for: their defaults must be listed as active
TRACKED = ("anthropic", "openai", "gemini", "groq", "deepseek", "xai")


def conn(server: FakeServer, **options):
    return {"api_key": KEY, "base_url": server.base_url, **options}


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    """Each test sees the once-per-process warnings afresh, on a fixed day of the table."""
    monkeypatch.setattr(lifecycle, "_warned", set())
    monkeypatch.setattr(lifecycle, "today", lambda: "2026-12-06")


def lifecycle_warnings(record) -> list[str]:
    return [str(w.message) for w in record if w.category is llm.ModelLifecycleWarning]


# -- the defaults and the table -----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(defaults.CHAT))
def test_each_default_is_read_from_one_place_and_is_current(name) -> None:
    model = defaults.CHAT[name]
    assert providers.get(name).default_model == model
    row = lifecycle.lookup(name, model)
    assert row is None or row.status not in ("deprecated", "retired"), (
        f"the default {model!r} of {name} is {row.status} in lifecycle.json: pick a current one"
    )
    if name in TRACKED:
        assert row is not None and row.status == "active"


@pytest.mark.parametrize("name", sorted(defaults.EMBEDDINGS))
def test_each_embedding_default_is_read_from_one_place_and_is_current(name) -> None:
    model = defaults.EMBEDDINGS[name]
    assert providers.get(name).default_embedding_model == model
    row = lifecycle.lookup(name, model)
    assert row is None or row.status not in ("deprecated", "retired")


@pytest.mark.parametrize("name", sorted(n for n in defaults.CHAT if not providers.get(n).local))
def test_each_chat_default_is_priced(name) -> None:
    provider = providers.get(name)
    cost, status = pricing.cost_for(
        name,
        defaults.CHAT[name],
        Usage(input_tokens=1000, output_tokens=1000),
        price_provider=provider.price_provider,
    )
    assert status == "priced" and cost is not None and cost > 0


def test_the_table_is_well_formed() -> None:
    data = json.loads(lifecycle.TABLE.read_text())
    seen: set[tuple[str, str]] = set()
    for row in data["models"]:
        assert row["status"] in lifecycle.STATUSES
        assert row["source"].startswith("https://") and row["verified"]
        assert row["checked"] == data["checked"] == "2026-12-06"
        for field in ("deprecated", "retires"):
            if row[field] is not None:
                date.fromisoformat(row[field])
        if row["status"] in ("deprecated", "retired") and row["models"][0] != "grok-3-mini":
            assert row["retires"], row["models"]
        for model in row["models"]:
            assert (row["provider"], model) not in seen, model
            seen.add((row["provider"], model))
    for entry in lifecycle.entries():  # a replacement is never itself on its way out
        if entry.replacement:
            target = lifecycle.lookup(entry.provider, entry.replacement)
            assert target is None or target.status in ("active", "legacy"), entry


def test_lookup_finds_dated_snapshots_only_where_the_source_says_so() -> None:
    assert lifecycle.lookup("openai", "gpt-4o-mini-2024-07-18").model == "gpt-4o-mini"
    assert lifecycle.lookup("openai", "gpt-4o-2024-05-13").status == "retired"
    assert lifecycle.lookup("openai", "gpt-4o-2024-08-06").status == "deprecated"
    assert lifecycle.lookup("openai", "gpt-4-turbo-2024-04-09") is None
    assert lifecycle.lookup("gemini", "models/gemini-2.5-flash").rerouted
    assert lifecycle.lookup("groq", "gpt-4o-mini") is None


# -- a deprecated model: one warning per process -----------------------------------------


def test_a_deprecated_model_warns_once_with_its_date_and_replacement(openai_server) -> None:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        llm.chat("openai", "hi", **conn(openai_server, model="gpt-4o-mini"))
        llm.chat("openai", "hi", **conn(openai_server, model="gpt-4o-mini"))
        llm.chat("openai", "hi", **conn(openai_server))  # the default is current
    said = lifecycle_warnings(record)
    assert said == [
        "Model 'gpt-4o-mini' of openai is deprecated and retires on 2027-01-14: use "
        "'gpt-6-luna' instead (one gateway lists gpt-6.1-sol for gpt-4o and gpt-4.1)."
    ]
    (warned,) = [w for w in record if w.category is llm.ModelLifecycleWarning]
    assert warned.filename == __file__  # it names the caller's line, not a plug's


def test_an_overdue_model_warns_that_it_may_be_gone(anthropic_server) -> None:
    with pytest.warns(llm.ModelLifecycleWarning, match="was due to retire on 2026-11-30"):
        llm.chat("anthropic", "hi", **conn(anthropic_server, model="claude-sonnet-4-5"))


def test_a_deprecated_dated_snapshot_warns_and_an_active_model_does_not(openai_server) -> None:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        llm.chat("openai", "hi", **conn(openai_server, model="gpt-5-mini-2025-08-07"))
        llm.chat("openai", "hi", **conn(openai_server, model="gpt-6-luna"))
        llm.chat("groq", "hi", **conn(openai_server, model="gpt-4o-mini"))  # not Groq's
    (said,) = lifecycle_warnings(record)
    assert "'gpt-5-mini-2025-08-07' of openai" in said and "2026-12-11" in said
    assert "gpt-6.1-sol" in said and "conflicting" in said


# -- a retired model: ModelRetiredError naming the replacement --------------------------


def test_anthropic_404_for_a_retired_model_is_model_retired(anthropic_server) -> None:
    with pytest.raises(ModelRetiredError) as caught:
        llm.chat("anthropic", "hi", **conn(anthropic_server, model="claude-sonnet-4-20250514"))
    error = caught.value
    assert error.model == "claude-sonnet-4-20250514" and error.replacement == "claude-sonnet-4-6"
    assert error.status_code == 404 and error.error_type == "not_found_error"
    assert isinstance(error, BadRequestError) and not error.retryable
    assert "retired on 2026-06-15" in str(error) and "model: claude-sonnet-4-20250514" in str(error)
    with pytest.raises(ModelRetiredError, match="claude-opus-4-8"):
        list(llm.stream("anthropic", "hi", **conn(anthropic_server, model="claude-opus-4-0")))


def test_openai_404_for_a_shut_down_completion_model_is_model_retired(openai_server) -> None:
    with pytest.raises(ModelRetiredError) as caught:
        llm.complete("openai", "once", **conn(openai_server, model="gpt-3.5-turbo-instruct"))
    assert caught.value.replacement == "gpt-6-luna"
    assert "no OpenAI model remains on /v1/completions" in str(caught.value)
    assert caught.value.error_type == "invalid_request_error"


def test_a_404_that_does_not_name_the_model_uses_the_one_requested(fake_server) -> None:
    groq = fake_server("openai", flavor="groq")
    groq.inject(faults.http_error(404))
    with pytest.raises(ModelRetiredError) as caught:
        llm.chat("groq", "hi", **conn(groq, model="llama-3.3-70b-versatile"))
    assert caught.value.replacement == "openai/gpt-oss-120b"
    assert caught.value.model == "llama-3.3-70b-versatile"


def test_a_gemini_404_for_a_retired_model_reads_the_model_from_the_path(gemini_server) -> None:
    gemini_server.inject(faults.http_error(404))
    with pytest.raises(ModelRetiredError) as caught:
        llm.chat("gemini", "hi", **conn(gemini_server, model="gemini-2.5-pro"))
    assert caught.value.replacement == "gemini-3.8-flash"


def test_an_overdue_model_that_is_not_found_is_model_retired(anthropic_server) -> None:
    anthropic_server.inject(faults.http_error(404, _anthropic_404("claude-sonnet-4-5-20250929")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", llm.ModelLifecycleWarning)
        with pytest.raises(ModelRetiredError, match="claude-sonnet-5-5"):
            llm.chat(
                "anthropic", "hi", **conn(anthropic_server, model="claude-sonnet-4-5-20250929")
            )


@pytest.mark.parametrize(
    ("model", "status"),
    [("claude-nope", 404), ("claude-haiku-5-5", 404), ("claude-sonnet-4-20250514", 400)],
)
def test_other_failures_stay_what_they_were(anthropic_server, model, status) -> None:
    """Unknown and active models not found, and a retired model refused for another reason."""
    body = _anthropic_404(model) if status == 404 else None
    anthropic_server.inject(faults.http_error(status, body))
    with pytest.raises(BadRequestError) as caught:
        llm.chat("anthropic", "hi", **conn(anthropic_server, model=model))
    assert type(caught.value) is BadRequestError


def test_a_deprecated_model_not_yet_due_stays_a_bad_request(openai_server) -> None:
    openai_server.inject(faults.http_error(404))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", llm.ModelLifecycleWarning)
        with pytest.raises(BadRequestError) as caught:
            llm.chat("openai", "hi", **conn(openai_server, model="gpt-4o-mini"))
    assert type(caught.value) is BadRequestError


def _anthropic_404(model: str) -> dict:
    error = {"type": "not_found_error", "message": f"model: {model}"}
    return {"type": "error", "error": error, "request_id": "req_x"}


# -- a re-routed model: priced as the model that answered --------------------------------


def test_a_rerouted_gemini_answer_is_priced_as_the_model_that_gave_it(gemini_server) -> None:
    recorded_before = llm.costs(model="gemini-3.8-flash").shape[0]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        reply = llm.chat("gemini", "hello", **conn(gemini_server, model="gemini-2.5-pro"))
        streamed = llm.stream("gemini", "hello", **conn(gemini_server, model="gemini-2.5-pro"))
        list(streamed)
    assert reply.model == streamed.response.model == "gemini-3.8-flash"
    expected, _ = pricing.cost_for(
        "gemini", "gemini-3.8-flash", reply.usage, price_provider="google"
    )
    old, _ = pricing.cost_for("gemini", "gemini-2.5-pro", reply.usage, price_provider="google")
    assert reply.cost == pytest.approx(expected) and expected != pytest.approx(old)
    assert streamed.response.cost == pytest.approx(
        pricing.cost_for(
            "gemini", "gemini-3.8-flash", streamed.response.usage, price_provider="google"
        )[0]
    )
    (said,) = lifecycle_warnings(record)
    assert "'gemini-2.5-pro' of gemini was retired on 2026-12-01" in said
    assert "answered with 'gemini-3.8-flash'" in said
    assert llm.costs(model="gemini-3.8-flash").shape[0] == recorded_before + 2


def test_the_default_gemini_model_is_the_routing_target_of_the_old_one(gemini_server) -> None:
    with pytest.warns(llm.ModelLifecycleWarning, match="answered with 'gemini-3.5-flash-lite'"):
        old = llm.chat("gemini", "hello", **conn(gemini_server, model="gemini-2.5-flash"))
    new = llm.chat("gemini", "hello", **conn(gemini_server))
    assert old.model == new.model == "gemini-3.5-flash-lite" and old.cost == new.cost


def test_a_rerouted_xai_answer_that_echoes_the_old_id_is_priced_as_its_target(
    openai_server,
) -> None:
    with pytest.warns(llm.ModelLifecycleWarning, match="answered with 'grok-4.3'"):
        reply = llm.chat("xai", "hello", **conn(openai_server, model="grok-3"))
    assert openai_server.last_request.json["model"] == "grok-3"
    expected, _ = pricing.cost_for("xai", "grok-4.3", reply.usage, price_provider="x-ai")
    assert reply.model == "grok-4.3" and reply.cost == pytest.approx(expected)


def test_an_answer_from_a_current_model_is_left_alone(gemini_server) -> None:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        reply = llm.chat("gemini", "hello", **conn(gemini_server))
    assert reply.model == "gemini-3.5-flash-lite" and not lifecycle_warnings(record)


# -- list_models shows each model's status ----------------------------------------------


def test_openai_models_carry_status_from_shutdown_date_and_the_table(openai_server) -> None:
    models = {m.id: m for m in llm.list_models("openai", **conn(openai_server))}
    mini = models["gpt-4o-mini"]
    assert (mini.status, mini.retires, mini.replacement) == (
        "deprecated",
        "2027-01-14",
        "gpt-6-luna",
    )
    assert models["gpt-6-luna"].status == "active" and models["gpt-6-luna"].retires is None
    listing = {
        "object": "list",
        "data": [
            {"id": "gpt-old", "object": "model", "created": 1, "owned_by": "system",
             "shutdown_date": "2026-01-01"},
            {"id": "gpt-later", "object": "model", "created": 1, "owned_by": "system",
             "shutdown_date": "2027-06-30"},
            {"id": "ft:custom", "object": "model", "created": 1, "owned_by": "me",
             "shutdown_date": None},
        ],
    }  # fmt: skip
    openai_server.inject(faults.reply(listing))
    listed = [(m.status, m.retires) for m in llm.list_models("openai", **conn(openai_server))]
    assert listed == [("retired", "2026-01-01"), ("deprecated", "2027-06-30"), (None, None)]


def test_anthropic_models_carry_the_listing_lifecycle(anthropic_server) -> None:
    models = {m.id: m for m in llm.list_models("anthropic", **conn(anthropic_server))}
    old = models["claude-sonnet-4-20250514"]
    assert (old.status, old.retires, old.replacement) == (
        "retired",
        "2026-06-15",
        "claude-sonnet-4-6",
    )
    assert models["claude-3-5-haiku-20241022"].status == "active"
    listing = {
        "data": [
            {"type": "model", "id": "claude-haiku-5-5", "display_name": "Claude Haiku 5.5",
             "created_at": "2026-10-07T00:00:00Z", "lifecycle": "deprecated",
             "retires_at": "2027-10-01T00:00:00Z"},
        ],
        "has_more": False, "first_id": "claude-haiku-5-5", "last_id": "claude-haiku-5-5",
    }  # fmt: skip
    anthropic_server.inject(faults.reply(listing))
    (haiku,) = llm.list_models("anthropic", **conn(anthropic_server))
    assert (haiku.status, haiku.retires) == ("deprecated", "2027-10-01")  # the live API wins


def test_gemini_models_carry_the_table_status(gemini_server) -> None:
    models = {m.id: m for m in llm.list_models("gemini", **conn(gemini_server))}
    assert models["gemini-2.5-flash"].status == "retired"
    assert models["gemini-2.5-flash"].replacement == "gemini-3.5-flash-lite"
    assert models["gemini-3.5-flash-lite"].status == "active"
    assert models["text-embedding-004"].status is None


# -- legacy completions on OpenAI have no default model -----------------------------------


def test_an_openai_completion_without_a_model_is_refused_before_sending(openai_server) -> None:
    with pytest.raises(ConfigError, match=re.escape("No OpenAI model remains on /v1/completions")):
        llm.complete("openai", "once upon", **conn(openai_server))
    assert openai_server.requests == []


def test_a_compatible_server_completion_still_uses_its_default_model(openai_server) -> None:
    llm.complete("together", "once upon", **conn(openai_server))
    assert openai_server.last_request.json["model"] == defaults.CHAT["together"]
