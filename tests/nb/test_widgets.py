"""PipelineInspector and CostDashboard driven through their Python API, headless."""

from __future__ import annotations

import pytest

import llmpipe_nb as llm
from llmpipe_nb.ledger import Ledger
from llmpipe_nb.nb import CostDashboard, PipelineInspector
from llmpipe_nb.nb.inspector import UNSET

EVIL = "<script>alert(1)</script>"
WIDGET = "application/vnd.jupyter.widget-view+json"


def all_html(inspector):
    return inspector.summary.value + inspector.detail.value + inspector.timing.value


# -- PipelineInspector ---------------------------------------------------------------------


def test_lists_every_plug_with_its_timing():
    response = llm.chat("mock", "hi")
    inspector = PipelineInspector(response)
    labels = [label for label, _ in inspector.step_list.options]
    assert [s.plug for s in inspector.steps] == [s.plug for s in response.request.trace]
    assert len(labels) == len(response.request.trace) and " ms " in labels[0]
    assert [box.description for box in inspector.switches][-1] == "TrackCost"
    assert "ExecuteRequest" in inspector.timing.value and "lp-bar" in inspector.timing.value


def test_choosing_a_plug_shows_its_request_and_what_it_changed():
    inspector = PipelineInspector(llm.chat("mock", "hi"))
    inspector.step_list.value = 3  # as a click in the list does
    assert inspector.selected.plug == "MockPrepareRequest"
    assert [(f, k) for f, k, _, _ in inspector.changes()] == [("provider_request", None)]
    assert "Step 3 · MockPrepareRequest" in inspector.detail.value
    assert "HttpCall(method=&#x27;POST&#x27;, path=&#x27;/chat&#x27;" in inspector.detail.value
    changed = {(f, k): (a, b) for f, k, a, b in inspector.changes("FetchConfig")}
    assert changed[("options", "model")][1] == "mock-1"
    assert changed[("config", None)][0] is None
    assert inspector.changes("ValidateProvider") == []  # diffed against the request it received
    assert "passed through unchanged" in inspector.detail.value
    assert 'class="lp-sel"' in inspector.timing.value


def test_a_key_a_plug_added_was_unset_before_in_text_and_html():
    inspector = PipelineInspector(llm.chat("mock", "hi"))
    changed = {(f, k): (a, b) for f, k, a, b in inspector.changes("FetchConfig")}
    before, after = changed[("options", "model")]
    assert before is UNSET and after == "mock-1"
    text = repr(inspector.changes("FetchConfig"))
    assert "('options', 'model', (unset), 'mock-1')" in text and "object at 0x" not in text
    assert str(before) == "(unset)"
    assert '<span class="lp-note">(unset)</span>' in inspector.detail.value
    assert "object at 0x" not in inspector.detail.value


def test_switch_plugs_off_and_rerun_beside_the_old_timing(mock):
    inspector = PipelineInspector(llm.chat("mock", "hi"))
    inspector.switch_off("TrackCost", "ValidateProvider")
    assert inspector.switched_off == ["ValidateProvider", "TrackCost"]
    inspector.rerun_button.click()
    new = inspector.rerun_request
    assert new.state == "completed" and new.id != inspector.request.id
    assert [s.plug for s in new.trace] == [
        "FetchConfig",
        "BuildHttpClient",
        "MockPrepareRequest",
        "ExecuteRequest",
        "MockParseResponse",
    ]
    assert "cost_usd" not in new.metadata and len(mock.requests) == 2
    timing = inspector.timing.value
    assert "Re-run without ValidateProvider, TrackCost" in timing
    assert "<th>before</th>" in timing and "lp-bar lp-old" in timing and timing.count(">off<") == 2
    inspector.switch_on("TrackCost")
    assert "cost_usd" in inspector.rerun().metadata


def test_after_a_rerun_the_chosen_plug_is_still_marked_in_the_waterfall(mock):
    inspector = PipelineInspector(llm.chat("mock", "hi"))
    inspector.switch_off("ValidateProvider")
    inspector.rerun()
    inspector.step_list.value = 3  # MockPrepareRequest, the third plug of the re-run
    marked = inspector.timing.value.split('class="lp-sel"')
    assert len(marked) == 2 and "MockPrepareRequest" in marked[1].split("</tr>")[0]
    inspector.step_list.value = 0  # ValidateProvider, switched off: nothing to mark
    assert 'class="lp-sel"' not in inspector.timing.value


def test_a_rerun_that_breaks_shows_the_error():
    inspector = PipelineInspector(llm.chat("mock", "hi"))
    inspector.switch_off("ExecuteRequest")
    assert inspector.rerun().state == "error"
    assert "lp-errors" in inspector.timing.value and "MockParseResponse" in inspector.timing.value


def test_builder_pipelines_rerun_with_their_own_plugs(mock):
    response = llm.build("mock", "hi").with_cache().with_tags("exp").execute()
    inspector = PipelineInspector(response)
    assert "Cache" in [box.description for box in inspector.switches]
    again = inspector.rerun()
    assert again.metadata.get("cache_hit") and again.metadata["tags"] == ("exp",)
    inspector.switch_off("Cache")
    assert not inspector.rerun().metadata.get("cache_hit") and len(mock.requests) == 2


def test_inspects_a_failed_request_and_a_stream():
    failed = llm.build("openai", "hi").run()
    inspector = PipelineInspector(failed)
    step = inspector.select("FetchConfig")
    assert step.outcome == "error" and "MissingKeyError" in inspector.detail.value
    assert ("errors", None) in [(f, k) for f, k, _, _ in inspector.changes()]
    stream = llm.stream("mock", "hi")
    stream.text()
    assert PipelineInspector(stream.response).request.kind == "stream"


def test_escapes_model_text_and_masks_keys(mock, canary):
    mock.configure(reply=f"{EVIL} {canary}")
    response = llm.build("mock", EVIL).with_options(api_key=canary).execute()
    inspector = PipelineInspector(response)
    seen = []
    for step in inspector.steps:
        inspector.select(step.index)
        seen.append(all_html(inspector))
    inspector.rerun()
    seen.append(all_html(inspector))
    bundle = inspector._repr_mimebundle_()
    seen.append(bundle["text/html"])
    for html in seen:
        assert "<script" not in html and canary not in html
    assert canary not in bundle["text/plain"]
    assert any("&lt;script&gt;" in html for html in seen)
    fetch = {(f, k): (a, b) for f, k, a, b in inspector.changes("FetchConfig")}
    assert fetch[("options", "api_key")][0].get_secret_value() == canary  # there, shown masked
    assert "&#x27;***&#x27;" in inspector.detail.value


def test_falls_back_to_the_static_view_where_widgets_cannot_render():
    response = llm.chat("mock", "hi")
    bundle = PipelineInspector(response)._repr_mimebundle_()
    assert WIDGET in bundle
    assert bundle["text/html"].startswith('<div id="llmpipe-') and "lp-card" in bundle["text/html"]
    assert bundle["text/plain"].startswith(f"Request {response.request.id} mock/chat")


@pytest.mark.parametrize(
    ("target", "message"),
    [("just text", "needs a response or a finished Request, not str")],
)
def test_refuses_what_it_cannot_inspect(target, message):
    with pytest.raises(llm.ConfigError, match=message):
        PipelineInspector(target)


def test_refuses_a_request_without_trace():
    done = llm.Pipeline.run(
        llm.Request.new("mock", "hi"), llm.providers.get_pipeline("mock"), trace=False
    )
    with pytest.raises(llm.ConfigError, match="kept no trace"):
        PipelineInspector(done)


def test_unknown_names_are_clear_errors():
    inspector = PipelineInspector(llm.chat("mock", "hi"))
    with pytest.raises(
        llm.ConfigError, match="No step ran a plug named 'Nope': the steps are Valid"
    ):
        inspector.select("Nope")
    with pytest.raises(llm.ConfigError, match="There is no step 99"):
        inspector.select(99)
    with pytest.raises(llm.ConfigError, match="has no plug named 'Nope'"):
        inspector.switch_off("Nope")


# -- CostDashboard ---------------------------------------------------------------------------


@pytest.fixture
def ledger(mock):
    book = Ledger()
    for model, prompt in (("mock-1", "a"), ("mock-1", "b"), ("mock-large", "c")):
        book.record(llm.build("mock", prompt).with_model(model).run())
    mock.fail_next(llm.ServerError)
    book.record(llm.build("mock", "d").run())
    return book


def test_totals_and_filters(ledger):
    board = CostDashboard(ledger)
    assert board.provider.options == ("(all)", "mock")
    assert board.model.options == ("(all)", "mock-1", "mock-large")
    totals = board.totals()
    assert (totals["requests"], totals["errors"], totals["cost_usd"]) == (4, 1, 0.0)
    board.filter(model="mock-large")
    assert board.filters() == {"model": "mock-large"} and board.totals()["requests"] == 1
    assert "model mock-large" in board.totals_html.value
    assert "<b>1</b>" in board.totals_html.value
    board.model.value = "(all)"  # as the dropdown does
    assert board.totals()["requests"] == 4 and "everything" in board.totals_html.value


def test_charts_are_embedded_pngs(ledger):
    board = CostDashboard(ledger)
    assert board.chart_png().startswith(b"\x89PNG")
    first = board.chart_html.value
    assert first.startswith('<img alt="cost by model" src="data:image/png;base64,')
    board.plot.value = "time per plug"
    assert board.chart_html.value != first and 'alt="time per plug"' in board.chart_html.value


def test_refresh_picks_up_new_requests(ledger):
    board = CostDashboard(ledger)
    ledger.record(llm.build("mock", "e").with_model("mock-xl").run())
    assert "mock-xl" not in board.model.options
    board.refresh_button.click()
    assert "mock-xl" in board.model.options and board.totals()["requests"] == 5


def test_dashboard_escapes_and_has_a_static_twin(mock, canary):
    book = Ledger()
    book.record(llm.build("mock", "hi").with_model(EVIL).with_options(api_key=canary).run())
    board = CostDashboard(book)
    board.filter(model=EVIL)
    bundle = board._repr_mimebundle_()
    assert WIDGET in bundle and bundle["text/plain"].startswith("CostDashboard: 1 requests")
    html = bundle["text/html"] + board.totals_html.value + board.summary_html.value
    assert "<script" not in html and canary not in html and "&lt;script&gt;" in html
    with pytest.raises(
        llm.ConfigError, match="The ledger has no provider 'openai' \\(it has: mock\\)"
    ):
        board.filter(provider="openai")


def test_empty_ledger_and_the_process_ledger():
    board = CostDashboard(Ledger())
    assert (
        board.totals()["requests"] == 0 and "no requests recorded yet" in board.summary_html.value
    )
    assert board.chart_png().startswith(b"\x89PNG")
    assert CostDashboard().ledger is llm.ledger()
