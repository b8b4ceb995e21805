"""A tool loop's reply shown as a transcript (HTML and text) with its steps on a time axis."""

from __future__ import annotations

import re
import time

import pytest

import llmpipe_nb as llm
from llmpipe_nb import views

from .conftest import KEY

EVIL = "<script>alert(1)</script>"


def get_weather(city: str) -> dict:
    """Current weather for a city."""
    return {"city": city, "sky": EVIL}


def get_time(zone: str) -> str:
    """Local time in a zone."""
    return "12:00"


def login(api_token: str) -> str:
    """Log in; the result carries a key the model must never see shown."""
    return f"logged in with {KEY}"


def slow(city: str) -> str:
    """A tool that takes 50 ms."""
    time.sleep(0.05)
    return "slow"


def slower(city: str) -> str:
    """A tool that takes 50 ms too."""
    time.sleep(0.05)
    return "slower"


def test_each_turn_and_call_folds_with_arguments_result_timing_and_cost(served) -> None:
    _, options = served("openai")
    reply = llm.chat("openai", "Paris", tools=[get_weather, get_time], **options)
    html = reply._repr_html_()
    steps = re.findall(r'<details class="lp-step[^"]*"><summary>(.*?)</summary>', html)
    assert len(steps) == 4  # model, two tool runs, model
    assert "Step 1</b> · model · asked for get_weather, get_time" in steps[0]
    assert re.search(r"ms · \$0\.\d+", steps[0])  # the turn's timing and cost
    assert "<code>get_weather</code>" in steps[1] and "lp-ok" in steps[1] and " ms" in steps[1]
    assert "Step 2</b> · model · answered" in steps[3]
    # the arguments as pretty JSON, the result escaped: the tool's <script> is text
    assert "{\n  &quot;city&quot;: &quot;Paris&quot;\n}" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and EVIL not in html
    # the final answer comes after the transcript; the timeline has a bar per step
    assert html.index("lp-transcript") < html.index(reply.content)
    timeline = html.split("<summary>timeline · ")[1]
    assert timeline.startswith("2 model turns · 2 tool calls · ")
    assert timeline.split("</table>")[0].count('class="lp-bar') == 4


def test_the_text_twin_lists_each_step_then_the_answer(served) -> None:
    _, options = served("openai")
    reply = llm.chat("openai", "Paris", tools=[get_weather, get_time], **options)
    lines = repr_text(reply).splitlines()
    assert lines[0].startswith("Step 1 · model · asked for get_weather, get_time · ")
    assert lines[1] == '  → get_weather({"city": "Paris"})'
    assert lines[3].startswith("  ← get_weather: ok, ") and EVIL in lines[3]
    assert lines[4].startswith("  ← get_time: ok, ") and lines[4].endswith(": 12:00")
    assert lines[5].startswith("Step 2 · model · answered")
    assert lines[6] == reply.content and lines[7].startswith("── openai")


def test_a_key_is_never_shown_in_arguments_or_results(served) -> None:
    _, options = served("openai")
    reply = llm.chat("openai", "hunter2-password", tools=[login], **options)
    assert reply.steps[1].output == f"logged in with {KEY}"  # what the model read
    shown_as = (reply._repr_html_(), repr_text(reply), views.transcript_text(reply))
    for shown in (*shown_as, repr(reply.steps), repr(reply.steps[0].tool_calls)):
        assert KEY not in shown and "hunter2-password" not in shown
    assert "login({'api_token': '***'}) -> ok: logged in with ***" in repr(reply.steps[1])
    assert "&quot;api_token&quot;: &quot;***&quot;" in reply._repr_html_()
    assert "logged in with ***" in repr_text(reply)


def test_a_result_clipped_across_a_secret_shows_none_of_it(served) -> None:
    secret = "hunter2-remembered-value"
    llm.Secret(secret)  # a key given to the library is remembered, so every view redacts it

    def report(city: str) -> str:
        """A long report with a secret where the text twin (200) and the HTML (2000) clip it."""
        return "." * 190 + secret + "." * 1778 + secret

    _, options = served("openai")
    reply = llm.chat("openai", "Paris", tools=[report], **options)
    assert secret in reply.steps[1].output  # what the model read
    for shown in (reply._repr_html_(), views.transcript_text(reply)):
        assert "hunter2" not in shown and "***" in shown


def test_a_paused_reply_lists_the_pending_calls_and_how_to_resume(served) -> None:
    _, options = served("openai")
    paused = llm.chat("openai", EVIL, tools=[get_weather, get_time], approve="ask", **options)
    html = paused._repr_html_()
    assert "waiting for approval" in html and EVIL not in html
    assert html.count("<li><code>") == 2 and "call_0" in html and "call_1" in html
    assert "reply.resume(approved=[...])" in html
    text = repr_text(paused)
    assert "Waiting for approval (2 calls):" in text
    assert "  [call_0] get_weather" in text and "  [call_1] get_time" in text
    assert "reply.resume(approved=['call_0', 'call_1'])" in text


def test_the_timeline_places_parallel_calls_side_by_side(served) -> None:
    _, options = served("openai")
    reply = llm.chat("openai", "Paris", tools=[slow, slower], **options)
    spans = views.waterfall.loop_spans(reply.steps)
    (turn1, _), run_a, run_b, (turn2, _) = spans
    assert turn1 + reply.steps[0].duration_ms * 1e6 <= min(run_a[0], run_b[0])
    assert abs(run_a[0] - run_b[0]) < 40e6  # they started together
    assert turn2 >= max(b + t for b, t in (run_a, run_b))
    # the loop's time is its wall time, less than the sum of its parts
    assert views.waterfall.loop_span_ns(reply.steps) < sum(t for _, t in spans)


def test_a_call_answered_without_running_sits_after_the_turn(served) -> None:
    _, options = served("openai")
    reply = llm.chat("openai", "Paris", tools=[get_weather, get_time], approve="never", **options)
    assert [s.started_at_ns for s in reply.steps[1:3]] == [None, None]
    spans = views.waterfall.loop_spans(reply.steps)
    end_of_turn = spans[0][0] + spans[0][1]
    assert spans[1] == (end_of_turn, 0) and spans[2] == (end_of_turn, 0)
    assert views.loop_html(reply.steps).count("lp-halted") == 4  # two badges, two bars


def test_a_paused_loop_goes_on_once(served) -> None:
    server, options = served("openai")
    paused = llm.chat("openai", "Paris", tools=[get_weather], approve="ask", **options)
    paused.resume(approved=paused.pending)
    with pytest.raises(llm.ConfigError, match="already resumed"):
        paused.resume(approved=paused.pending)
    assert len(server.requests) == 2  # the second resume sent nothing, ran nothing


def repr_text(reply) -> str:
    from IPython.lib.pretty import pretty

    return pretty(reply)
