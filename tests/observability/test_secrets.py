"""A canary key never leaves through a span, an event, a metric point or a log line."""

from __future__ import annotations

import logging

import pytest

import llmpipe_nb as llm
from llmpipe_nb.testing import faults

KEY = "sk-canary-otel-0123456789abcdefXYZ"
WRONG = "sk-canary-wrong-9876543210fedcbaQRS"


def everything(otel, caplog, stderr: str) -> str:
    """Every name, attribute, event, status, metric point and log line, as one text."""
    parts: list[str] = [stderr]
    for span in otel.spans():
        parts += [span.name, str(dict(span.attributes)), str(span.status.description)]
        parts += [f"{e.name} {dict(e.attributes)}" for e in span.events]
        parts += [str(dict(span.resource.attributes))]
    data = otel.reader.get_metrics_data()
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                parts += [f"{metric.name} {dict(p.attributes)}" for p in metric.data.data_points]
    parts += [record.getMessage() for record in caplog.records]
    return "\n".join(parts)


def test_no_exported_attribute_event_metric_or_log_line_holds_a_key(
    otel, caplog, capsys, fake_server
):
    caplog.set_level(logging.DEBUG, logger="llmpipe_nb")
    llm.log_to_notebook("debug")
    llm.instrument(otel.tracer_provider, otel.meter_provider, capture_content=True)
    server = fake_server("openai", api_key=KEY)
    llm.configure("openai", api_key=KEY, base_url=server.base_url, headers={"X-Trace": KEY})
    try:
        llm.chat("openai", f"Is {KEY} a key?", cache=True)
        llm.chat("openai", f"Is {KEY} a key?", cache=True)  # a cache hit
        llm.stream("openai", "Hello").text()
        llm.embeddings("openai", ["a"])
        echo = {"error": {"message": f"Incorrect API key provided: {WRONG}.", "code": "x"}}
        server.inject(faults.http_error(401, body=echo))
        with pytest.raises(llm.AuthenticationError):
            llm.chat("openai", "Hello", api_key=WRONG)
        server.inject(faults.http_error(503, body={"error": {"message": f"down {KEY}"}}))
        llm.build("openai", "Hi").with_retry(sleep=lambda s: None).execute()
        llm.list_models("openai")
    finally:
        llm.log_to_notebook(None)
    text = everything(otel, caplog, capsys.readouterr().err)

    assert "gen_ai.input.messages" in text and "Incorrect API key provided" in text
    assert "attempt 2" in text and "TrackCost" in text  # the checks saw real output
    assert KEY not in text and WRONG not in text
    assert "0123456789abcdef" not in text and "9876543210fedcba" not in text
    assert "Bearer" not in text
