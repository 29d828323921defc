"""Drive the real app in headless Chromium: used by tests/test_browser.py and benchmarks/dashboard.py.

* :func:`serve` starts ``streamlit run dashboards/app.py`` on 127.0.0.1 and a free port as a
  subprocess with the given environment, waits for its health endpoint and stops it afterwards.
* :func:`chromium` launches Debian's Chromium (``/usr/bin/chromium``) through Playwright (its own
  browser download does not work offline).
* :func:`open_page` loads one page and returns the seconds from navigation to the first rendered
  Plotly chart, and the Streamlit error elements present.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dashboards" / "app.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# (title, url path) of every page, in the sidebar's order. "" = the default page (Overview).
PAGES: list[tuple[str, str]] = [
    ("Overview", ""),
    ("Tool calling", "tool_calling"),
    ("Reasoning", "reasoning"),
    ("Model mix", "model_mix"),
    ("Providers", "providers"),
    ("Load", "load"),
    ("Latency, errors & cache", "performance"),
    ("Data policy", "data_policy"),
    ("Lock-in", "lock_in"),
    ("Users", "users"),
    ("Data quality", "data_quality"),
    ("SQL", "sql"),
]
CHART = ".js-plotly-plot .main-svg"
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def chromium_path() -> str | None:
    """Debian's Chromium when installed (``make browser-deps``), else None."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    return shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(env: dict[str, str], *, port: int | None = None, timeout_s: float = 60.0, log: Path | None = None) -> Iterator[str]:
    """Run the dashboard with ``env`` added to the environment; yield its base URL."""
    port = port or free_port()
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {proc.returncode} (see {log or 'its output'})")
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"streamlit did not answer on {base} within {timeout_s:g} s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if log:
            out.close()


@contextlib.contextmanager
def chromium(viewport: tuple[int, int] = (1600, 1000)):
    """A Playwright page in headless Debian Chromium."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        raise FileNotFoundError("chromium is not installed (run `make browser-deps`)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            yield context.new_page()
        finally:
            browser.close()


@dataclass
class PageLoad:
    title: str
    url: str
    seconds_to_chart: float | None  # None: no chart within the timeout
    charts: int
    errors: list[str]


def open_page(page, base: str, title: str, path: str, *, timeout_s: float = 30.0, settle_s: float = 0.0) -> PageLoad:
    """Navigate to a page, time until the first Plotly chart is drawn, then collect errors."""
    url = f"{base}/{path}"
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    seconds: float | None
    try:
        page.wait_for_selector(CHART, state="visible", timeout=timeout_s * 1000)
        seconds = time.perf_counter() - started
    except Exception:  # playwright TimeoutError
        seconds = None
    # Wait for the script run to finish (the "running" indicator disappears) before judging errors.
    with contextlib.suppress(Exception):
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_s * 1000
        )
    if settle_s:
        page.wait_for_timeout(settle_s * 1000)
    errors = [e.inner_text()[:500] for e in page.query_selector_all(ERRORS)]
    charts = len(page.query_selector_all(".js-plotly-plot"))
    return PageLoad(title, url, seconds, charts, errors)


def build_demo_warehouse(
    db: Path, *, days: int, requests_per_day: int, seed: int = 7, start=None, landing: Path | None = None,
    bad_lines: bool = True, before_marts=None,
) -> dict:
    """Generate traffic with the project's generator, ingest it and build every mart into ``db``.

    ``bad_lines`` adds one small hand-made file with malformed lines (for the data-quality page).
    ``before_marts(con)``, when given, runs on the warehouse between ingest and the marts (tests
    use it to give the data hostile names).
    Returns counts and timings. Used by the browser test and the dashboard benchmark.
    """
    import datetime as dt
    import json

    from gatewaylens import db as dbmod, marts
    from gatewaylens.generator import generate
    from gatewaylens import alerts
    from gatewaylens.ingest import ingest_paths

    start = start or dt.date(2025, 1, 1)
    landing = landing or db.parent / "landing"
    t0 = time.perf_counter()
    gen = generate(days, requests_per_day, seed, landing, start=start)
    t1 = time.perf_counter()
    paths: list[Path] = list(gen.files)
    if bad_lines:
        bad = landing / "bad" / "broken.jsonl"
        bad.parent.mkdir(parents=True, exist_ok=True)
        good = json.loads(gen.files[0].read_text().splitlines()[0])
        lines = [json.dumps({**good, "request_id": "bad-1", "input_tokens": "many"}), "{not json", "[1, 2, 3]"]
        bad.write_text("\n".join(lines) + "\n")
        paths.append(bad)
    con = dbmod.connect(db)
    try:
        summary = ingest_paths(con, paths, salt="dashboard-test-salt")
        t2 = time.perf_counter()
        if before_marts is not None:
            before_marts(con)
        marts.build_all(con, start, start + dt.timedelta(days=days - 1))
        alerts.evaluate(con)  # the alerts table, as the pipeline's `alerts` asset writes it
    finally:
        con.close()
    t3 = time.perf_counter()
    return {
        "rows": summary.rows_inserted,
        "quarantined": summary.quarantined,
        "generate_s": t1 - t0,
        "ingest_s": t2 - t1,
        "marts_s": t3 - t2,
        "start": start,
        "end": start + dt.timedelta(days=days - 1),
    }
