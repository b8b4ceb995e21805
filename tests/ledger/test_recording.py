"""Every finished request leaves one cost row and one trace row per plug it ran."""

from __future__ import annotations

import asyncio
import math
import signal
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

import llmpipe_nb as llm
from llmpipe_nb.ledger import COST_DTYPES, TRACE_DTYPES
from llmpipe_nb.pipeline import add_listener, remove_listener
from llmpipe_nb.providers.mock import MockProvider
from llmpipe_nb.testing import faults

MOCK_PLUGS = [
    "ValidateProvider",
    "FetchConfig",
    "BuildHttpClient",
    "MockPrepareRequest",
    "ExecuteRequest",
    "MockParseResponse",
    "TrackCost",
]


def test_a_chat_leaves_one_cost_row_and_a_trace_row_per_plug(priced_mock):
    response = llm.chat("mock", "What is a plug?")

    costs, traces = llm.costs(), llm.traces()
    assert len(costs) == 1
    row = costs.iloc[0]
    assert row.request_id == response.request.id
    assert (row.provider, row.model, row.kind, row.status) == (
        "mock",
        "mock-1",
        "chat",
        "completed",
    )
    assert (row.input_tokens, row.output_tokens) == (
        response.usage.input_tokens,
        response.usage.output_tokens,
    )
    assert row.cost_usd == pytest.approx(response.cost) and response.cost > 0
    assert row.cost_status == "priced"
    assert row.attempts == 1 and not row.cache_hit and row.cost_saved_usd == 0.0
    assert row.latency_ms > 0 and math.isnan(row.ttft_ms)
    assert row.tags == ()
    assert traces.plug.tolist() == MOCK_PLUGS
    assert traces.step.tolist() == list(range(7))
    assert set(traces.request_id) == {response.request.id}
    assert set(traces.outcome) == {"ok"}
    trace_us = [s.duration_ns / 1000 for s in response.request.trace]
    assert traces.duration_us.tolist() == pytest.approx(trace_us)


def test_columns_and_dtypes_are_fixed_even_when_empty():
    for frame, dtypes in ((llm.costs(), COST_DTYPES), (llm.traces(), TRACE_DTYPES)):
        assert list(frame.columns) == list(dtypes)
        assert {c: str(t) for c, t in frame.dtypes.items()} == _named(dtypes)
    llm.chat("mock", "hi")
    llm.providers.get("mock").fail_next(llm.ServerError)
    with pytest.raises(llm.ServerError):
        llm.chat("mock", "hi")
    for frame, dtypes in ((llm.costs(), COST_DTYPES), (llm.traces(), TRACE_DTYPES)):
        assert list(frame.columns) == list(dtypes)
        assert {c: str(t) for c, t in frame.dtypes.items()} == _named(dtypes)


def _named(dtypes):
    import pandas as pd

    return {c: str(pd.Series([], dtype=t).dtype) for c, t in dtypes.items()}


def test_rows_come_in_time_order_and_trace_times_are_wall_clock():
    before = datetime.now(timezone.utc)
    for i in range(5):
        llm.chat("mock", f"question {i}")
    after = datetime.now(timezone.utc)
    costs, traces = llm.costs(), llm.traces()
    assert costs.ts.is_monotonic_increasing and traces.started_at.is_monotonic_increasing
    assert costs.ts.min() >= before and costs.ts.max() <= after
    assert traces.started_at.min() >= before and traces.started_at.max() <= after
    first = traces[traces.request_id == costs.request_id[0]]
    assert first.started_at.iloc[0] >= costs.ts[0]


@pytest.fixture
def openai_loopback(openai_server):
    """The OpenAI provider, pointed at a loopback server that speaks its wire format."""
    from llmpipe_nb.providers._http import close_transports

    llm.configure("openai", api_key="sk-ledger-test-000000", base_url=openai_server.base_url)
    yield openai_server
    close_transports()


def test_the_cost_column_sums_to_the_responses_costs_across_providers(priced_mock, openai_loopback):
    responses = [llm.chat("mock", f"tell me about {n}") for n in ("plugs", "pipelines", "costs")]
    responses += [llm.chat("openai", f"hello {n}", model="gpt-4o-mini") for n in range(2)]
    responses.append(llm.embeddings("mock", ["one", "two", "three"]))
    responses += list(_stream_response() for _ in range(2))

    costs = llm.costs()
    assert len(costs) == len(responses) == 8
    assert costs.cost_usd.sum() == pytest.approx(sum(r.cost for r in responses))
    by_provider = costs.groupby("provider").cost_usd.sum()
    assert by_provider["openai"] == pytest.approx(sum(r.cost for r in responses[3:5]))
    assert by_provider["openai"] > 0 and by_provider["mock"] > 0
    assert len(openai_loopback.requests) == 2
    assert costs.kind.value_counts().to_dict() == {"chat": 5, "embeddings": 1, "stream": 2}
    assert costs[costs.kind == "stream"].ttft_ms.notna().all()
    assert len(llm.traces()) == sum(len(r.request.trace) for r in responses)


def _stream_response():
    stream = llm.stream("mock", "stream this please")
    stream.text()
    return stream.response


class AcmeProvider(MockProvider):
    """A second, priced in-process provider."""

    name = "acme"
    default_model = "acme-small"
    local = False


def test_custom_providers_are_rows_of_their_own(priced_mock):
    llm.providers.register("acme", AcmeProvider)
    llm.set_price("acme-small", input_per_mtok=1.0, output_per_mtok=2.0)
    paid = [llm.chat("acme", "hi"), llm.chat("acme", "hello"), llm.chat("mock", "hey")]
    summary = llm.ledger().summary()
    assert summary.loc[("acme", "acme-small"), "requests"] == 2
    assert summary.loc[("acme", "acme-small"), "cost_usd"] == pytest.approx(
        paid[0].cost + paid[1].cost
    )
    assert summary.cost_usd.sum() == pytest.approx(sum(r.cost for r in paid))


def test_an_error_is_a_row_with_its_type_and_the_failing_step():
    mock = llm.providers.get("mock")
    mock.fail_next(llm.AuthenticationError)
    with pytest.raises(llm.AuthenticationError) as caught:
        llm.chat("mock", "hi")

    row = llm.costs().iloc[0]
    assert row.status == "error" and row.error_type == "AuthenticationError"
    assert row.cost_usd == 0.0 and row.input_tokens == 0 and row.attempts == 1
    traces = llm.traces()
    assert traces.plug.tolist() == MOCK_PLUGS[:5]
    last = traces.iloc[-1]
    assert last.outcome == "error" and "AuthenticationError" in last.note
    assert row.request_id == caught.value.request.id


def test_errors_before_the_call_are_rows_too():
    done = llm.Pipeline.run(llm.Request.new("nope", "hi"), llm.providers.get_pipeline("mock"))
    assert done.state == "error"
    row = llm.costs().iloc[0]
    assert (row.provider, row.status, row.error_type, row.attempts) == (
        "nope",
        "error",
        "UnknownProviderError",
        0,
    )
    assert llm.traces().plug.tolist() == ["ValidateProvider"]


def test_a_halted_run_is_a_row_whose_trace_stops_at_the_halt():
    def stop_here(request):
        return request.halt("over budget")

    done = llm.build("mock", "hi").with_custom_plug(stop_here).run()
    assert done.state == "halted"
    row = llm.costs().iloc[0]
    assert row.status == "halted" and row.attempts == 0 and row.cost_usd == 0.0
    traces = llm.traces()
    assert traces.plug.tolist() == [*MOCK_PLUGS[:4], "stop_here"]
    assert traces.outcome.iloc[-1] == "halted" and traces.note.iloc[-1] == "over budget"


def test_a_cache_hit_costs_nothing_and_records_what_it_saved(priced_mock):
    cached = llm.build("mock", f"cache me {uuid.uuid4()}").with_cache(store="memory")
    first, second = cached.execute(), cached.execute()
    assert second.cache_hit and second.cost == 0.0

    costs = llm.costs()
    assert costs.cache_hit.tolist() == [False, True]
    assert costs.cost_usd.tolist() == pytest.approx([first.cost, 0.0])
    assert costs.cost_saved_usd.iloc[1] == pytest.approx(first.cost)
    assert costs.cost_status.tolist() == ["priced", "cached"]
    assert costs.input_tokens.iloc[1] == 0 and costs.attempts.iloc[1] == 0
    hit_plugs = llm.traces()[lambda t: t.request_id == costs.request_id[1]].plug.tolist()
    assert "ExecuteRequest" not in hit_plugs and hit_plugs[-1] == "Cache"
    summary = llm.ledger().summary().loc[("mock", "mock-1")]
    assert summary.cache_hits == 1 and summary.cost_saved_usd == pytest.approx(first.cost)


def test_secrets_in_a_failing_plug_never_reach_the_traces():
    llm.Secret("sk-canary-abcdef0123456789")

    def leaky(request):
        raise RuntimeError("could not use key sk-canary-abcdef0123456789")

    llm.build("mock", "hi").with_custom_plug(leaky).run()
    traces = llm.traces()
    assert "sk-canary" not in traces.to_csv()
    assert "sk-canary" not in llm.costs().to_csv()
    assert "RuntimeError" in traces.note.iloc[-1]


def test_tags_from_blocks_and_the_builder_are_merged():
    with llm.tag("experiment-3"):
        llm.chat("mock", "a")
        with llm.tag("variant-b", "experiment-3"):
            llm.build("mock", "b").with_tags("nightly").execute()
    llm.chat("mock", "c")

    assert llm.costs().tags.tolist() == [
        ("experiment-3",),
        ("nightly", "experiment-3", "variant-b"),
        (),
    ]
    assert len(llm.costs(tags="experiment-3")) == 2
    assert len(llm.costs(tags=["experiment-3", "nightly"])) == 1
    assert len(llm.traces(tags="nightly")) == 7
    by_tag = llm.costs().explode("tags").groupby("tags").size()
    assert by_tag.to_dict() == {"experiment-3": 2, "nightly": 1, "variant-b": 1}


async def test_tags_follow_asyncio_tasks_without_leaking():
    async def labelled(label):
        with llm.tag(label):
            await asyncio.sleep(0)
            return await llm.achat("mock", label)

    responses = await asyncio.gather(*(labelled(f"t{i}") for i in range(20)))
    costs = llm.costs().set_index("request_id")
    for i, response in enumerate(responses):
        assert costs.loc[response.request.id, "tags"] == (f"t{i}",)


@pytest.mark.parametrize("bad", ["", 3, None], ids=["empty", "int", "none"])
def test_a_bad_tag_is_refused_with_a_clear_error(bad):
    with pytest.raises(llm.ConfigError, match="Tags must be non-empty strings"), llm.tag(bad):
        pass
    with pytest.raises(llm.ConfigError, match="Tags must be non-empty strings"):
        llm.costs(tags=[bad])


def test_filters_by_provider_model_and_time():
    llm.providers.register("acme", AcmeProvider)
    llm.set_price("acme-small", input_per_mtok=1.0, output_per_mtok=2.0)
    llm.chat("mock", "a")
    llm.chat("mock", "b", model="mock-large")
    llm.chat("acme", "c")
    assert llm.costs(provider="acme").model.tolist() == ["acme-small"]
    assert len(llm.costs(provider=["acme", "mock"])) == 3
    assert llm.costs(model="mock-large").provider.tolist() == ["mock"]
    assert set(llm.traces(model="mock-large").request_id) == set(
        llm.costs(model="mock-large").request_id
    )
    cut = llm.costs().ts[1]
    assert len(llm.costs(since=cut)) == 2
    assert len(llm.costs(since=cut.to_pydatetime(warn=False))) == 2
    assert len(llm.costs(since=cut.isoformat())) == 2
    assert len(llm.costs(since=timedelta(hours=1))) == 3
    assert len(llm.costs(since=datetime.now() + timedelta(minutes=1))) == 0
    assert len(llm.traces(since=cut)) == 14


def test_a_bad_since_is_refused_with_a_clear_error():
    with pytest.raises(llm.ConfigError, match="is not a time"):
        llm.costs(since="last tuesday-ish")


@pytest.mark.parametrize("since", [5, 1.5, True])
def test_a_number_is_not_a_since(since):
    llm.chat("mock", "a")
    with pytest.raises(llm.ConfigError, match="is not a time"):
        llm.costs(since=since)
    with pytest.raises(llm.ConfigError, match="is not a time"):
        llm.traces(since=since)


@pytest.mark.parametrize(
    ("filters", "match"),
    [
        ({"tags": 5}, "tags=5 is not a filter"),
        ({"model": 3}, "model=3 is not a filter"),
        ({"provider": ["mock", 1]}, "provider= takes names"),
        ({"model": None, "provider": object}, "is not a filter"),
    ],
)
def test_filters_of_the_wrong_type_are_refused_with_a_clear_error(filters, match):
    for frame in (llm.costs, llm.traces):  # empty ledger: checked all the same
        with pytest.raises(llm.ConfigError, match=match):
            frame(**filters)
    llm.chat("mock", "a")
    with pytest.raises(llm.ConfigError, match=match):
        llm.costs(**filters)


def test_a_misspelled_filter_names_the_right_one():
    with pytest.raises(llm.ConfigError, match="no filter provder=: did you mean provider="):
        llm.costs(provder="mock")
    with pytest.raises(llm.ConfigError, match="The filters are since, provider, model, tags"):
        llm.traces(colour="red")


def test_filters_take_any_iterable_of_names():
    llm.chat("mock", "a", model="mock-large")
    names = pd.Series(["mock-large", "other"]).unique()  # a numpy array of names
    assert len(llm.costs(model=names)) == 1 and len(llm.costs(model=iter(["x"]))) == 0


def test_spent_keeps_running_totals_without_pandas(priced_mock):
    llm.providers.register("acme", AcmeProvider)
    llm.set_price("acme-small", input_per_mtok=1.0, output_per_mtok=2.0)
    a = llm.chat("mock", "one")
    with llm.tag("team-x"):
        b = llm.chat("acme", "two")
        with pytest.warns(UserWarning, match="No price known"):
            c = llm.chat("acme", "three", model="acme-large")  # unpriced: not counted
    ledger = llm.ledger()
    assert ledger.spent() == pytest.approx(a.cost + b.cost)
    assert ledger.spent(provider="acme") == pytest.approx(b.cost)
    assert ledger.spent(model="mock-1") == pytest.approx(a.cost)
    assert ledger.spent(tag="team-x") == pytest.approx(b.cost)
    assert ledger.spent(tag="team-x", provider="mock") == 0.0
    assert c.cost is None and math.isnan(llm.costs(model="acme-large").cost_usd[0])
    assert llm.costs(model="acme-large").cost_status[0] == "unpriced"
    ledger.reset()
    assert ledger.spent() == 0.0 and len(ledger) == 0


async def test_a_thousand_concurrent_requests_give_a_thousand_rows(priced_mock):
    responses = await asyncio.gather(*(llm.achat("mock", f"question {i}") for i in range(1000)))
    costs, traces = llm.costs(), llm.traces()
    assert len(costs) == 1000 and costs.request_id.is_unique
    assert set(costs.request_id) == {r.request.id for r in responses}
    assert costs.cost_usd.sum() == pytest.approx(sum(r.cost for r in responses))
    assert len(traces) == 7000
    steps = traces.groupby("request_id").step.agg(list)
    assert all(s == list(range(7)) for s in steps)


def test_threads_recording_at_once_lose_no_rows(priced_mock):
    totals = []

    def work():
        totals.append(sum(llm.chat("mock", f"thread {n}").cost for n in range(50)))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(llm.costs()) == 400 and len(llm.traces()) == 2800
    assert llm.costs().cost_usd.sum() == pytest.approx(sum(totals))
    assert llm.ledger().spent() == pytest.approx(sum(totals))


def test_rows_move_between_ledgers():
    llm.chat("mock", "a")
    llm.chat("mock", "b")
    elsewhere = llm.Ledger()
    elsewhere.extend(llm.ledger().rows())
    assert len(elsewhere) == 2 and len(elsewhere.traces()) == 14
    assert elsewhere.costs().equals(llm.costs())


def test_recording_imports_neither_pandas_nor_sqlite(fresh_python):
    code = (
        "import sys, llmpipe_nb as llm; llm.chat('mock', 'hi'); "
        "assert len(llm.ledger()) == 1; "
        "print(','.join(m for m in ('pandas', 'sqlite3', 'matplotlib', 'rich') if m in sys.modules))"
    )
    out = fresh_python(code)
    assert out.stdout.strip() == ""


def test_a_stream_closed_before_its_end_is_a_cancelled_row():
    llm.providers.get("mock").configure(chunk_size=2)
    stream = llm.stream("mock", "a question long enough to stream in many small chunks")
    for i, _ in enumerate(stream):
        if i == 2:
            break
    del stream  # the consumer walked away
    row = llm.costs().iloc[0]
    assert (row.kind, row.status, row.attempts) == ("stream", "cancelled", 1)
    last = llm.traces().iloc[-1]
    assert (last.plug, last.outcome) == ("ExecuteRequest", "halted")
    assert last.note == "the stream was closed before its end"


async def test_an_async_stream_closed_early_and_a_cancelled_request_are_rows():
    llm.providers.get("mock").configure(chunk_size=2)
    async for _ in llm.astream("mock", "a question long enough to stream in many small chunks"):
        break  # the event loop closes the abandoned stream soon after
    for _ in range(100):
        if len(llm.ledger()):
            break
        await asyncio.sleep(0)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(llm.achat("mock", "slow", mock_latency=5), timeout=0.05)

    costs, traces = llm.costs(), llm.traces()
    assert costs.status.tolist() == ["cancelled", "cancelled"]
    assert costs.attempts.tolist() == [1, 1]  # both were sent before they were stopped
    assert costs.kind.tolist() == ["stream", "chat"]
    notes = traces[traces.outcome == "halted"].note.tolist()
    assert notes == ["the stream was closed before its end", "interrupted (CancelledError)"]


def test_a_cached_stream_closed_during_its_replay_is_a_row():
    cached = llm.build("mock", f"replay me {uuid.uuid4()} " * 5).with_cache(store="memory")
    llm.providers.get("mock").configure(chunk_size=2)
    cached.stream().text()
    stream = cached.stream()
    next(iter(stream))
    del stream
    assert llm.costs().cache_hit.tolist() == [False, True]


def _interrupt_after(seconds):
    """Ctrl-C, as the kernel delivers it: SIGINT's KeyboardInterrupt, here from a timer."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _interrupt_once_sent(server, seconds):
    """Ctrl-C `seconds` after the server has the request, however long sending it took."""
    _interrupt_after(0)  # the handler, no timer yet

    def wait_then_arm():
        for _ in range(500):
            if server.requests:
                signal.setitimer(signal.ITIMER_REAL, seconds)
                return
            threading.Event().wait(0.01)

    threading.Thread(target=wait_then_arm, daemon=True).start()


@pytest.fixture
def no_alarm():
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)


def test_ctrl_c_during_a_call_is_a_cancelled_row_that_counts_the_call(openai_loopback, no_alarm):
    openai_loopback.inject(faults.delay(2))
    _interrupt_once_sent(openai_loopback, 0.2)
    with pytest.raises(KeyboardInterrupt):
        llm.chat("openai", "interrupt me")
    assert len(openai_loopback.requests) == 1
    row = llm.costs().iloc[-1]
    assert (row.status, row.attempts) == ("cancelled", 1) and row.error_type is pd.NA
    assert 150 < row.latency_ms < 2000
    assert llm.chat("openai", "the next one").content == "Echo: the next one"
    assert llm.costs().status.tolist() == ["cancelled", "completed"]


def test_ctrl_c_while_streaming_over_http_counts_the_call(openai_loopback, no_alarm):
    openai_loopback.inject(faults.slow_chunks(0.3))
    got = []
    with pytest.raises(KeyboardInterrupt):
        for chunk in llm.stream("openai", "a b c d e f g h"):
            if not got:  # mid-stream, however long the first chunk took to come
                _interrupt_after(0.1)
            got.append(chunk.content)
    assert 0 < len(got) < 8
    row = llm.costs().iloc[-1]
    assert (row.kind, row.status, row.attempts) == ("stream", "cancelled", 1)
    note = llm.traces().iloc[-1].note
    assert note == "interrupted (KeyboardInterrupt)"


def test_ctrl_c_between_retries_counts_the_calls_already_made():
    mock = llm.providers.get("mock")
    mock.fail_next(llm.ServerError, times=2)

    def sleep(seconds):
        if len(mock.requests) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        llm.build("mock", "hi").with_retry(max_attempts=5, sleep=sleep).execute()
    row = llm.costs().iloc[-1]
    assert (row.status, row.attempts) == ("cancelled", 2)


async def test_a_cancelled_task_counts_the_call_in_flight():
    task = asyncio.create_task(llm.achat("mock", "slow", mock_latency=5))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    row = llm.costs().iloc[-1]
    assert (row.status, row.attempts) == ("cancelled", 1)


def test_a_cancelled_request_knows_its_state_and_attempt_log():
    seen = []
    add_listener(seen.append)
    try:
        llm.providers.get("mock").configure(respond=_ctrl_c)
        with pytest.raises(KeyboardInterrupt):
            llm.chat("mock", "hi")
    finally:
        remove_listener(seen.append)
    (done,) = seen
    assert done.state == "cancelled" and done.halted
    assert done.metadata["halt_reason"] == "interrupted (KeyboardInterrupt)"
    assert [a["outcome"] for a in done.metadata["attempt_log"]] == ["cancelled"]
    assert done.trace[-1].plug == "ExecuteRequest"


def _ctrl_c(body):
    raise KeyboardInterrupt
