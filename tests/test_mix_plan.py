"""Budget planner: optimality against a closed form, hard caps, bounds, risk, fallback, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from truefans.errors import TruefansError
from truefans.mix import MixError, ResponseCurve, plan


def logistic_curve(name, beta, lam, observed_max=10.0, unit="dollars", draws=None):
    b = np.array([[beta]]) if draws is None else np.asarray(draws, dtype=float)[:, None]
    p = np.full((b.shape[0], 1), lam)
    return ResponseCurve(
        name, name, unit, "logistic", b, p, np.ones(1), np.ones(1), (0.0, observed_max)
    )


def hill_curve(name, beta, k, s, observed_max=10.0, unit="dollars"):
    return ResponseCurve(
        name,
        name,
        unit,
        "hill",
        np.array([[beta]]),
        np.array([[k, s]]),
        np.ones(1),
        np.ones(1),
        (0.0, observed_max),
    )


def closed_form_optimum(betas, lams, budget):
    """Equal marginal returns for tanh curves: beta*lam/2*(1-tanh^2(lam x/2)) = m, by bisection."""
    betas, lams = np.asarray(betas), np.asarray(lams)

    def x_of(m):
        r = np.clip(1 - 2 * m / (betas * lams), 0, 1)
        return 2 * np.arctanh(np.sqrt(r)) / lams

    lo, hi = 1e-12, float(np.max(betas * lams / 2))
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if x_of(mid).sum() > budget else (lo, mid)
    x = x_of(hi)
    return x, float(np.sum(betas * np.tanh(lams * x / 2)))


def test_matches_the_closed_form_optimum():
    betas, lams = [3000, 2000, 1500, 800], [4.0, 3.0, 1.0, 6.0]
    curves = [
        logistic_curve(f"c{i}", b, lam) for i, (b, lam) in enumerate(zip(betas, lams, strict=True))
    ]
    x_true, v_true = closed_form_optimum(betas, lams, 1.6)
    p = plan(curves, budget_dollars=1.6 * 52, weeks=52)
    got = np.array([q.weekly for q in p.inputs])
    np.testing.assert_allclose(got, x_true, atol=2e-4)
    assert p.expected.value == pytest.approx(v_true * 52, rel=1e-7)
    assert p.spent["dollars"] == pytest.approx(1.6 * 52, rel=1e-12)
    # the last dollar returns the same everywhere at an interior optimum
    m = [q.marginal.value for q in p.inputs if q.weekly > 1e-6]
    assert max(m) - min(m) < 1e-3 * max(m)
    assert p.allocation.shape == (52, 4)
    np.testing.assert_allclose(p.allocation.sum(axis=0), got * 52)


def test_max_share_is_a_hard_cap():
    curves = [
        logistic_curve("best", 5000, 1.0),
        logistic_curve("ok", 500, 1.0),
        logistic_curve("meh", 300, 1.0),
    ]
    for share in (0.4, 0.5, 1 / 3 + 1e-9, 0.7):
        p = plan(curves, budget_dollars=3.0 * 13, weeks=13, max_share=share)
        for q in p.inputs:
            assert q.total <= share * 39.0
            assert q.share <= share
        assert p.input("best").at_cap
        assert p.spent["dollars"] == pytest.approx(39.0, rel=1e-12)


def test_dollars_and_hours_are_planned_jointly_with_their_own_budgets():
    curves = [
        logistic_curve("ads", 3000, 2.0, observed_max=50),
        logistic_curve("posts", 1000, 0.5, unit="hours", observed_max=40),
        logistic_curve("video", 800, 0.2, unit="hours", observed_max=40),
    ]
    p = plan(curves, budget_dollars=100, budget_hours=20 * 4, weeks=4)
    assert p.spent["dollars"] == pytest.approx(100)
    assert p.spent["hours"] == pytest.approx(80)
    assert p.input("ads").weekly == pytest.approx(25)
    hours = [p.input("posts"), p.input("video")]
    assert sum(h.weekly for h in hours) == pytest.approx(20)
    assert hours[0].marginal.value == pytest.approx(hours[1].marginal.value, rel=1e-3)


def test_bounds_default_to_the_observed_range_and_leftover_is_said():
    curves = [
        logistic_curve("a", 1000, 1.0, observed_max=2.0),
        logistic_curve("b", 900, 1.0, observed_max=1.0),
    ]
    p = plan(curves, budget_dollars=10.0, weeks=1)
    assert p.input("a").weekly == pytest.approx(2.0) and p.input("b").weekly == pytest.approx(1.0)
    assert any("unallocated" in n for n in p.notes)
    wide = plan(curves, budget_dollars=10.0, weeks=1, bounds={"a": (0, 20), "b": (0.5, 20)})
    assert wide.spent["dollars"] == pytest.approx(10.0)
    assert wide.input("a").outside_observed and wide.input("b").weekly >= 0.5
    assert any("extrapolated" in n for n in wide.notes)


def test_s_shaped_curves_find_the_global_split():
    # S-shaped: splitting evenly is worse than putting it all in one channel
    curves = [
        hill_curve("a", 1000, 5.0, 3.0, observed_max=20),
        hill_curve("b", 1000, 5.0, 3.0, observed_max=20),
    ]
    p = plan(curves, budget_dollars=8.0)
    even = 2 * 1000 * 4**3 / (5**3 + 4**3)
    assert p.expected.value > even * 1.15
    assert sorted(q.weekly for q in p.inputs) == pytest.approx([0.0, 8.0], abs=1e-6)


def test_risk_averse_plan_prefers_the_surer_channel():
    rng = np.random.default_rng(0)
    sure = logistic_curve("sure", 1000, 1.0, draws=np.r_[1000, 1000 + rng.normal(0, 20, 200)])
    wild = logistic_curve("wild", 1100, 1.0, draws=np.r_[1100, 1100 + rng.normal(0, 600, 200)])
    neutral = plan([sure, wild], budget_dollars=2.0)
    careful = plan([sure, wild], budget_dollars=2.0, risk_quantile=0.1)
    assert careful.input("sure").weekly > neutral.input("sure").weekly + 0.1
    assert careful.expected.low >= neutral.expected.low - 1e-6
    assert "quantile" in careful.objective


def test_fallback_from_average_returns():
    curves = [
        ResponseCurve.linear(
            "seo hours", "seo", "hours", roi=30.0, low=20.0, high=40.0, observed=(0, 10)
        ),
        ResponseCurve.linear(
            "meta dollars", "meta", "dollars", roi=2.0, low=0.5, high=3.5, observed=(0, 500)
        ),
        ResponseCurve.linear(
            "google dollars", "google", "dollars", roi=3.0, low=2.5, high=3.5, observed=(0, 300)
        ),
    ]
    p = plan(curves, budget_dollars=600, budget_hours=8, max_share=0.6)
    assert p.input("google dollars").weekly == pytest.approx(300)  # best, up to its observed max
    assert p.input("meta dollars").weekly == pytest.approx(300)
    assert p.input("seo hours").weekly == pytest.approx(8 * 0.6)
    assert p.expected.low < p.expected.value < p.expected.high
    assert any("average returns" in n for n in p.notes)
    assert p.current_expected is None


def test_current_allocation_is_compared():
    curves = [logistic_curve("vanity", 100, 1.0), logistic_curve("useful", 3000, 1.0)]
    p = plan(curves, budget_dollars=4.0, current={"vanity": 3.0, "useful": 1.0})
    assert p.current_expected is not None
    assert p.expected.value > p.current_expected.value
    assert p.input("vanity").weekly < 3.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget_dollars": -1}, "non-negative"),
        ({"budget_dollars": float("nan")}, "non-negative"),
        ({"budget_dollars": 10, "max_share": 0}, "max_share"),
        ({"budget_dollars": 10, "weeks": 0}, "weeks"),
        ({"budget_dollars": 10, "bounds": {"zz": (0, 1)}}, "unknown input"),
        ({"budget_dollars": 10, "bounds": {"a": (5, 6)}, "max_share": 0.2}, "above the cap"),
        ({"budget_dollars": 1, "bounds": {"a": (0.8, 2), "b": (0.8, 2)}}, "below the sum"),
        ({"budget_dollars": 10, "risk_quantile": 0.7}, "risk_quantile"),
    ],
)
def test_bad_plan_input_is_a_clear_error(kwargs, message):
    curves = [logistic_curve("a", 100, 1.0), logistic_curve("b", 100, 1.0)]
    with pytest.raises(TruefansError, match=message) as e:
        plan(curves, **kwargs)
    assert isinstance(e.value, MixError)


def test_nothing_is_nan_at_a_zero_budget():
    curves = [hill_curve("a", 100, 1.0, 2.0), logistic_curve("b", 100, 1.0)]
    p = plan(curves, budget_dollars=0.0)
    vals = [p.expected.value, p.expected.low, p.expected.high]
    vals += [v for q in p.inputs for v in (q.weekly, q.marginal.value, q.share)]
    assert np.all(np.isfinite(vals))
    assert p.expected.value == 0
