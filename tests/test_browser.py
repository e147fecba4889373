"""In a real browser: the Dagster UI over a materialized store shows the pipeline's groups and checks,
and the segment report's pictures load. Headless Debian Chromium (never a downloaded browser);
screenshots go to test-artifacts/ at the project root, which CI keeps."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from retention.paths import DATA_DIR_ENV, DataDir
from tests.warehouse_fixtures import PROJECT_ROOT, build_store, demo_instance

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
AS_OF = date(2025, 6, 30)
DBT_GROUPS = ("staging", "intermediate", "marts", "audiences", "predictions")
INGESTION_GROUPS = ("shopify", "sendgrid", "twilio", "web", "reviews", "nps", "preferences", "subscriptions")
# Waits here are on conditions (the server answers, an element shows); this bound only catches a
# hang, so a loaded machine that is merely slow never fails them.
HANG_GUARD_SECONDS = 30 * 60

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def materialize_demo(root: Path) -> tuple[DataDir, list]:
    """A small store, one `daily_refresh` and one `activate_segments` on a persistent instance under root."""
    from orchestration.demo import ACTIVATION_HOUR, run_activation, run_range

    layout = build_store(root, customers=200, start=AS_OF - timedelta(days=120), end=AS_OF, seed=23, dirt_rate=0.0)
    log = root / "runs.log"
    with demo_instance(root) as instance:
        refresh = run_range(instance, "daily_refresh", AS_OF, AS_OF, log)
        now = datetime.combine(AS_OF + timedelta(days=1), ACTIVATION_HOUR, tzinfo=UTC)
        activation = run_activation(instance, now, log)
    return layout, [refresh, activation]


@contextlib.contextmanager
def dagster_webserver(root: Path):
    """`dagster-webserver` on loopback over the instance in root/dagster_home; yields its base URL."""
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(root / "dagster_home"), DATA_DIR_ENV: str(root)}
    command = [str(Path(sys.executable).with_name("dagster-webserver")), "-h", "127.0.0.1", "-p", str(port),
               "-m", "orchestration.definitions"]
    log = (root / "webserver.log").open("w")
    server = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + HANG_GUARD_SECONDS
        while True:
            if server.poll() is not None:
                raise AssertionError(f"dagster-webserver exited: {(root / 'webserver.log').read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{url}/server_info", timeout=5) as answer:
                    if answer.status == 200:
                        break
            if time.monotonic() > deadline:
                raise AssertionError(f"dagster-webserver did not become healthy in {HANG_GUARD_SECONDS} s")
            time.sleep(1)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)  # the server and the code server it started
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser_store")
    layout, results = materialize_demo(root)
    return root, layout, results


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def ui(demo):
    root, _, _ = demo
    with dagster_webserver(root) as url:
        yield url


def test_the_daily_run_and_the_activation_succeed_and_report(demo):
    _, layout, (refresh, activation) = demo
    assert refresh.success and activation.success
    [report] = refresh.asset_materializations_for_node("segment_report")
    metadata = report.metadata
    assert metadata["as_of"].value == AS_OF.isoformat()
    assert "| segment |" in metadata["segment_sizes"].value
    for name in ("segment_sizes", "retention_cohorts", "rfm_grid", "campaign_funnel"):
        assert metadata[f"picture_{name}"].value.startswith("![")
    assert (layout.reports / "index.html").exists() and list((layout.reports / "exports").glob("*.csv"))

def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.set_default_timeout(HANG_GUARD_SECONDS * 1000)  # a loaded machine renders the first graph slowly
    playwright.expect.set_options(timeout=HANG_GUARD_SECONDS * 1000)  # expect() has its own 5 s default
    page.goto(url, wait_until="networkidle")
    return page


def dismiss_welcome(page) -> None:
    """A fresh instance greets with a community dialog that covers the page."""
    skip = page.get_by_role("button", name="Skip")
    with contextlib.suppress(playwright.Error):
        skip.click(timeout=5_000)


def test_the_asset_graph_shows_ingestion_dbt_and_activation_groups(ui, browser):
    page = open_page(browser, f"{ui}/asset-groups")
    dismiss_welcome(page)
    expect = playwright.expect
    expect(page.get_by_text("Global asset lineage")).to_be_visible()
    for group in (*INGESTION_GROUPS, *DBT_GROUPS, "activation", "reports"):
        expect(page.get_by_text(group, exact=True).first).to_be_visible()
    page.wait_for_timeout(1_000)  # let the graph finish laying out before the picture
    page.screenshot(path=str(ARTIFACTS / "asset-graph.png"), full_page=True)
    page.close()


def test_an_asset_page_shows_its_blocking_checks(ui, browser):
    page = open_page(browser, f"{ui}/assets/landing/shopify/orders?view=checks")
    dismiss_welcome(page)
    expect = playwright.expect
    for check in ("counts_reconcile", "expectations"):
        expect(page.get_by_text(check, exact=True).first).to_be_visible()
    expect(page.get_by_text("Succeeded").first).to_be_visible()  # the daily run evaluated them
    expect(page.get_by_text("blocking", exact=False).first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "asset-checks.png"), full_page=True)
    page.close()


def test_the_segment_report_opened_from_disk_shows_its_pictures(demo, browser):
    _, layout, _ = demo
    page = open_page(browser, (layout.reports / "index.html").as_uri())
    images = page.eval_on_selector_all("img", "all => all.map(i => [i.getAttribute('src'), i.complete && i.naturalWidth])")
    assert len(images) == 4
    assert all(width > 0 for _, width in images), images
    assert "Customer segments as of 2025-06-30" in page.inner_text("h1")
    page.screenshot(path=str(ARTIFACTS / "segment-report.png"), full_page=True)
    page.close()
