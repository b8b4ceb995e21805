"""The approval card of a paused tool loop, driven through its ipywidgets, against loopback HTTP."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from IPython.utils.capture import capture_output

import llmpipe_nb as llm
from llmpipe_nb.config import reset_configuration
from llmpipe_nb.nb import approval, approval_card
from llmpipe_nb.testing import FakeServer
from llmpipe_nb.testing.faults import delay, http_error, reply

KEY = "sk-test-canary-0123456789"
EVIL = "<script>alert(1)</script>"
WIDGET = "application/vnd.jupyter.widget-view+json"


def get_weather(city: str) -> dict:
    """Current weather for a city."""
    return {"city": city, "temp_c": 18}


def get_time(zone: str) -> str:
    """Local time in a zone."""
    return "12:00"


@pytest.fixture
def server():
    with FakeServer("openai") as fake:
        yield fake


def paused(server, *tools, prompt="Paris"):
    options = {"base_url": server.base_url, "api_key": KEY, "model": "gpt-6.1-sol"}
    answer = llm.chat("openai", prompt, tools=list(tools), approve="ask", **options)
    assert answer.pending
    return answer


def sent_results(server) -> list[str]:
    return [m["content"] for m in server.last_request.json["messages"] if m["role"] == "tool"]


def shown(card) -> dict:
    """What the card's output shows now (its one output's bundle)."""
    (output,) = card.output.outputs
    return output["data"]


def test_the_card_shows_each_call_with_its_arguments_and_buttons(server) -> None:
    card = approval_card(paused(server, get_weather, get_time, prompt=EVIL))
    assert [c.name for c in card.calls] == ["get_weather", "get_time"]
    rows = [w for w in card.widget.children if hasattr(w, "children")]
    labels = [[b.description for b in row.children[1].children[:2]] for row in rows[:2]]
    assert labels == [["Approve", "Deny"], ["Approve", "Deny"]]
    assert [b.description for b in rows[2].children] == ["Approve all", "Deny all"]
    html = card.header.value + "".join(row.children[0].value for row in rows[:2])
    assert "get_weather" in html and "&quot;city&quot;: &quot;&lt;script&gt;" in html
    assert EVIL not in html and KEY not in html
    assert card.widget.children[-1] is card.output and card.output.outputs == ()


def test_deciding_every_call_resumes_and_a_denied_one_is_refused(server) -> None:
    card = approval_card(paused(server, get_weather, get_time))
    card.buttons["call_0"][0].click()  # Approve get_weather
    assert card._worker is None and len(server.requests) == 1  # waits for the other call
    assert "waiting for approval" in card.header.value
    assert all(b.disabled for b in card.buttons["call_0"])
    assert "approved" in card.states["call_0"].value
    card.buttons["call_1"][1].click()  # Deny get_time: now the loop goes on
    answer = card.wait(10)
    assert "decided" in card.header.value and "waiting for approval" not in card.header.value
    assert len(server.requests) == 2
    assert sent_results(server) == [
        '{"city": "Paris", "temp_c": 18}',
        "The user refused to run get_time.",
    ]
    assert [s.status for s in answer.steps[1:3]] == ["ok", "denied"]
    assert card.result is answer and card.error is None
    out = shown(card)
    assert answer.content in out["text/plain"] and out["text/plain"].splitlines()[-1].startswith(
        "──"
    )
    assert answer.content in out["text/html"] and WIDGET not in out
    assert repr(card).endswith("ApprovalCard: answered; call_0 approved, call_1 denied")


def test_approve_all_decides_the_rest_at_once(server) -> None:
    card = approval_card(paused(server, get_weather, get_time))
    card.deny("call_0")
    card.approve_all.click()
    answer = card.wait(10)
    assert card.decisions == {"call_0": False, "call_1": True}
    assert [s.status for s in answer.steps[1:3]] == ["denied", "ok"]
    assert card.approve_all.disabled and card.deny_all.disabled


def test_one_call_has_no_bulk_buttons_and_deny_all_refuses_it(server) -> None:
    card = approval_card(paused(server, get_weather))
    assert "Approve all" not in [getattr(w, "description", "") for w in _buttons(card.widget)]
    card.deny()
    card.wait(10)
    assert sent_results(server) == ["The user refused to run get_weather."]


def test_the_progress_shows_while_the_loop_goes_on(server) -> None:
    card = approval_card(paused(server, get_weather))
    server.inject(delay(0.3))
    card.approve()
    assert card.running
    assert shown(card)["text/plain"] == "Running get_weather, then asking the model…"
    card.wait(10)
    assert not card.running and "Echo:" in shown(card)["text/plain"]


def test_an_error_of_the_resumed_loop_is_shown_in_the_card(server) -> None:
    card = approval_card(paused(server, get_weather))
    server.inject(http_error(400, {"error": {"message": f"bad request {KEY}"}}))
    card.approve()
    with pytest.raises(llm.BadRequestError):
        card.wait(10)
    assert isinstance(card.error, llm.BadRequestError)
    out = shown(card)
    assert out["text/plain"].startswith("BadRequestError: ") and KEY not in out["text/plain"]
    assert "lp-error" in out["text/html"] and KEY not in out["text/html"]
    assert "get_weather" in out["text/html"]  # the steps so far come with the error
    assert repr(card).endswith("ApprovalCard: failed; call_0 approved")


def test_a_loop_that_asks_again_shows_the_next_card_in_the_output(server) -> None:
    card = approval_card(paused(server, get_weather))
    server.inject(reply(_asks("get_weather", {"city": "Rome"})))
    card.approve()
    again = card.wait(10)
    assert [c.arguments for c in again.pending] == [{"city": "Rome"}]
    out = shown(card)
    assert WIDGET in out and "Waiting for approval (1 call)" in out["text/plain"]
    assert repr(card).endswith("ApprovalCard: asked again; call_0 approved")
    nested = approval_card(again)
    assert out[WIDGET]["model_id"] == nested.widget.model_id
    nested.approve()
    assert not nested.wait(10).pending and len(server.requests) == 3


def test_the_same_reply_has_one_card_and_late_clicks_change_nothing(server) -> None:
    answer = paused(server, get_weather)
    card = approval_card(answer)
    assert approval_card(answer) is card
    card.approve()
    card.deny("call_0")  # after the loop went on: ignored
    card.wait(10)
    assert card.decisions == {"call_0": True} and len(server.requests) == 2


def test_bad_ids_and_replies_that_are_not_paused_are_config_errors(server) -> None:
    card = approval_card(paused(server, get_weather))
    with pytest.raises(llm.ConfigError, match="No pending call has the id 'nope'"):
        card.approve("nope")
    with pytest.raises(llm.ConfigError, match="decide every pending call first"):
        card.wait()
    for make in (approval_card, llm.nb.ApprovalCard):
        with pytest.raises(llm.ConfigError, match="not waiting for approval"):
            make(llm.chat("mock", "hi"))


def test_without_ipywidgets_a_card_names_the_extra_to_install(server, monkeypatch) -> None:
    answer = paused(server, get_weather)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # `import ipywidgets` fails
    with pytest.raises(llm.MissingDependencyError, match=r"pip install 'llmpipe_nb\[notebook\]'"):
        approval_card(answer)


def test_a_paused_reply_shows_the_card_in_a_kernel_and_its_views_elsewhere(server, monkeypatch):
    answer = paused(server, get_weather)
    assert answer._repr_mimebundle_() is None  # not a kernel: the HTML and text views
    monkeypatch.setattr(approval, "in_kernel", lambda: True)
    bundle = answer._repr_mimebundle_()
    assert bundle[WIDGET]["model_id"] == approval_card(answer).widget.model_id
    assert "Waiting for approval (1 call)" in bundle["text/plain"]
    assert "waiting for approval" in bundle["text/html"]
    assert llm.chat("mock", "hi")._repr_mimebundle_() is None  # not paused


def test_a_tools_cell_that_pauses_ends_with_the_card(ip, server, monkeypatch) -> None:
    llm.configure("openai", base_url=server.base_url, api_key=KEY, default_model="gpt-6.1-sol")
    try:
        ip.run_line_magic("llm", "config update_interval=0")
        ip.user_ns["get_weather"] = llm.Tool.of(get_weather, requires_approval=True)
        monkeypatch.setattr(approval, "in_kernel", lambda: True)
        with capture_output() as cap:
            ip.run_cell("%%llm openai --tools get_weather --output paused\nParis").raise_error()
        final = cap.outputs[-1]
        assert final.metadata["llmpipe"]["stage"] == "final" and WIDGET in final.data
        card = approval_card(ip.user_ns["paused"])
        assert final.data[WIDGET]["model_id"] == card.widget.model_id
        card.approve()
        assert card.wait(10).content.startswith("Echo:")
    finally:
        reset_configuration("openai")


def _buttons(widget):
    for child in getattr(widget, "children", ()):
        yield child
        yield from _buttons(child)


def _asks(name: str, arguments: dict) -> dict:
    call = {
        "id": "call_9",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }
    return _completion({"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls")


def _completion(message: dict, finish: str) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-6.1-sol",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def test_ipywidgets_loads_only_when_a_card_is_made():
    code = """
import sys
import llmpipe_nb as llm
from llmpipe_nb.testing import FakeServer

def get_weather(city: str) -> dict:
    '''Weather.'''
    return {}

with FakeServer("openai") as server:
    paused = llm.chat("openai", "Paris", tools=[get_weather], approve="ask",
                      base_url=server.base_url, api_key="sk-test-0123456789", model="gpt-6.1-sol")
    assert paused._repr_mimebundle_() is None and "waiting for approval" in paused._repr_html_()
    before = "ipywidgets" in sys.modules
    llm.nb.approval_card(paused)
    print(before, "ipywidgets" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
