"""The cost dashboard in Lab: the ledger's totals, a filter that reaches the kernel, a chart."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_dashboard_shows_the_ledger_totals_and_filters_by_model(notebook, expect):
    notebook.open("e2e/dashboard.ipynb")
    notebook.run_all()
    everything, large = notebook.output("expected").inner_text().strip().splitlines()
    assert everything.startswith("requests 3 |") and large.startswith("requests 1 |")
    dashboard = notebook.output("dashboard")
    expect(dashboard).not_to_contain_text("Error displaying widget")
    totals = dashboard.locator(".lp-card", has_text="Costs")
    for fact in everything.split(" | "):
        expect(totals).to_contain_text(fact)
    expect(totals.locator(".lp-head")).to_contain_text("everything")
    chart = dashboard.locator('img[alt="cost by model"]')
    expect(chart).to_be_visible()
    assert chart.evaluate("img => img.naturalWidth") > 100
    notebook.screenshot("dashboard", notebook.cell("dashboard"))

    # choosing a model goes to the kernel and comes back with that model's totals
    dashboard.get_by_label("model", exact=True).select_option("mock-large")
    expect(totals.locator(".lp-head")).to_contain_text("model mock-large")
    for fact in large.split(" | "):
        expect(totals).to_contain_text(fact)
    summary = dashboard.locator("table.lp-t")
    expect(summary).to_contain_text("mock-large")
    expect(summary).not_to_contain_text("mock-1")
    notebook.screenshot("dashboard-filtered", notebook.cell("dashboard"))
