"""The PipelineInspector widget, drawn by the widget JavaScript and driven by clicks."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture
def inspector(e2e, expect):
    """The inspector's output in the e2e notebook, once drawn."""
    out = e2e.output("inspector")
    expect(out.locator(".widget-vbox").first).to_be_visible()
    return out


def test_inspector_is_drawn_with_every_plug(e2e, inspector, expect):
    plugs = e2e.output("plugs").inner_text().split()
    expect(inspector).not_to_contain_text("Error displaying widget")
    options = inspector.locator(".widget-select select option")
    expect(options).to_have_count(len(plugs))
    for option, plug in zip(options.all(), plugs, strict=True):
        expect(option).to_contain_text(plug)
    expect(inspector.locator(".widget-checkbox")).to_have_count(len(plugs))
    expect(inspector.get_by_role("button", name="Re-run without unchecked plugs")).to_be_visible()
    # the chosen plug is marked in the waterfall below
    inspector.locator(".widget-select select").select_option(index=0)
    expect(inspector.locator(".lp-card .lp-title", has_text="Step 0")).to_be_visible()
    expect(inspector.locator("tr.lp-sel")).to_contain_text(plugs[0])
    e2e.screenshot("inspector", e2e.cell("inspector"))


def test_choosing_a_plug_shows_its_request(e2e, inspector, expect):
    inspector.locator(".widget-select select").select_option(
        label=_label(inspector, "MockPrepareRequest")
    )
    detail = inspector.locator(".lp-card", has_text="Step 3 · MockPrepareRequest")
    expect(detail).to_be_visible()
    # what the plug changed: it wrote the provider request (the HTTP call for the mock)
    changed = detail.locator("table").first
    expect(changed.locator("tr").nth(1)).to_contain_text("provider_request")
    expect(changed).to_contain_text("HttpCall(method='POST', path='/chat'")
    expect(changed).to_contain_text("'model': 'mock-1'")
    # the request after the plug, one row per field, behind a fold
    detail.locator("summary", has_text="The request after this plug").click()
    expect(detail.locator("details table")).to_contain_text("provider_request")
    expect(inspector.locator("tr.lp-sel")).to_contain_text("MockPrepareRequest")
    e2e.screenshot("inspector-step", e2e.cell("inspector"))


def test_switching_a_plug_off_and_rerunning_shows_the_new_timing(e2e, inspector, expect):
    inspector.locator(".widget-checkbox", has_text="TrackCost").locator("input").uncheck()
    inspector.get_by_role("button", name="Re-run without unchecked plugs").click()
    rerun = inspector.locator(".lp-card", has_text="Re-run without TrackCost")
    expect(rerun).to_be_visible()
    expect(rerun.locator(".lp-badge").first).to_have_text("completed")
    table = rerun.locator("table")
    expect(table.locator("th")).to_contain_text(["#", "plug", "outcome", "before", "time"])
    # the plugs that ran again, each with its old bar beside its new one; TrackCost is off
    ran = table.locator("tr:has(.lp-bar:not(.lp-old))")
    expect(ran).to_have_count(6)
    expect(table.locator(".lp-bar.lp-old")).to_have_count(6)
    expect(table.locator("tr", has_text="TrackCost")).to_contain_text("off")
    e2e.screenshot("inspector-rerun", e2e.cell("inspector"))


def _label(inspector, plug):
    """The full text of the list entry for `plug` (it also shows the time and the outcome)."""
    return inspector.locator(".widget-select option", has_text=plug).inner_text()
