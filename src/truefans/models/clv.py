"""Customer value from a purchase model and a spend model, and the check the spend model needs."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from truefans.models._fit import Array, InvalidModelData, as_column, require, same_length
from truefans.models.gamma_gamma import GammaGamma


class PurchaseModel(Protocol):
    """What :func:`discounted_clv` needs of a purchase model (BG/NBD or Pareto/NBD)."""

    def discounted_expected_purchases(
        self,
        x: npt.ArrayLike,
        t_x: npt.ArrayLike,
        T: npt.ArrayLike,
        horizon: int,
        discount_rate_per_period: float,
        period_length: float = 1.0,
    ) -> Array: ...


def discounted_clv(
    model: PurchaseModel,
    spend_model: GammaGamma,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    mean_spend: npt.ArrayLike,
    horizon: int,
    discount_rate_per_period: float,
    period_length: float = 1.0,
) -> Array:
    """Discounted value of each customer's purchases over the next ``horizon`` periods.

    CLV = E[spend per purchase | x, mean spend] * sum_{k=1..horizon} (E[Y(k L)] - E[Y((k-1) L)])
    / (1 + d)^k, where E[Y(t)] is the purchase model's conditional expectation of purchases in
    (T, T + t], L = ``period_length`` time units per period and d the discount rate per period.
    Purchases are discounted at the end of the period they fall in (a discrete approximation of
    continuous discounting; the finer the period, the closer). Spend and purchases are taken as
    independent, which is the Gamma-Gamma model's own assumption.
    """
    spend = spend_model.conditional_expected_spend(x, mean_spend)
    purchases = model.discounted_expected_purchases(
        x, t_x, T, horizon, discount_rate_per_period, period_length
    )
    return np.asarray(spend * purchases)


def spend_frequency_correlation(
    frequency: npt.ArrayLike, mean_spend: npt.ArrayLike, weights: npt.ArrayLike | None = None
) -> float:
    """Pearson correlation of purchases and mean spend among customers with frequency >= 1.

    The Gamma-Gamma model assumes none; values near 0 (|rho| below about 0.3) support using it.
    """
    x = as_column(frequency, "frequency")
    m = as_column(mean_spend, "mean spend")
    same_length(frequency=x, mean_spend=m)
    w = np.ones(len(x)) if weights is None else as_column(weights, "weights")
    same_length(frequency=x, weights=w)
    require(w >= 0, "weights must not be negative")
    keep = (x >= 1) & (w > 0)
    x, m, w = x[keep], m[keep], w[keep]
    if len(x) < 2:
        raise InvalidModelData("need at least two repeat customers to correlate spend and count")
    mx, mm = np.average(x, weights=w), np.average(m, weights=w)
    cov = np.average((x - mx) * (m - mm), weights=w)
    var = np.average((x - mx) ** 2, weights=w) * np.average((m - mm) ** 2, weights=w)
    if var <= 0:
        raise InvalidModelData(
            "frequency or mean spend is the same for every repeat customer: no correlation"
        )
    return float(cov / np.sqrt(var))
