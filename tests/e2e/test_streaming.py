"""Streaming seen live: a slow mock's answer grows in the cell before the final render."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

REPLY = "Streaming arrives piece by piece, so you can read it while it is written."

# Records every distinct state of the cell's output, with the time it was seen.
RECORD_JS = """(cell) => {
  window.__frames = [];
  const area = cell.querySelector('.jp-Cell-outputArea') || cell;
  const seen = () => {
    const view = cell.querySelector('.jp-OutputArea-output .llmpipe');
    if (!view) return;
    const badge = view.querySelector('.lp-badge');
    const body = view.querySelector('.lp-body');
    const frame = {t: performance.now(), badge: badge ? badge.textContent : '',
                   text: body ? body.innerText.trim() : ''};
    const last = window.__frames[window.__frames.length - 1];
    if (!last || last.badge !== frame.badge || last.text !== frame.text) window.__frames.push(frame);
  };
  new MutationObserver(seen).observe(cell, {childList: true, subtree: true, characterData: true});
}"""


def test_answer_grows_in_the_cell_then_renders_final(notebook, expect):
    notebook.open("e2e/streaming.ipynb")
    cell = notebook.code_cell("Tell me something slowly.")
    cell.evaluate(RECORD_JS)
    notebook.menu("Run", "Run All Cells")
    partial = cell.locator(".lp-badge.lp-streaming")
    expect(partial).to_be_visible()  # shown while the answer is still arriving
    notebook.screenshot("streaming-partial", cell)
    notebook.wait_cells_done()
    frames = notebook.page.evaluate("window.__frames")

    streaming = [f for f in frames if f["badge"] == "streaming" and f["text"] != "waiting…"]
    final = [f for f in frames if f["badge"] == "completed"]
    texts = [f["text"] for f in streaming]
    assert [t for t in texts if not REPLY.startswith(t)] == [], texts
    assert len([t for t in texts if len(t) < len(REPLY)]) >= 3, texts
    assert [len(t) for t in texts] == sorted({len(t) for t in texts}), "the text only grows"
    assert len(final) == 1 and final[0] == frames[-1], frames
    assert final[0]["text"] == REPLY
    # 25 chunks 0.1 s apart: the first words were readable long before the end
    assert final[0]["t"] - streaming[0]["t"] > 1500, frames
    expect(cell.locator(".lp-facts")).to_contain_text("first token")
    notebook.screenshot("streaming-final", cell)
