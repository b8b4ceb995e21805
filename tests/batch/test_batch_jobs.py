"""Batch jobs outlive the process that submitted them; what is wrong is refused before
anything is sent; the estimate, the mock's batch, the views and the `llmpipe batch`
command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import llmpipe_nb as llm
from llmpipe_nb import cli
from llmpipe_nb.providers._http import close_transports
from llmpipe_nb.testing import FakeServer

KEY = "sk-batch-jobs-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[2]
FAST = 0.001

SUBMIT_THEN_DIE = """
import os, signal
import llmpipe_nb as llm
job = llm.map([f"row {i}" for i in range(40)], "Echo {}", "openai", engine="batch")
print(job.id, flush=True)
job.refresh(); job.refresh()  # the job is under way: 10 rows answered
os.kill(os.getpid(), signal.SIGKILL)
"""
REATTACH = """
import sys
import llmpipe_nb as llm
listed = llm.batch_jobs()
print(listed.id.tolist(), listed.status.tolist())
job = llm.batch_job(sys.argv[1])
out = job.wait(poll_interval=0.001, progress=False)
print(int(out.content.notna().sum()), len(out), job.status, out.content.iloc[39])
"""


@pytest.fixture
def openai_fake():
    with FakeServer("openai") as server:
        llm.configure("openai", base_url=server.base_url, api_key=KEY)
        yield server
    close_transports()


def python(code: str, server: FakeServer, *args: str) -> subprocess.CompletedProcess:
    """Run `code` in a new Python process that reaches `server` with the key from its env."""
    env = {
        **os.environ,
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": server.base_url,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "PYTHONWARNINGS": "ignore",
    }
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_a_job_outlives_the_killed_process_and_a_new_one_reattaches_without_resending(
    openai_fake,
):
    openai_fake.wire.batches.script.rows_per_poll = 10
    died = python(SUBMIT_THEN_DIE, openai_fake)
    assert died.returncode == -signal.SIGKILL, died.stderr
    job_id = died.stdout.strip()

    again = python(REATTACH, openai_fake, job_id)

    assert again.returncode == 0, again.stderr
    listing, result = again.stdout.strip().splitlines()
    assert listing == f"['{job_id}'] ['in_progress']"  # as the dead process left it
    assert result == "40 40 completed Echo: Echo row 39"
    creations = [r for r in openai_fake.requests if (r.method, r.path) == ("POST", "/v1/batches")]
    assert len(creations) == 1  # re-attaching sent nothing again
    # and this process sees the job, collected, with its results kept: nothing is downloaded
    before = len(openai_fake.requests)
    out = llm.batch_job(job_id).result()
    assert len(out) == 40 and out.error.isna().all() and len(openai_fake.requests) == before


def test_the_job_is_kept_before_map_returns_and_found_by_either_id(openai_fake):
    job = llm.map(["a", "b"], "{}", "openai", engine="batch")

    listed = llm.batch_jobs()
    assert listed.id.tolist() == [job.id] and listed.status.tolist() == [job.status]
    assert listed.batch_ids.tolist() == [job.batch_ids]
    assert str(listed.created_at.dtype) == "datetime64[ns, UTC]"
    by_id, by_batch = llm.batch_job(job.id), llm.batch_job(job.batch_ids[0])
    assert by_id.id == by_batch.id == job.id and by_id is not job
    assert by_batch.wait(poll_interval=FAST, progress=False).error.isna().all()
    assert llm.batch_jobs(refresh=True).status.tolist() == ["completed"]


def test_unknown_ids_and_bad_arguments_are_refused(openai_fake):
    with pytest.raises(llm.ConfigError, match=r"No batch job 'batch_nope'.*llm.batch_jobs"):
        llm.batch_job("batch_nope")
    with pytest.raises(llm.ConfigError, match="job or batch id"):
        llm.batch_job(7)
    job = llm.map(["a"], "{}", "openai", engine="batch")
    with pytest.raises(llm.ConfigError, match="poll_interval must be"):
        job.wait(poll_interval=0)
    with pytest.raises(llm.ConfigError, match="timeout must be"):
        job.wait(timeout=-1)
    with pytest.raises(llm.ConfigError, match="progress= takes"):
        job.wait(progress="loud")


def test_result_before_the_end_and_a_wait_that_times_out_say_how_far_it_is(openai_fake):
    openai_fake.wire.batches.script.validating_polls = 1000
    job = llm.map(["a", "b"], "{}", "openai", engine="batch")
    with pytest.raises(llm.BatchPendingError, match=rf"{job.id} is validating now.*job.wait"):
        job.result()
    with pytest.raises(llm.BatchPendingError, match=r"after 0.05 s") as caught:
        job.wait(poll_interval=0.01, timeout=0.05, progress=False)
    assert caught.value.job_id == job.id and caught.value.status == "validating"


def test_what_cannot_be_batched_is_refused_before_anything_is_sent(openai_fake):
    with pytest.raises(llm.ConfigError, match=r"'ollama' has no Batch API.*engine='local'"):
        llm.map(["a"], "{}", "ollama", engine="batch")
    with pytest.raises(llm.ConfigError, match="'gemini' has no Batch API"):
        llm.map(["a"], "{}", "gemini", engine="batch", api_key=KEY)
    with pytest.raises(llm.ConfigError, match="retry=, rate_limit= cannot go with engine='batch'"):
        llm.map(
            ["a"], "{}", "openai", engine="batch", retry=True, rate_limit={"requests_per_minute": 5}
        )
    with pytest.raises(llm.ConfigError, match="plain JSON values"):
        llm.map(["a"], "{}", "openai", engine="batch", cache={"store": llm_memory_store()})
    with pytest.raises(llm.ConfigError, match="client= and partitions= go with engine='dask'"):
        llm.map(["a"], "{}", "openai", engine="batch", partitions=2)
    with pytest.raises(llm.BudgetExceededError, match=r"Not submitted.*batch price.*max_cost"):
        llm.map(["a"] * 50, "{}", "openai", engine="batch", max_cost=0.000001, max_tokens=500)
    with pytest.raises(llm.MissingKeyError):
        llm.reset_configuration("openai")
        llm.map(["a"], "{}", "openai", engine="batch", base_url=openai_fake.base_url)
    assert openai_fake.requests == [] and len(llm.batch_jobs()) == 0


def llm_memory_store():
    from llmpipe_nb.stores.memory import MemoryStore

    return MemoryStore()


def test_a_refused_submission_leaves_no_job_behind(openai_fake):
    from llmpipe_nb.testing import faults

    openai_fake.inject(faults.http_error(400))
    with pytest.raises(llm.BadRequestError):
        llm.map(["a"], "{}", "openai", engine="batch")
    assert len(llm.batch_jobs()) == 0


def test_estimate_puts_the_batch_price_beside_the_normal_one(openai_fake):
    df = pd.DataFrame({"q": [f"question {i}" for i in range(100)]})
    local = llm.estimate(df, "{q}", "openai", max_tokens=50)
    batch = llm.estimate(df, "{q}", "openai", max_tokens=50, engine="batch")
    dry = llm.map(df, "{q}", "openai", max_tokens=50, engine="batch", dry_run=True)

    assert batch.engine == "batch" and batch.standard_cost_usd == pytest.approx(local.cost_usd)
    assert batch.cost_usd == pytest.approx(local.cost_usd / 2)
    assert batch.ceiling_cost_usd == pytest.approx(local.ceiling_cost_usd / 2)
    assert dry == batch and openai_fake.requests == []
    assert "at the batch price (sent one by one: $" in repr(batch)
    assert "cost sent one by one" in batch._repr_html_()
    assert "batch price" not in repr(local)


def test_the_mock_simulates_a_batch_job_with_its_script(monkeypatch):
    mock = llm.providers.get("mock")
    llm.set_price("mock-1", input_per_mtok=1.0, output_per_mtok=2.0)
    mock.fail_next(llm.RateLimitError)
    job = llm.map(["a", "b", "c", "a"], "Say {}", engine="batch")
    statuses = [job.status]
    while not job.refresh().terminal:
        statuses.append(job.status)
    out = job.result()

    assert statuses == ["validating", "in_progress", "finalizing"] and job.status == "completed"
    assert len(mock.requests) == 3  # the repeated row was sent once
    assert isinstance(out.error.iloc[0], llm.RateLimitError)
    assert out.content.iloc[1:].str.startswith("You asked about: Say").all()
    standard = llm.map(["b"], "Say {}", progress=False).cost_usd.iloc[0]
    assert out.cost_usd.iloc[1] == pytest.approx(standard / 2)


def test_the_views_show_status_counts_price_and_what_to_do_next(openai_fake):
    job = llm.map(["a", "b", "c"], "{}", "openai", engine="batch")
    assert "validating · 0/3 requests" in repr(job) and job.batch_ids[0] in repr(job)
    assert "job.wait() returns the DataFrame" in job._repr_html_()
    bundle = job._repr_mimebundle_()  # outside a notebook: the card, not a widget
    assert set(bundle) == {"text/plain", "text/html"}
    job.wait(poll_interval=FAST, progress=False)
    text = repr(job)
    assert "completed · 3/3 requests · 3 done · 0 failed · $0.0" in text and "~" not in text
    assert "elapsed" in text and "job.result()" in job._repr_html_()


def test_the_llmpipe_batch_command_lists_shows_and_cancels(openai_fake, capsys):
    openai_fake.wire.batches.script.validating_polls = 1000
    assert cli.main(["batch", "list"]) == 0
    assert "No batch jobs in" in capsys.readouterr().out
    job = llm.map(["a", "b"], "{}", "openai", engine="batch")

    assert cli.main(["batch", "list"]) == 0
    assert f"{job.id}  openai/gpt-6-luna  2 rows  validating" in capsys.readouterr().out
    assert cli.main(["batch", "show", job.batch_ids[0]]) == 0
    assert f"BatchJob({job.id}" in capsys.readouterr().out
    assert cli.main(["batch", "cancel", job.id]) == 0
    assert "it is cancelling" in capsys.readouterr().out
    assert cli.main(["batch", "show", "nope"]) == 1
    assert "No batch job 'nope'" in capsys.readouterr().err
    assert llm.batch_job(job.id).wait(poll_interval=FAST, progress=False).error.notna().all()


def test_in_a_notebook_the_card_follows_the_job_until_it_ends(openai_fake, monkeypatch):
    from llmpipe_nb.batch import jobview

    monkeypatch.setattr(jobview, "in_jupyter", lambda: True)
    monkeypatch.setattr(llm.BatchJob, "poll_interval", lambda self: 0.01)
    job = llm.map(["a", "b"], "{}", "openai", engine="batch")
    bundle = job._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    view = bundle["application/vnd.jupyter.widget-view+json"]
    again = job._repr_mimebundle_()["application/vnd.jupyter.widget-view+json"]
    assert again == view  # shown twice: one view, one poller
    widget = jobview._views[job].widget
    deadline = time.monotonic() + 10
    while ">completed</span>" not in widget.value and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ">completed</span>" in widget.value and job.terminal
    assert "application/vnd.jupyter.widget-view+json" not in job._repr_mimebundle_()


def test_wait_draws_a_rich_bar_in_a_terminal(openai_fake, capsys):
    llm.map(["a", "b"], "{}", "openai", engine="batch").wait(poll_interval=FAST, progress="rich")
    drawn = capsys.readouterr().err
    assert "batch" in drawn and "completed · 2/2 requests · 2 done · 0 failed" in drawn
