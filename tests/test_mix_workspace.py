"""`mix` and `plan` on a workspace: weekly aggregates, the demo's plan, the CLI contract."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import truefans
from truefans.cli import app
from truefans.errors import TruefansError
from truefans.measure.mix import plan, weekly


@pytest.fixture(scope="module")
def demo(demo_path):
    with truefans.open_workspace(demo_path) as w:
        yield w


def test_weekly_aggregates_add_up(demo):
    w = weekly(demo.engine)
    net = demo.con.execute(
        """SELECT sum(CASE WHEN type IN ('refund', 'fee') THEN -abs(value) ELSE value END)
           FROM outcomes WHERE value IS NOT NULL AND currency = 'USD'"""
    ).fetchone()[0]
    assert float(w.y.sum()) == pytest.approx(float(net), rel=1e-9)
    dollars, hours = demo.con.execute(
        "SELECT sum(dollars), sum(hours) FROM costs WHERE currency = 'USD'"
    ).fetchone()
    got_d = sum(float(np.sum(i.values)) for i in w.inputs if i.unit == "dollars")
    got_h = sum(float(np.sum(i.values)) for i in w.inputs if i.unit == "hours")
    assert got_d == pytest.approx(float(dollars), rel=1e-9)
    assert got_h == pytest.approx(float(hours), rel=1e-9)
    assert all(
        w.weeks[i + 1] - w.weeks[i] == w.weeks[1] - w.weeks[0] for i in range(len(w.weeks) - 1)
    )
    counts = weekly(demo.engine, target="outcomes", outcome=["call"])
    calls = demo.con.execute("SELECT count(*) FROM outcomes WHERE type = 'call'").fetchone()[0]
    assert counts.y.sum() == calls


@pytest.fixture(scope="module")
def demo_plan(demo):
    w = weekly(demo.engine)
    last = {i.name: float(np.mean(np.asarray(i.values)[-13:])) for i in w.inputs}
    budget = 13 * sum(v for k, v in last.items() if k.endswith("dollars"))
    hours = 13 * sum(v for k, v in last.items() if k.endswith("hours"))
    return plan(demo, budget=budget, hours=hours, max_share=0.4, weeks=13, draws=0), last


def test_plan_moves_money_and_hours_away_from_the_vanity_channel(demo_plan):
    res, last = demo_plan
    rows = {(r["channel_id"], r["unit"]): r for r in res.rows}
    dollars_now = sum(v for k, v in last.items() if k.endswith("dollars"))
    hours_now = sum(v for k, v in last.items() if k.endswith("hours"))
    ig_d, ig_h = rows[("instagram", "dollars")], rows[("instagram", "hours")]
    assert ig_d["share"] < last["instagram dollars"] / dollars_now
    assert ig_h["share"] < last["instagram hours"] / hours_now
    # the cap holds exactly, per unit
    for unit in ("dollars", "hours"):
        shares = [r["share"] for r in res.rows if r["unit"] == unit]
        assert max(shares) <= 0.4 + 1e-9
        assert sum(shares) <= 1 + 1e-9
    assert res.extra["expected_low"] <= res.extra["expected_total"] <= res.extra["expected_high"]
    assert res.extra["source"]


def test_plan_and_mix_options_are_checked(demo):
    for kw in ({"budget": -1}, {"budget": 10, "max_share": 0}, {"budget": 10, "weeks": 0}):
        with pytest.raises(TruefansError):
            plan(demo, **kw)
    with pytest.raises(TruefansError):
        weekly(demo.engine, target="likes")


def test_cli_plan_json(demo_path):
    runner = CliRunner()
    out = runner.invoke(
        app,
        [
            "--workspace",
            str(demo_path),
            "plan",
            "--budget",
            "20000",
            "--hours",
            "600",
            "--max-share",
            "0.4",
            "--draws",
            "0",
            "-f",
            "json",
        ],
    )
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    for key in ("channel_id", "dollars", "hours", "share", "expected_outcome"):
        assert key in payload["rows"][0]
    for key in ("expected_total", "expected_low", "expected_high"):
        assert key in payload
    assert max(r["share"] for r in payload["rows"]) <= 0.4 + 1e-9


@pytest.fixture(scope="module")
def spend_driven(tmp_path_factory):
    """Two years of weekly spend on two channels and orders that respond to it (seeded)."""
    import csv
    import datetime as dt

    tmp = tmp_path_factory.mktemp("mixws")
    rng = np.random.default_rng(5)
    weeks = 104
    start = dt.date(2023, 1, 2)
    spend = {
        "search": 800 + 400 * rng.random(weeks) * (rng.random(weeks) < 0.7),
        "social": 300 + 500 * rng.random(weeks) * (rng.random(weeks) < 0.6),
    }
    effect = np.zeros(weeks)
    for beta, k, decay, x in (
        (9000.0, 900.0, 0.4, spend["search"]),
        (4000.0, 500.0, 0.6, spend["social"]),
    ):
        ad = np.zeros(weeks)
        for t in range(weeks):
            ad[t] = x[t] + (decay * ad[t - 1] if t else 0.0)
        effect += beta * ad / (ad + k)
    dollars = 5000 + effect + rng.normal(0, 300, weeks)
    with (tmp / "channels.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["channel_id", "kind"])
        w.writerows([["search", "paid"], ["social", "social"]])
    with (tmp / "costs.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["channel_id", "period_start", "period_end", "dollars", "currency"])
        for t in range(weeks):
            d = start + dt.timedelta(days=7 * t)
            for ch, x in spend.items():
                w.writerow([ch, d, d + dt.timedelta(days=6), round(float(x[t]), 2), "USD"])
    with (tmp / "outcomes.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["outcome_id", "ts", "type", "value", "currency"])
        for t in range(weeks):
            d = start + dt.timedelta(days=7 * t + 2)
            w.writerow([f"o{t}", f"{d} 12:00:00", "order", round(float(dollars[t]), 2), "USD"])
    ws = truefans.open_workspace(tmp / "w.duckdb")
    reports = ws.import_files([tmp / "channels.csv", tmp / "costs.csv", tmp / "outcomes.csv"])
    assert all(r.status == "ok" for r in reports), reports
    yield ws
    ws.close()


def test_mix_on_spend_driven_data_shows_curves_and_plans_by_week(spend_driven):
    from truefans.measure.mix import mix

    res = mix(spend_driven, draws=20)
    assert res.extra["fit"]["ok"], res.extra["review"]
    rows = {r["channel_id"]: r for r in res.rows}
    assert set(rows) == {"search", "social"}
    for r in rows.values():
        assert r["contribution_low"] <= r["contribution"] <= r["contribution_high"]
        assert r["roi"] > 0 and r["mroi"] >= 0
    curves = res.extra["curves"]
    assert set(curves) == {"search dollars", "social dollars"}
    c = curves["search dollars"]
    assert c["weekly_outcome"] == sorted(c["weekly_outcome"])  # more spend, more outcome
    assert abs(sum(c["adstock"]) - 1) < 1e-6
    p = plan(spend_driven, budget=13 * 1500, weeks=13, draws=20)
    alloc = p.extra["allocation"]
    assert len(alloc["amounts"]) == 13 and len(alloc["amounts"][0]) == len(alloc["inputs"])
    assert "mix model" in p.extra["source"]
    cautious = plan(spend_driven, budget=13 * 1500, weeks=13, draws=20, risk_quantile=0.1)
    assert cautious.extra["expected_total"] <= p.extra["expected_total"] + 1e-6
