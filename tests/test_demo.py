"""The demo's picture agrees with the demo's stored truth of what each channel produced."""

from __future__ import annotations

import json

import pytest

import truefans
from truefans.measure.picture import attributed_outcomes


@pytest.fixture(scope="module")
def demo(demo_path):
    with truefans.open_workspace(demo_path) as ws:
        yield ws


def truth_by_channel(ws):
    return (
        ws.con.execute(
            """SELECT t.channel_id,
                  sum(CASE WHEN o.type IN ('refund','fee') THEN -abs(o.value) ELSE o.value END)
                    FILTER (WHERE o.currency = 'USD') AS dollars,
                  count(*) FILTER (WHERE o.type = 'call') AS calls,
                  count(*) FILTER (WHERE o.type = 'question') AS questions,
                  count(*) FILTER (WHERE o.type = 'new_account') AS new_accounts
           FROM truth t JOIN outcomes o USING (outcome_id) GROUP BY 1"""
        )
        .df()
        .set_index("channel_id")
        .fillna(0)
    )


def test_demo_is_stored_with_its_truth_and_settings(demo):
    assert demo.count("truth") == demo.count("outcomes") > 500
    assert demo.setting("demo") == "true" and demo.setting("demo_seed") == "7"
    params = json.loads(demo.setting("demo_params"))
    assert params["channels"]["instagram"]["followers_end"] > 0
    assert demo.count("rejects") == 0
    assert set(demo.imports()["table"]) == {
        "channels",
        "people",
        "contents",
        "identities",
        "audience",
        "touchpoints",
        "outcomes",
        "costs",
        "metrics",
    }


def test_picture_credits_the_true_channel_for_most_outcomes(demo):
    att = demo.engine.execute(attributed_outcomes(demo.engine, None, None, None))
    truth = demo.con.execute("SELECT outcome_id, channel_id AS true_channel FROM truth").df()
    merged = att.merge(truth, on="outcome_id")
    assert len(merged) == demo.count("outcomes")
    agree = (merged["channel_id"] == merged["true_channel"]).mean()
    assert agree >= 0.9
    # self-reports are never wrong in the demo world, so they must all agree
    rep = merged[merged["rule"] == "self_reported"]
    assert len(rep) > 100 and (rep["channel_id"] == rep["true_channel"]).all()


def test_picture_dollars_per_channel_match_the_truth(demo):
    res = demo.picture()
    rows = {r["channel_id"]: r for r in res.rows}
    truth = truth_by_channel(demo)
    total = float(truth["dollars"].sum())
    assert res.to_dict()["totals"]["dollars"] == pytest.approx(total, rel=1e-9)
    # the dollars last touch moves away from their true channel (the demo's deliberate noise:
    # a website visit just before ordering) stay a small share of all dollars
    att = demo.engine.execute(attributed_outcomes(demo.engine, None, None, None))
    tr = demo.con.execute("SELECT outcome_id, channel_id AS true_channel FROM truth").df()
    m = att.merge(tr, on="outcome_id")
    m["money"] = m["value"].astype(float).fillna(0.0)
    m.loc[m["type"].isin(["refund", "fee"]), "money"] *= -1
    wrong = m[m["channel_id"] != m["true_channel"]]
    assert wrong["money"].abs().sum() <= 0.08 * total
    for ch, t in truth.iterrows():
        got = rows[ch]["dollars"]
        inflow = wrong.loc[wrong["channel_id"] == ch, "money"].sum()
        outflow = wrong.loc[wrong["true_channel"] == ch, "money"].sum()
        # exact accounting: the picture is the truth plus what last touch moved in and out
        assert got == pytest.approx(float(t["dollars"]) + inflow - outflow, abs=0.01), ch
        # each channel's share of dollars is within 4 points of its true share (last touch
        # overstates the website and search ads a little: the demo's deliberate noise)
        assert abs(got / total - float(t["dollars"]) / total) <= 0.04, ch
        for otype, col in (
            ("call", "calls"),
            ("question", "questions"),
            ("new_account", "new_accounts"),
        ):
            n_in = ((wrong["channel_id"] == ch) & (wrong["type"] == otype)).sum()
            n_out = ((wrong["true_channel"] == ch) & (wrong["type"] == otype)).sum()
            assert rows[ch][col] == t[col] + n_in - n_out, (ch, col)
    assert len(wrong) <= 0.1 * len(m)


def test_demo_followers_disagree_with_money(demo):
    rows = {r["channel_id"]: r for r in demo.picture().rows}
    most_followed = max(rows.values(), key=lambda r: r["audience"])
    assert most_followed["channel_id"] == "instagram"
    assert most_followed["share_of_followers"] > 0.3 and most_followed["share_of_dollars"] < 0.02
    few_followers_much_money = [
        r for r in rows.values() if r["share_of_followers"] < 0.05 and r["share_of_dollars"] > 0.15
    ]
    assert {r["channel_id"] for r in few_followers_much_money} & {"newsletter", "trade_shows"}
    assert demo.picture().to_dict()["vanity_gap"]["index"] > 0.5


def test_demo_refuses_to_overwrite_a_users_workspace(loaded):
    from truefans.demo import build_demo
    from truefans.errors import TruefansError

    with pytest.raises(TruefansError, match="holds your own imports"):
        build_demo(loaded)


def test_demo_is_deterministic_and_rebuilds_in_place(tmp_path, demo):
    from truefans.demo import build_demo

    with truefans.open_workspace(tmp_path / "d.duckdb") as ws:
        build_demo(ws, seed=7)
        first = ws.picture().to_dict()
        build_demo(ws, seed=7)  # a rebuild replaces, never adds
        assert ws.count("outcomes") == demo.count("outcomes")
        assert ws.picture().to_dict() == first == demo.picture().to_dict()
