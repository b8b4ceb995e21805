"""A streamed %%llm cell ends with its real latency and time to first token."""

from __future__ import annotations

import re

from IPython.utils.capture import capture_output

import llmpipe_nb as llm
from llmpipe_nb.testing import Fault

KEY = "sk-test-footer-0123456789"
TIMING = re.compile(r"latency ([\d.]+) ms · first token ([\d.]+) ms")


def test_a_streamed_cell_shows_its_latency_and_first_token(ip, openai_server):
    llm.configure("openai", api_key=KEY, base_url=openai_server.base_url)
    openai_server.inject(Fault(delay_s=0.05, chunk_delay_s=0.03, chunk_count=4))
    with capture_output() as cap:
        ip.run_cell("%%llm openai\nTime this answer", store_history=True).raise_error()

    final = cap.outputs[-1]
    assert final.metadata["llmpipe"]["stage"] == "final"
    latency, first = map(float, TIMING.search(final.data["text/plain"]).groups())
    assert first >= 40 and latency - first >= 60  # three more chunks, 30 ms apart
    facts = final.metadata["llmpipe"]
    assert facts["latency_ms"] > facts["ttft_ms"] >= 40
    assert "first token" in final.data["text/html"]
