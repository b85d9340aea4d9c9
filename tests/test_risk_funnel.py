"""`risk` and `funnel`: the demo's truth, interval coverage, and awkward data."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import truefans
from truefans.cli import app
from truefans.errors import TruefansError
from truefans.measure.funnel import PRESETS, funnel, jeffreys
from truefans.measure.risk import OWNED, risk


@pytest.fixture(scope="module")
def demo(demo_path):
    with truefans.open_workspace(demo_path) as w:
        yield w


def _true_platform_dollars(ws) -> dict[str, float]:
    rows = ws.con.execute(
        """SELECT c.platform,
                  sum(CASE WHEN o.type IN ('refund', 'fee') THEN -abs(o.value) ELSE o.value END)
           FROM truth t JOIN outcomes o USING (outcome_id) JOIN channels c ON c.channel_id = t.channel_id
           WHERE o.value IS NOT NULL AND NOT c.owned GROUP BY 1"""
    ).fetchall()
    return {p: float(v) for p, v in rows}


def test_risk_ranks_the_truly_most_important_platform_first(demo):
    res = risk(demo)
    truth = _true_platform_dollars(demo)
    top_true = max(truth, key=lambda p: truth[p])
    rented = [r for r in res.rows if not r["owned"]]
    assert rented[0]["platform"] == top_true
    top = rented[0]
    assert top["dollars_at_risk_low"] <= truth[top_true] <= top["dollars_at_risk_high"]
    # every platform's range holds its true loss
    for r in rented:
        assert r["dollars_at_risk_low"] <= truth.get(r["platform"], 0.0) + 0.01
        assert truth.get(r["platform"], 0.0) <= r["dollars_at_risk_high"] + 0.01
        assert 0 <= r["rescuable"] <= 1
    owned = next(r for r in res.rows if r["owned"])
    assert owned["platform"] == OWNED and owned["dollars_at_risk_high"] == 0
    assert sum(r["share_of_dollars"] for r in res.rows) == pytest.approx(1.0, abs=1e-9)
    # the vanity platform: most of the followers, almost none of the dollars
    meta = next(r for r in res.rows if r["platform"] == "meta")
    assert meta["share_of_audience"] > 0.5 > 0.01 > meta["share_of_dollars"]
    ex = res.extra
    assert 0 < ex["hhi"] <= 1 and ex["effective_platforms"] == pytest.approx(1 / ex["hhi"])
    assert 0 <= ex["one_platform_share"] <= ex["owned_share"] + 1
    assert ex["monthly"] and all(0 < m["hhi_dollars"] <= 1 for m in ex["monthly"])
    assert "trend_per_month" in ex["monthly"][0]
    for key in ("hhi", "effective_channels", "owned_share"):
        assert key in res.to_dict()


def test_funnel_on_the_demo(demo):
    res = funnel(demo)
    steps = PRESETS["business"].steps
    by_channel: dict[str, list[dict]] = {}
    for r in res.rows:
        by_channel.setdefault(r["channel"], []).append(r)
    for rows in by_channel.values():
        assert [r["step"] for r in rows] == list(steps)
        people = [r["people"] for r in rows]
        assert people == sorted(people, reverse=True)
        for r in rows[1:]:
            if r["rate"] is not None:
                assert r["rate_low"] <= r["rate"] <= r["rate_high"]
    whole = funnel(demo, by="all").rows
    assert whole[0]["people"] == demo.count("people")
    buyers = demo.con.execute(
        """SELECT count(DISTINCT person_id) FROM outcomes WHERE person_id IS NOT NULL
           AND type IN ('order', 'new_account', 'renewal') AND value >= 0"""
    ).fetchone()[0]
    assert next(r for r in whole if r["step"] == "customer")["people"] == buyers
    assert res.extra["cohorts"] and res.to_dict()["by"] == "channel"
    for by in ("platform", "content"):
        assert funnel(demo, by=by).rows


def test_jeffreys_intervals_cover_simulated_funnels():
    """500 simulated steps with known rates: the 95% intervals cover the truth 93-97% of the time."""
    rng = np.random.default_rng(2024)
    n = rng.integers(5, 400, 500)
    p = rng.uniform(0.02, 0.98, 500)
    k = rng.binomial(n, p)
    lo, hi = jeffreys(k, n)
    coverage = float(((lo <= p) & (p <= hi)).mean())
    assert 0.93 <= coverage <= 0.97, coverage
    lo, hi = jeffreys(np.array([0, 5, 0]), np.array([10, 5, 0]))
    assert lo[0] == 0 and hi[1] == 1 and math.isnan(lo[2])


def _write(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_awkward_data_gives_clean_output(tmp_path):
    ws = truefans.open_workspace(tmp_path / "w.duckdb")
    files = [
        _write(
            tmp_path / "channels.csv",
            ["channel_id", "name", "kind", "platform", "owned"],
            [
                ["insta", "Instagram", "social", "meta", "false"],
                ["shop", "Shop", "web", "self", "true"],
            ],
        ),
        _write(
            tmp_path / "touchpoints.csv",
            ["touch_id", "person_id", "ts", "channel_id", "kind"],
            [["t1", "solo", "2024-03-01 10:00", "insta", "like"]],
        ),
        # every outcome on one platform, no costs, no metrics
        _write(
            tmp_path / "outcomes.csv",
            ["outcome_id", "person_id", "ts", "type", "value", "currency"],
            [["o1", "solo", "2024-03-02 10:00", "order", "20", "USD"]],
        ),
    ]
    assert all(r.status == "ok" for r in ws.import_files(files))
    r = risk(ws)
    insta = next(x for x in r.rows if x["platform"] == "meta")
    assert insta["share_of_dollars"] == 1.0 and insta["dollars_at_risk_low"] == 20
    assert r.extra["hhi"] == 1.0
    json.dumps(r.to_dict())
    f = funnel(ws)
    # the buyer counts at every step up to customer; nobody bought twice
    assert [x["people"] for x in f.rows] == [1, 1, 1, 1, 1, 0]
    assert all(x["rate"] is None or 0 <= x["rate"] <= 1 for x in f.rows)
    json.dumps(f.to_dict())
    # an empty workspace: clear answers, no crash
    empty = truefans.open_workspace(tmp_path / "empty.duckdb")
    assert risk(empty).rows == [] or all(x["outcomes"] == 0 for x in risk(empty).rows)
    with pytest.raises(TruefansError):
        funnel(empty, by="galaxy")


def test_cli_risk_and_funnel(demo_path):
    runner = CliRunner()
    out = runner.invoke(app, ["--workspace", str(demo_path), "risk", "-f", "json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    for key in (
        "platform",
        "share_of_outcomes",
        "share_of_dollars",
        "share_of_audience",
        "dollars_at_risk_low",
        "dollars_at_risk_high",
    ):
        assert key in payload["rows"][0]
    for key in ("hhi", "effective_channels", "owned_share"):
        assert key in payload
    out = runner.invoke(app, ["--workspace", str(demo_path), "risk"])
    assert out.exit_code == 0 and "at risk" in out.output
    out = runner.invoke(app, ["--workspace", str(demo_path), "funnel", "-f", "json", "--by", "all"])
    payload = json.loads(out.output)
    assert payload["by"] == "all"
    for key in ("step", "people", "rate", "rate_low", "rate_high"):
        assert key in payload["rows"][0]
    out = runner.invoke(app, ["--workspace", str(demo_path), "funnel"])
    assert out.exit_code == 0 and "Funnel" in out.output
    out = runner.invoke(app, ["--workspace", str(demo_path), "funnel", "--persona", "jobseeker"])
    assert out.exit_code == 0 and "interview" in out.output


def test_risk_credits_outcomes_as_the_picture_does(demo):
    """risk re-states the picture's rule inside its own journey join: the two must agree."""
    picture = demo.picture()
    by_group: dict[str, float] = {}
    counts: dict[str, int] = {}
    for r in picture.rows:
        if r["channel_id"] == "(unattributed)":
            continue
        group = OWNED if r["owned"] else r["platform"]
        by_group[group] = by_group.get(group, 0.0) + (r["dollars"] or 0.0)
        counts[group] = counts.get(group, 0) + r["outcomes"]
    for r in risk(demo).rows:
        assert r["dollars"] == pytest.approx(by_group[r["platform"]], abs=0.05), r["platform"]
        assert r["outcomes"] == counts[r["platform"]], r["platform"]
