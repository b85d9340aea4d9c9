"""Mix model: transforms, recovery of known truth on small seeded synthetic data, calibration,
counts, review checks, determinism and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from truefans.errors import TruefansError
from truefans.mix import (
    Input,
    LiftTest,
    MixData,
    MixError,
    MixSpec,
    NotEnoughWeeks,
    RoiPrior,
    analyse,
    fit_mix,
)
from truefans.mix.transforms import (
    adstock_weights,
    geometric_adstock,
    hill,
    hill_derivative,
    logistic,
    logistic_derivative,
)

TRUE = {"search": (0.2, 1.0, 1.5, 400.0), "social": (0.5, 0.8, 1.0, 250.0)}


def simulate(weeks: int = 156, seed: int = 1, noise: float = 10.0, counts: bool = False):
    """Weekly outcome = 1000 + trend + season + sum_i beta_i hill(adstock(x_i/scale_i)) + noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    xs, contrib = {}, {}
    for name, (alpha, k, s, beta) in TRUE.items():
        x = rng.uniform(50, 150, weeks) * (rng.uniform(size=weeks) < 0.7)
        scale = x[x > 0].mean()
        z = geometric_adstock(x / scale, alpha, 8)
        xs[name] = x
        contrib[name] = beta * hill(z, k, s)
    base = 1000 + 1.0 * t + 80 * np.sin(2 * np.pi * t / (365.25 / 7))
    mean = base + sum(contrib.values())
    if counts:
        mean = mean / 50  # tens a week
        contrib = {k: v / 50 for k, v in contrib.items()}
        y = rng.poisson(mean).astype(float)
    else:
        y = mean + rng.normal(0, noise, weeks)
    data = MixData(y=y, inputs=[Input(n, "dollars", x) for n, x in xs.items()])
    return data, {f"{n} dollars": float(c.sum()) for n, c in contrib.items()}


# -- transforms -------------------------------------------------------------------------------


def test_adstock_weights_sum_to_one_and_decay():
    w = adstock_weights(0.5, 8)
    assert w.sum() == pytest.approx(1.0)
    assert np.all(np.diff(w) < 0)
    assert adstock_weights(0.0, 5)[0] == 1.0


def test_adstock_of_an_impulse_is_the_weights_and_steady_input_stays_steady():
    x = np.zeros(20)
    x[3] = 1.0
    out = geometric_adstock(x, 0.4, 6)
    np.testing.assert_allclose(out[3:9], adstock_weights(0.4, 6))
    assert out[:3].sum() == 0 and out[9:].sum() == 0
    steady = geometric_adstock(np.full(30, 2.0), 0.7, 10)
    np.testing.assert_allclose(steady[10:], 2.0)


def test_saturation_curves_and_their_derivatives():
    z = np.linspace(0.0, 5.0, 501)
    h = hill(z, 1.3, 2.0)
    assert h[0] == 0 and hill(np.array([1.3]), 1.3, 2.0)[0] == pytest.approx(0.5)
    assert np.all(np.diff(h) > 0)
    num = np.gradient(h, z)
    np.testing.assert_allclose(hill_derivative(z, 1.3, 2.0)[5:-5], num[5:-5], rtol=1e-3, atol=1e-5)
    lg = logistic(z, 3.0)
    np.testing.assert_allclose(lg, (1 - np.exp(-3 * z)) / (1 + np.exp(-3 * z)))
    np.testing.assert_allclose(
        logistic_derivative(z, 3.0)[5:-5], np.gradient(lg, z)[5:-5], rtol=1e-3, atol=1e-5
    )


# -- recovery -----------------------------------------------------------------------------------


def test_point_fit_recovers_known_totals():
    data, truth = simulate()
    fit = fit_mix(data)
    assert fit.report.converged
    totals = fit.contributions().sum(axis=(1, 2))
    for name, total in zip(fit.names, totals, strict=True):
        assert total == pytest.approx(truth[name], rel=0.08), name
    assert np.all(fit.beta >= 0)


def test_analyse_gives_intervals_covering_truth_and_consistent_outputs():
    data, truth = simulate()
    res = analyse(data, MixSpec(n_boot=30, seed=3))
    assert res.ok
    for r in res.inputs:
        assert r.total.low <= r.total.value <= r.total.high
        assert r.total.low < truth[r.name] < r.total.high, r.name
        assert r.roi.value == pytest.approx(r.total.value / r.amount)
        assert r.weekly.sum() == pytest.approx(r.total.value)
        assert np.all(r.weekly_low <= r.weekly_high + 1e-9)
        # concave-ish at the observed level: the next dollar returns less than the average one
        assert 0 < r.marginal_roi.value < r.roi.value * 1.5
    shares = sum(r.share.value for r in res.inputs) + res.baseline_share.value
    assert shares == pytest.approx(1.0)
    assert 0.5 < res.metrics["r2"] <= 1
    point, lo, hi = res.response_curve("search dollars", np.linspace(0, 200, 11))
    assert point[0] == 0 and np.all(np.diff(point) >= 0) and np.all(lo <= hi)
    w, wlo, whi = res.adstock_curve("social dollars")
    assert w.sum() == pytest.approx(1.0) and np.all(wlo <= whi)
    assert {c.name for c in res.checks} >= {
        "convergence",
        "negative baseline",
        "residuals",
        "holdout",
    }


def test_same_data_and_seed_give_the_same_numbers():
    data, _ = simulate(weeks=104)
    a = analyse(data, MixSpec(n_boot=8, seed=5))
    b = analyse(data, MixSpec(n_boot=8, seed=5))
    c = analyse(data, MixSpec(n_boot=8, seed=6))
    assert [r.total for r in a.inputs] == [r.total for r in b.inputs]
    assert [r.total.value for r in a.inputs] == [r.total.value for r in c.inputs]
    assert [r.total.low for r in a.inputs] != [r.total.low for r in c.inputs]


def test_poisson_counts_of_tens_a_week():
    data, truth = simulate(counts=True, seed=2)
    assert float(np.mean(data.y)) < 60
    res = analyse(data, MixSpec(likelihood="poisson", n_boot=10))
    got = sum(r.total.value for r in res.inputs)
    assert got == pytest.approx(sum(truth.values()), rel=0.25)
    assert res.fit.report.reweightings >= 2
    assert not any(c.name == "dispersion" for c in res.checks)


def test_negative_binomial_estimates_a_dispersion():
    data, _ = simulate(counts=True, seed=4)
    fit = fit_mix(data, MixSpec(likelihood="negbin"))
    assert fit.dispersion > 0
    assert np.isfinite(fit.log_likelihood())


def test_count_likelihood_rejects_fractions():
    data, _ = simulate()
    with pytest.raises(MixError, match="whole non-negative counts"):
        fit_mix(data, MixSpec(likelihood="poisson"))


def _predicted_lift(fit, name, x, start, end, extra):
    from truefans.mix.fit import media_features

    i = fit.names.index(name)
    inc = x.copy()
    inc[start : end + 1] += extra / (end - start + 1)
    sc, th = fit.scales[i : i + 1], fit.theta[i : i + 1]
    base = media_features(x[None, :, None], sc, th, fit.spec.saturation, fit.spec.max_lag)
    more = media_features(inc[None, :, None], sc, th, fit.spec.saturation, fit.spec.max_lag)
    return fit.beta[0, i] * float((more - base)[0, start : end + fit.spec.max_lag, 0].sum())


def test_lift_test_pulls_the_model_towards_the_experiment():
    data, _ = simulate(weeks=80, noise=120.0, seed=7)
    x = np.asarray(data.inputs[1].values, dtype=float)
    free = fit_mix(data)
    free_lift = _predicted_lift(free, "social dollars", x, 20, 29, 1000.0)
    target = 2 * free_lift  # an experiment saying social works twice as well as the data suggest
    spec = MixSpec(lift_tests=[LiftTest("social dollars", 20, 29, 1000.0, target, target * 0.05)])
    cal = fit_mix(data, spec)
    cal_lift = _predicted_lift(cal, "social dollars", x, 20, 29, 1000.0)
    assert cal_lift == pytest.approx(target, rel=0.2)
    assert abs(cal_lift - target) < 0.3 * abs(free_lift - target)


def test_roi_prior_pulls_the_return():
    data, _ = simulate(weeks=80, noise=120.0, seed=8)
    free = fit_mix(data)
    roi_free = free.contributions()[0].sum() / np.sum(data.inputs[0].values)
    cal = fit_mix(
        data, MixSpec(roi_priors={"search dollars": RoiPrior(roi_free * 0.5, roi_free * 0.02)})
    )
    roi_cal = cal.contributions()[0].sum() / np.sum(data.inputs[0].values)
    assert roi_cal == pytest.approx(roi_free * 0.5, rel=0.1)


# -- review ---------------------------------------------------------------------------------------


def test_channels_that_move_together_are_reported_as_inseparable():
    data, _ = simulate(weeks=120, seed=9)
    x = np.asarray(data.inputs[0].values)
    twin = x * 0.5 + np.random.default_rng(0).normal(0, 1.0, x.size).clip(0)
    d2 = MixData(y=data.y, inputs=[*data.inputs, Input("twin", "dollars", twin)])
    res = analyse(d2, MixSpec(n_boot=10))
    assert any(c.name == "cannot separate" and "twin" in c.message for c in res.checks)
    assert not res.input("twin dollars").separable
    assert any("twin dollars" in g.names and "search dollars" in g.names for g in res.groups)


def test_short_history_uses_a_simpler_model_and_says_so():
    data, _ = simulate(weeks=40, seed=10)
    res = analyse(data, MixSpec(n_boot=5))
    assert res.fit.spec.saturation == "linear" and res.fit.spec.fourier_order == 0
    assert any(c.name == "short history" for c in res.checks)
    r = res.inputs[0]
    assert r.marginal_roi.value == pytest.approx(r.roi.value, rel=0.05)


def test_rarely_active_input_is_left_out_and_said():
    data, _ = simulate(weeks=100, seed=11)
    rare = np.zeros(100)
    rare[[10, 50]] = 30.0
    d2 = MixData(y=data.y, inputs=[*data.inputs, Input("flyers", "dollars", rare)])
    res = analyse(d2, MixSpec(n_boot=0))
    assert "flyers dollars" not in res.fit.names
    assert any(c.name == "few active weeks" and "flyers" in c.message for c in res.checks)


def test_hours_input_gives_return_per_hour():
    data, _ = simulate(weeks=104, seed=12)
    hours = np.asarray(data.inputs[1].values) / 20
    d2 = MixData(y=data.y, inputs=[data.inputs[0], Input("social", "hours", hours)])
    res = analyse(d2, MixSpec(n_boot=0))
    r = res.input("social hours")
    assert r.unit == "hours" and r.amount == pytest.approx(hours.sum())
    assert r.roi.value == pytest.approx(r.total.value / hours.sum())


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("zero", "zero in every week"),
        ("nan", "missing or infinite"),
        ("negative", "negative"),
        ("one_week", "1 week"),
        ("length", "weeks, the outcome has"),
    ],
)
def test_bad_input_is_a_clear_error(change, message):
    data, _ = simulate(weeks=60)
    y = np.asarray(data.y, dtype=float)
    x = np.asarray(data.inputs[0].values, dtype=float).copy()
    if change == "zero":
        x[:] = 0
    elif change == "nan":
        x[5] = np.nan
    elif change == "negative":
        x[7] = -3
    elif change == "one_week":
        y, x = y[:1], x[:1]
    elif change == "length":
        x = x[:-1]
    other = np.asarray(data.inputs[1].values)[: len(x)] if change != "length" else None
    inputs = [Input("search", "dollars", x)]
    if other is not None:
        inputs.append(Input("social", "dollars", other))
    with pytest.raises(TruefansError, match=message) as e:
        analyse(MixData(y=y, inputs=inputs), MixSpec(n_boot=2))
    assert isinstance(e.value, MixError)
    if change == "one_week":
        assert isinstance(e.value, NotEnoughWeeks)


def test_nan_in_outcome_and_bad_options():
    data, _ = simulate(weeks=60)
    y = np.asarray(data.y, dtype=float).copy()
    y[3] = np.nan
    with pytest.raises(MixError, match="outcome has 1 missing"):
        fit_mix(MixData(y=y, inputs=data.inputs))
    with pytest.raises(MixError, match="max_lag"):
        fit_mix(data, MixSpec(max_lag=20))
    with pytest.raises(MixError, match="unknown input"):
        fit_mix(data, MixSpec(roi_priors={"tv dollars": RoiPrior(1, 1)}))
