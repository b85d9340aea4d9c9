"""The app and the report in a real browser (Playwright driving Debian's Chromium, installed by
`make browser`): upload a real export, open every page, change a date filter and see the numbers
change and equal the CLI's JSON; the report renders every chart with the network off.

Screenshots of each page go to ``.pytest_cache/artifacts/web/`` (or ``$TRUEFANS_ARTIFACTS``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import truefans
from live_server import serving
from truefans.cli import app as cli_app
from truefans.report import write_report
from truefans.report.registry import available
from truefans.web import create_app

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
EXPORTS = ROOT.parent / "shared" / "data" / "exports"
ARTIFACTS = Path(os.environ.get("TRUEFANS_ARTIFACTS", ROOT / ".pytest_cache" / "artifacts" / "web"))
#: fewer bootstrap draws on the attribution, mix and plan pages (their defaults take long on two
#: busy cores); career with the profile the test uploads on its page
PAGE_OPTIONS = {
    "attribution": "?draws=5",
    "mix": "?draws=0",
    "plan": "?budget=10000&draws=0",
    "career": "?profile=me.toml",
}
#: the report's mix and plan with one point fit each (the structure is the same)
QUICK = {"mix": {"draws": "0"}, "plan": {"draws": "0"}}
PROFILE = 'target_companies = ["Acme"]\ntarget_roles = ["founder", "manager", "analyst"]\n'

if not Path(CHROMIUM).exists():
    pytest.skip("Chromium is not installed: run `make browser`", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def workspace(demo_path, tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("browser") / "demo.duckdb"
    shutil.copy(demo_path, p)
    return p


@pytest.fixture(scope="module")
def server(workspace):
    with serving(create_app(workspace, upload_dir=workspace.parent / "uploads")) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not errors, errors


def shot(pg, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def wait_charts(pg, timeout: float = 240_000) -> int:
    pg.wait_for_function(
        "document.querySelectorAll('div.chart[data-figure]').length === "
        "document.querySelectorAll('div.chart[data-drawn]').length",
        timeout=timeout,
    )
    return int(
        pg.evaluate(
            "[...document.querySelectorAll('div.chart[data-drawn]')]"
            ".filter(e => e.querySelector('svg.main-svg')).length"
        )
    )


def cell(pg, channel_id: str, column: str) -> str:
    """A cell of the picture's rows table, by channel id and column name."""
    return str(
        pg.evaluate(
            """([ch, col]) => {
              const t = document.querySelector('table.rows[data-analysis=picture]');
              const head = [...t.querySelectorAll('thead th')].map(th => th.textContent.trim());
              const ci = head.indexOf('channel_id'), k = head.indexOf(col);
              for (const tr of t.querySelectorAll('tbody tr')) {
                const tds = tr.querySelectorAll('td');
                if (tds[ci].textContent.trim() === ch) return tds[k].textContent.trim();
              }
              return null;
            }""",
            [channel_id, column],
        )
    )


@pytest.mark.skipif(not EXPORTS.exists(), reason="../shared/data/exports not present")
def test_upload_a_real_export_and_see_its_summary(server, page):
    page.goto(server + "/upload")
    good = EXPORTS / "mailchimp" / "subscribed_members_export_3f9a1c2b7d.csv"
    bad = EXPORTS / "mailchimp" / "subscribed_members_export_bad.csv"
    page.set_input_files("#files", [str(good), str(bad)])
    page.click("#upload-button")
    page.wait_for_selector("#summary[data-finished]", timeout=120_000)
    rows = page.locator("#import-summary tbody tr[data-file]")
    assert rows.count() == 2
    ok = page.locator(f'#import-summary tr[data-file="{good.name}"] td.status-ok')
    assert ok.count() == 1
    assert (
        page.locator(f'#import-summary tr[data-file="{bad.name}"] td.status-rejects').count() == 1
    )
    assert page.locator("#import-summary tr.reject").count() >= 1  # its rejected rows, with reasons
    assert "Imported 2 of 2" in page.locator("#progress-label").inner_text()
    shot(page, "upload")


def test_every_page_opens_with_its_charts_drawn(server, page, tmp_path):
    # career needs a profile: upload one on its page first
    profile = tmp_path / "me.toml"
    profile.write_text(PROFILE)
    page.goto(server + "/a/career")
    assert page.locator("section[data-analysis=career] p.absent").count() == 1
    page.set_input_files("#profile-file", str(profile))
    page.click("#profile-button")
    page.wait_for_url("**/a/career?profile=me.toml")
    page.goto(server + "/")
    assert wait_charts(page) >= 1
    shot(page, "overview")
    links = page.eval_on_selector_all(
        "header nav a[href^='/a/']", "els => els.map(e => e.getAttribute('href'))"
    )
    assert {f"/a/{a.name}" for a in available()} == set(links)
    for href in links:
        name = href.split("/")[-1]
        page.goto(server + href + PAGE_OPTIONS.get(name, ""))
        if page.locator("#analysis-job").count():  # mix, plan: a background job, then a reload
            shot(page, f"page-{name}-computing")
            page.wait_for_selector(f"section[data-analysis={name}] figure", timeout=900_000)
        assert page.locator(f"section[data-analysis={name}]").count() == 1
        assert page.locator("section .error").count() == 0, page.locator(
            "section .error"
        ).inner_text()
        drawn = wait_charts(page)
        assert drawn == page.locator("div.chart").count() >= 1, name
        shot(page, f"page-{name}")


def test_a_date_filter_changes_the_numbers_and_they_equal_the_cli(server, page, workspace):
    page.goto(server + "/a/picture")
    wait_charts(page)
    before = cell(page, "newsletter", "dollars")
    page.fill("input[name=since]", "2024-06-01")
    page.fill("input[name=until]", "2024-12-31")
    page.click("form#filters button[type=submit]")
    page.wait_for_url("**/a/picture?*since=2024-06-01*")
    wait_charts(page)
    after = cell(page, "newsletter", "dollars")
    assert after != before
    shot(page, "picture-filtered")
    # the filters follow to the next page through the URL
    assert "since=2024-06-01" in (page.get_attribute("header nav a[href^='/a/risk']", "href") or "")
    res = CliRunner().invoke(
        cli_app,
        [
            "--workspace",
            str(workspace),
            "picture",
            "--since",
            "2024-06-01",
            "--until",
            "2024-12-31",
            "--format",
            "json",
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    rows = {r["channel_id"]: r for r in json.loads(res.stdout)["rows"]}
    assert float(after.replace(",", "")) == pytest.approx(rows["newsletter"]["dollars"], abs=0.005)
    assert float(before.replace(",", "")) != pytest.approx(rows["newsletter"]["dollars"])


def test_the_report_renders_every_chart_offline(browser, workspace, tmp_path):
    with truefans.open_workspace(workspace) as ws:
        path = write_report(ws, tmp_path / "report.html", options=QUICK)
    ctx = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
    asked: list[str] = []

    def block(route):
        asked.append(route.request.url)
        route.abort()

    ctx.route("http*://**", block)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(path.as_uri())
    wait_charts(pg, timeout=120_000)
    per_chart = pg.eval_on_selector_all(
        "div.chart",
        "els => els.map(e => [e.dataset.figure, e.querySelectorAll('svg.main-svg').length])",
    )
    figures = pg.locator("script[type='application/json'][id^=data-]").count()
    assert len(per_chart) == figures  # every chart built
    sections = pg.eval_on_selector_all(
        "section.analysis",
        "els => els.map(e => [e.dataset.analysis, !!e.querySelector('p.absent'),"
        " e.querySelectorAll('div.chart').length])",
    )
    assert [s[0] for s in sections] == [a.name for a in available()]
    assert all(absent or n >= 1 for _, absent, n in sections), sections  # or says why not
    assert all(n >= 1 for _, n in per_chart), per_chart
    assert not asked and not errors
    shot(pg, "report")
    pg.emulate_media(media="print")
    pdf_ok = pg.evaluate("getComputedStyle(document.querySelector('header.top nav')).display")
    assert pdf_ok == "none"  # the print style hides the navigation
    ctx.close()
