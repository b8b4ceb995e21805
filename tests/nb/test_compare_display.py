"""The comparison grid in an in-process IPython shell: one output updated in place as answers
stream, `%%llm --compare` in a cell, its options, its errors, and the terminal twin."""

from __future__ import annotations

import re

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

import llmpipe_nb as llm
from llmpipe_nb.nb.magics import CellError
from llmpipe_nb.providers._http import close_transports
from llmpipe_nb.testing import FakeServer, faults

TWO = "mock:mock-1 mock:mock-large"


def stages(cap):
    return [o.metadata["llmpipe"]["stage"] for o in cap.outputs]


def by_model(body):
    return f"{body['model']} says: {body['messages'][-1]['content']}"


@pytest.fixture(autouse=True)
def fresh_ledger():
    llm.ledger().reset()
    yield
    llm.ledger().reset()


def assert_one_output_updated_in_place(cap):
    outs = cap.outputs
    assert len({o.transient["display_id"] for o in outs}) == 1
    assert [o.update for o in outs] == [False] + [True] * (len(outs) - 1)
    assert stages(cap)[0] == "streaming" and stages(cap)[-1] == "final"
    assert stages(cap).count("final") == 1


def test_the_grid_streams_from_loopback_servers_into_one_output(ip):
    with FakeServer("openai") as openai, FakeServer("ollama") as ollama:
        llm.configure("openai", base_url=openai.base_url, api_key="sk-grid-0123456789abcdef")
        llm.configure("ollama", base_url=ollama.url)
        slow = faults.Fault(chunk_count=8, chunk_delay_s=0.06)
        openai.inject(slow)
        ollama.inject(slow)
        try:
            with capture_output() as cap:
                cmp = llm.compare(
                    "Tell me about sharks", models=["openai:gpt-6-luna", "ollama:llama3.2"]
                )
        finally:
            close_transports()

    assert_one_output_updated_in_place(cap)
    outs = cap.outputs
    assert len(outs) >= 4  # the first render, updates while the answers stream, the final one
    middle = [o.data["text/plain"] for o in outs[1:-1]]
    assert any("▌" in text for text in middle)  # a cell caught mid-answer
    assert any("lp-badge lp-streaming" in o.data["text/html"] for o in outs[1:-1])
    final = outs[-1]
    assert final.metadata["llmpipe"]["comparison_id"] == cmp.id
    assert "▌" not in final.data["text/plain"] and "2 of 2 done" in final.data["text/plain"]
    answers = [c.text for c in cmp.flat()]
    assert all(a.startswith("Echo: Tell me") for a in answers)
    assert all(a in final.data["text/plain"] for a in answers)
    assert "sk-grid-0123456789abcdef" not in "".join(str(o.data) for o in outs)


def test_the_magic_streams_one_grid_and_keeps_the_comparison(ip, mock, cells):
    mock.configure(respond=by_model, chunk_size=3, chunk_latency=0.01)
    ip.run_line_magic("llm", "config update_interval=0.02")
    result, cap = cells.run(f"%%llm --compare {TWO} --output cmp\nTell me about sharks")
    result.raise_error()

    assert_one_output_updated_in_place(cap)
    assert len(cap.outputs) > 2
    cmp = ip.user_ns["cmp"]
    assert isinstance(cmp, llm.Comparison)
    assert ip.user_ns["_"] is cmp and ip.user_ns["Out"][result.execution_count] is cmp
    assert [c.text for c in cmp.flat()] == [
        "mock-1 says: Tell me about sharks",
        "mock-large says: Tell me about sharks",
    ]
    html = cap.outputs[-1].data["text/html"]
    assert "mock:mock-1" in html and "mock:mock-large" in html
    assert re.search(r'<div id="llmpipe-[0-9a-f]{12}" class="llmpipe', html)


def test_the_magic_compares_providers_over_http(ip, cells):
    with FakeServer("openai") as openai, FakeServer("anthropic") as anthropic:
        llm.configure("openai", base_url=openai.base_url, api_key="sk-magic-0123456789abcdef")
        llm.configure("anthropic", base_url=anthropic.base_url, api_key="sk-magic-0123456789abcdef")
        anthropic.inject(faults.http_error(500))
        try:
            result, cap = cells.run(
                "%%llm --compare openai:gpt-6-luna anthropic:claude-haiku-5-5 --max-tokens 20\n"
                "Tell me about sharks",
            )
        finally:
            close_transports()
    result.raise_error()
    assert_one_output_updated_in_place(cap)
    cmp = ip.user_ns["_"]
    fine, failed = cmp.cells[0]
    assert fine.text == "Echo: Tell me about sharks"
    assert isinstance(failed.error, llm.ServerError)
    assert openai.requests[0].json["max_completion_tokens"] == 20
    assert anthropic.requests[0].json["max_tokens"] == 20
    final = cap.outputs[-1].data
    assert "ServerError: anthropic 500" in final["text/plain"]
    assert "sk-magic-0123456789abcdef" not in str(final)


def test_the_cells_options_and_defaults_go_to_every_model(ip, mock, cells):
    ip.run_line_magic("llm", "config max_tokens=40")
    ip.user_ns["animal"] = "sharks"
    result, _ = cells.run(
        f"%%llm --compare {TWO} --temperature 0.5 --system 'Be brief.' --tag zoo --no-stream\n"
        "About {animal}",
    )
    result.raise_error()
    bodies = [call.json for call in mock.requests]
    assert sorted(b["model"] for b in bodies) == ["mock-1", "mock-large"]
    for body in bodies:
        assert body["temperature"] == 0.5 and body["max_tokens"] == 40
        assert list(body["messages"]) == [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "About sharks"},
        ]
    cmp = ip.user_ns["_"]
    assert all({"zoo", cmp.tag} <= set(t) for t in llm.costs(tags=cmp.tag).tags)


def test_no_stream_shows_the_finished_grid_once(ip, mock, cells):
    cap = cells.ok(f"%%llm --compare {TWO} --no-stream\nHi")
    assert len(cap.outputs) == 1 and cap.outputs[0].update is False
    assert "2 of 2 done" in cap.outputs[0].data["text/plain"]


def test_a_failing_model_shows_in_its_cells_and_the_cell_does_not_fail(ip, mock, cells):
    def large_is_down(body):
        if body["model"] == "mock-large":
            return llm.RateLimitError("slow down", provider="mock", status_code=429)
        return by_model(body)

    mock.configure(respond=large_is_down)
    cap = cells.ok(f"%%llm --compare {TWO}\nHi")
    final = cap.outputs[-1].data
    assert "RateLimitError: mock 429: slow down" in final["text/plain"]
    assert "RateLimitError: mock 429: slow down" in final["text/html"]
    assert "mock-1 says: Hi" in final["text/plain"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (f"mock --compare {TWO}", "PROVIDER[:MODEL] does not go with --compare"),
        (f"--compare {TWO} --chat trip", "--chat does not go with --compare"),
        (f"--compare {TWO} --pipeline fast", "--pipeline does not go with --compare"),
        (f"--compare {TWO} --model mock-1", "--model does not go with --compare"),
        (f"--compare {TWO} --output 2x", "--output '2x' is not a variable name"),
        ("--compare", "expected at least one argument"),
    ],
)
def test_options_that_do_not_go_with_compare_are_usage_errors(ip, mock, line, message, cells):
    result, cap = cells.run(f"%%llm {line}\nhi")
    assert isinstance(result.error_in_exec, UsageError)
    assert message in cap.stderr
    assert mock.requests == [] and cap.outputs == []


@pytest.mark.parametrize(
    ("models", "error", "message"),
    [
        ("mock", llm.ConfigError, "Model 'mock' is not written 'provider:model'"),
        ("mock:mock-1 mokc:x", llm.UnknownProviderError, "did you mean 'mock'?"),
        ("mock:mock-1 openai:gpt-6-luna", llm.MissingKeyError, "OPENAI_API_KEY"),
    ],
)
def test_a_bad_model_is_one_line_and_nothing_is_sent(ip, mock, models, error, message, cells):
    result, cap = cells.run(f"%%llm --compare {models}\nhi")
    assert isinstance(result.error_in_exec, CellError)
    assert isinstance(result.error_in_exec.error, error)
    assert message in cap.stdout and "Traceback" not in cap.stdout
    assert mock.requests == [] and cap.outputs == []


def test_the_prompt_is_checked_like_any_cell(ip, mock, cells):
    result, cap = cells.run(f"%%llm --compare {TWO}\n   \n")
    assert isinstance(result.error_in_exec, UsageError)
    assert "The prompt is empty" in cap.stderr
    result, _ = cells.run(f"%%llm --compare {TWO}\nAbout {{nothing_here}}")
    assert "no variable 'nothing_here' is defined" in str(result.error_in_exec)
    assert mock.requests == []


def test_a_one_line_compare_is_refused(ip, mock):
    with pytest.raises(UsageError, match="use %%llm --compare"):
        ip.run_line_magic("llm", f"--compare {TWO} Hi")
    assert mock.requests == []


def test_terminal_ipython_draws_a_rich_table(ip, mock, capsys):
    mock.configure(respond=by_model)
    result = ip.run_cell(f"%%llm --compare {TWO}\nHi", store_history=True)
    result.raise_error()
    out = capsys.readouterr().out
    assert "mock:mock-1" in out and "mock-large says: Hi" in out
    assert "<div" not in out


def test_the_compared_prompt_renders_notebook_fields_and_refuses_secrets(ip, mock, cells):
    ip.user_ns["topic"] = "tide pools"
    result, _ = cells.run(f"%%llm --compare {TWO} --no-stream\nAbout {{topic}}")
    result.raise_error()
    assert {c.json["messages"][-1]["content"] for c in mock.requests} == {"About tide pools"}
    ip.user_ns["MY_API_KEY"] = "sk-canary-0123456789abcdef"
    sent = len(mock.requests)
    result, _ = cells.run(f"%%llm --compare {TWO} --no-stream\nUse {{MY_API_KEY}}")
    assert "names a secret" in str(result.error_in_exec) and len(mock.requests) == sent
    ip.user_ns["note"] = "the key is sk-canary-0123456789abcdef"
    cells.ok(f"%%llm --compare {TWO} --no-stream\n{{note}}")
    assert all("sk-canary" not in c.json["messages"][-1]["content"] for c in mock.requests)
