"""Gamma-Gamma spend model: Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value".

Each purchase of a customer is Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers; a customer
is summarised by x (number of repeat purchases, >= 1) and their mean spend per purchase. The model
assumes spend is independent of how often people buy: check with
:func:`truefans.models.spend_frequency_correlation`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import digamma, gammaln

from truefans.models._fit import (
    Array,
    FitReport,
    InvalidModelData,
    as_column,
    check_weights,
    collapse,
    dot,
    maximise,
    require,
    same_length,
)

NAMES = ("p", "q", "gamma")


def _spend_arrays(frequency: npt.ArrayLike, mean_spend: npt.ArrayLike) -> tuple[Array, Array]:
    x = as_column(frequency, "frequency")
    m = as_column(mean_spend, "mean spend")
    same_length(frequency=x, mean_spend=m)
    require(x >= 0, "frequency must not be negative")
    require(x == np.round(x), "frequency must be whole numbers")
    return x, m


class _Likelihood:
    """Terms in x alone are summed per distinct x; only log(gamma + m x) needs every row."""

    def __init__(self, x: Array, m: Array, w: Array) -> None:
        self.ux, ix = np.unique(x, return_inverse=True)
        self.wx = np.bincount(ix, w)
        self.mx, self.w, self.wx_rows = m * x, w, w * x
        self.total = float(w.sum())
        log_m = np.log(m)
        self.sum_wx_log_m, self.sum_w_log_m = dot(self.wx_rows, log_m), dot(w, log_m)

    def __call__(self, theta: Array) -> tuple[float, Array]:
        p, q, g = np.exp(theta)
        ux, wx = self.ux, self.wx
        pu = p * ux
        log_gmx = np.log(g + self.mx)
        inv_gmx = 1.0 / (g + self.mx)
        sum_wx_log, sum_w_log = dot(self.wx_rows, log_gmx), dot(self.w, log_gmx)
        ll = (
            wx @ (gammaln(pu + q) - gammaln(pu) + pu * np.log(ux))
            + self.total * (q * np.log(g) - gammaln(q))
            + p * self.sum_wx_log_m
            - self.sum_w_log_m
            - p * sum_wx_log
            - q * sum_w_log
        )
        grad = np.array(
            [
                wx @ (ux * (digamma(pu + q) - digamma(pu) + np.log(ux)))
                + self.sum_wx_log_m
                - sum_wx_log,
                wx @ digamma(pu + q) + self.total * (np.log(g) - digamma(q)) - sum_w_log,
                self.total * q / g - p * dot(self.wx_rows, inv_gmx) - q * dot(self.w, inv_gmx),
            ]
        )
        return float(ll), grad * np.array([p, q, g])


@dataclass(frozen=True)
class GammaGamma:
    """A fitted Gamma-Gamma spend model."""

    report: FitReport

    @property
    def params(self) -> dict[str, float]:
        return dict(self.report.params)

    def conditional_expected_spend(
        self, frequency: npt.ArrayLike, mean_spend: npt.ArrayLike
    ) -> Array:
        """Expected spend per purchase given x purchases with this mean (FH 2013 eq. 5).

        (p gamma + p x mean) / (p x + q - 1): a weighted average of the population mean
        p gamma / (q - 1) and the customer's own mean. Customers with x = 0 get the population
        mean, whatever ``mean_spend`` says.
        """
        x, m = _spend_arrays(frequency, mean_spend)
        p, q, g = (self.report.params[n] for n in NAMES)
        denom = p * x + q - 1.0
        if (denom <= 0).any():
            raise InvalidModelData(
                f"the fitted q = {q:.3g} <= 1 leaves the mean spend of customers with few "
                "purchases undefined (infinite); fit on more repeat customers"
            )
        own = np.where(x > 0, m, 0.0)
        return np.asarray(p * (g + x * own) / denom)

    def population_mean_spend(self) -> float:
        """E[spend per purchase] across customers: p gamma / (q - 1) (infinite if q <= 1)."""
        p, q, g = (self.report.params[n] for n in NAMES)
        return float(p * g / (q - 1.0)) if q > 1 else float("inf")


def fit_gamma_gamma(
    frequency: npt.ArrayLike,
    mean_spend: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> GammaGamma:
    """Fit Gamma-Gamma on repeat customers: x >= 1 purchases with mean spend > 0 each.

    As in Fader & Hardie's CDNOW example, ``frequency`` and ``mean_spend`` are usually the
    number and mean value of *repeat* purchases.
    """
    x, m = _spend_arrays(frequency, mean_spend)
    w = check_weights(weights, len(x))
    require(
        (x >= 1) | (w == 0),
        "Gamma-Gamma needs customers with at least one purchase counted (frequency >= 1); "
        "pass only the repeat customers",
    )
    require(
        (m > 0) | (w == 0),
        "mean spend must be positive (the model is for money spent); drop customers whose "
        "purchases were free or refunded",
    )
    keep = w > 0
    x, m, w = x[keep], m[keep], w[keep]
    if len(collapse(x, m).weights) == 1:
        raise InvalidModelData(
            "Gamma-Gamma: every customer has the same frequency and mean spend (or there is only "
            "one customer), so how spend varies cannot be estimated; fit on more customers"
        )
    mean = float(w @ m / w.sum())
    starts = [(1.0, 2.0, mean), (5.0, 3.0, 2.0 * mean), (0.5, 5.0, 8.0 * mean)]
    report = maximise("gamma_gamma", NAMES, _Likelihood(x, m, w), starts, float(w.sum()), len(x))
    return GammaGamma(report)
