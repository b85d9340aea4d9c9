from __future__ import annotations

from datetime import date

import pytest

from truefans.errors import InvalidOption


def rows_by_channel(res):
    return {r["channel_id"]: r for r in res.rows}


def test_picture_numbers_on_a_hand_checked_workspace(loaded):
    res = loaded.picture()
    rows = rows_by_channel(res)
    # sorted by dollars, unattributed last
    assert list(rows) == ["trade_shows", "newsletter", "instagram", "phone", "(unattributed)"]
    ts, nl, ig, ph, un = (rows[k] for k in rows)
    # instagram: most followers, engaged p1 (like) and p3 (like); only p1 reachable by email
    assert (ig["audience"], ig["engaged"], ig["known"], ig["questions"], ig["dollars"]) == (
        10000,
        2,
        1,
        1,
        0.0,
    )
    assert ig["cost_hours"] == 10.0 and ig["return_per_hour"] == 0.0
    assert ig["return_per_dollar"] is None  # no money spent: no ratio
    # newsletter: order 120.50 by last touch (click a day before), refund 20.50 subtracted
    assert (nl["audience"], nl["orders"], nl["dollars"], nl["other_outcomes"]) == (500, 1, 100.0, 1)
    assert (nl["cost_dollars"], nl["return_per_dollar"], nl["return_per_hour"]) == (50.0, 2.0, 25.0)
    assert nl["dollars_per_1k_followers"] == 200.0
    # phone: anonymous self-reported call; p4 reachable by phone
    assert (ph["calls"], ph["engaged"], ph["known"], ph["owned"]) == (1, 1, 1, True)
    # trade shows: the touch at 12:00+02:00 is 10:00 UTC, before the 10:30 account
    assert (ts["new_accounts"], ts["orders"], ts["dollars"]) == (1, 1, 2000.0)
    assert ts["other_currencies"] == "EUR 300.00"  # never added to USD
    assert ts["return_per_dollar"] == 2.0
    # p4's order came 60 days after the only touch: unattributed, still counted in totals
    assert (un["orders"], un["dollars"]) == (1, 50.0)
    d = res.to_dict()
    assert d["totals"]["dollars"] == 2150.0 and d["totals"]["currency"] == "USD"
    # people on several channels count once in the totals
    assert (d["totals"]["engaged"], d["totals"]["known"]) == (4, 3)
    assert (ts["outcomes"], ig["outcomes"], un["outcomes"]) == (2, 1, 1)
    assert d["assumptions"]["outcomes_by_rule"] == {
        "self_reported": 2,
        "last_touch": 4,
        "unattributed": 1,
    }
    gap = d["vanity_gap"]
    shares = {g["channel_id"]: g for g in gap["by_channel"]}
    assert shares["instagram"]["share_of_followers"] == pytest.approx(10000 / 10500, abs=1e-4)
    assert shares["trade_shows"]["share_of_dollars"] == pytest.approx(2000 / 2150, abs=1e-4)
    assert 0.8 < gap["index"] <= 1.0
    plats = {p["platform"]: p for p in d["platforms"]}
    assert plats["self"]["dollars"] == 2000.0 and plats["meta"]["audience"] == 10000


def test_picture_filters(loaded):
    march = rows_by_channel(loaded.picture(since="2024-03-04", until="2024-03-31"))
    assert march["newsletter"]["orders"] == 0  # the order was on 3 March
    assert march["newsletter"]["dollars"] == -20.5  # only the refund falls in the period
    only_calls = loaded.picture(outcome="call,question")
    rows = rows_by_channel(only_calls)
    assert rows["phone"]["calls"] == 1 and rows["trade_shows"]["dollars"] == 0.0
    gap = only_calls.to_dict()["vanity_gap"]  # no money in view: followers against outcomes
    assert gap["basis"] == "outcomes" and "of outcomes" in gap["statement"]
    early = rows_by_channel(loaded.picture(until="2024-03-15"))
    assert early["instagram"]["audience"] == 9000  # followers at the end of the period


@pytest.mark.parametrize(
    "kw", [{"since": "March"}, {"outcome": "sale"}, {"since": "2024-05-01", "until": "2024-01-01"}]
)
def test_picture_refuses_bad_options(loaded, kw):
    with pytest.raises(InvalidOption):
        loaded.picture(**kw)


def test_picture_of_an_empty_workspace(ws):
    res = ws.picture()
    assert res.rows == [] and res.to_dict()["totals"]["dollars"] == 0.0


def test_bitmask_people_counts_equal_the_pairs_path(demo_path, loaded):
    """The fast per-person bitmask and the plain (channel, person) pairs give the same counts."""
    import truefans
    from truefans.measure.picture import _people, _people_by_pairs

    with truefans.open_workspace(demo_path) as demo:
        for ws in (demo, loaded):
            chans = [r[0] for r in ws.con.execute("SELECT channel_id FROM channels").fetchall()]
            for since, until in ((None, None), (date(2024, 3, 1), date(2024, 6, 30))):
                fast, fast_tot = _people(ws.engine, since, until, chans)
                slow, slow_tot = _people_by_pairs(ws.engine, since, until)
                a = fast.set_index("channel_id").sort_index()
                b = slow.set_index("channel_id").reindex(a.index).fillna(0).astype("int64")
                assert (a[["engaged", "known"]] == b[["engaged", "known"]]).all().all()
                assert fast_tot.iloc[0].tolist() == slow_tot.iloc[0].astype(int).tolist()
