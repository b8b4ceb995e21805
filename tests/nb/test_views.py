"""Every view escapes model and user text, masks every credential, scopes its CSS, and has a text twin."""

from __future__ import annotations

import io
import re

import pytest
from IPython.utils.capture import capture_output
from rich.console import Console

import llmpipe_nb as llm
from llmpipe_nb import views
from llmpipe_nb.nb.live import LiveAnswer, failed_bundle, final_bundle
from llmpipe_nb.pipeline import Step

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class Tagger(llm.Plug):
    """A user plug whose name and options carry markup and a credential."""

    name = "Tagger<script>"
    secret_options = frozenset({"token"})

    def __init__(self, label: str = "", token: str | None = None) -> None:
        self.label, self.token = label, token

    def call(self, request):
        return request.assign("note", self.label).assign("api_key", self.token)


@pytest.fixture
def dirty(mock, canary):
    """A response whose answer, prompt, options, assigns and plug carry markup and the canary."""
    mock.configure(reply=f"**Answer** {EVIL} with key {canary} and $5 or $6")
    return (
        llm.build("mock", f"Question {EVIL}")
        .with_options(api_key=canary, headers={"Authorization": f"Bearer {canary}"})
        .with_custom_plug(Tagger, before="FetchConfig", label=EVIL, token=canary)
        .execute()
    )


def html_views(response, key):
    request = response.request
    steps = request.trace
    live = LiveAnswer("mock <script>")
    live.parts.append(EVIL + key)
    yield "response", views.response_html(response)
    for fmt in views.FORMATS:
        yield f"response-{fmt}", views.response_html(response, format=fmt)
    yield "request", views.request_html(request)
    yield "request-repr", request._repr_html_()
    yield (
        "pipeline",
        views.pipeline_html(
            llm.build("mock").with_custom_plug(Tagger, token=key).inspect_pipeline()
        ),
    )
    yield "trace", views.frame(views.trace_html(steps, compare=steps, selected=1))
    yield "table", views.table_view(EVIL, ["a", EVIL], [[EVIL, key]]).html
    yield "streaming", live._bundle()["text/html"]
    yield "final", final_bundle(response, "markdown")[0]["text/html"]
    yield "failed", failed_bundle(EVIL + key, EVIL, llm.ServerError(EVIL + key))["text/html"]


def text_views(response, key):
    request = response.request
    yield "response", views.response_text(response)
    yield "response-pretty", _pretty(response)
    yield "request", views.request_text(request)
    yield (
        "pipeline",
        views.pipeline_text(
            llm.build("mock").with_custom_plug(Tagger, token=key).inspect_pipeline()
        ),
    )
    yield "trace", views.trace_text(request.trace)
    builder = llm.build("mock").with_custom_plug(Tagger, label="[/bold] [red]", token=key)
    for thing in (response, request, builder, builder.inspect_pipeline()):
        yield f"rich {type(thing).__name__}", rich_text(thing)


def rich_text(thing):
    console = Console(record=True, width=100, file=io.StringIO())
    console.print(thing)  # through the object's own __rich__
    return console.export_text()


def _pretty(obj):
    from IPython.lib.pretty import pretty

    return pretty(obj)


def test_every_html_view_escapes_text_and_masks_keys(dirty, canary):
    key = canary
    for name, html in html_views(dirty, key):
        assert "<script" not in html.lower(), name
        assert "<img" not in html.lower(), name
        assert key not in html, name
        assert "&lt;script&gt;" in html, name  # the text is shown, escaped


def test_every_text_view_masks_keys(dirty, canary):
    key = canary
    for name, text in text_views(dirty, key):
        assert key not in text, name
    assert "<script>" in views.response_text(dirty)  # text stays text: nothing to escape there


def test_the_answer_is_shown_and_the_key_redacted(dirty):
    html = views.response_html(dirty)
    assert "<strong>Answer</strong>" in html
    assert "with key ***" in html and "with key ***" in views.response_text(dirty)


def test_request_options_and_plug_options_are_masked(dirty, canary):
    key = canary
    initial = dirty.request.metadata["initial_request"]
    assert initial.options["api_key"].get_secret_value() == key  # really there, as a Secret
    html = views.request_html(initial)
    assert (
        "api_key=&#x27;***&#x27;" in html and "&#x27;Authorization&#x27;: &#x27;***&#x27;" in html
    )
    info = llm.build("mock").with_custom_plug(Tagger, token=key).inspect_pipeline()
    assert "token=&#x27;***&#x27;" in views.pipeline_html(info)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("api_key", True),
        ("x-api-key", True),
        ("token", True),
        ("refresh_token", True),
        ("client_secret", True),
        ("password", True),
        ("max_tokens", False),
        ("model", False),
    ],
)
def test_secret_names(name, secret):
    assert views.is_secret_name(name) is secret
    assert (views.shown(name, "value") == "'***'") is secret


def test_shown_masks_secrets_inside_values():
    value = {
        "nested": {"api_key": "k-123456"},
        "s": llm.Secret("abcd-secret-value"),
        "headers": {"X-Api-Key": "v"},
    }
    text = views.shown("options", value, 1000)
    assert "k-123456" not in text and "abcd-secret-value" not in text and "'v'" not in text
    assert views.shown("x", "y" * 500, 50).endswith("more)")


def test_css_is_scoped_to_a_unique_container():
    first, second = views.frame("<p>a</p>"), views.frame("<p>a</p>")
    uid = re.search(r'<div id="(llmpipe-[0-9a-f]+)"', first).group(1)
    assert uid not in second
    css = re.search(r"<style>(.*)</style>", first).group(1)
    selectors = [
        s.strip() for rule in css.split("}") if "{" in rule for s in rule.split("{")[0].split(",")
    ]
    assert selectors and all(s.startswith(f"#{uid}") for s in selectors)
    assert "tex2jax_ignore" in first and "mathjax_ignore" in first  # $5 stays money, not math


def test_views_are_self_contained(dirty, canary):
    for name, html in html_views(dirty, canary):
        assert not re.search(r"https?://|@import|url\(|<link|<script", html), name


def test_markdown_is_safe_and_has_a_plain_fallback(monkeypatch):
    html = views.markdown_html("**b** [x](javascript:alert(1)) <b>raw</b>")
    assert (
        "<strong>b</strong>" in html and 'href="javascript' not in html and "&lt;b&gt;raw" in html
    )

    def missing():
        raise ImportError("no markdown-it-py")

    monkeypatch.setattr(views.markdown, "parser", missing)
    assert views.markdown_html("**b** <b>") == '<pre class="lp-pre">**b** &lt;b&gt;</pre>'


def test_formats():
    assert "&quot;a&quot;: 1" in views.answer_html('```json\n{"a": 1}\n```', "json")
    assert "not valid JSON" in views.answer_html("{oops", "json")
    assert (
        views.answer_html("```py\nx = 1\n```", "code")
        == '<pre class="lp-pre"><code>x = 1\n</code></pre>'
    )
    html = views.answer_html("<b>bold</b><script>x()</script>", "html")
    assert html.startswith('<iframe class="lp-frame" sandbox="" srcdoc="&lt;meta http-equiv')
    assert "&lt;b&gt;bold&lt;/b&gt;&lt;script&gt;x()" in html


def test_waterfall_bars_are_proportional_to_time():
    steps = [Step(0, "A", 0, 1_000_000, "ok"), Step(1, "B", 1_000_000, 3_000_000, "error", "boom")]
    html = views.trace_html(steps)
    bars = re.findall(r'style="margin-left:([\d.]+)%;width:([\d.]+)%"', html)
    assert bars == [("0.00", "25.00"), ("25.00", "75.00")]
    assert "lp-bar lp-error" in html and "boom" in html
    assert "1.0 ms" in html and "3.0 ms" in html
    text = views.trace_text(steps)
    assert text.splitlines()[1].count("█") == 3 * text.splitlines()[0].count("█")


def test_waterfall_comparison_marks_plugs_that_were_off():
    old = [Step(0, "A", 0, 2_000_000, "ok"), Step(1, "B", 2_000_000, 2_000_000, "ok")]
    new = [Step(0, "A", 0, 1_000_000, "ok")]
    html = views.trace_html(new, compare=old)
    assert "lp-bar lp-old" in html and ">off<" in html and "<th>before</th>" in html


def test_embedding_response_view():
    response = llm.embeddings("mock", ["a", "<script>b</script>"])
    html, text = response._repr_html_(), views.response_text(response)
    assert "2 vectors x 16 dimensions" in html and "2 vectors x 16 dimensions" in text
    assert "<script" not in html


def test_error_request_view_shows_the_error_plug():
    done = llm.build("openai", "hi").run()
    html = views.request_html(done)
    assert "MissingKeyError" in html and "FetchConfig" in html and "lp-badge lp-error" in html
    assert "OPENAI_API_KEY" in views.request_text(done)


def test_responses_render_in_ipython(ip, dirty):
    with capture_output() as cap:
        from IPython.display import display

        display(dirty)
    [out] = cap.outputs
    assert out.data["text/plain"] == views.response_text(dirty)
    assert "lp-card" in out.data["text/html"]


def test_rich_shows_markup_like_text_literally(dirty):
    builder = llm.build("mock").with_custom_plug(Tagger, label="[/bold] [red]x")
    assert "label='[/bold] [red]x'" in rich_text(builder)
    text = rich_text(dirty.request)
    assert "Request req-" in text and "ExecuteRequest" in text and "█" in text
