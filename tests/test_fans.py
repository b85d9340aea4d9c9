"""`fans`: the demo's planted true fans are found, tiers are consistent, options and the CLI work."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import truefans
from truefans.cli import app
from truefans.errors import TruefansError
from truefans.measure.fans import TIERS, fans


@pytest.fixture(scope="module")
def demo(demo_path):
    with truefans.open_workspace(demo_path) as w:
        yield w


def _truth(ws, label: str) -> set[str]:
    rows = ws.con.execute("SELECT person_id FROM truth_people WHERE label = ?", [label]).fetchall()
    return {r[0] for r in rows}


def test_planted_true_fans_are_found(demo):
    found = set(fans(demo, list_tier="true_fan").table["person_id"])
    truth = _truth(demo, "true_fan")
    assert truth and found
    tp = len(found & truth)
    precision, recall = tp / len(found), tp / len(truth)
    assert precision >= 0.9 and recall >= 0.9, (precision, recall)
    # every planted superfan that the tier finds is shown as a superfan
    supers = set(fans(demo, list_tier="superfan").table["person_id"])
    assert _truth(demo, "superfan") <= supers <= found
    # former regulars who stopped buying months ago are not taken for repeat buyers any more
    repeat = set(fans(demo, list_tier="repeat_buyer").table["person_id"])
    lapsed = _truth(demo, "lapsed")
    assert lapsed and not lapsed & repeat


def test_summary_shows_fans_dollars_beside_followers(demo):
    res = fans(demo)
    rows = {r["tier"]: r for r in res.rows}
    assert list(rows) == list(TIERS)
    assert sum(r["people"] for r in rows.values()) == demo.count("people")
    # cumulative counts and shares of dollars add up
    assert rows["audience"]["people_at_or_above"] == demo.count("people")
    assert sum(r["share_of_dollars"] for r in rows.values()) == pytest.approx(1.0)
    h = res.extra["headline"]
    assert h["true_fans"] == rows["true_fan"]["people"] + rows["superfan"]["people"]
    assert res.extra["true_fans"] == h["true_fans"] and h["against_1000"] == h["true_fans"] / 1000
    # the thesis on the demo: about 1% of the people, a tiny share of the followers, a large
    # share of the money
    assert h["share_of_dollars"] > 10 * h["share_of_people"]
    assert h["share_of_followers"] < 0.01 < h["share_of_dollars"]
    assert res.extra["followers"] > 100_000
    # each true fan arrived through one channel; per-channel ratios are shown
    assert sum(r["true_fans"] for r in res.extra["first_arrived"]) == h["true_fans"]
    by_ch = {r["channel_id"]: r for r in res.extra["by_channel"]}
    assert by_ch["instagram"]["followers"] > by_ch["newsletter"]["followers"]
    assert (
        by_ch["newsletter"]["fans_per_1k_followers"] > by_ch["instagram"]["fans_per_1k_followers"]
    )
    # the newsletter's health
    [nl] = res.extra["email_lists"]
    assert nl["channel_id"] == "newsletter" and nl["subscribers"] > 0
    assert 0 <= nl["engaged_share"] <= 1 and 0 <= nl["churn_yearly"] <= 1
    assert nl["subscribers"] - nl["subscribers_a_year_before"] == nl["joined"] - nl["left"]


def test_listing_has_person_ids_and_criteria(demo):
    res = fans(demo, list_tier="repeat_buyer")
    assert res.rows and all(r["person_id"] for r in res.rows)
    assert {r["tier"] for r in res.rows} <= {"repeat_buyer", "true_fan", "superfan"}
    for r in res.rows:
        assert r["purchase_days"] >= 2 and r["p_alive"] >= 0.5


def test_thresholds_are_options(demo):
    base = fans(demo).extra["headline"]["true_fans"]
    # a fan value nobody reaches: no true fans
    assert fans(demo, fan_value=1e12).extra["headline"]["true_fans"] == 0
    # Kelly's $100 of yearly profit at a 30% margin lets at least as many in as the decile
    kelly = fans(demo, fan_value=100, margin=0.3)
    assert kelly.extra["headline"]["true_fans"] >= base
    assert "--fan-value" in kelly.assumptions["true_fan"]
    # engagement by a decayed score instead of kinds
    score = fans(demo, engaged_by="score", min_score=1.0)
    assert "decayed" in score.assumptions["engaged"]
    strict = fans(demo, min_kinds=50)
    assert {r["tier"]: r for r in strict.rows}["engaged"]["people"] == 0
    # an earlier as-of date sees fewer purchases
    early = fans(demo, as_of="2024-03-31")
    assert early.extra["dollars"] < fans(demo).extra["dollars"]
    with pytest.raises(TruefansError):
        fans(demo, list_tier="vip")
    with pytest.raises(TruefansError):
        fans(demo, engaged_by="vibes")
    with pytest.raises(TruefansError):
        fans(demo, margin=2)


def test_fans_without_purchases_still_answers(ws, generic_files):
    # only channels, people and touches: tiers up to reachable, no model, no NaN
    reports = ws.import_files(generic_files[:4])
    assert all(r.status == "ok" for r in reports)
    res = fans(ws)
    assert {r["tier"]: r for r in res.rows}["true_fan"]["people"] == 0
    assert "no model" in res.assumptions["value_model"]["method"]
    json.dumps(res.to_dict())


def test_cli_fans(demo_path):
    runner = CliRunner()
    out = runner.invoke(app, ["--workspace", str(demo_path), "fans", "--format", "json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    assert payload["analysis"] == "fans"
    for key in ("true_fans", "followers", "as_of"):
        assert key in payload
    for key in ("tier", "people", "share_of_people", "dollars", "share_of_dollars"):
        assert key in payload["rows"][0]
    out = runner.invoke(
        app, ["--workspace", str(demo_path), "fans", "--list", "true_fan", "-f", "csv"]
    )
    assert out.exit_code == 0 and out.output.startswith("person_id,")
    out = runner.invoke(app, ["--workspace", str(demo_path), "fans"])
    assert out.exit_code == 0 and "true fans" in out.output
    out = runner.invoke(app, ["--workspace", str(demo_path), "fans", "--list", "vip"])
    assert out.exit_code != 0


def test_cli_clv_on_the_demo(demo_path):
    runner = CliRunner()
    out = runner.invoke(app, ["--workspace", str(demo_path), "clv"])
    assert out.exit_code == 0, out.output
    assert "BG/NBD" in out.output and "P(alive)" in out.output
    out = runner.invoke(
        app,
        ["--workspace", str(demo_path), "clv", "--calibration-end", "2024-09-30", "-f", "json"],
    )
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    assert payload["holdout"]["tracking"] and payload["converged"] in (True, False)
