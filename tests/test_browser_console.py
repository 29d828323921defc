"""Real browser: a runaway console query hurts nobody, names are text, nothing leaves 127.0.0.1.

One Streamlit server over a warehouse with hostile names (tests/fixtures/hostile.py), two users
in Debian's Chromium (two browser contexts = two Streamlit sessions):

* user A runs a runaway query in the SQL console;
* while it runs, user B loads every page: each draws its charts with no Streamlit error; no link
  or image points at the hostile host, Plotly draws no ``<a>``/bold markup from the data, and the
  hostile names appear as literal text in the charts;
* A's query is then stopped with the time-limit message;
* every request both pages made (HTTP and websocket) went to the app's own 127.0.0.1 origin.
"""

from __future__ import annotations

import time

import pytest

from dashboards import harness
from tests.fixtures.hostile import EVIL_HOST, build_hostile_warehouse

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("dashboard_browser")]

if harness.chromium_path() is None:
    pytest.skip(
        "chromium is not installed: run `make browser-deps` (Debian package `chromium`) to enable browser tests",
        allow_module_level=True,
    )

TIMEOUT_S = 120  # user A's query limit: user B walks the pages meanwhile (all of them on an idle machine)
PAGE_TIMEOUT_S = 240  # a page's first chart, on a machine loaded by other work
RUNAWAY = "SELECT count(*) FROM range(1000000000000) a, range(1000) b"
SVG_TEXT = "() => Array.from(document.querySelectorAll('.js-plotly-plot svg text')).map(t => t.textContent)"
MARKUP = (
    "() => ({links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),"
    " images: Array.from(document.querySelectorAll('img[src]')).map(i => i.src),"
    " svgLinks: document.querySelectorAll('.js-plotly-plot svg a').length,"
    " bold: Array.from(document.querySelectorAll('.js-plotly-plot svg tspan'))"
    "   .filter(t => (t.getAttribute('style') || '').includes('bold')).map(t => t.textContent)})"
)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("browser_console")
    db = root / "warehouse.duckdb"
    build_hostile_warehouse(db, days=21, requests_per_day=150)
    env = {
        "GATEWAYLENS_DB": str(db),
        "GATEWAYLENS_SERVING": str(root / "none.serving.duckdb"),
        "GATEWAYLENS_CONSOLE_TIMEOUT_S": str(TIMEOUT_S),
    }
    with harness.serve(env, log=root / "streamlit.log") as base:
        yield base


def test_runaway_console_query_while_another_user_loads_every_page(app_url: str) -> None:
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=harness.chromium_path(), args=harness.CHROMIUM_ARGS, headless=True)
        try:
            users = [browser.new_context(viewport={"width": 1600, "height": 2400}) for _ in range(2)]
            for ctx in users:
                ctx.on("request", lambda r: requests.append(r.url))
                ctx.on("websocket", lambda ws: requests.append(ws.url))
            a, b = (ctx.new_page() for ctx in users)

            # user A: a runaway query in the console
            harness.open_page(a, app_url, "SQL", "sql", timeout_s=PAGE_TIMEOUT_S)
            a.locator("textarea").first.fill(RUNAWAY)
            a.get_by_test_id("stBaseButton-primaryFormSubmit").click()
            started = time.monotonic()
            a.wait_for_selector('[data-testid="stStatusWidget"]', timeout=30_000)  # the query is running

            # user B: every page, meanwhile
            shown_text: list[str] = []
            during: list[str] = []  # pages B loaded completely while A's query was still running
            for title, path in harness.PAGES:
                load = harness.open_page(b, app_url, title, path, timeout_s=PAGE_TIMEOUT_S)
                if a.query_selector('[data-testid="stStatusWidget"]') is not None:
                    during.append(title)
                assert load.seconds_to_chart is not None, f"{title}: no chart while A's query ran"
                assert not load.errors, f"{title}: {load.errors}"
                markup = b.evaluate(MARKUP)
                assert not [u for u in markup["links"] + markup["images"] if EVIL_HOST in u], (title, markup)
                assert markup["svgLinks"] == 0, f"{title}: Plotly drew a link from the data"
                # <b>bold</b> / <b>model</b> from the data drawn as markup would be a bold tspan "bold" / "model"
                assert not [t for t in markup["bold"] if t.strip() in ("bold", "model")], (title, markup["bold"])
                shown_text += b.evaluate(SVG_TEXT)
            walked_s = time.monotonic() - started
            print(f"B walked {len(harness.PAGES)} pages in {walked_s:.0f} s; {len(during)} loaded during A's query: {during}")
            assert during, "no page of B loaded while A's query ran"
            assert len(during) == len(harness.PAGES) or walked_s >= TIMEOUT_S, "A's query ended before its limit"

            # hostile names are drawn as literal text (legends, ticks)
            joined = "\n".join(shown_text)
            for literal in ("<b>bold</b>", "[x](http://evil.example/x)", "$x$", "<a href=http://evil.example/a>a</a>"):
                assert literal in joined, f"{literal!r} not drawn as text"

            # user A: stopped at the limit with a clear message (the walk may have outlasted it)
            a.wait_for_selector(f"text=longer than {TIMEOUT_S} s", timeout=(TIMEOUT_S + 120) * 1000)
        finally:
            browser.close()

    outside = [u for u in requests if not u.startswith((app_url, app_url.replace("http", "ws"), "data:", "blob:"))]
    assert requests and not outside, f"requests left the host: {sorted(set(outside))[:10]}"
