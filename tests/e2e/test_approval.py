"""The approval card in Lab: a paused tool loop's calls, clicked, and the answer that follows."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_clicking_approve_and_deny_resumes_the_loop_without_blocking_the_kernel(notebook, expect):
    notebook.open("e2e/approval.ipynb")
    notebook.run_all()
    assert notebook.output("setup").inner_text().strip() == "['get_weather', 'get_time']"
    card = notebook.output("card").locator(".llmpipe-approval")
    expect(card).to_be_visible()
    expect(card).not_to_contain_text("Error displaying widget")
    expect(card.locator(".lp-badge", has_text="waiting for approval")).to_be_visible()
    expect(card).to_contain_text("get_weather")
    expect(card).to_contain_text('"city": "Paris"')
    approve = card.get_by_role("button", name="Approve", exact=True)
    deny = card.get_by_role("button", name="Deny", exact=True)
    expect(approve).to_have_count(2)
    expect(card.get_by_role("button", name="Approve all", exact=True)).to_be_visible()
    notebook.screenshot("approval-card", notebook.cell("card"))

    approve.nth(0).click()  # get_weather
    expect(approve.nth(0)).to_be_disabled()
    expect(card).to_contain_text("approved")
    deny.nth(1).click()  # get_time: now every call is decided and the loop goes on
    # the slow tool (3 s) runs in a worker thread: the kernel is idle while the card says
    # it runs (a click handler that ran the loop itself would keep the kernel busy till the end)
    running = "Running get_weather, then asking the model…"
    expect(card).to_contain_text(running)
    notebook.wait_idle()
    expect(card).to_contain_text(running)
    answer = card.locator(".jp-OutputArea-output .lp-card", has_text="Echo:")
    expect(answer).to_contain_text("Echo: The user refused to run get_time.", timeout=60_000)
    expect(answer.locator(".lp-badge").first).to_have_text("completed")
    expect(answer.locator("details.lp-step")).to_have_count(4)  # two turns, two tool runs
    expect(card).not_to_contain_text("Running get_weather")
    expect(card.locator(".lp-badge").first).to_have_text("decided")
    # the timeline: both model turns and both tool runs as bars on one time axis
    answer.locator("summary", has_text="timeline").click()
    timeline = answer.locator("details:has(> summary:has-text('timeline')) table")
    expect(timeline.locator(".lp-bar")).to_have_count(4)
    expect(timeline).to_contain_text("get_weather")
    notebook.fail_on_errors()
    notebook.screenshot("approval-answered", notebook.cell("card"))
