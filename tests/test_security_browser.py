"""The Content Security Policy in a real browser: every page of the app loads and draws its charts
with no violation reported (Chromium's ``securitypolicyviolation`` events and console)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from live_server import serving
from truefans.report.registry import available
from truefans.web import create_app

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"

if not Path(CHROMIUM).exists():
    pytest.skip("Chromium is not installed: run `make browser`", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

#: the attribution page with fewer bootstrap draws (its defaults take long on two busy cores)
PAGE_OPTIONS = {"attribution": "?draws=5"}
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture(scope="module")
def server(demo_path, tmp_path_factory):
    ws = tmp_path_factory.mktemp("csp") / "demo.duckdb"
    shutil.copy(demo_path, ws)
    with serving(create_app(ws, upload_dir=ws.parent / "uploads")) as base:
        yield base, ws


def test_no_page_violates_the_content_security_policy(server):
    base, _ = server
    names = [a.name for a in available()]
    paths = ["/", "/upload", "/login"] + [f"/a/{n}{PAGE_OPTIONS.get(n, '')}" for n in names]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        ctx = browser.new_context()
        ctx.add_init_script(WATCH)
        page = ctx.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text))
        drawn = 0
        for path in paths:
            page.goto(base + path)
            page.wait_for_load_state("load")
            if page.locator("div.chart[data-figure]").count():
                page.wait_for_function(
                    "document.querySelectorAll('div.chart[data-figure]').length === "
                    "document.querySelectorAll('div.chart[data-drawn]').length",
                    timeout=240_000,
                )
                drawn += page.locator("div.chart[data-drawn] svg.main-svg").count()
            violations = page.evaluate("window.__csp")
            assert violations == [], (path, violations)
        browser.close()
    assert drawn > 0, "the pages drew charts under the policy"
    assert not [m for m in console if "Content Security Policy" in m], console
