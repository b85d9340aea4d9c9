"""`attribution` on a workspace: journeys on the engine, every model, JSON shape (issue #5)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

import truefans
from truefans.credit import NONE, build_journeys
from truefans.errors import InvalidOption, NotEnoughData
from truefans.measure.attribution import attribution, journey_touches

TYPES = ["order", "new_account", "lead", "call", "question"]


@pytest.fixture(scope="module")
def demo(demo_path):
    with truefans.open_workspace(demo_path) as w:
        yield w


@pytest.fixture(scope="module")
def result(demo):
    return attribution(demo, draws=8, timing_draws=3)


def test_json_shape(result) -> None:
    d = json.loads(json.dumps(result.to_dict()))
    assert d["analysis"] == "attribution"
    for key in ("recommended_model", "lookback_days", "journeys", "converting_journeys"):
        assert key in d
    assert d["lookback_days"] == 30
    assert 0 <= d["no_touch_share"] < 1
    row = d["rows"][0]
    assert {"model", "channel", "conversions", "value", "share"} <= set(row)
    models = {r["model"] for r in d["rows"]}
    assert {"first", "last", "last_non_direct", "linear", "time_decay", "position", "w_shaped",
            "markov_1", "markov_2", "markov_3", "shapley", "data_driven", "timing"} <= models  # fmt: skip
    assert d["recommended_model"] in models
    assert d["holdout"]["data_driven"]["ok"]
    assert "trust" in d["assumptions"]


def test_models_conserve_outcomes(result) -> None:
    t = result.table
    n = result.extra["converting_journeys"]
    for model, g in t.groupby("model"):
        if model == "timing":
            continue  # removal effects need not add up
        assert g["conversions"].sum() == pytest.approx(n, rel=1e-6), model
        assert g["share"].sum() == pytest.approx(1.0, abs=1e-3)
    last = t[t["model"] == "last"].set_index("channel")
    assert last.loc[NONE, "conversions"] == pytest.approx(
        result.extra["no_touch_share"] * n, abs=0.5
    )
    iv = t[t["model"] == "linear"]
    assert (iv["conversions_low"] <= iv["conversions"] + 1e-6).all()
    assert (iv["conversions"] <= iv["conversions_high"] + 1e-6).all()


def test_engine_journeys_equal_the_numpy_twin(demo) -> None:
    eng = demo.engine
    rows = eng.execute(journey_touches(eng, TYPES, None, None, 30))
    touches = eng.execute(
        eng.table("touchpoints").select("touch_id", "person_id", "ts", "channel_id")
    )
    o = eng.table("outcomes")
    outs = eng.execute(o.filter(o.type.isin(TYPES)).select("outcome_id", "person_id", "ts"))
    people = pd.Index(pd.concat([touches["person_id"], outs["person_id"]]).dropna().unique())
    origin = pd.Timestamp("2020-01-01")

    def days(s):
        return ((pd.to_datetime(s) - origin).dt.total_seconds() / 86400).to_numpy()

    touches = touches.sort_values("touch_id").reset_index(drop=True)  # ties broken by touch id
    chans = sorted(touches["channel_id"].unique())
    j, outcome_of = build_journeys(
        chans, people.get_indexer(touches["person_id"]), days(touches["ts"]),
        touches["channel_id"].map({c: i for i, c in enumerate(chans)}).to_numpy(),
        np.where(outs["person_id"].isna(), -1, people.get_indexer(outs["person_id"])),
        days(outs["ts"]), None, 30.0,
    )  # fmt: skip
    # converting journeys: the same multiset of (outcome, channel) pairs
    got = rows[rows["converted"]].groupby(["journey", "channel_id"]).size()
    conv = np.flatnonzero(j.conversions > 0)
    want: dict[tuple[str, str], int] = {}
    for i in conv:
        oid = outs["outcome_id"].iloc[outcome_of[i]]
        for c in j.channel[j.offsets[i] : j.offsets[i + 1]]:
            want[(oid, chans[c])] = want.get((oid, chans[c]), 0) + 1
    assert got.to_dict() == want
    assert rows.loc[~rows["converted"], "journey"].nunique() == int((j.conversions == 0).sum())


def test_by_content_and_platform(demo) -> None:
    r = attribution(demo, by="content", model="last,linear,markov_1", draws=2)
    assert "content_id" in r.table.columns
    assert set(r.table["model"]) == {"last", "linear", "markov_1"}
    p = attribution(demo, by="platform", model="linear", draws=2)
    assert "meta" in set(p.table["platform"])  # Instagram and Facebook together


def test_options_and_messages(demo) -> None:
    with pytest.raises(InvalidOption, match="campaign"):
        attribution(demo, by="campaign")
    with pytest.raises(InvalidOption, match="unknown"):
        attribution(demo, model="magic")
    with pytest.raises(InvalidOption, match="order"):
        attribution(demo, model="markov", order=7)
    with pytest.raises(NotEnoughData):
        attribution(demo, since="2031-01-01", model="linear", draws=0)


def test_bad_input_workspace(ws) -> None:
    """Touches after the outcome, an outcome with no person, names with '>' and unicode."""
    con = ws.con
    con.execute(
        "INSERT INTO channels (channel_id, kind) VALUES ('a>b', 'web'), ('café ☕', 'social')"
    )
    con.execute("INSERT INTO people (person_id) VALUES ('p1'), ('p2')")
    t0 = datetime(2024, 3, 1)
    touches = [
        ("t1", "p1", t0, "café ☕"),
        ("t2", "p1", t0 + timedelta(days=1), "a>b"),
        ("t3", "p1", t0 + timedelta(days=5), "café ☕"),  # after p1's outcome
        ("t4", "p2", t0, "a>b"),
    ]
    for tid, p, ts, ch in touches:
        con.execute(
            "INSERT INTO touchpoints (touch_id, person_id, ts, channel_id, kind) VALUES (?,?,?,?,'visit')",
            [tid, p, ts, ch],
        )
    con.execute(
        "INSERT INTO outcomes (outcome_id, person_id, ts, type, value, currency) VALUES "
        "('o1', 'p1', ?, 'order', 100, 'USD'), ('o2', NULL, ?, 'order', 50, 'USD'), "
        "('o3', 'p1', ?, 'refund', 30, 'USD')",
        [t0 + timedelta(days=2), t0 + timedelta(days=3), t0 + timedelta(days=4)],
    )
    r = attribution(ws, model="first,last,linear,markov_1,shapley", draws=3)
    last = r.table[r.table["model"] == "last"].set_index("channel")
    assert last.loc["a>b", "conversions"] == 1
    assert last.loc["a>b", "value"] == pytest.approx(70.0)  # the refund comes off
    assert last.loc[NONE, "conversions"] == 1  # the outcome with no person
    assert r.extra["outcomes_without_person"] == 1
    assert r.extra["journeys"] == 4  # o1, o2, p1 after o1, p2 without outcome
    lin = r.table[r.table["model"] == "linear"].set_index("channel")
    assert lin.loc["café ☕", "conversions"] == pytest.approx(0.5)
