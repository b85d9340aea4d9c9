"""`content`: posts ranked by attributed dollars beside their likes (issue #5)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import truefans
from truefans.errors import InvalidOption
from truefans.measure.content import content, spearman_interval


@pytest.fixture(scope="module")
def demo(demo_path):
    with truefans.open_workspace(demo_path) as w:
        yield w


def test_content_ranking_and_summaries(demo) -> None:
    r = content(demo)
    d = json.loads(json.dumps(r.to_dict()))
    t = r.table
    assert list(t["rank"]) == list(range(1, len(t) + 1))
    assert t["dollars"].is_monotonic_decreasing
    for col in ("likes", "shares", "comments", "impressions", "hours", "dollars_per_hour"):
        assert col in t.columns
    assert (t["hours"] > 0).all()
    rho = d["likes_dollars_spearman"]
    assert -1 <= rho["low"] <= rho["rho"] <= rho["high"] <= 1
    assert d["formats"] and d["topics"]
    fmt = {f["format"]: f for f in d["formats"]}
    some = next(iter(fmt.values()))
    assert some["dollars_per_post"] == pytest.approx(some["dollars"] / some["posts"], abs=0.01)
    # the demo's Instagram has most of the likes and a far smaller share of the dollars
    ig = next(x for x in d["likes_vs_dollars_by_channel"] if x["channel_id"] == "instagram")
    assert ig["share_of_likes"] > ig["share_of_dollars"] + 0.2


def test_hours_default_per_format_can_be_set(demo) -> None:
    a = content(demo, hours_per_format={"newsletter": 10.0}, top=200)
    nl = a.table[a.table["format"] == "newsletter"]
    assert (nl["hours"] > 0).all()
    with pytest.raises(InvalidOption):
        content(demo, hours_per_format={"post": 0})
    with pytest.raises(InvalidOption):
        content(demo, model="timing")


def test_spearman_interval() -> None:
    x = np.arange(50.0)
    r = spearman_interval(x, x**3)
    assert r["rho"] == pytest.approx(1.0)
    r = spearman_interval(x, -x)
    assert r["rho"] == pytest.approx(-1.0)
    rng = np.random.default_rng(0)
    r = spearman_interval(rng.random(200), rng.random(200))
    assert r["low"] < 0 < r["high"]
    assert spearman_interval(np.ones(5), x[:5])["rho"] is None
