"""llm.map in a real Jupyter kernel: a running loop, a live widget bar, and the stop button."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow  # starts a kernel (a few seconds)

SETUP = """
import os, tempfile
import llmpipe_nb as llm
mock = llm.providers.get("mock")
mock.configure(latency=0.05)
cache = {"store": "sqlite", "path": os.path.join(tempfile.mkdtemp(), "cache.sqlite")}
items = [f"item {i}" for i in range(200)]
llm.map(["warm up"], "{}")  # pandas and the widgets load here, not under the interrupt
"""
INTERRUPTED = """
try:
    llm.map(items, "{}", concurrency=2, cache=cache)
except llm.BatchInterrupted as stop:
    partial = stop.partial
"""
RESUMED = """
finished = int(partial.content.notna().sum())
before = len(mock.requests)
rerun = llm.map(items, "{}", concurrency=16, cache=cache)
print(finished, len(mock.requests) - before, int(rerun.cache_hit.sum()), int(rerun.error.notna().sum()))
"""


@pytest.fixture(scope="module")
def kernel(kernel_home):
    from jupyter_client.manager import start_new_kernel

    home, env = kernel_home
    manager, client = start_new_kernel(kernel_name="python3", env=env, cwd=str(home))
    yield manager, client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def execute(client, code: str, interrupt_after: int | None = None, manager=None):
    """Run `code`; return (reply content, iopub messages of the cell). With
    `interrupt_after`, press stop once the progress bar has moved that many times, however
    long the kernel took to get there."""
    msg_id = client.execute(code)
    messages = []
    while True:
        msg = client.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(msg)
        moves = sum(m["msg_type"] == "comm_msg" for m in messages)
        if interrupt_after is not None and moves >= interrupt_after:
            manager.interrupt_kernel()
            interrupt_after = None
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    reply = client.get_shell_msg(timeout=60)
    return reply["content"], messages


def test_the_stop_button_keeps_what_finished_and_a_rerun_sends_only_the_rest(kernel):
    manager, client = kernel
    reply, _ = execute(client, SETUP)
    assert reply["status"] == "ok"

    reply, messages = execute(client, INTERRUPTED, interrupt_after=3, manager=manager)
    assert reply["status"] == "ok", reply  # BatchInterrupted was caught in the cell
    kinds = [m["msg_type"] for m in messages]
    assert "comm_open" in kinds  # the progress widget
    assert kinds.count("comm_msg") >= 3  # it moved while the batch ran

    reply, messages = execute(client, RESUMED)
    assert reply["status"] == "ok", reply
    printed = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")
    finished, sent, hits, failed = map(int, printed.split())
    assert 0 < finished < 200
    assert sent == 200 - finished
    assert hits == finished and failed == 0
