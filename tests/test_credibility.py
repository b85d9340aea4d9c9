"""The rule score, the trained model, the fake share and the credibility analysis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import truefans
from truefans.credibility.behaviour import follow_bursts
from truefans.credibility.features import prepare, prepare_features, username_features
from truefans.credibility.model import FakeModel
from truefans.credibility.prevalence import (
    ErrorRates,
    ScoreCalibration,
    estimate_prevalence,
    estimate_prevalence_sweep,
    median_sweep,
    rogan_gladen,
)
from truefans.credibility.rules import BANDS, RuleScore
from truefans.errors import InvalidOption, NotFitted
from truefans.measure.credibility import credibility


def _profiles() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "followers_count": [12, 850, 40, 300, 10],
            "following_count": [4100, 400, 2900, 0, 500],
            "posts_count": [0, 210, 1, 30, -3],
            "has_photo": [0.0, 1.0, 1.0, 1.0, 1.0],
            "bio_length": [0, 80, np.nan, 20, 0],
            "username": ["jenny83749201", "ada.lindqvist", "x_9921mk", "bob", "carl"],
        }
    )


def test_shipped_rules_score_an_obvious_fake_and_real() -> None:
    out = RuleScore.load().score(_profiles())
    assert out.loc[0, "band"] == "likely fake"
    assert out.loc[1, "band"] == "likely real"
    assert out.loc[0, "fake_score"] > 0.9 > 0.1 > out.loc[1, "fake_score"]
    assert "no profile photo" in out.loc[0, "reasons"]
    assert "has never posted" in out.loc[0, "reasons"]


def test_missing_is_not_zero() -> None:
    """An unknown bio adds nothing; an empty bio raises the score."""
    rs = RuleScore.load()
    base = _profiles().iloc[[1]].reset_index(drop=True)
    unknown = base.assign(bio_length=np.nan)
    empty = base.assign(bio_length=0)
    s_unknown, s_empty, s_known = (
        rs.score(f)["fake_score"].iloc[0] for f in (unknown, empty, base)
    )
    assert s_known < s_unknown < s_empty
    assert "bio_length" not in rs.score(unknown)["used"].iloc[0]
    assert "bio_length" in rs.score(empty)["used"].iloc[0]


def test_odd_fields_give_insufficient_data() -> None:
    out = RuleScore.load().score(_profiles())
    assert out.loc[3, "band"] == "insufficient data"  # following = 0
    assert out.loc[3, "reasons"].startswith("insufficient data (following = 0")
    assert out.loc[4, "band"] == "insufficient data"  # negative posts
    assert "negative posts count" in out.loc[4, "reasons"]
    future = pd.DataFrame(
        {
            "followers_count": [5],
            "following_count": [3000],
            "posts_count": [0],
            "account_age_days": [-30.0],
        }
    )
    f = RuleScore.load().score(future)
    assert f.loc[0, "band"] == "insufficient data"
    assert "account created in the future" in f.loc[0, "reasons"]
    # the same profile without the odd field would be confidently fake; odd keeps it unsure
    sure = RuleScore.load().score(future.drop(columns="account_age_days"))
    assert sure.loc[0, "fake_score"] > f.loc[0, "fake_score"]
    nothing = RuleScore.load().score(pd.DataFrame({"username": [None]}))
    assert nothing.loc[0, "band"] == "insufficient data"


def test_every_likely_fake_has_a_reason() -> None:
    rng = np.random.default_rng(1)
    n = 3000
    frame = pd.DataFrame(
        {
            "followers_count": rng.integers(0, 5000, n),
            "following_count": rng.integers(1, 7000, n),
            "posts_count": rng.integers(0, 60, n),
            "has_photo": rng.integers(0, 2, n).astype(float),
            "follow_burst": rng.integers(0, 2, n).astype(float),
        }
    )
    out = RuleScore.load().score(frame)
    fake = out["band"] == "likely fake"
    assert fake.sum() > 10
    assert (out.loc[fake, "reasons"].str.len() > 0).all()
    assert set(out["band"]) <= set(BANDS)


def test_username_features_column_wise() -> None:
    """Whitespace and a leading @ are not part of the name; no text = missing; digits are 0-9."""
    names = [" @jen83 ", None, "", "   ", "bob", "éü12", 5, np.nan, "@@x1", "٣4"]
    for s in (pd.Series(names, dtype=object), pd.Series(names[:6], dtype="str")):
        f = username_features(s)
        assert f.loc[0].tolist() == [5.0, 2.0, 0.4]
        assert f.loc[1:3].isna().all().all()
        assert f.loc[4].tolist() == [3.0, 0.0, 0.0]
        assert f.loc[5].tolist() == [4.0, 2.0, 0.5]  # characters, not bytes
    f = username_features(pd.Series(names, dtype=object))
    assert f.loc[6:7].isna().all().all()  # not text
    assert f.loc[8].tolist() == [2.0, 1.0, 0.5]
    assert f.loc[9].tolist() == [2.0, 1.0, 0.5]  # an Arabic-Indic digit is not 0-9
    sliced = username_features(pd.Series(["a1", "b22", "c"], index=[7, 8, 9]).iloc[1:])
    assert sliced["username_digits"].tolist() == [2.0, 0.0]


def test_odd_fields_are_listed_in_order() -> None:
    frame = pd.DataFrame(
        {
            "followers_count": [-1.0, 5.0],
            "following_count": [0.0, 7.0],
            "has_photo": [2.0, 1.0],
            "account_age_days": [-3.0, 10.0],
        }
    )
    feats, odd = prepare(frame)
    assert odd.tolist() == [
        "negative followers count; account created in the future; "
        "following = 0 (the list could not be read?); has photo not true/false",
        "",
    ]
    assert feats.loc[0, ["followers_count", "following_count", "has_photo"]].isna().all()
    assert feats.loc[1, "following_count"] == 7.0


def test_prepared_once_scores_the_same() -> None:
    frame = _profiles()
    p = prepare_features(frame)
    rs = RuleScore.load()
    pd.testing.assert_frame_equal(rs.score(frame, prepared=p), rs.score(frame))
    m = FakeModel.load()
    assert np.array_equal(m.predict_proba(frame, prepared=p), m.predict_proba(frame))
    some = np.array([True, False, True, False, True])
    assert np.array_equal(
        m.predict_proba(frame[some], prepared=p.subset(some)), m.predict_proba(frame)[some]
    )
    with pytest.raises(InvalidOption):
        rs.score(frame.iloc[:2], prepared=p)


def test_fit_is_sign_constrained_and_learns() -> None:
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    frame = pd.DataFrame(
        {
            "posts_count": np.where(y == 1, rng.integers(0, 5, n), rng.integers(20, 400, n)),
            "followers_count": rng.integers(50, 900, n),
            "following_count": rng.integers(50, 900, n),
        }
    )
    rs = RuleScore().fit(frame, y)
    assert all(w >= 0 for w in rs.w_fire_.values())
    assert rs.w_fire_["few_posts"] > rs.w_fire_["under_100_followers"]
    assert "no_bio" not in rs.informed_ and rs.w_fire_["no_bio"] == pytest.approx(0.5)
    with pytest.raises(NotFitted):
        RuleScore().score(frame)


def test_model_round_trips_through_json() -> None:
    m = FakeModel.load()
    again = FakeModel.from_dict(m.to_dict())
    p = _profiles()
    assert np.allclose(m.predict_proba(p), again.predict_proba(p))
    assert m.predict_proba(p)[0] > 0.5 > m.predict_proba(p)[1]


def test_rogan_gladen_inverts_the_flag_rates() -> None:
    rates = ErrorRates(0.8, 0.95, 100, 900)
    for p in (0.05, 0.2, 0.5):
        q = 0.8 * p + 0.05 * (1 - p)
        assert rogan_gladen(q, rates) == pytest.approx(p)
    flags = np.r_[np.ones(215, bool), np.zeros(785, bool)]  # q = 0.8*0.2 + 0.05*0.8 + ...
    est = estimate_prevalence(flags, rates, draws=500)
    assert est.low < est.estimate < est.high
    assert est.low < 0.2 < est.high
    with pytest.raises(InvalidOption):
        rogan_gladen(0.3, ErrorRates(0.4, 0.5, 10, 10))


def test_median_sweep_recovers_the_share_at_any_base_rate() -> None:
    rng = np.random.default_rng(3)
    cal = ScoreCalibration(rng.normal(2.0, 1.0, 3000), rng.normal(0.0, 1.0, 3000))
    for share in (0.05, 0.3, 0.6):
        k = int(20_000 * share)
        scores = np.r_[rng.normal(2.0, 1.0, k), rng.normal(0.0, 1.0, 20_000 - k)]
        assert median_sweep(scores, cal) == pytest.approx(share, abs=0.02)
        est = estimate_prevalence_sweep(scores, cal, draws=200)
        assert est.low <= est.estimate <= est.high
        assert est.low < share < est.high
        assert est.high - est.low < 0.1
    # a score that cannot tell fakes from reals cannot correct anything
    useless = ScoreCalibration(rng.normal(0, 1, 500), rng.normal(0, 1, 500))
    with pytest.raises(InvalidOption):
        median_sweep(rng.normal(0, 1, 100), useless)
    with pytest.raises(InvalidOption):
        ScoreCalibration(np.array([]), np.array([1.0]))


def test_shipped_calibration_is_out_of_fold_srf() -> None:
    cal = RuleScore.shipped_calibration()
    assert cal is not None and "SRF" in cal.source
    assert (len(cal.fake), len(cal.real)) == (98, 877)
    tpr, fpr = cal.rates(cal.cutoffs)
    assert (tpr - fpr).max() > 0.5  # the rule score separates SRF's fakes out of fold


def test_model_is_piecewise_linear() -> None:
    """A U-shaped effect (too few and too many follows are both suspect) is learnt, which a
    straight line in the log count cannot do."""
    rng = np.random.default_rng(5)
    n = 3000
    following = np.exp(rng.uniform(0, 9, n))
    mid = (following > 50) & (following < 1500)
    y = (rng.random(n) < np.where(mid, 0.05, 0.8)).astype(int)
    frame = pd.DataFrame(
        {
            "following_count": following.round() + 1,
            "followers_count": np.exp(rng.uniform(2, 8, n)).round(),
            "posts_count": np.exp(rng.uniform(0, 6, n)).round(),
        }
    )
    probe = pd.DataFrame(
        {"following_count": [5.0, 300.0, 6000.0], "followers_count": 400.0, "posts_count": 50.0}
    )
    p = FakeModel(knots=3).fit(frame, y).predict_proba(probe)
    assert p[1] < 0.3 < min(p[0], p[2])
    line = FakeModel(knots=0).fit(frame, y).predict_proba(probe)
    assert not (line[1] < 0.3 < min(line[0], line[2]))
    again = FakeModel.from_dict(FakeModel(knots=3).fit(frame, y).to_dict())
    assert np.allclose(again.predict_proba(probe), p)
    # a straight-line model written by version 1 (one number per feature) still loads
    v1 = FakeModel(knots=0).fit(frame, y).to_dict()
    for f in v1["features"]:
        f["coef"], f["mean"], f["scale"] = f["coef"][0], f["mean"][0], f["scale"][0]
        del f["knots"]
    assert np.allclose(FakeModel.from_dict(v1).predict_proba(probe), line)
    broken = FakeModel(knots=3).fit(frame, y).to_dict()
    broken["features"][0]["knots"] = []
    with pytest.raises(InvalidOption):
        FakeModel.from_dict(broken)


def test_bursts_need_many_follows_in_a_short_window() -> None:
    quiet = pd.date_range("2024-01-01 09:17", periods=60, freq="37h")
    burst = pd.date_range("2024-02-10 03:00", periods=30, freq="1min")
    ts = pd.Series(list(quiet) + list(burst))
    flags = follow_bursts(pd.Series(["ig"] * len(ts)), ts)
    assert flags.iloc[60:].eq(1.0).all()
    assert flags.iloc[:60].eq(0.0).mean() > 0.95


def test_credibility_on_the_demo(demo_path) -> None:
    with truefans.open_workspace(demo_path) as ws:
        res = credibility(ws)
        rows = {r["platform"]: r for r in res.rows}
        assert rows, res.rows
        for r in rows.values():
            assert 0 <= r["quality_index"] <= 1
            assert r["quality_index_low"] <= r["quality_index"] <= r["quality_index_high"]
            assert r["ghost"] + r["engaged"] == r["listed"]
            assert r["real_audience"] <= r["followers"]
            if r["fake_share"] is not None:
                assert r["fake_share_low"] <= r["fake_share"] <= r["fake_share_high"]
        listing = credibility(ws, list_people=True)
        t = listing.table
        for col in (
            "identity_id",
            "person_id",
            "platform",
            "fake_score",
            "likely_fake",
            "relevance",
            "engaged",
            "reasons",
        ):
            assert col in t.columns
        fake = t["likely_fake"] == "likely fake"
        assert (t.loc[fake, "reasons"].str.len() > 0).all()
        assert t["fake_score"].between(0, 1).all()
