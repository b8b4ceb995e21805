"""llm.replay: a session's requests recorded to a file, then answered from it, through the
public API against the loopback OpenAI server (what reached the wire is counted there)."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

import llmpipe_nb as llm
from llmpipe_nb.testing import FakeServer

KEY = "sk-canary-0123456789abcdef"


@pytest.fixture(autouse=True)
def no_replay_left():
    yield
    llm.replay(None)


@pytest.fixture
def tape(tmp_path):
    return tmp_path / "notebook.llm.sqlite"


@pytest.fixture
def openai(openai_server):
    """The openai provider pointed at the loopback server through the environment."""
    llm.configure("openai", api_key=KEY, base_url=openai_server.base_url)
    return openai_server


def ask(text="Hello there", **options):
    return llm.chat("openai", text, model="gpt-4o-mini", **options)


def test_record_then_replay_sends_nothing_and_gives_the_recorded_answer(openai, tape):
    llm.replay(tape, mode="record")
    first = ask()
    assert first.request.metadata["replay"] == "recorded"
    assert len(openai.requests) == 1
    llm.replay(tape, mode="replay")
    again = ask()
    assert len(openai.requests) == 1, "a replayed request reaches no server"
    assert again.content == first.content and again.usage == first.usage
    assert again.raw == first.raw and again.id == first.id
    assert again.cache_hit == "replay" and again.cost_status == "replayed"
    assert again.cost == 0.0 and again.cost_saved == pytest.approx(first.cost) and first.cost > 0
    assert [(s.plug, s.outcome) for s in again.request.trace] == [
        ("ValidateProvider", "ok"),
        ("Replay", "halted"),
    ]


def test_replay_needs_neither_a_key_nor_a_reachable_server(tape):
    with FakeServer("openai") as server:
        llm.configure("openai", api_key=KEY, base_url=server.base_url)
        with llm.replay(tape, mode="record"):
            recorded = ask("Is anyone there?")
    llm.reset_configuration()  # no key, and the server is gone
    with llm.replay(tape, mode="replay"):
        assert ask("Is anyone there?").content == recorded.content
    with pytest.raises(llm.MissingKeyError):
        ask("Is anyone there?")  # the recording has ended: a real call again


def test_a_miss_in_replay_mode_names_what_differs_and_sends_nothing(openai, tape):
    llm.replay(tape, mode="record")
    ask("Summarise the report", temperature=0.2)
    llm.replay(tape, mode="replay")
    with pytest.raises(llm.ReplayMissError) as caught:
        ask("Summarise the reports", temperature=0.7)
    error = caught.value
    assert len(openai.requests) == 1
    assert "option temperature=0.7 (recorded 0.2)" in error.differences
    assert any("message 1 (user)" in d and "reports" in d for d in error.differences)
    assert "nothing was sent" in str(error) and str(tape) in str(error)
    assert error.request.state == "error"
    with pytest.raises(llm.ReplayMissError, match="differs in model 'gpt-4o'"):
        llm.chat("openai", "Summarise the report", model="gpt-4o", temperature=0.2)
    with pytest.raises(llm.ReplayMissError, match="holds no embeddings requests to openai"):
        llm.embeddings("openai", "Summarise the report")
    assert len(openai.requests) == 1


def test_auto_answers_what_it_has_and_records_the_rest(openai, tape):
    recording = llm.replay(tape)  # mode auto
    ask("one")
    ask("one")
    ask("two")
    assert len(openai.requests) == 2
    assert (recording.replayed, recording.sent, recording.recorded) == (1, 2, 2)
    assert recording.mode == "auto" and "1 replayed, 2 sent" in repr(recording)


def test_record_mode_sends_again_and_overwrites(openai, tape):
    llm.replay(tape, mode="record")
    ask("Same question")
    ask("Same question")
    assert len(openai.requests) == 2
    with sqlite3.connect(tape) as db:
        assert db.execute("SELECT count(*) FROM recordings").fetchone()[0] == 1


def test_the_mode_comes_from_the_environment_when_not_given(openai, tape, monkeypatch):
    llm.replay(tape, mode="record")
    ask("Known")
    monkeypatch.setenv("LLMPIPE_REPLAY_MODE", "replay")
    assert llm.replay(tape).mode == "replay"
    with pytest.raises(llm.ReplayMissError):
        ask("Unknown")


def test_streams_replay_with_their_chunk_boundaries_and_timing(openai, tape):
    llm.replay(tape, mode="record")
    live = llm.stream("openai", "one two three four five", model="gpt-4o-mini")
    pieces = [c.content for c in live]
    assert len(pieces) > 3
    llm.replay(tape, mode="replay")
    replayed = llm.stream("openai", "one two three four five", model="gpt-4o-mini")
    assert [c.content for c in replayed] == pieces
    assert replayed.response.content == live.response.content
    assert replayed.response.cost_status == "replayed"
    assert len(openai.requests) == 1


def test_realtime_replays_a_stream_at_its_recorded_pace(tape):
    mock = llm.providers.get("mock")
    mock.configure(chunk_latency=0.05, chunk_size=20)
    prompt = "Tell me a slow story about a lighthouse keeper"
    llm.replay(tape, mode="record")
    stamps = []
    for _ in llm.stream("mock", prompt):
        stamps.append(time.perf_counter())
    recorded = stamps[-1] - stamps[0]
    mock.fail_next(llm.ProviderConnectionError, times=5)  # unreachable from now on
    llm.replay(tape, mode="replay")
    started = time.perf_counter()
    llm.stream("mock", prompt).text()
    assert time.perf_counter() - started < recorded / 2, "without realtime: at once"
    llm.replay(tape, mode="replay", realtime=True)
    started = time.perf_counter()
    llm.stream("mock", prompt).text()
    assert time.perf_counter() - started >= recorded * 0.8


async def test_async_chat_and_stream_replay(openai, tape):
    llm.replay(tape, mode="record")
    first = await llm.achat("openai", "async hello", model="gpt-4o-mini")
    pieces = [c.content async for c in llm.astream("openai", "async stream", model="gpt-4o-mini")]
    llm.replay(tape, mode="replay")
    again = await llm.achat("openai", "async hello", model="gpt-4o-mini")
    replayed = [c.content async for c in llm.astream("openai", "async stream", model="gpt-4o-mini")]
    assert again.content == first.content and again.cost_status == "replayed"
    assert replayed == pieces
    assert len(openai.requests) == 2


def test_embeddings_and_completions_replay(openai, tape):
    llm.replay(tape, mode="record")
    vectors = llm.embeddings("openai", ["alpha", "beta"], model="text-embedding-3-small")
    completed = llm.complete("mock", "Once upon a time")
    llm.providers.get("mock").fail_next(llm.ProviderConnectionError, times=5)
    llm.replay(tape, mode="replay")
    assert llm.embeddings(
        "openai", ["alpha", "beta"], model="text-embedding-3-small"
    ).embeddings == (vectors.embeddings)
    assert llm.complete("mock", "Once upon a time").content == completed.content
    assert len(openai.requests) == 1


def test_batch_rows_are_recorded_and_replayed(openai, tape):
    import pandas as pd

    rows = pd.DataFrame({"n": range(6)})
    llm.replay(tape, mode="record")
    live = llm.map(rows, "Row number {n}", "openai", "gpt-4o-mini", progress=False)
    llm.replay(tape, mode="replay")
    again = llm.map(rows, "Row number {n}", "openai", "gpt-4o-mini", progress=False)
    assert list(again.content) == list(live.content)
    assert len(openai.requests) == 6
    assert list(again.cost_usd) == [0.0] * 6


def test_a_builder_with_its_own_pipeline_is_routed_too(openai, tape):
    built = llm.build("openai", "via builder").with_model("gpt-4o-mini").with_retry().with_cache()
    llm.replay(tape, mode="record")
    built.execute()
    llm.replay(tape, mode="replay")
    assert built.execute().cost_status == "replayed"
    assert len(openai.requests) == 1


def test_the_ledger_shows_replayed_rows_and_what_they_saved(openai, tape):
    llm.replay(tape, mode="record")
    first = ask("Price me")
    llm.ledger().reset()
    recording = llm.replay(tape, mode="replay")
    ask("Price me")
    row = llm.ledger().rows().costs[-1]
    frame = llm.costs()
    assert "replayed" in row and 0.0 in row
    assert frame.cost_saved_usd.sum() == pytest.approx(first.cost)
    assert recording.saved_usd == pytest.approx(first.cost)
    assert "replayed" in ask("Price me")._repr_html_()


# -- what makes two requests the same ------------------------------------------------------


def test_whitespace_changes_still_replay_unless_exact(openai, tape):
    llm.replay(tape, mode="record")
    ask("Explain   the\n\n  plan.  ")
    llm.replay(tape, mode="replay")
    assert ask("Explain the plan.").cost_status == "replayed"
    llm.replay(tape, mode="record", whitespace="exact")
    ask("Keep   my\n  spacing")
    llm.replay(tape, mode="replay", whitespace="exact")
    assert ask("Keep   my\n  spacing").cost_status == "replayed"
    with pytest.raises(llm.ReplayMissError, match="message 1"):
        ask("Keep my spacing")


def test_ignored_options_do_not_change_the_key(openai, tape):
    llm.replay(tape, mode="record", ignore=["temperature", "user"])
    ask("Ignore me", temperature=0.1, user="alice")
    llm.replay(tape, mode="replay", ignore=["temperature", "user"])
    assert ask("Ignore me", temperature=0.9, user="bob").cost_status == "replayed"
    llm.replay(tape, mode="replay")
    with pytest.raises(llm.ReplayMissError):
        ask("Ignore me", temperature=0.9, user="bob")


def test_a_key_function_decides_alone(openai, tape):
    def by_last_word(request):
        return request.messages[-1]["content"].split()[-1]

    llm.replay(tape, mode="record", key=by_last_word)
    first = ask("Tell me about cats")
    llm.replay(tape, mode="replay", key=by_last_word)
    assert ask("Say something on cats").content == first.content
    llm.replay(tape, mode="replay", key=lambda request: "")
    with pytest.raises(llm.ConfigError, match="must return a non-empty string"):
        ask("Tell me about cats")


def test_the_base_url_is_left_out_unless_asked(tape):
    with FakeServer("openai") as one, FakeServer("openai") as two:
        llm.configure("openai", api_key=KEY, base_url=one.base_url)
        llm.replay(tape, mode="record")
        ask("Where am I?")
        llm.configure("openai", api_key=KEY, base_url=two.base_url)
        llm.replay(tape, mode="replay")
        assert ask("Where am I?").cost_status == "replayed"
        llm.replay(tape, mode="replay", match_base_url=True)
        with pytest.raises(llm.ReplayMissError, match="base_url"):
            ask("Where am I?")
        assert len(one.requests) == 1 and not two.requests


def test_the_default_model_is_part_of_the_key(tape):
    llm.replay(tape, mode="record")
    llm.chat("mock", "Which model?")
    llm.replay(tape, mode="replay")
    assert llm.chat("mock", "Which model?", model="mock-1").cost_status == "replayed"
    with pytest.raises(llm.ReplayMissError, match="model 'mock-large'"):
        llm.chat("mock", "Which model?", model="mock-large")


def test_no_secret_reaches_the_file(openai, tape):
    llm.replay(tape, mode="record")
    llm.chat(
        "openai",
        "Keep my secrets",
        model="gpt-4o-mini",
        api_key=KEY,
        headers={"X-Api-Token": KEY},
    )
    llm.stream("openai", "and these", model="gpt-4o-mini").text()
    llm.replay(None)
    raw = tape.read_bytes()
    with sqlite3.connect(tape) as db:
        from llmpipe_nb.stores.codec import unpack

        text = [
            unpack(blob)
            for row in db.execute("SELECT request, answer, chunks FROM recordings")
            for blob in row
            if blob is not None
        ]
    assert KEY.encode() not in raw and not any(KEY in t for t in text)
    assert any("Keep my secrets" in t for t in text), "the file was read back"


# -- the file --------------------------------------------------------------------------


def test_replaying_leaves_the_file_untouched(openai, tmp_path):
    tape = tmp_path / "alone" / "notebook.llm.sqlite"
    llm.replay(tape, mode="record")
    ask("Stable file")
    llm.replay(None)
    before = tape.read_bytes()
    llm.replay(tape, mode="replay")
    ask("Stable file")
    llm.replay(None)
    assert tape.read_bytes() == before
    assert sorted(p.name for p in tape.parent.iterdir()) == [tape.name], "no -wal or -journal"


def test_replay_mode_on_a_missing_file_and_bad_arguments_are_refused(tmp_path):
    with pytest.raises(llm.ConfigError, match="There is no recording at"):
        llm.replay(tmp_path / "none.sqlite", mode="replay")
    with pytest.raises(llm.ConfigError, match="mode must be 'auto', 'record' or 'replay'"):
        llm.replay(tmp_path / "x.sqlite", mode="play")
    with pytest.raises(llm.ConfigError, match="ignore= takes a list of option names"):
        llm.replay(tmp_path / "x.sqlite", ignore="temperature")
    with pytest.raises(llm.ConfigError, match="whitespace= must be"):
        llm.replay(tmp_path / "x.sqlite", whitespace="trim")
    assert llm.chat("mock", "still live").request.metadata.get("replay") is None


def test_a_file_that_is_not_a_recording_or_is_newer_is_refused(tmp_path):
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (x)")
    with pytest.raises(llm.ConfigError, match="not a recording of llmpipe_nb"):
        llm.replay(other)
    newer = tmp_path / "newer.sqlite"
    llm.replay(newer, mode="record")
    llm.replay(None)
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(llm.ConfigError, match="made by a newer llmpipe_nb"):
        llm.replay(newer, mode="replay")


def test_with_block_ends_it_and_prune_drops_what_the_run_did_not_use(openai, tape):
    with llm.replay(tape, mode="record"):
        ask("keep me")
        ask("drop me")
    assert ask("keep me").request.metadata.get("replay") is None, "ended with the block"
    with llm.replay(tape) as recording:
        ask("keep me")
        assert recording.unused() and recording.prune() == 1
    with llm.replay(tape, mode="replay"), pytest.raises(llm.ReplayMissError):
        ask("drop me")


def test_a_failed_request_is_not_recorded(openai, tape):
    from llmpipe_nb.testing import faults

    llm.replay(tape, mode="auto")
    openai.inject(faults.http_error(500))
    with pytest.raises(llm.ServerError):
        ask("flaky")
    assert ask("flaky").request.metadata["replay"] == "recorded"
    assert len(openai.requests) == 2


def test_concurrent_async_requests_record_and_replay(openai, tape):
    async def many():
        return await asyncio.gather(
            *(llm.achat("openai", f"parallel {i}", model="gpt-4o-mini") for i in range(8))
        )

    llm.replay(tape, mode="record")
    live = asyncio.run(many())
    llm.replay(tape, mode="replay")
    again = asyncio.run(many())
    assert [r.content for r in again] == [r.content for r in live]
    assert len(openai.requests) == 8


def test_the_nearest_recording_is_the_most_similar_among_equally_different_ones(openai, tape):
    llm.replay(tape, mode="record")
    for text in ("How do tides work?", "Name a harbour", "List three fish"):
        ask(text)
    llm.replay(tape, mode="replay")
    with pytest.raises(llm.ReplayMissError, match="recorded 'How do tides work\\?'"):
        ask("How do the tides work?")


def test_comparison_cells_are_recorded_and_replayed(tape):
    llm.replay(tape, mode="record")
    models = ["mock:mock-1", "mock:mock-large"]
    live = llm.compare(["Name a sea"], models=models, live=False).to_frame()
    llm.providers.get("mock").fail_next(llm.ProviderConnectionError, times=10)
    llm.replay(tape, mode="replay")
    again = llm.compare(["Name a sea"], models=models, live=False).to_frame()
    assert again.content.tolist() == live.content.tolist()
    assert again.error.isna().all() and list(again.cost_usd) == [0.0, 0.0]


def test_a_stream_closed_early_is_not_recorded(tape):
    recording = llm.replay(tape, mode="auto")
    with llm.stream("mock", "A long story to stop early") as stream:
        next(iter(stream))
    assert recording.recorded == 0 and recording.sent == 1
    assert llm.stream("mock", "A long story to stop early").text()
    assert recording.recorded == 1


def test_a_run_kept_from_an_ended_recording_goes_to_the_provider(tape):
    llm.replay(tape, mode="record")
    done = llm.chat("mock", "kept for a rerun").request
    llm.replay(None)
    assert any(p.name == "Replay" for p in done.metadata["plugs"])
    rerun = llm.Pipeline.run(done.metadata["initial_request"], done.metadata["plugs"])
    assert rerun.state == "completed" and rerun.metadata.get("replay") is None
