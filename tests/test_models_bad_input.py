"""Awkward and wrong inputs to the customer-value models: an answer without NaN, or a clear error."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from truefans.errors import TruefansError
from truefans.models import (
    InvalidModelData,
    collapse,
    discounted_clv,
    fit_bgbb,
    fit_bgnbd,
    fit_gamma_gamma,
    fit_pareto_nbd,
    fit_sbg,
    spend_frequency_correlation,
)

RFM_FITS = [fit_bgnbd, fit_pareto_nbd]
X = np.array([0.0, 1, 2, 5, 0])
TX = np.array([0.0, 3, 10, 19, 0])
TT = np.array([0.0, 10, 20, 20, 30])


def _all_finite(model) -> bool:
    spend = fit_gamma_gamma([1, 2, 3, 4], [5.0, 7.0, 6.0, 9.0])
    outs = [
        model.p_alive(X, TX, TT),
        model.conditional_expected_purchases(10, X, TX, TT),
        model.expected_purchases([0, 1, 100]),
        discounted_clv(model, spend, X, TX, TT, [0, 5, 5, 5, 0], 12, 0.01),
    ]
    return all(np.all(np.isfinite(o)) for o in outs) and all(np.all(o >= 0) for o in outs)


def test_errors_are_truefans_errors() -> None:
    assert issubclass(InvalidModelData, TruefansError)


@pytest.mark.parametrize("fit", RFM_FITS)
@pytest.mark.parametrize(
    ("x", "t_x", "T", "why"),
    [
        ([0, 1, 2, 0, 3], [0, 3, 5, 0, 9], [0, 10, 12, 4, 20], "some customers with T = 0"),
        ([1, 2, 0, 3], [10, 20, 0, 5], [10, 20, 8, 30], "t_x = T"),
    ],
)
def test_awkward_data_gives_an_answer_without_nan(fit, x, t_x, T, why: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid-value warnings either
        m = fit(x, t_x, T)
        assert np.all(np.isfinite(list(m.params.values()))), why
        assert np.isfinite(m.report.log_likelihood) and np.isfinite(m.report.gradient_norm)
        assert _all_finite(m), why
    if why != "t_x = T":  # too little information: the report must not claim a clean fit
        assert not m.report.converged, why
        assert m.report.message


@pytest.mark.parametrize("fit", RFM_FITS)
@pytest.mark.parametrize(
    ("x", "t_x", "T"),
    [([2], [10], [20]), ([2] * 100, [10] * 100, [20] * 100)],
    ids=["a single customer", "all customers identical"],
)
def test_customers_all_alike_are_a_clear_error(fit, x, t_x, T) -> None:
    with pytest.raises(InvalidModelData, match="every customer has the same"):
        fit(x, t_x, T)


@pytest.mark.parametrize("fit", RFM_FITS)
@pytest.mark.parametrize(
    ("x", "t_x", "T", "message"),
    [
        ([0, 0], [0, 0], [0, 0], "T = 0"),
        ([0, 0, 0], [0, 0, 0], [5, 6, 7], "nobody made a repeat purchase"),
        ([1], [11], [10], "must not be after T"),
        ([1, np.nan], [1, 1], [2, 2], "missing or infinite"),
        ([-1, 1], [1, 1], [2, 2], "must not be negative"),
        ([1.5, 1], [1, 1], [2, 2], "whole numbers"),
        ([1, 1], [1], [2, 2], "differ in length"),
        ([], [], [], "no customers"),
        ([1, 2], [-1, 1], [2, 2], "must not be negative"),
    ],
)
def test_unusable_data_is_a_clear_error(fit, x, t_x, T, message: str) -> None:
    with pytest.raises(InvalidModelData, match=message):
        fit(x, t_x, T)


def test_bad_weights_and_horizons_are_clear_errors() -> None:
    with pytest.raises(InvalidModelData, match="negative"):
        fit_bgnbd([1, 2], [1, 2], [3, 3], weights=[1, -1])
    with pytest.raises(InvalidModelData, match="add up to zero"):
        fit_bgnbd([1, 2], [1, 2], [3, 3], weights=[0, 0])
    m = fit_bgnbd([0, 1, 2, 3, 1], [0, 2, 5, 8, 9], [10, 10, 10, 10, 10])
    with pytest.raises(InvalidModelData, match="horizon"):
        m.conditional_expected_purchases(-1, [1], [1], [2])
    with pytest.raises(InvalidModelData, match="whole number of periods"):
        m.discounted_expected_purchases([1], [1], [2], 0, 0.1)
    with pytest.raises(InvalidModelData, match="discount rate"):
        m.discounted_expected_purchases([1], [1], [2], 3, -1.0)


def test_gamma_gamma_refuses_free_or_missing_spend() -> None:
    for spend in ([0.0, 3.0], [-5.0, 3.0]):
        with pytest.raises(InvalidModelData, match="mean spend must be positive"):
            fit_gamma_gamma([1, 2], spend)
    with pytest.raises(InvalidModelData, match="frequency >= 1"):
        fit_gamma_gamma([0, 2], [5.0, 3.0])
    with pytest.raises(InvalidModelData, match="at least two repeat customers"):
        spend_frequency_correlation([0, 2], [0.0, 3.0])


@pytest.mark.parametrize(
    ("x", "spend"), [([2], [5.0]), ([2] * 50, [5.0] * 50)], ids=["single", "identical"]
)
def test_gamma_gamma_customers_all_alike_are_a_clear_error(x, spend) -> None:
    with pytest.raises(InvalidModelData, match="every customer has the same"):
        fit_gamma_gamma(x, spend)


def test_gamma_gamma_with_two_customers_answers_without_nan() -> None:
    m = fit_gamma_gamma([2, 3], [5.0, 8.0])
    assert np.all(np.isfinite(list(m.params.values())))
    assert np.all(np.isfinite(m.conditional_expected_spend([1, 3], [4.0, 6.0])))


def test_bgbb_awkward_and_bad_inputs() -> None:
    for x, t_x, n in (([2], [3], [6]), ([2] * 9, [3] * 9, [6] * 9)):
        with pytest.raises(InvalidModelData, match="every customer has the same"):
            fit_bgbb(x, t_x, n)
    m = fit_bgbb([2, 0, 1], [3, 0, 1], [6, 6, 6])  # three donors: little information
    assert not m.report.converged
    outs = [m.p_alive([0, 2, 6], [0, 3, 6], [6, 6, 6]), m.expected_transactions(5, [2], [3], [6])]
    assert all(np.all(np.isfinite(o)) for o in outs)
    with pytest.raises(InvalidModelData, match="nobody transacted"):
        fit_bgbb([0] * 9, [0] * 9, [6] * 9)
    with pytest.raises(InvalidModelData, match="cannot exceed t_x"):
        fit_bgbb([4], [3], [6])
    with pytest.raises(InvalidModelData, match="cannot exceed n"):
        fit_bgbb([1], [7], [6])


def test_sbg_awkward_and_bad_inputs() -> None:
    with pytest.raises(InvalidModelData, match="nobody cancelled"):
        fit_sbg([100, 100])
    with pytest.raises(InvalidModelData, match="must not grow"):
        fit_sbg([100, 120])
    with pytest.raises(InvalidModelData, match="cohort size and at least one"):
        fit_sbg([100])
    with pytest.raises(InvalidModelData, match="everybody cancelled"):
        fit_sbg([100, 0, 0])
    two = fit_sbg([100, 60])  # one period: alpha and beta are not both identified
    assert np.isfinite(two.report.log_likelihood)
    assert np.all(np.isfinite(two.derl(0.1, [0, 3])))


def test_collapse_refuses_mismatched_columns() -> None:
    with pytest.raises(InvalidModelData, match="differ in length"):
        collapse([1, 2], [1])
