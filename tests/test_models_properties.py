"""Properties of the customer-value models: gradients, series, collapsing, recovery, predictions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import hyp2f1

from truefans.models import (
    bgbb,
    bgnbd,
    collapse,
    discounted_clv,
    fit_bgbb,
    fit_bgnbd,
    fit_gamma_gamma,
    fit_pareto_nbd,
    fit_sbg,
    gamma_gamma,
    pareto_nbd,
    sbg,
)
from truefans.models._hyp import series
from truefans.models._rfm import rfm_for_fit
from truefans.models.simulate import simulate_bgnbd, simulate_pareto_nbd, simulate_spend


def _numeric_gradient(f, theta: np.ndarray, h: float = 1e-6) -> np.ndarray:
    return np.array(
        [(f(theta + h * e)[0] - f(theta - h * e)[0]) / (2 * h) for e in np.eye(len(theta))]
    )


@pytest.fixture(scope="module")
def rfm() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    T = np.random.default_rng(3).integers(35, 280, 3000) / 7  # dates: days in weeks
    x, t_x = simulate_bgnbd(T, 0.5, 6.0, 0.8, 2.5, seed=4)
    return x, np.minimum(np.ceil(t_x * 7) / 7, T), T


@pytest.mark.parametrize(
    "theta",
    [[0.3, 5.0, 0.8, 2.0], [2.0, 0.7, 3.0, 0.4], [0.6, 40.0, 1.0, 20.0], [0.5, 2.0, 0.5, 50.0]],
)
def test_rfm_gradients_are_the_derivatives_of_the_likelihood(rfm, theta) -> None:
    d = rfm_for_fit("test", *rfm, None)
    t = np.log(theta)
    for likelihood in (bgnbd._Likelihood(d), pareto_nbd._Likelihood(d)):
        _, grad = likelihood(t)
        np.testing.assert_allclose(grad, _numeric_gradient(likelihood, t), rtol=1e-5, atol=1e-3)


def test_spend_retention_and_discrete_gradients() -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(1, 20, 500).astype(float)
    m = rng.gamma(3.0, 10.0, 500)
    cases = [
        (gamma_gamma._Likelihood(x, m, np.ones(500)), [5.0, 3.0, 12.0]),
        (sbg._Likelihood(np.array([1000.0, 631, 468, 382, 326, 289])), [0.7, 1.2]),
        (
            bgbb._Likelihood(
                np.array([0.0, 1, 2, 3]),
                np.array([0.0, 1, 4, 5]),
                np.array([6.0, 6, 6, 8]),
                np.array([10.0, 3, 5, 7]),
            ),
            [1.2, 0.8, 0.7, 2.7],
        ),
    ]
    for likelihood, theta in cases:
        t = np.log(theta)
        _, grad = likelihood(t)
        np.testing.assert_allclose(grad, _numeric_gradient(likelihood, t), rtol=1e-5, atol=1e-4)


def test_hypergeometric_series_matches_scipy() -> None:
    rng = np.random.default_rng(6)
    q, p, z = rng.uniform(0.3, 60, 400), rng.uniform(0.1, 8, 400), rng.uniform(0, 0.98, 400)
    q = np.maximum(q, p)  # p < q + 1 as in the likelihood
    z[:5] = 0.0
    got = series(q, p, z)
    ref = np.log(hyp2f1(1.0, p, q + 1, z))
    np.testing.assert_allclose(got.log_value, ref, rtol=1e-12, atol=1e-12)
    h = 1e-6
    for name, (dq, dp, dz) in {"d_q": (h, 0, 0), "d_p": (0, h, 0), "d_z": (0, 0, h)}.items():
        up = np.log(hyp2f1(1.0, p + dp, q + dq + 1, z + dz))
        down = np.log(hyp2f1(1.0, p - dp, q - dq + 1, z - dz))
        numeric = (up - down) / (2 * h)
        np.testing.assert_allclose(getattr(got, name)[5:], numeric[5:], rtol=1e-5, atol=1e-6)


def test_collapse_gives_distinct_rows_counts_and_the_way_back() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.integers(0, 4, 1000).astype(float), rng.integers(0, 3, 1000) / 7
    c = collapse(a, b)
    assert len(c.weights) == len(set(zip(a, b, strict=True)))
    assert c.weights.sum() == 1000
    np.testing.assert_array_equal(c.columns[0][c.inverse], a)
    np.testing.assert_array_equal(c.columns[1][c.inverse], b)
    weighted = collapse(a, b, weights=np.full(1000, 2.0))
    np.testing.assert_array_equal(weighted.weights, 2 * c.weights)


@pytest.mark.parametrize("n_distinct", [3, 60, 4000])
def test_collapse_agrees_with_sorting_the_rows(n_distinct: int) -> None:
    # few values per column (grouped in an array indexed by the packed numbers) or many (packed
    # numbers grouped by hash), whole numbers in a range too wide for any array, -0.0 and 0.0
    rng = np.random.default_rng(n_distinct)
    n = 5000
    cols = [
        rng.integers(0, n_distinct, n).astype(float),
        rng.integers(0, n_distinct, n) / 7,
        rng.integers(0, n_distinct, n) * 1e9,
        rng.choice([-0.0, 0.0, 0.5], n),
    ]
    c = collapse(*cols)
    distinct, counts = np.unique(np.stack(cols, axis=1) + 0.0, axis=0, return_counts=True)
    got = np.stack(c.columns, axis=1)
    order = np.lexsort(got.T[::-1])
    np.testing.assert_array_equal(got[order], distinct)
    np.testing.assert_array_equal(c.weights[order], counts)
    for column, given in zip(c.columns, cols, strict=True):
        np.testing.assert_array_equal(column[c.inverse], given)


def test_rfm_fits_stop_at_the_maximum(rfm) -> None:
    """A Newton step from the reported parameters (Hessian from differences of the analytic
    gradient) is tiny: the fit does not stop short along a flat ridge of the likelihood."""
    for module, fit in ((bgnbd, fit_bgnbd), (pareto_nbd, fit_pareto_nbd)):
        m = fit(*rfm)
        likelihood = module._Likelihood(rfm_for_fit("test", *rfm, None))
        theta = np.log([m.params[name] for name in module.NAMES])
        _, grad = likelihood(theta)
        h = 1e-5
        hess = np.stack(
            [
                (likelihood(theta + h * e)[1] - likelihood(theta - h * e)[1]) / (2 * h)
                for e in np.eye(4)
            ]
        )
        step = np.linalg.solve((hess + hess.T) / 2, -grad)
        assert np.abs(step).max() < 1e-7, (module.__name__, step)
        ll = module.log_likelihood(m.params, *rfm)
        assert ll == pytest.approx(m.report.log_likelihood, abs=1e-9)
        shifted = dict(m.params, r=m.params["r"] * 1.001)
        assert module.log_likelihood(shifted, *rfm) < ll


def test_fitting_raw_rows_equals_fitting_collapsed_rows(rfm) -> None:
    c = collapse(*rfm)
    raw, collapsed = fit_bgnbd(*rfm), fit_bgnbd(*c.columns, weights=c.weights)
    for name, value in raw.params.items():
        assert collapsed.params[name] == pytest.approx(value, rel=1e-7)
    assert raw.report.log_likelihood == pytest.approx(collapsed.report.log_likelihood, abs=1e-6)


def test_bgnbd_recovers_the_parameters_it_was_simulated_from() -> None:
    T = np.random.default_rng(8).integers(140, 365, 60_000) / 7  # dates: days in weeks
    x, t_x = simulate_bgnbd(T, 0.4, 5.0, 0.9, 3.0, seed=9)
    t_x = np.minimum(np.ceil(t_x * 7) / 7, T)
    m = fit_bgnbd(x, t_x, T)
    assert m.report.converged
    truth = {"r": 0.4, "alpha": 5.0, "a": 0.9, "b": 3.0}
    for name, value in truth.items():
        assert m.params[name] == pytest.approx(value, rel=0.12), name


def test_pareto_nbd_recovers_the_parameters_it_was_simulated_from() -> None:
    T = np.random.default_rng(10).integers(140, 365, 60_000) / 7  # dates: days in weeks
    x, t_x = simulate_pareto_nbd(T, 0.6, 8.0, 0.8, 10.0, seed=11)
    t_x = np.minimum(np.ceil(t_x * 7) / 7, T)
    m = fit_pareto_nbd(x, t_x, T)
    assert m.report.converged
    assert m.params["r"] == pytest.approx(0.6, rel=0.1)
    assert m.params["alpha"] == pytest.approx(8.0, rel=0.1)
    assert m.params["s"] == pytest.approx(0.8, rel=0.25)
    assert m.params["beta"] == pytest.approx(10.0, rel=0.4)  # weakly identified, as on CDNOW


def test_gamma_gamma_recovers_the_parameters_it_was_simulated_from() -> None:
    x = np.random.default_rng(12).integers(1, 10, 30_000).astype(float)
    m = fit_gamma_gamma(x, simulate_spend(x, 4.0, 5.0, 20.0, seed=13))
    for name, value in {"p": 4.0, "q": 5.0, "gamma": 20.0}.items():
        assert m.params[name] == pytest.approx(value, rel=0.1), name


def test_bgbb_and_sbg_recover_the_parameters_they_were_simulated_from() -> None:
    rng = np.random.default_rng(14)
    n, people = 8, 40_000
    p, theta = rng.beta(1.2, 0.8, people), rng.beta(0.7, 2.5, people)
    alive = np.ones(people, dtype=bool)
    x, t_x = np.zeros(people), np.zeros(people)
    for k in range(1, n + 1):
        alive &= rng.random(people) >= theta  # dropping out happens before each opportunity
        buy = alive & (rng.random(people) < p)
        x += buy
        t_x[buy] = k
    m = fit_bgbb(x, t_x, np.full(people, float(n)))
    for name, value in {"alpha": 1.2, "beta": 0.8, "gamma": 0.7, "delta": 2.5}.items():
        assert m.params[name] == pytest.approx(value, rel=0.2), name
    # sBG: the same dropout process observed as renewals
    churn = rng.beta(0.7, 2.5, people)
    lifetimes = rng.geometric(churn)  # periods until cancelling, >= 1
    counts = [float((lifetimes > t).sum()) for t in range(0, 10)]
    s = fit_sbg(counts)
    assert s.params["alpha"] == pytest.approx(0.7, rel=0.15)
    assert s.params["beta"] == pytest.approx(2.5, rel=0.15)


def test_bgnbd_closed_form_and_quadrature_agree(rfm) -> None:
    m = fit_bgnbd(*rfm)
    r, alpha, a, b = m._p()
    x = np.array([0.0, 1, 3, 10, 0])
    T = np.array([0.0, 10, 30, 40, 25])
    t = np.array([78.0, 5, 39, 1, 0.5])
    closed = m._future(x, T, t)
    quad = bgnbd._future_by_quadrature(r, alpha, a, b, x, T, t)
    np.testing.assert_allclose(closed, quad, rtol=1e-9)


def test_predictions_are_probabilities_and_consistent(rfm) -> None:
    x, t_x, T = rfm
    for m in (fit_bgnbd(x, t_x, T), fit_pareto_nbd(x, t_x, T)):
        alive = m.p_alive(x, t_x, T)
        assert np.all((alive >= 0) & (alive <= 1))
        assert np.all(alive[x == 0] >= alive[x == 0].min())
        # undiscounted, one period of length t: the conditional expectation itself
        once = m.discounted_expected_purchases(x, t_x, T, 1, 0.0, period_length=13.0)
        np.testing.assert_allclose(
            once, m.conditional_expected_purchases(13.0, x, t_x, T), rtol=1e-10
        )
        # four periods undiscounted add up to the expectation over their total length
        four = m.discounted_expected_purchases(x, t_x, T, 4, 0.0, period_length=13.0)
        np.testing.assert_allclose(
            four, m.conditional_expected_purchases(52.0, x, t_x, T), rtol=1e-9
        )
        discounted = m.discounted_expected_purchases(x, t_x, T, 4, 0.05, period_length=13.0)
        assert np.all(discounted <= four + 1e-12)
        # E[X(t)] grows with t from 0
        curve = m.expected_purchases([0, 1, 10, 100])
        assert curve[0] == 0 and np.all(np.diff(curve) > 0)


def test_discounted_clv_is_spend_times_discounted_purchases(rfm) -> None:
    x, t_x, T = rfm
    model = fit_bgnbd(x, t_x, T)
    spend = np.where(x > 0, simulate_spend(x, 5.0, 4.0, 15.0, seed=15), 0.0)
    spend_model = fit_gamma_gamma(x[x > 0], spend[x > 0])
    clv = discounted_clv(model, spend_model, x, t_x, T, spend, 12, 0.01, 4.0)
    expected = spend_model.conditional_expected_spend(x, spend) * (
        model.discounted_expected_purchases(x, t_x, T, 12, 0.01, 4.0)
    )
    np.testing.assert_allclose(clv, expected)
    assert np.all(np.isfinite(clv)) and np.all(clv >= 0)
    # a customer with no repeat purchase gets the population mean spend
    assert spend_model.conditional_expected_spend([0], [123.0])[0] == pytest.approx(
        spend_model.population_mean_spend()
    )


def test_same_data_same_numbers(rfm) -> None:
    a, b = fit_pareto_nbd(*rfm), fit_pareto_nbd(*rfm)
    assert a.params == b.params
    assert a.report.start_log_likelihoods == b.report.start_log_likelihoods
