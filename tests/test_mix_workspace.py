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
