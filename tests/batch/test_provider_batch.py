"""engine="batch" over real HTTP: the OpenAI Files + Batches and Anthropic Message Batches
fakes, whose jobs move over successive polls, answer rows through their own chat
endpoints, and fail the rows the script says."""

from __future__ import annotations

import asyncio
import math
import sqlite3
from dataclasses import dataclass

import pandas as pd
import pytest

import llmpipe_nb as llm
from llmpipe_nb.pricing import cost_for
from llmpipe_nb.providers._http import close_transports
from llmpipe_nb.responses import Usage
from llmpipe_nb.testing import FakeServer
from llmpipe_nb.testing.batch_script import FAIL_MARKER

KEY = "sk-batch-jobs-0123456789abcdef"
PROVIDERS = ["openai", "anthropic"]
FAST = 0.001  # seconds between polls: the fakes move one step per poll


@pytest.fixture
def serve():
    """serve(provider) -> a fake server the provider is configured to use."""
    started = []

    def start(provider: str) -> FakeServer:
        server = FakeServer(provider).start()
        started.append(server)
        llm.configure(provider, base_url=server.base_url, api_key=KEY)
        return server

    yield start
    for server in started:
        server.close()
    close_transports()


def sent(server: FakeServer) -> list[str]:
    """The custom ids of every request the server's batches were given."""
    return [cid for job in server.wire.batches.jobs.jobs.values() for cid, _ in job.requests]


def calls(server: FakeServer, method: str, suffix: str) -> int:
    return sum(r.method == method and r.path.endswith(suffix) for r in server.requests)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_thousand_rows_come_back_in_order_with_failed_rows_typed(serve, provider):
    server = serve(provider)
    server.wire.batches.script.rows_per_poll = 250
    texts = [f"item {i % 900}" if i % 97 else f"{FAIL_MARKER} item {i}" for i in range(1000)]
    df = pd.DataFrame(
        {"text": texts},
        index=pd.RangeIndex(5000, 6000).to_series().sample(frac=1, random_state=7).index,
    )

    job = llm.map(df, "Classify: {text}", provider, engine="batch")

    assert isinstance(job, llm.BatchJob) and not job.terminal
    assert calls(server, "POST", "batches") == 1 and calls(server, "GET", job.batch_ids[0]) == 0
    unique = len(set(texts))
    assert job.rows == 1000 and job.requests == unique == len(sent(server))

    seen: list[tuple[str, int]] = []
    out = job.wait(poll_interval=FAST, progress=lambda j: seen.append((j.status, j.succeeded)))

    done_counts = [n for _, n in seen]
    assert done_counts == sorted(done_counts) and len(set(done_counts)) >= 4  # moved over polls
    assert job.status == "completed" and out.index.equals(df.index)
    local = llm.map(df.head(2), "Classify: {text}", provider, progress=False)
    assert list(out.columns) == list(local.columns)
    failed = df.text.str.startswith(FAIL_MARKER)
    assert all(isinstance(e, llm.ServerError) for e in out.error[failed])
    assert out.error[~failed].isna().all()
    assert (out.content[~failed] == "Echo: Classify: " + df.text[~failed]).all()
    assert job.succeeded == unique - failed.sum() and job.failed == failed.sum()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_ledger_rows_carry_both_ids_and_the_batch_price(serve, provider):
    serve(provider)
    job = llm.map(["alpha", "beta", "gamma delta"], "Say {}", provider, engine="batch")
    out = job.wait(poll_interval=FAST, progress=False)

    rows = llm.costs(tags=f"batch:{job.id}")
    assert len(rows) == 3 and len(llm.costs(tags=f"batch:{job.batch_ids[0]}")) == 3
    model = rows.model.iloc[0]
    for row in rows.itertuples():
        usage = Usage(input_tokens=row.input_tokens, output_tokens=row.output_tokens)
        normal, status = cost_for(provider, model, usage)
        assert status == "priced" and math.isclose(row.cost_usd, normal * 0.5)
    assert math.isclose(out.cost_usd.sum(), rows.cost_usd.sum())
    assert (rows.latency_ms >= 0).all()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_identical_rows_are_sent_once_and_paid_once(serve, provider):
    server = serve(provider)
    job = llm.map(["a", "b", "a", "a", "b"], "Say {}", provider, engine="batch")
    out = job.wait(poll_interval=FAST, progress=False)

    assert len(sent(server)) == 2 and job.requests == 2
    assert out.content.tolist() == ["Echo: Say a", "Echo: Say b"] + ["Echo: Say a"] * 2 + [
        "Echo: Say b"
    ]
    assert (out.cost_usd.iloc[2:] == 0).all() and (out.cost_usd.iloc[:2] > 0).all()
    assert len(llm.costs(tags=f"batch:{job.id}")) == 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_job_runs_on_a_provider_configured_for_the_aiohttp_transport(serve, provider):
    """The input file is uploaded and the results file read over httpx2, as for any provider."""
    server = serve(provider)
    llm.configure(provider, transport="aiohttp")
    job = llm.map(["a", "b"], "Say {}", provider, engine="batch")
    out = job.wait(poll_interval=FAST, progress=False)

    assert len(sent(server)) == 2
    assert out.content.tolist() == ["Echo: Say a", "Echo: Say b"]


def test_rows_the_cache_has_are_not_sent_and_answers_are_cached_when_they_come_back(
    serve, tmp_path
):
    server = serve("openai")
    cache = {"store": "sqlite", "path": str(tmp_path / "cache.sqlite")}
    items = [f"q{i}" for i in range(10)]
    llm.map(items[:4], "{}", "openai", cache=cache, progress=False)

    job = llm.map(items, "{}", "openai", cache=cache, engine="batch")
    assert job.requests == 6 and len(sent(server)) == 6
    out = job.wait(poll_interval=FAST, progress=False)

    assert out.cache_hit.tolist() == [True] * 4 + [False] * 6
    assert out.content.tolist() == [f"Echo: q{i}" for i in range(10)]
    before = len(server.requests)
    again = llm.map(items, "{}", "openai", cache=cache, progress=False)
    assert len(server.requests) == before and again.cache_hit.all()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_cancel_keeps_the_answered_rows_and_types_the_rest(serve, provider):
    server = serve(provider)
    server.wire.batches.script.rows_per_poll = 2
    job = llm.map([f"r{i}" for i in range(10)], "{}", provider, engine="batch")
    while job.refresh().succeeded < 2:
        pass

    assert job.cancel().status == "cancelling"
    out = job.wait(poll_interval=FAST, progress=False)

    assert job.status == "cancelled" and calls(server, "POST", "/cancel") == 1
    answered = out.error.isna()
    assert answered.sum() == 2 and job.failed == 8
    for error in out.error[~answered]:
        assert isinstance(error, llm.BatchJobError) and error.status == "cancelled"
        assert error.job_id == job.id and "cancelled before it ran" in str(error)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_expired_job_delivers_what_it_ran_and_says_why_for_the_rest(serve, provider):
    server = serve(provider)
    server.wire.batches.script.end = "expired"
    server.wire.batches.script.expire_after = 3
    out = llm.map(list("abcdef"), "{}", provider, engine="batch").wait(
        poll_interval=FAST, progress=False
    )

    assert out.error.iloc[:3].isna().all()
    for error in out.error.iloc[3:]:
        assert isinstance(error, llm.BatchJobError) and error.status == "expired"
        assert "24-hour window ran out" in str(error)


def test_a_failed_job_says_why_on_the_job_and_on_every_row(serve):
    server = serve("openai")
    server.wire.batches.script.end = "failed"
    job = llm.map(list("abc"), "{}", "openai", engine="batch")
    out = job.wait(poll_interval=FAST, progress=False)

    assert job.status == "failed" and "enqueued token limit" in job.error
    assert "enqueued token limit" in repr(job) and "enqueued token limit" in job._repr_html_()
    assert all(
        isinstance(e, llm.BatchJobError) and "enqueued token limit" in str(e) for e in out.error
    )


def test_polls_ride_out_a_flaky_network_and_a_busy_server(serve, monkeypatch):
    from llmpipe_nb.batch import remote
    from llmpipe_nb.testing import faults

    monkeypatch.setattr(remote, "FIRST_WAIT_S", 0.001)
    server = serve("openai")
    job = llm.map(list("abcd"), "{}", "openai", engine="batch")
    server.inject(faults.http_error(503), faults.drop_connection(), faults.http_error(429))

    out = job.wait(poll_interval=FAST, progress=False)

    assert out.error.isna().all() and job.status == "completed"
    # three polls failed and were tried again (the dropped one had moved the job on)
    assert calls(server, "GET", job.batch_ids[0]) == 3 + 2


def test_a_refused_poll_is_raised_and_the_job_can_be_waited_on_again(serve):
    from llmpipe_nb.testing import faults

    server = serve("openai")
    job = llm.map(list("ab"), "{}", "openai", engine="batch")
    server.inject(faults.http_error(401))
    with pytest.raises(llm.AuthenticationError):
        job.wait(poll_interval=FAST, progress=False)
    assert job.wait(poll_interval=FAST, progress=False).error.isna().all()


def test_the_same_rows_again_reattach_to_the_running_job_instead_of_paying_twice(serve):
    server = serve("openai")
    df = pd.DataFrame({"q": ["x", "y"]})
    first = llm.map(df, "{q}", "openai", engine="batch")
    with pytest.warns(UserWarning, match=f"already in batch job {first.id}.*re-attached"):
        second = llm.map(df, "{q}", "openai", engine="batch")

    assert second.id == first.id and second.reattached
    assert calls(server, "POST", "/batches") == 1
    other = llm.map(df, "{q}!", "openai", engine="batch")  # another prompt: another job
    assert other.id != first.id and calls(server, "POST", "/batches") == 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_job_bigger_than_one_provider_batch_is_split(serve, provider, monkeypatch):
    from llmpipe_nb.providers.anthropic.batches import AnthropicBatches
    from llmpipe_nb.providers.openai.batches import OpenAIBatches

    monkeypatch.setattr(OpenAIBatches, "max_requests", 4)
    monkeypatch.setattr(AnthropicBatches, "max_bytes", 1000)  # four of these requests
    server = serve(provider)
    job = llm.map([f"row {i}" for i in range(10)], "{}", provider, engine="batch")

    assert len(job.batch_ids) == 3 == len(server.wire.batches.jobs.jobs)
    out = job.wait(poll_interval=FAST, progress=False)
    assert out.content.tolist() == [f"Echo: row {i}" for i in range(10)]
    assert {llm.batch_job(b).id for b in job.batch_ids} == {job.id}


def test_schema_rows_are_parsed_into_columns_and_a_bad_answer_fails_its_row():
    mock = llm.providers.get("mock")
    mock.configure(replies=['{"label": "good"}', "not JSON"])
    schema = {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}
    job = llm.map(["a", "b"], "Rate {}", "mock", schema=schema, engine="batch")
    out = job.wait(poll_interval=FAST, progress=False)

    assert list(out.columns[:2]) == ["content", "label"]
    assert out.label.iloc[0] == "good" and pd.isna(out.label.iloc[1])
    assert isinstance(out.error.iloc[1], llm.ResponseFormatError)
    assert mock.requests[0].json["response_format"]["type"] == "json_schema"


async def test_amap_submits_without_blocking_and_wait_async_polls(serve):
    serve("openai")
    job = await llm.amap(list("abc"), "{}", "openai", engine="batch")
    out = await job.wait_async(poll_interval=FAST)
    assert out.content.tolist() == ["Echo: a", "Echo: b", "Echo: c"]
    assert (await asyncio.to_thread(job.result)) is out


def test_the_key_is_never_stored_nor_shown(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMPIPE_BATCH_JOBS", str(tmp_path / "jobs.sqlite3"))
    with FakeServer("openai", api_key=KEY) as server:
        job = llm.map(
            ["a", "b"], "{}", "openai", engine="batch", base_url=server.base_url, api_key=KEY
        )
        out = job.wait(poll_interval=FAST, progress=False)
    shown = [repr(job), job._repr_html_(), str(job._repr_mimebundle_()), out.to_csv()]
    shown += [llm.batch_jobs().to_csv(), llm.costs().to_csv()]
    assert out.error.isna().all() and not any(KEY in text for text in shown)
    with sqlite3.connect(tmp_path / "jobs.sqlite3") as db:
        dump = "\n".join(db.iterdump())
    assert KEY not in dump and job.id in dump


def test_rows_that_cannot_be_sent_fail_on_their_own_and_a_job_with_nothing_to_send_is_done(
    serve, tmp_path
):
    server = serve("openai")
    df = pd.DataFrame({"name": ["kettle", None, "lamp"]}, index=["r1", "r2", "r3"], dtype=object)
    out = llm.map(df, "Describe {name}", "openai", engine="batch").wait(
        poll_interval=FAST, progress=False
    )
    assert len(sent(server)) == 2 and out.error.iloc[[0, 2]].isna().all()
    assert isinstance(out.loc["r2", "error"], llm.ConfigError) and "not sent" in str(
        out.loc["r2", "error"]
    )

    cache = {"store": "sqlite", "path": str(tmp_path / "cache.sqlite")}
    llm.map(["a", "b"], "{}", "openai", cache=cache, progress=False)
    before = len(server.requests)
    job = llm.map(["a", "b"], "{}", "openai", cache=cache, engine="batch")
    assert job.status == "completed" and job.batch_ids == [] and job.requests == 0
    assert job.result().cache_hit.all() and len(server.requests) == before


@dataclass
class Rating:
    label: str
    score: int


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_typed_schema_goes_into_the_batch_and_a_reattached_job_reads_its_columns(serve, provider):
    server = serve(provider)
    job = llm.map(["a", "b"], "Rate {}", provider, schema=Rating, engine="batch")
    bodies = [body for j in server.wire.batches.jobs.jobs.values() for _, body in j.requests]
    sent = [b.get("response_format") or b["output_config"]["format"] for b in bodies]
    assert len(sent) == 2 and all(s["type"] == "json_schema" for s in sent)

    out = llm.batch_job(job.id).wait(poll_interval=FAST, progress=False)  # as a new process would

    assert out.error.isna().all(), out.error.tolist()
    assert list(out.columns[:3]) == ["content", "label", "score"]
    assert str(out.score.dtype) == "Int64" and out.label.notna().all()
    assert job.wait(poll_interval=FAST, progress=False).equals(out)
