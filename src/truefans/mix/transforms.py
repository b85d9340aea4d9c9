"""Media transforms: geometric adstock (carry-over) and saturation (diminishing returns).

Every function works on arrays of shape ``(weeks,)`` or ``(weeks, geos)`` along the first axis.
The adstock is normalised (its weights add up to 1), so a constant weekly input ``x`` has a steady
state adstock of ``x`` and the saturation curves read directly as "weekly response to a weekly
amount". Inputs are divided by a per-input scale (the mean of the non-zero weeks) before the
saturation, so the half-saturation point ``k`` is in units of a typical active week.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

SATURATIONS = ("hill", "logistic")


def adstock_weights(alpha: float, max_lag: int) -> Array:
    """Normalised geometric weights ``alpha**l / sum_j alpha**j`` for lags ``0..max_lag-1``."""
    w = np.power(float(alpha), np.arange(max_lag, dtype=np.float64))
    return np.asarray(w / w.sum())


def geometric_adstock(x: Array, alpha: float, max_lag: int) -> Array:
    """Carry-over of ``x`` along axis 0: ``sum_l w_l x[t - l]`` with normalised geometric weights.

    Weeks before the first one count as zero (as in the data-generating processes we test on).
    """
    w = adstock_weights(alpha, max_lag)
    out = w[0] * x
    for lag in range(1, min(max_lag, x.shape[0])):
        out[lag:] += w[lag] * x[:-lag]
    return np.asarray(out)


def hill(z: Array, k: float, s: float) -> Array:
    """Hill curve ``z**s / (k**s + z**s)`` (0 at 0, 1/2 at ``k``, towards 1); ``z >= 0``."""
    with np.errstate(divide="ignore", over="ignore"):
        ratio = np.power(np.divide(k, z, out=np.full_like(z, np.inf), where=z > 0), s)
    return np.asarray(1.0 / (1.0 + ratio))


def hill_derivative(z: Array, k: float, s: float) -> Array:
    """d hill / dz."""
    h = hill(z, k, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(z > 0, s * h * (1.0 - h) / np.where(z > 0, z, 1.0), 0.0)
    if s == 1.0:  # the slope at 0 is finite only for s = 1
        d = np.where(z > 0, d, 1.0 / k)
    return np.asarray(d)


def logistic(z: Array, lam: float) -> Array:
    """Logistic saturation ``(1 - exp(-lam z)) / (1 + exp(-lam z)) = tanh(lam z / 2)``."""
    return np.asarray(np.tanh(0.5 * lam * z))


def logistic_derivative(z: Array, lam: float) -> Array:
    t = np.tanh(0.5 * lam * z)
    return np.asarray(0.5 * lam * (1.0 - t * t))


def saturate(kind: str, z: Array, params: Array) -> Array:
    """Saturation ``kind`` (``"hill"``: params ``(k, s)``; ``"logistic"``: ``(lam,)``) of ``z``."""
    if kind == "hill":
        return hill(z, float(params[0]), float(params[1]))
    return logistic(z, float(params[0]))


def saturate_derivative(kind: str, z: Array, params: Array) -> Array:
    if kind == "hill":
        return hill_derivative(z, float(params[0]), float(params[1]))
    return logistic_derivative(z, float(params[0]))


def n_saturation_params(kind: str) -> int:
    return 2 if kind == "hill" else 1
