"""The HTML report: one self-contained file, deterministic, with every analysis's charts, each
with a title, a caption stating numbers, axis titles and a data table (structure compared, not the
bytes of plotly.js)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

import truefans
from truefans.report import render_report, write_report
from truefans.report.charts import charts_for
from truefans.report.registry import available

#: the structure of the small demo's report: sections and their charts, in order (the golden)
GOLDEN = [
    ("picture", ["picture-shares", "picture-dollars"]),
    ("fans", ["fans-tiers", "fans-channels"]),
    ("clv", ["clv-matrix", "clv-tracking"]),
    ("risk", ["risk-concentration", "risk-platforms"]),
    ("funnel", ["funnel-steps"]),
    ("attribution", ["attribution-models"]),
    ("content", ["content-scatter"]),
    ("credibility", ["credibility-audience", "credibility-bands"]),
    ("career", []),  # absent: the report has no profile of target companies and roles
    ("mix", ["mix-contributions", "mix-weekly"]),  # no curves: the review blocks the demo's fit
    ("plan", ["plan-allocation", "plan-weeks"]),
]
#: one point fit each instead of the report's 20 bootstrap refits (the structure is the same)
QUICK = {"mix": {"draws": "0"}, "plan": {"draws": "0"}}


class Outline(HTMLParser):
    """Sections, figures, scripts and external references of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[tuple[str, list[str]]] = []
        self.external: list[str] = []
        self.captions = 0
        self.tables = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" and a.get("data-analysis"):
            self.sections.append((str(a["data-analysis"]), []))
        if tag == "figure" and str(a.get("id") or "").startswith("fig-"):
            self.sections[-1][1].append(str(a["id"])[4:])
        if tag == "figcaption":
            self.captions += 1
        if tag == "caption":
            self.tables += 1
        for k in ("src", "href"):
            v = a.get(k)
            if v and not v.startswith("#"):
                self.external.append(v)
        if tag == "link":
            self.external.append(str(a))


@pytest.fixture(scope="module")
def report(demo_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "r.html"
    with truefans.open_workspace(demo_path) as ws:
        path = write_report(ws, out, analyses=None, options=QUICK)
    return path.read_text()


def _only(names: list[str]) -> list[tuple[str, list[str]]]:
    installed = {a.name for a in available()}
    return [(n, c) for n, c in GOLDEN if n in installed and n in names]


def test_report_structure_matches_the_golden(report):
    o = Outline()
    o.feed(report)
    installed = [a.name for a in available()]
    assert o.sections == _only(installed)
    assert not o.external  # everything inline: no script, style or image from anywhere
    n_charts = sum(len(c) for _, c in o.sections)
    assert o.captions == n_charts and o.tables == n_charts
    assert "<script>" in report and "Plotly" in report  # plotly.js inline
    assert "@media print" in report


def test_every_chart_has_a_title_axis_units_and_a_caption_with_numbers(report):
    figures = re.findall(
        r'<script type="application/json" id="data-([\w-]+)">(.*?)</script>', report
    )
    assert len(figures) == sum(len(c) for _, c in GOLDEN if c)
    for key, text in figures:
        fig = json.loads(text)
        lay = fig["layout"]
        assert lay["title"]["text"], key
        assert lay["xaxis"]["title"]["text"] and lay["yaxis"]["title"]["text"], key
        assert fig["data"], key
        caption = re.search(rf'id="cap-{key}"><span class="finding">(.*?)</span>', report)
        assert caption and re.search(r"\d", caption.group(1)), key


def test_the_report_is_deterministic(demo_path):
    with truefans.open_workspace(demo_path) as ws:
        a = render_report(ws, analyses=["picture", "risk", "clv"])
        b = render_report(ws, analyses=["picture", "risk", "clv"])
    strip = re.compile(r"<script>.*?</script>", re.S)
    assert strip.sub("", a) == strip.sub("", b)
    assert a == b


def test_filters_reach_every_section(demo_path):
    with truefans.open_workspace(demo_path) as ws:
        html = render_report(ws, since="2024-03-01", outcome="order", analyses=["picture", "risk"])
        direct = ws.picture(since="2024-03-01", outcome="order")
    assert html.count("--since 2024-03-01 --outcome order") == 2
    total = direct.extra["totals"]["dollars"]
    assert f"{total:,.0f}" in html  # the caption's total is the filtered one


def test_chart_captions_state_the_numbers_of_the_result(demo_path):
    with truefans.open_workspace(demo_path) as ws:
        res = ws.picture()
    [shares, _] = charts_for(res, ("picture_shares", "picture_dollars"))
    top = max(res.rows, key=lambda r: r["share_of_followers"] or 0)
    assert f"{top['share_of_followers']:.0%}" in shares.caption
    assert str(top["channel"]) in shares.caption


def test_sections_say_why_they_are_absent_and_slow_ones_are_included(report):
    career = report.split('data-analysis="career"')[1].split("</section>")[0]
    assert 'class="absent"' in career and "truefans career --profile FILE" in career
    assert "<figure" not in career
    mix = report.split('data-analysis="mix"')[1].split("</section>")[0]
    assert "truefans mix --draws 0 --format json" in mix
    assert "review blocks" in mix  # the caption says the model's numbers are not findings
    plan = report.split('data-analysis="plan"')[1].split("</section>")[0]
    budget = re.search(r"truefans plan --budget (\d+) --hours (\d+) --draws 0", plan)
    assert budget and int(budget.group(1)) > 0  # what the last 13 weeks cost, re-split
