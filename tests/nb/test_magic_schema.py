"""`%%llm --schema NAME`: a typed answer from a cell, its growing object shown while it streams."""

from __future__ import annotations

import dataclasses
from typing import Literal

from IPython.core.error import UsageError

import llmpipe_nb as llm
from llmpipe_nb.nb.magics import CellError


@dataclasses.dataclass
class Invoice:
    vendor: str
    total: float
    currency: Literal["EUR", "USD"] = "EUR"


def test_a_schema_cell_streams_the_object_and_keeps_the_typed_value(ip, mock, cells):
    mock.configure(chunk_size=5, chunk_latency=0.002)
    ip.run_line_magic("llm", "config update_interval=0")
    ip.user_ns["Invoice"] = Invoice
    cap = cells.ok("%%llm mock --schema Invoice --output inv\nExtract: ACME, 12.50 EUR")
    invoice = ip.user_ns["inv"]
    assert isinstance(invoice, Invoice) and invoice.total == 12.5
    assert mock.requests[-1].json["response_format"]["json_schema"]["name"] == "Invoice"
    streaming = [o for o in cap.outputs if o.metadata["llmpipe"]["stage"] == "streaming"]
    tables = [o.data["text/html"] for o in streaming if "<th>field</th>" in o.data["text/html"]]
    assert tables and "<code>vendor</code>" in tables[-1]  # the object grew in the live view
    final = cap.outputs[-1]
    assert final.metadata["llmpipe"]["stage"] == "final"
    assert "<code>currency</code>" in final.data["text/html"]
    assert final.data["text/plain"].startswith("Invoice\n  vendor")
    assert isinstance(ip.user_ns["_"], llm.ChatResponse) and ip.user_ns["_"].parsed == invoice


def test_a_schema_line_returns_the_response_with_its_parsed_value(ip, mock):
    ip.user_ns["Invoice"] = Invoice
    reply = ip.run_line_magic("llm", "mock --schema Invoice Extract: ACME, 3 USD")
    assert reply.parsed == Invoice(vendor=reply.parsed.vendor, total=3.0, currency="USD")


def test_a_schema_name_the_notebook_does_not_define_is_a_usage_error(ip, mock, cells):
    result, cap = cells.run("%%llm mock --schema Missing\nExtract")
    assert isinstance(result.error_in_exec, UsageError)
    assert "--schema 'Missing' is not defined in this notebook" in cap.stderr
    assert mock.requests == []


def test_a_name_that_is_not_a_schema_is_one_line_and_nothing_is_sent(ip, mock, cells):
    ip.user_ns["answer"] = 42
    result, cap = cells.run("%%llm mock --schema answer\nExtract")
    error = result.error_in_exec
    assert isinstance(error, CellError) and isinstance(error.error, llm.ConfigError)
    assert error._render_traceback_()[0].startswith("ConfigError: schema= takes")
    assert "Traceback" not in cap.stdout + cap.stderr and mock.requests == []


def test_a_dry_run_shows_the_schema_as_it_would_be_sent(ip, mock, cells):
    ip.user_ns["Invoice"] = Invoice
    _ = cells.ok("%%llm mock --schema Invoice --dry-run --output plan\nExtract: ACME")
    sent = ip.user_ns["plan"].body["response_format"]["json_schema"]
    assert sent["name"] == "Invoice" and mock.requests == []


def test_schema_with_compare_gives_every_model_the_type_as_columns(ip, mock, cells):
    ip.user_ns["Invoice"] = Invoice
    result, _ = cells.run(
        "%%llm --compare mock:mock-1 mock:mock-large --schema Invoice --no-stream --output cmp\n"
        "Extract: ACME, 12.50 EUR",
    )
    result.raise_error()
    frame = ip.user_ns["cmp"].to_frame()
    assert frame.error.isna().all() and frame.total.tolist() == [12.5, 12.5]
    assert list(frame.columns[3:7]) == ["content", "vendor", "total", "currency"]
    assert {r.json["response_format"]["json_schema"]["name"] for r in mock.requests} == {"Invoice"}
