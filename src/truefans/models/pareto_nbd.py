"""Pareto/NBD: Schmittlein, Morrison & Colombo (1987), in the form of Fader & Hardie (2005).

While alive a customer buys at rate lambda ~ Gamma(r, alpha) and drops out at rate
mu ~ Gamma(s, beta) (exponential lifetimes). The likelihood of (x, t_x, T) is (Fader & Hardie,
"A Note on Deriving the Pareto/NBD Model and Related Expressions", 2005, eq. 22)

    Gamma(r+x) alpha^r beta^s / Gamma(r) * [ (alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) * A0 ]

with A0 = H(t_x) - H(T) and H(t) = m(t)^-(r+s+x) 2F1(...; z(t)), taking m = max(alpha, beta) + t
so that z = |alpha - beta| / m < 1 (see :mod:`truefans.models._hyp` for the series).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import digamma, gammaln

from truefans.models._fit import (
    Array,
    FitReport,
    InvalidModelData,
    collapse,
    dot,
    weighted_rows,
)
from truefans.models._hyp import series
from truefans.models._rfm import (
    RFM,
    discount_factors,
    fit_rfm_model,
    log_params,
    rate_scale,
    rfm_arrays,
    rfm_for_fit,
)

NAMES = ("r", "alpha", "s", "beta")


def _log_h(params: Array, x: Array, t: Array) -> tuple[Array, Array]:
    """log H(t) for each (x, t) and its gradient in (r, alpha, s, beta), shape (4, n).

    H(t) = m^-q 2F1(q, b; q+1; z) = m^-q (1-z)^(1-b) S with S = 2F1(1, q+1-b; q+1; z):
    alpha >= beta: m = alpha + t, b = s + 1 (S has p = r + x); else m = beta + t, b = r + x
    (S has p = s + 1). In both, 1 - z = min(alpha, beta)+t over max(alpha, beta)+t.
    """
    r, alpha, s, beta = params
    q = r + s + x
    big, small = (alpha, beta) if alpha >= beta else (beta, alpha)
    m = big + t
    log_1mz = np.log(small + t) - np.log(m)
    z = (big - small) / m
    if alpha >= beta:  # b - 1 = s, S in p = r + x
        ser = series(q, r + x, z)
        d_z = s / np.exp(log_1mz) + ser.d_z  # d log F / dz
        d_r, d_s = ser.d_p + ser.d_q, -log_1mz + ser.d_q
        d_alpha, d_beta = -q / m + d_z * (beta + t) / m**2, -d_z / m
        log_f = -s * log_1mz + ser.log_value
    else:  # b - 1 = r + x - 1, S in p = s + 1
        ser = series(q, np.full(len(x), s + 1.0), z)
        d_z = (r + x - 1.0) / np.exp(log_1mz) + ser.d_z
        d_r, d_s = -log_1mz + ser.d_q, ser.d_p + ser.d_q
        d_alpha, d_beta = -d_z / m, -q / m + d_z * (alpha + t) / m**2
        log_f = (1.0 - r - x) * log_1mz + ser.log_value
    grad = np.stack([-np.log(m) + d_r, d_alpha, -np.log(m) + d_s, d_beta])
    return -q * np.log(m) + log_f, grad


class _Parts:
    """Per-row pieces of the likelihood; the 2F1 terms once per distinct (x, t) pair."""

    def __init__(self, x: Array, t_x: Array, T: Array) -> None:
        n = len(x)
        self.x, self.T = x, T
        pairs = collapse(np.concatenate([x, x]), np.concatenate([t_x, T]))
        self.px, self.pt = pairs.columns
        self.i_tx, self.i_T = pairs.inverse[:n], pairs.inverse[n:]

    def rows(self, params: Array) -> tuple[Array, Array, Array]:
        """(log-likelihood per row, its gradient (4, n), P(alive) per row)."""
        r, alpha, s, beta = params
        x, T = self.x, self.T
        log_h, d_h = _log_h(params, self.px, self.pt)
        lh_x, lh_T = log_h[self.i_tx], log_h[self.i_T]
        rho = np.exp(np.minimum(lh_T - lh_x, 0.0))  # H(T) / H(t_x) <= 1
        q = r + s + x
        log_p1 = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        with np.errstate(divide="ignore"):
            log_p2 = np.log(s) - np.log(q) + lh_x + np.log1p(-rho)
        tail = np.logaddexp(log_p1, log_p2)
        w1 = np.exp(log_p1 - tail)  # P(alive)
        k = np.exp(np.log(s) - np.log(q) + lh_x - tail)  # w2 / (1 - rho)
        ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + tail
        g = np.stack(
            [
                digamma(r + x) - digamma(r) + np.log(alpha) - w1 * np.log(alpha + T),
                r / alpha - w1 * (r + x) / (alpha + T),
                np.log(beta) - w1 * np.log(beta + T),
                s / beta - w1 * s / (beta + T),
            ]
        )
        g += k * (d_h[:, self.i_tx] - rho * d_h[:, self.i_T])
        g[0] -= k * (1.0 - rho) / q
        g[2] += k * (1.0 - rho) * (1.0 / s - 1.0 / q)
        return ll, g, w1


class _Likelihood:
    def __init__(self, d: RFM) -> None:
        self.parts = _Parts(d.x, d.t_x, d.T)
        self.w = d.weights

    def __call__(self, theta: Array) -> tuple[float, Array]:
        params = np.exp(theta)
        ll, g, _ = self.parts.rows(params)
        return dot(self.w, ll), weighted_rows(g, self.w) * params


def _growth(s: float, scale: Array, t: Array) -> Array:
    """scale/(s-1) (1 - (scale/(scale+t))^(s-1)) = integral of (scale/(scale+u))^s du on [0,t]."""
    u = np.log1p(t / scale)
    e = (s - 1.0) * u
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.abs(e) < 1e-8, 1.0 - e / 2.0, -np.expm1(-e) / e)
    return scale * u * ratio


@dataclass(frozen=True)
class ParetoNBD:
    """A fitted Pareto/NBD model. Arrays in, arrays out, one value per customer."""

    report: FitReport

    @property
    def params(self) -> dict[str, float]:
        return dict(self.report.params)

    def _p(self) -> Array:
        return np.array([self.report.params[n] for n in NAMES])

    def p_alive(self, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> Array:
        """P(still a customer at T | x repeat purchases, the last at t_x)."""
        xa, ta, Ta = rfm_arrays(x, t_x, T)
        return self._p_alive(xa, ta, Ta)

    def _p_alive(self, x: Array, t_x: Array, T: Array) -> Array:
        c = collapse(x, t_x, T)
        _, _, alive = _Parts(*c.columns).rows(self._p())
        return np.asarray(alive[c.inverse])

    def conditional_expected_purchases(
        self, t: float, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
    ) -> Array:
        """Expected repeat purchases in (T, T + t] given x, t_x, T."""
        xa, ta, Ta = rfm_arrays(x, t_x, T)
        t = float(t)
        if not np.isfinite(t) or t < 0:
            raise InvalidModelData(f"horizon t must be finite and not negative, got {t}")
        r, alpha, s, beta = self._p()
        rate = (r + xa) / (alpha + Ta)
        return self._p_alive(xa, ta, Ta) * rate * _growth(s, beta + Ta, np.full(len(Ta), t))

    def expected_purchases(self, t: npt.ArrayLike) -> Array:
        """E[X(t)]: expected repeat purchases of a new customer by time t."""
        ta = np.atleast_1d(np.asarray(t, dtype=np.float64))
        if not np.all(np.isfinite(ta)) or (ta < 0).any():
            raise InvalidModelData("times must be finite and not negative")
        r, alpha, s, beta = self._p()
        return r / alpha * _growth(s, np.full(len(ta), beta), ta)

    def discounted_expected_purchases(
        self,
        x: npt.ArrayLike,
        t_x: npt.ArrayLike,
        T: npt.ArrayLike,
        horizon: int,
        discount_rate_per_period: float,
        period_length: float = 1.0,
    ) -> Array:
        """Sum over periods k = 1..horizon of the purchases expected in period k / (1 + d)^k."""
        xa, ta, Ta = rfm_arrays(x, t_x, T)
        disc = discount_factors(horizon, discount_rate_per_period)
        r, alpha, s, beta = self._p()
        uT, inv = np.unique(Ta, return_inverse=True)
        times = period_length * np.arange(0, len(disc) + 1, dtype=np.float64)
        curve = _growth(s, (beta + uT)[:, None], times[None, :])
        per_T = np.diff(curve, axis=1) @ disc
        return self._p_alive(xa, ta, Ta) * (r + xa) / (alpha + Ta) * per_T[inv]


def fit_pareto_nbd(
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> ParetoNBD:
    """Fit Pareto/NBD by maximum likelihood (same inputs as :func:`fit_bgnbd`)."""
    d = rfm_for_fit("Pareto/NBD", x, t_x, T, weights)
    scale = 1.0 / rate_scale(d)
    starts = [
        (1.0, scale, 1.0, scale),
        (0.5, 0.5 * scale, 0.5, 0.5 * scale),
        (2.0, 2.0 * scale, 1.0, 2.0 * scale),
    ]
    report = fit_rfm_model("pareto_nbd", NAMES, _Likelihood, d, starts)
    return ParetoNBD(report)


def log_likelihood(
    params: Mapping[str, float],
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> float:
    """The Pareto/NBD log-likelihood at ``params`` (r, alpha, s, beta), in the papers' units (natural log,
    summed over customers), on the same inputs as :func:`fit_pareto_nbd`: to compare two solutions."""
    d = rfm_for_fit("Pareto/NBD", x, t_x, T, weights)
    return _Likelihood(d)(log_params("Pareto/NBD", NAMES, params))[0]
