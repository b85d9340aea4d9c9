"""Checks and shared pieces of the two recency-frequency models (BG/NBD and Pareto/NBD).

Time is in the caller's unit (days or weeks): ``t_x`` (time of the last repeat purchase) and ``T``
(time observed) count from each customer's first purchase, ``x`` counts repeat purchases.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from truefans.models._fit import (
    Array,
    FitReport,
    InvalidModelData,
    Objective,
    as_column,
    check_weights,
    collapse_checked,
    maximise,
    require,
    same_length,
    sample_rows,
)


@dataclass(frozen=True)
class RFM:
    """Recency-frequency rows (distinct or not) with the number of customers behind each."""

    x: Array
    t_x: Array
    T: Array
    weights: Array

    @property
    def n_customers(self) -> float:
        return float(self.weights.sum())


def rfm_arrays(
    x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> tuple[Array, Array, Array]:
    """Checked per-customer arrays: whole non-negative x, 0 <= t_x <= T."""
    xa, ta, Ta = as_column(x, "x (repeat purchases)"), as_column(t_x, "t_x"), as_column(T, "T")
    same_length(x=xa, t_x=ta, T=Ta)
    require(xa >= 0, "x (repeat purchases) must not be negative")
    require(xa == np.round(xa), "x (repeat purchases) must be whole numbers")
    require(ta >= 0, "t_x (time of the last repeat purchase) must not be negative")
    require(
        ta <= Ta * (1 + 1e-12) + 1e-12,
        "t_x (time of the last repeat purchase) must not be after T (end of observation)",
    )
    return xa, np.minimum(ta, Ta), Ta


def rfm_for_fit(
    model: str,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None,
) -> RFM:
    """Checked rows to fit; raw rows (no weights) are collapsed into weighted distinct rows."""
    xa, ta, Ta = rfm_arrays(x, t_x, T)
    if weights is None:
        c = collapse_checked([xa, ta, Ta])
        xa, ta, Ta = c.columns
        w = c.weights
    else:
        w = check_weights(weights, len(xa))
    keep = w > 0
    xa, ta, Ta, w = xa[keep], ta[keep], Ta[keep], w[keep]
    if not (Ta > 0).any():
        raise InvalidModelData(
            f"{model}: every customer has T = 0 (observed for no time at all); "
            "fit on customers whose first purchase is before the end of the calibration period"
        )
    if not (xa > 0).any():
        raise InvalidModelData(
            f"{model}: nobody made a repeat purchase (all x = 0), so purchase rates cannot be "
            "estimated; use a longer calibration period or more customers"
        )
    if all((c == c[0]).all() for c in (xa, ta, Ta)):
        raise InvalidModelData(
            f"{model}: every customer has the same (x, t_x, T) (or there is only one customer), "
            "so how customers differ cannot be estimated; fit on more customers"
        )
    return RFM(xa, ta, Ta, w)


def rate_scale(d: RFM) -> float:
    """Repeat purchases per unit of time over all customers (for starting points)."""
    exposure = float((d.weights * d.T).sum())
    rate = float((d.weights * d.x).sum()) / exposure
    return max(rate, 1e-9)


def by_pairs(x: Array, T: Array) -> tuple[Array, Array, npt.NDArray[np.intp]]:
    """Distinct (x, T) pairs and each row's pair: predictions that depend on (x, T) only."""
    if len(x) <= 64:
        return x, T, np.arange(len(x))
    c = collapse_checked([x, T])
    return c.columns[0], c.columns[1], c.inverse


def discount_factors(periods: int, discount_rate: float) -> Array:
    """1 / (1 + d)^k for k = 1..periods."""
    if periods < 1 or int(periods) != periods:
        raise InvalidModelData(f"horizon must be a whole number of periods >= 1, got {periods}")
    if not np.isfinite(discount_rate) or discount_rate <= -1:
        raise InvalidModelData(f"discount rate must be > -1 per period, got {discount_rate}")
    return (1.0 + discount_rate) ** -np.arange(1, int(periods) + 1, dtype=np.float64)


def fit_rfm_model(
    model: str,
    names: Sequence[str],
    likelihood: Callable[[RFM], Objective],
    d: RFM,
    starts: Sequence[Sequence[float]],
) -> FitReport:
    """Maximise ``likelihood(d)`` from ``starts``; with many rows the loose phase explores on a
    sample of them first (:func:`~truefans.models._fit.maximise`)."""
    sample = sample_rows(len(d.x))
    explore = None
    if sample is not None:
        part = RFM(d.x[sample], d.t_x[sample], d.T[sample], d.weights[sample])
        explore = (likelihood(part), part.n_customers)
    return maximise(model, names, likelihood(d), starts, d.n_customers, len(d.x), explore)


def log_params(label: str, names: Sequence[str], params: Mapping[str, float]) -> Array:
    """``params`` (all positive) as the log-parameters the likelihoods take, in ``names`` order."""
    values = np.array([float(params[n]) for n in names])
    if not np.all(np.isfinite(values)) or (values <= 0).any():
        raise InvalidModelData(f"{label} parameters must be positive numbers, got {dict(params)}")
    return np.log(values)
