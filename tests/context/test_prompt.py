"""`llm.prompt(...)`: templates, secrets, images on each provider's wire, and dry runs."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from PIL import Image

import llmpipe_nb as llm
from llmpipe_nb import ConfigError
from llmpipe_nb.testing import FakeServer

KEY = "sk-canary-prompt-0123456789abcdef"
NS = {
    "topic": "sharks",
    "items": ["a", "b"],
    "user": type("U", (), {"name": "Ada"})(),
    "n": 3.14159,
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("About {topic}.", "About sharks."),
        ("{items[1]} and {user.name}", "b and Ada"),
        ("{topic!r} {n:.2f}", "'sharks' 3.14"),
        ("literal {{topic}} and {{ }}", "literal {topic} and { }"),
        ("no placeholders", "no placeholders"),
    ],
    ids=["name", "index-attr", "conversion-spec", "escaped", "plain"],
)
def test_fields(template, expected):
    assert llm.prompt(template, **NS).content == expected


def test_values_are_not_parsed_again():
    assert llm.prompt("x {v} y", v="{topic} {{ }").content == "x {topic} {{ } y"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{missing}", "The prompt uses {missing}, but no variable 'missing' is defined"),
        ("{}", "The prompt has {}, which is not a variable name"),
        ("{0}", "The prompt has {0}, which is not a variable name"),
        ('{"a": 1}', 'The prompt has {"a"}, which is not a variable name'),
        ("{topic", "unmatched brace"),
        ("topic}", "unmatched brace"),
        ("{user.age}", "could not be filled (AttributeError"),
        ("{items[5]}", "could not be filled (IndexError"),
    ],
)
def test_errors_say_what_to_do(template, message):
    with pytest.raises(ConfigError, match="literal braces") as info:
        llm.prompt(template, **NS)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("template", "values"),
    [
        ("{OPENAI_API_KEY}", {"OPENAI_API_KEY": KEY}),
        ("{db_password}", {"db_password": "hunter2"}),
        ("{settings.GITHUB_TOKEN}", {"settings": type("S", (), {"GITHUB_TOKEN": KEY})()}),
        ("{key}", {"key": llm.Secret(KEY)}),
    ],
    ids=["name", "password", "attribute", "Secret"],
)
def test_a_secret_is_refused_not_rendered(template, values):
    mock = llm.providers.get("mock")
    with pytest.raises(ConfigError, match="secrets never go into a prompt") as info:
        llm.chat("mock", llm.prompt(template, **values))
    assert KEY not in str(info.value) and "hunter2" not in str(info.value)
    assert mock.requests == []


def test_a_prompt_is_a_message():
    p = llm.prompt("Summarise {df}", df=pd.DataFrame({"a": [1, 2]}), budget=1_500)
    reply = llm.chat("mock", p)
    sent = llm.providers.get("mock").requests[-1].json["messages"]
    assert list(sent) == [{"role": "user", "content": p.content}]
    assert "DataFrame: 2 rows, 1 column" in p.content and reply.content
    both = llm.chat("mock", [{"role": "system", "content": "Be brief."}, p])
    assert both.request.messages[1]["content"] == p.content
    assert repr(p).startswith("Prompt(") and "of 1,500 tokens (estimate)" in repr(p)
    html = p._repr_html_()
    assert "<style>" in html and "Summarise" in html


def test_the_view_escapes_values():
    p = llm.prompt("{x}", x="<script>alert(1)</script>")
    html = p._repr_html_()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def red() -> Image.Image:
    return Image.new("RGB", (20, 10), "red")


@pytest.mark.parametrize(
    ("provider", "image_of"),
    [
        ("openai", lambda body: body["messages"][0]["content"][1]["image_url"]["url"]),
        ("anthropic", lambda body: body["messages"][0]["content"][1]["source"]["data"]),
        ("gemini", lambda body: body["contents"][0]["parts"][1]["inlineData"]["data"]),
    ],
)
def test_a_figure_is_an_image_part_on_each_providers_wire(provider, image_of):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1), dpi=50)
    fig.add_subplot().plot([0, 1])
    p = llm.prompt("What does {fig} show?", fig=fig, target=provider)
    with FakeServer(provider) as server:
        llm.chat(provider, p, api_key=KEY, base_url=server.base_url)
        body = server.last_request.json
    assert image_of(body).removeprefix("data:image/png;base64,") == p.content[1]["data"]
    assert json.dumps(body).count("What does ") == 1


def test_ollama_gets_the_image_bytes(ollama_server):
    p = llm.prompt("Describe {img}", img=red())
    llm.chat("ollama", p, base_url=ollama_server.url)
    [message] = ollama_server.last_request.json["messages"]
    assert message["images"] == [p.content[1]["data"]]


@pytest.mark.parametrize(
    ("provider", "model"), [("openai", "gpt-3.5-turbo"), ("anthropic", "claude-2.1")]
)
def test_a_model_without_vision_is_refused_before_anything_is_sent(provider, model):
    p = llm.prompt("What is {img}?", img=red())
    with FakeServer(provider) as server:
        with pytest.raises(
            ConfigError, match=f"Model '{model}' of provider '{provider}' takes no images"
        ):
            llm.chat(provider, p, model=model, api_key=KEY, base_url=server.base_url)
        with pytest.raises(ConfigError, match="takes no images"):
            p.preview(provider, model, api_key=KEY, base_url=server.base_url)
        assert server.requests == []


def test_preview_shows_exactly_what_is_sent_and_sends_nothing(openai_server):
    df = pd.DataFrame({"city": ["Oslo", "Lima"], "temp": [3.5, 19.0]})
    p = llm.prompt("Compare {df} and {img}", df=df, img=red(), target="openai")
    model = llm.providers.get("openai").default_model
    llm.set_price(model, input_per_mtok=2.0, output_per_mtok=8.0)
    rows = len(llm.costs())
    conn = {"api_key": KEY, "base_url": openai_server.base_url, "max_tokens": 100}
    preview = p.preview("openai", **conn)
    assert openai_server.requests == [] and len(llm.costs()) == rows
    llm.chat("openai", p, **conn)
    sent = openai_server.last_request
    assert preview.body == sent.json
    assert preview.url == openai_server.base_url + "/chat/completions" and preview.method == "POST"
    assert preview.headers["Authorization"] == "***"
    assert preview.model == model and preview.cost_status == "priced"
    assert preview.cost_usd == pytest.approx(preview.input_tokens * 2.0 / 1e6)
    assert preview.max_cost_usd == pytest.approx(preview.cost_usd + 100 * 8.0 / 1e6)
    assert preview.images == 1
    assert preview.input_tokens > p.tokens
    for shown in (repr(preview), preview._repr_html_()):
        assert KEY not in shown
        assert "base64 image data)" in shown and p.content[1]["data"] not in shown
    assert "nothing sent" in preview._repr_html_()


def test_preview_on_the_mock_has_no_http_headers():
    preview = llm.prompt("hi").preview()
    assert preview.provider == "mock" and preview.headers == {} and preview.cost_status == "local"
    assert preview.body["messages"] == [{"role": "user", "content": "hi"}]
    assert llm.providers.get("mock").requests == []
