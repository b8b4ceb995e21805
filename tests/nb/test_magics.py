"""%%llm and %llm in an in-process IPython shell: the streaming sequence, values, errors, commands."""

from __future__ import annotations

import math
from dataclasses import fields

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

import llmpipe_nb as llm
from llmpipe_nb.nb.live import LiveAnswer
from llmpipe_nb.nb.magic_settings import ACCEPTED, Defaults
from llmpipe_nb.nb.magics import CellError, split_line
from llmpipe_nb.providers.mock import default_reply

PROMPT = "Tell me about sharks"


def stages(cap):
    return [o.metadata["llmpipe"]["stage"] for o in cap.outputs]


def sent(mock):
    return mock.requests[-1].json


# -- streaming ---------------------------------------------------------------------------


def test_cell_streams_into_one_display_then_one_final_render(ip, mock, cells):
    mock.configure(chunk_size=4, chunk_latency=0.005)
    ip.run_line_magic("llm", "config update_interval=0.02")
    cap = cells.ok(f"%%llm mock\n{PROMPT}")

    answer = default_reply([{"role": "user", "content": PROMPT}])
    chunks = math.ceil(len(answer) / 4)
    outs = cap.outputs
    assert len({o.transient["display_id"] for o in outs}) == 1  # one output, no execute_result
    assert [o.update for o in outs] == [False] + [True] * (len(outs) - 1)
    assert stages(cap)[0] == "streaming" and stages(cap)[-1] == "final"
    assert stages(cap).count("final") == 1
    updates = len(outs) - 2
    assert 2 <= updates < chunks  # throttled: some updates while streaming, fewer than chunks
    shown = [o.data["text/plain"].rstrip("▌") for o in outs[1:-1]]
    assert all(answer.startswith(text) for text in shown)
    assert [len(t) for t in shown] == sorted(len(t) for t in shown)
    final = outs[-1]
    assert final.data["text/plain"].startswith(answer + "\n── mock · mock-1")
    assert (
        "sharks" in final.data["text/html"]
        and "lp-badge lp-streaming" not in final.data["text/html"]
    )
    facts = final.metadata["llmpipe"]
    assert facts["provider"] == "mock" and facts["output_tokens"] > 0
    assert "ExecuteRequest" in facts["plugs"]


def test_the_response_is_the_cells_value(ip, cells):
    result, _ = cells.run(f"%%llm mock --output answer\n{PROMPT}")
    response = ip.user_ns["answer"]
    assert isinstance(response, llm.ChatResponse)
    assert ip.user_ns["_"] is response
    assert ip.user_ns["Out"][result.execution_count] is response
    assert ip.user_ns[f"_{result.execution_count}"] is response


class Clock:
    """A clock that moves only when told to."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def stream_into(live, clock, pieces, render_seconds=0.0):
    """Feed `pieces` one second apart; rendering an update takes `render_seconds`."""
    render = live._bundle

    def slow_render():
        clock.now += render_seconds
        return render()

    live._bundle = slow_render
    live.start()
    for piece in pieces:
        clock.now += 1
        live.add(piece)


def test_first_text_shows_at_once_then_updates_are_spaced_by_the_interval(ip):
    clock = Clock()
    with capture_output() as cap:
        live = LiveAnswer("mock", interval=5, clock=clock)
        stream_into(live, clock, ["ab"] * 20)
    assert [o.update for o in cap.outputs] == [False, True, True, True, True]
    assert [o.data["text/plain"] for o in cap.outputs[1:]] == [
        "ab" * n + "▌" for n in (1, 6, 11, 16)
    ]


def test_slow_rendering_spaces_updates_further(ip):
    clock = Clock()
    with capture_output() as cap:
        live = LiveAnswer("mock", interval=1, clock=clock)
        stream_into(live, clock, ["ab"] * 40, render_seconds=2)
    # each update costs 2 s, so the next waits 4 x 2 s: display time stays under a fifth
    assert live.updates == len(cap.outputs) - 1 == 5
    assert [o.data["text/plain"].count("ab") for o in cap.outputs[1:]] == [1, 9, 17, 25, 33]


def test_no_stream_renders_once(ip, mock, cells):
    cap = cells.ok(f"%%llm mock --no-stream\n{PROMPT}")
    assert stages(cap) == ["final"] and cap.outputs[0].update is False
    assert sent(mock).get("stream") is None and mock.requests[-1].stream is None


def test_terminal_ipython_prints_the_stream(ip, mock, capsys):
    mock.configure(chunk_size=5)
    result = ip.run_cell(f"%%llm mock\n{PROMPT}", store_history=True)
    result.raise_error()
    out = capsys.readouterr().out
    answer = default_reply([{"role": "user", "content": PROMPT}])
    assert out.startswith(answer + "\n── mock · mock-1")
    assert ip.user_ns["_"].content == answer


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("json", "&quot;b&quot;: &quot;&lt;script&gt;x&lt;/script&gt;&quot;"),
        ("code", '<pre class="lp-pre"><code>{&quot;a&quot;: 1'),
        ("html", "&gt;{&quot;a&quot;: 1, &quot;b&quot;: &quot;&lt;script&gt;x"),
        ("text", '<pre class="lp-pre">{&quot;a&quot;'),
    ],
)
def test_formats(ip, mock, fmt, expected, cells):
    mock.configure(reply='{"a": 1, "b": "<script>x</script>"}')
    cap = cells.ok(f"%%llm mock --format {fmt}\nanswer in JSON")
    final = cap.outputs[-1].data["text/html"]
    assert expected in final
    assert "<script>" not in final


# -- the prompt --------------------------------------------------------------------------


def test_variables_are_filled_exactly_once(ip, mock, cells):
    ip.user_ns["topic"] = "{secret} and {{braces}}"
    cells.ok("%%llm mock --no-stream\nAbout {topic}, literally {{this}}")
    assert (
        sent(mock)["messages"][-1]["content"] == "About {secret} and {{braces}}, literally {this}"
    )


def test_no_interpolate_sends_braces_as_written(ip, mock, cells):
    cells.ok('%%llm mock --no-interpolate --no-stream\nReturn {"a": {x}}')
    assert sent(mock)["messages"][-1]["content"] == 'Return {"a": {x}}'


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("About {nothing_here}", "no variable 'nothing_here' is defined"),
        ('Return {"a": 1}', "is not a variable name"),
        ("Unclosed {brace", "unmatched brace"),
    ],
)
def test_a_bad_placeholder_is_one_line_and_nothing_is_sent(ip, mock, cell, message, cells):
    result, cap = cells.run(f"%%llm mock\n{cell}")
    assert isinstance(result.error_in_exec, CellError)
    assert message in str(result.error_in_exec)
    assert "--no-interpolate" in str(result.error_in_exec)
    assert "Traceback" not in cap.stdout + cap.stderr
    assert mock.requests == [] and cap.outputs == []


def test_empty_prompt_is_a_usage_error(ip, mock, cells):
    result, cap = cells.run("%%llm mock\n   \n")
    assert isinstance(result.error_in_exec, UsageError)
    assert "The prompt is empty: write it in the cell under %%llm" in cap.stderr
    with pytest.raises(UsageError, match="write it after the options"):
        ip.run_line_magic("llm", "mock --temperature 0")
    assert mock.requests == []


# -- errors ------------------------------------------------------------------------------


def test_provider_error_is_one_line_with_status_and_message(ip, mock, cells):
    mock.fail_next(llm.RateLimitError)
    result, cap = cells.run(f"%%llm mock\n{PROMPT}")
    error = result.error_in_exec
    assert isinstance(error, CellError) and isinstance(error.error, llm.RateLimitError)
    assert error._render_traceback_() == [
        "RateLimitError: mock 429: injected RateLimitError from the mock provider"
    ]
    assert "Traceback" not in cap.stdout and "RateLimitError: mock 429" in cap.stdout
    assert stages(cap) == ["streaming", "error"]
    assert "RateLimitError" in cap.outputs[-1].data["text/html"]


def test_missing_key_names_the_variable(ip, cells):
    result, cap = cells.run("%%llm openai\nhi")
    assert isinstance(result.error_in_exec.error, llm.MissingKeyError)
    assert "OPENAI_API_KEY" in cap.stdout and "Traceback" not in cap.stdout


def test_a_dropped_stream_keeps_what_arrived(ip, mock, cells):
    mock.configure(chunk_size=4, stream_error_after=3)
    result, cap = cells.run(f"%%llm mock\n{PROMPT}")
    assert isinstance(result.error_in_exec.error, llm.StreamInterruptedError)
    last = cap.outputs[-1]
    assert last.metadata["llmpipe"]["stage"] == "error"
    assert last.data["text/plain"].startswith("You asked a")
    assert "StreamInterruptedError" in last.data["text/plain"]


def test_interrupt_marks_the_output_and_propagates(ip, mock, cells):
    def interrupt(body):
        raise KeyboardInterrupt

    mock.configure(respond=interrupt)
    result, cap = cells.run(f"%%llm mock\n{PROMPT}")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert stages(cap) == ["streaming", "error"]
    assert "interrupted" in cap.outputs[-1].data["text/plain"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("mock --temperature hot", "'hot' is not a number: use a number from 0 to 2"),
        ("mock --max-tokens lots", "'lots' is not a whole number: use a positive whole number"),
        ("mock --format pdf", "invalid choice: 'pdf' (choose from"),
        ("mock --bogus", "unrecognized arguments: --bogus"),
        ("mock --output 2x", "--output '2x' is not a variable name: use a Python name"),
    ],
)
def test_usage_errors_show_the_usage(ip, mock, line, message, cells):
    result, cap = cells.run(f"%%llm {line}\nhi")
    assert isinstance(result.error_in_exec, UsageError)
    assert message in cap.stderr
    if "--output" not in line:
        assert "usage: %%llm [PROVIDER[:MODEL]]" in cap.stderr
    assert "Traceback" not in cap.stderr and mock.requests == []


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("nope", llm.UnknownProviderError),
        ("mock --temperature 5", llm.ConfigError),
        ("mock --max-tokens 0", llm.ConfigError),
    ],
)
def test_bad_requests_fail_before_anything_is_sent(ip, mock, line, error, cells):
    result, cap = cells.run(f"%%llm {line}\nhi")
    assert isinstance(result.error_in_exec.error, error)
    assert cap.outputs == [] and mock.requests == []


# -- conversations, options, pipelines ----------------------------------------------------


def test_chat_keeps_the_conversation_until_reset(ip, mock, cells):
    cells.ok("%%llm mock --chat trip --system 'Be brief.'\nPlan a day in Lisbon")
    first = ip.user_ns["_"].content
    cells.ok("%%llm mock --chat trip\nAnd the evening?")
    assert [(m["role"], m["content"]) for m in sent(mock)["messages"]] == [
        ("system", "Be brief."),
        ("user", "Plan a day in Lisbon"),
        ("assistant", first),
        ("user", "And the evening?"),
    ]
    mock.fail_next(llm.ServerError)
    assert isinstance(
        cells.run("%%llm mock --chat trip\nThis one fails")[0].error_in_exec, CellError
    )
    cells.ok("%%llm mock --chat trip\nAnd tomorrow?")
    assert "This one fails" not in str(sent(mock)["messages"])  # a failed exchange is not kept
    assert len(sent(mock)["messages"]) == 6
    ip.run_line_magic("llm", "reset trip")
    cells.ok("%%llm mock --chat trip\nHello again")
    assert [m["role"] for m in sent(mock)["messages"]] == ["user"]
    with pytest.raises(UsageError, match="No conversation named 'other'"):
        ip.run_line_magic("llm", "reset other")


def test_options_reach_the_request(ip, mock, cells):
    cell = "%%llm mock:mock-large --temperature 0.2 --max-tokens 50 --system 'Be terse.'\nhi"
    cells.ok(cell)
    body = sent(mock)
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("mock-large", 0.2, 50)
    assert body["messages"][0] == {"role": "system", "content": "Be terse."}


def test_config_sets_defaults_for_later_cells(ip, mock, cells):
    view = ip.run_line_magic(
        "llm",
        "config provider=mock model=mock-large temperature=0.5 stream=false system='Be kind.'",
    )
    assert "mock-large" in view.text and "'Be kind.'" in view.text
    cap = cells.ok("%%llm\nhi")
    body = sent(mock)
    assert (body["model"], body["temperature"]) == ("mock-large", 0.5)
    assert body["messages"][0]["content"] == "Be kind."
    assert stages(cap) == ["final"]
    cells.ok("%%llm mock --model mock-1\nhi")
    assert sent(mock)["model"] == "mock-1"
    ip.run_line_magic("llm", "config --reset")
    assert "'markdown'" in ip.run_line_magic("llm", "config").text


def test_default_model_goes_with_the_default_provider(ip, mock, cells):
    ip.run_line_magic("llm", "config model=mock-large")
    cells.ok("%%llm\nhi")
    assert sent(mock)["model"] == "mock-large"
    ip.run_line_magic("llm", "config provider=openai model=gpt-4o-mini")
    cells.ok("%%llm mock\nhi")
    assert sent(mock)["model"] == "mock-1"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("colour=red", "takes key=value pairs with keys provider, model"),
        ("temperature=hot", "'hot' is not a number: use a number from 0 to 2"),
        ("temperature=9", "Option 'temperature' must be a number from 0 to 2"),
        ("format=pdf", "format must be one of markdown"),
        ("provider=nope", "Unknown provider 'nope'"),
        ("stream=maybe", "'maybe' is not a switch: use true or false"),
        ("cache=disk", "'disk' is not a cache: use on, off, memory, sqlite or redis"),
    ],
)
def test_bad_config_is_refused(ip, setting, message):
    with pytest.raises((UsageError, CellError), match=message):
        ip.run_line_magic("llm", f"config {setting}")


REFUSED = {
    "provider": ["nope"],
    "temperature": ["hot", "9", "-1"],
    "max_tokens": ["lots", "1.5", "0"],
    "format": ["pdf"],
    "stream": ["maybe"],
    "cache": ["disk", "postgres"],
    "cache_url": ["localhost:6379", "http://cache"],
    "update_interval": ["soon", "-1"],
}


@pytest.mark.parametrize(("name", "raw"), [(n, r) for n, values in REFUSED.items() for r in values])
def test_every_refused_config_value_says_what_is_accepted(ip, name, raw):
    with pytest.raises(CellError) as caught:
        ip.run_line_magic("llm", f"config {name}={raw}")
    accepted = ", ".join(llm.providers.names()) if name == "provider" else ACCEPTED[name]
    assert accepted in str(caught.value)


def test_every_setting_that_can_be_refused_is_tried():
    free_text = {"model", "system", "cache_path"}  # any string is a model, a message, a path
    assert set(REFUSED) == {f.name for f in fields(Defaults)} - free_text


def test_cache_flag_answers_repeats_from_the_cache(ip, mock, cells):
    cells.ok(f"%%llm mock --cache\n{PROMPT}")
    cap = cells.ok(f"%%llm mock --cache\n{PROMPT}")
    assert ip.user_ns["_"].cache_hit and len(mock.requests) == 1
    assert "cache hit" in cap.outputs[-1].data["text/plain"]
    cells.ok(f"%%llm mock --no-cache\n{PROMPT}")
    assert len(mock.requests) == 2


def test_named_pipelines(ip, mock, cells):
    info = ip.run_line_magic(
        "llm", "pipeline define fast llm.build('mock').with_cache().with_model('mock-large')"
    )
    assert "Cache" in info.names
    cells.ok("%%llm --pipeline fast\nhi")
    cells.ok("%%llm --pipeline fast\nhi")
    assert ip.user_ns["_"].cache_hit and ip.user_ns["_"].model == "mock-large"
    assert len(mock.requests) == 1
    listing = ip.run_line_magic("llm", "pipelines")
    assert "fast" in listing.text and "Cache" in listing.text
    _, cap = cells.run("%%llm openai --pipeline fast\nhi")
    assert "runs on provider 'mock', not 'openai'" in cap.stderr
    _, cap = cells.run("%%llm --pipeline slow\nhi")
    assert "No pipeline named 'slow' (defined: fast)" in cap.stderr


def test_a_pipeline_from_a_plug_list(ip, mock, cells):
    ip.run_cell("def shout(request):\n    return request.put_options(temperature=1.5)")
    ip.run_line_magic("llm", "config provider=mock")
    spec = "[*llm.providers.get_pipeline('mock', 'stream')[:3], shout, *llm.providers.get_pipeline('mock', 'stream')[3:]]"
    info = ip.run_line_magic("llm", f"pipeline define loud {spec}")
    assert "shout" in info.names
    cells.ok("%%llm --pipeline loud\nhi")
    assert sent(mock)["temperature"] == 1.5


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("pipeline define", "usage: %llm pipeline define NAME EXPR"),
        ("pipeline define x undefined_name", "NameError: name 'undefined_name' is not defined"),
        ("pipeline define x 42", "A pipeline is a builder"),
        ("pipelines", "No named pipelines yet"),
    ],
)
def test_bad_pipeline_commands(ip, line, message):
    with pytest.raises((UsageError, CellError), match=message):
        ip.run_line_magic("llm", line)


def test_a_pipeline_expression_without_llm_imported_says_to_import_it(ip, mock):
    del ip.user_ns["llm"]
    with pytest.raises(UsageError) as caught:
        ip.run_line_magic("llm", "pipeline define fast llm.build('mock').with_cache()")
    assert str(caught.value) == (
        "The pipeline expression uses llm, which this notebook has not imported: "
        "run `import llmpipe_nb as llm` first."
    )
    ip.run_cell("import llmpipe_nb as llm")
    assert (
        "Cache"
        in ip.run_line_magic("llm", "pipeline define fast llm.build('mock').with_cache()").names
    )


def test_tags_label_the_ledger_rows(ip, cells):
    cells.ok("%%llm mock --tag exp-7 --tag magic\nhi")
    rows = llm.costs(tags="exp-7")
    assert len(rows) == 1 and set(rows.tags[0]) >= {"exp-7", "magic"}


# -- the line magic ------------------------------------------------------------------------


def test_line_magic_returns_the_response(ip, mock, cells):
    result, _cap = cells.run("x = %llm mock:mock-large --temperature 0.1 what's up, {name}?")
    assert isinstance(result.error_in_exec, CellError)  # {name} is not defined
    ip.user_ns["name"] = "Ada"
    cells.ok("x = %llm mock:mock-large --temperature 0.1 what's up, {name}?")
    x = ip.user_ns["x"]
    assert isinstance(x, llm.ChatResponse) and x.model == "mock-large"
    assert sent(mock)["messages"][-1]["content"] == "what's up, Ada?"
    assert sent(mock)["temperature"] == 0.1


def test_line_magic_does_not_stream(ip):
    with pytest.raises(UsageError, match="use %%llm to stream"):
        ip.run_line_magic("llm", "mock --stream hi")


@pytest.mark.parametrize(
    ("line", "head", "prompt"),
    [
        ("mock hello world", "mock", "hello world"),
        ("mock:m1 -t 0.5 --no-stream what's up", "mock:m1 -t 0.5 --no-stream", "what's up"),
        (
            "mock --system 'Be terse.' --tag a hi -- there",
            "mock --system 'Be terse.' --tag a",
            "hi -- there",
        ),
        ("mock", "mock", ""),
    ],
)
def test_split_line(line, head, prompt):
    assert split_line(line) == (head, prompt)


def test_list_shows_providers_and_keys_without_values(ip, canary):
    view = ip.run_line_magic("llm", "list")
    assert "mock" in view.text and "not needed" in view.text
    assert "openai" in view.text and "✅ configured" in view.text
    assert canary not in view.text and canary not in view.html


def test_list_names_the_missing_variable(ip):
    assert "❌ set OPENAI_API_KEY" in ip.run_line_magic("llm", "list").text


def test_costs_and_help(ip, cells):
    cells.ok("%%llm mock\nhi")
    ledger = ip.run_line_magic("llm", "costs")
    assert ledger is llm.ledger() and len(ledger) >= 1
    assert "mock" in ledger._repr_html_()
    for line in ("help", ""):
        text = ip.run_line_magic("llm", line).text
        assert "%%llm [PROVIDER[:MODEL]]" in text and "%llm pipeline define NAME EXPR" in text


def test_no_secret_in_any_output(ip, mock, canary, cells):
    mock.configure(reply=f"the key is {canary}")
    cap = cells.ok("%%llm mock\nhi")
    cells.ok("%%llm mock --no-stream --format json\nhi")
    mock.fail_next(llm.AuthenticationError(f"bad key {canary}", provider="mock", status_code=401))
    failed, cap2 = cells.run("%%llm mock\nhi")
    everything = repr([(o.data, o.metadata) for o in cap.outputs + cap2.outputs])
    everything += cap.stdout + cap2.stdout + str(failed.error_in_exec)
    everything += ip.run_line_magic("llm", "config").html
    assert canary not in everything
    assert "***" in everything


def test_a_provider_that_cannot_stream_answers_at_once(ip, mock, monkeypatch, cells):
    plugs = {k: v for k, v in type(mock).plugs.items() if k != "stream"}
    monkeypatch.setattr(type(mock), "plugs", plugs)
    result, cap = cells.run("%%llm mock\nhi")
    result.raise_error()
    assert stages(cap) == ["final"]
    result, cap = cells.run("%%llm mock --stream\nhi")
    assert "does not support 'stream'" in str(result.error_in_exec)
