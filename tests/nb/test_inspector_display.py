"""What the PipelineInspector shows: the message text in a plug's changes, its own font."""

from __future__ import annotations

import re

import llmpipe_nb as llm
from llmpipe_nb.nb import PipelineInspector


def changed_cells(inspector):
    """The cells of the 'What it changed' table, as text."""
    table = inspector.detail.value.split("<b>What it changed</b>")[1].split("</table>")[0]
    return [re.sub("<[^>]+>", "", cell) for cell in re.findall("<td>(.*?)</td>", table)]


def test_the_prepared_call_shows_the_message_text():
    inspector = PipelineInspector(llm.chat("mock", "What is a plug?"))
    inspector.select("MockPrepareRequest")
    field, key, before, after = changed_cells(inspector)
    assert (field, key, before) == ("provider_request", "", "None")
    assert after.startswith("HttpCall(method=&#x27;POST&#x27;, path=&#x27;/chat&#x27;")
    assert "&#x27;content&#x27;: &#x27;What is a plug?&#x27;" in after
    assert "…" not in after and after.endswith("stream=None)")


def test_a_long_message_is_clipped_and_the_other_fields_still_show():
    prompt = "word " * 2000
    inspector = PipelineInspector(llm.chat("mock", prompt))
    inspector.select("MockPrepareRequest")
    after = changed_cells(inspector)[-1]
    assert "&#x27;content&#x27;: &#x27;word word" in after and "more)" in after
    assert len(after) < 1500  # not the 10 000 characters of the prompt
    assert after.endswith("headers={}, params={}, stream=None)")


def test_the_text_of_a_call_over_http_shows(anthropic_server):
    answer = llm.chat(
        "anthropic",
        "Tell me about plugs",
        api_key="sk-ant-test",
        base_url=anthropic_server.base_url,
    )
    inspector = PipelineInspector(answer)
    inspector.select("AnthropicPrepareRequest")
    after = changed_cells(inspector)[-1]
    assert "&#x27;content&#x27;: &#x27;Tell me about plugs&#x27;" in after
    assert "sk-ant-test" not in inspector.detail.value


def test_the_controls_get_the_font_of_the_views():
    inspector = PipelineInspector(llm.chat("mock", "hi"))
    (scope,) = [c for c in inspector._dom_classes if c.startswith("llmpipe-")]
    other = PipelineInspector(llm.chat("mock", "hi"))
    assert scope not in other._dom_classes  # each inspector its own scope
    assert f"<style>.{scope}{{font-family:var(--jp-ui-font-family," in "".join(html_of(inspector))


def html_of(widget):
    """The HTML of every HTML widget inside `widget`."""
    if hasattr(widget, "children"):
        return [text for child in widget.children for text in html_of(child)]
    return [widget.value] if isinstance(getattr(widget, "value", None), str) else []
