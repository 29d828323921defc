"""The real app in headless Chromium: every page draws a Plotly chart and shows no Streamlit error.

Starts `streamlit run dashboards/app.py` on 127.0.0.1 and a free port against a warehouse built by
the project's generator + ingest + marts, opens every page in Debian's Chromium through
Playwright, and saves a screenshot per page (path printed; kept in pytest's tmp dir).
"""

from __future__ import annotations

import datetime as dt

import pytest

from dashboards import harness

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("dashboard_browser")]

if harness.chromium_path() is None:
    pytest.skip(
        "chromium is not installed: run `make browser-deps` (Debian package `chromium`) to enable browser tests",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("browser")
    db = root / "warehouse.duckdb"
    harness.build_demo_warehouse(db, days=35, requests_per_day=200, start=dt.date(2025, 1, 1))
    with harness.serve({"GATEWAYLENS_DB": str(db), "GATEWAYLENS_SERVING": str(root / "none.serving.duckdb")}, log=root / "streamlit.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser_page(app_url):
    with harness.chromium(viewport=(1600, 2400)) as page:
        yield page


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("screenshots")


@pytest.mark.parametrize("title,path", harness.PAGES, ids=[p or "overview" for _, p in harness.PAGES])
def test_page_renders_a_chart_without_errors(app_url, browser_page, shots, title: str, path: str) -> None:
    load = harness.open_page(browser_page, app_url, title, path, timeout_s=120)
    shot = shots / f"{path or 'overview'}.png"
    browser_page.screenshot(path=str(shot), full_page=True)
    print(f"{title}: first chart after {load.seconds_to_chart} s, {load.charts} charts, screenshot {shot}")
    assert load.seconds_to_chart is not None, f"no Plotly chart rendered on {title} (screenshot: {shot})"
    assert browser_page.query_selector(".main-svg") is not None
    assert not load.errors, f"Streamlit error on {title}: {load.errors}"
    assert shot.stat().st_size > 10_000
    # the page is the one asked for: its title is visible
    heading = browser_page.query_selector("h1")
    assert heading is not None and heading.inner_text().strip()
