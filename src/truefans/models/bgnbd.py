"""BG/NBD: Fader, Hardie & Lee (2005), "Counting your customers the easy way".

While alive a customer buys at rate lambda ~ Gamma(r, alpha); after each purchase they drop out
with probability p ~ Beta(a, b). Time is in the caller's unit; alpha is in that unit too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1, roots_jacobi

from truefans.models._fit import (
    Array,
    FitReport,
    InvalidModelData,
    distinct,
    dot,
)
from truefans.models._rfm import (
    RFM,
    by_pairs,
    discount_factors,
    fit_rfm_model,
    log_params,
    rate_scale,
    rfm_arrays,
    rfm_for_fit,
)

NAMES = ("r", "alpha", "a", "b")


class _Likelihood:
    """Log-likelihood and gradient over weighted rows, grouped so each piece is computed once.

    Terms depending on x only are computed per distinct x, terms in T per distinct T; only the
    "dropped out after the last purchase" term needs every repeat-buyer row.
    """

    def __init__(self, d: RFM) -> None:
        w = d.weights
        self.total = float(w.sum())
        self.ux, ix = distinct(d.x)
        self.wx = np.bincount(ix, w, minlength=len(self.ux))
        self.uT, iT = distinct(d.T)
        self.wT = np.bincount(iT, w, minlength=len(self.uT))
        self.wxT = np.bincount(iT, w * d.x, minlength=len(self.uT))
        rep = d.x > 0
        self.rx, self.rw, self.riT, self.rix = d.x[rep], w[rep], iT[rep], ix[rep]
        self.ut, self.rit = distinct(d.t_x[rep])

    def __call__(self, theta: Array) -> tuple[float, Array]:
        r, alpha, a, b = np.exp(theta)
        ux, wx = self.ux, self.wx
        log_aT = np.log(alpha + self.uT)
        ll = float(
            wx @ (gammaln(r + ux) - gammaln(r) + betaln(a, b + ux) - betaln(a, b))
            + self.total * r * np.log(alpha)
            - (r * self.wT + self.wxT) @ log_aT
        )
        g = np.array(
            [
                wx @ (digamma(r + ux) - digamma(r)) + self.total * np.log(alpha) - self.wT @ log_aT,
                self.total * r / alpha - (r * self.wT + self.wxT) @ (1.0 / (alpha + self.uT)),
                wx @ (digamma(a + b) - digamma(a + b + ux)),
                wx @ (digamma(b + ux) - digamma(a + b + ux) - digamma(b) + digamma(a + b)),
            ]
        )
        # repeat buyers: log(1 + D), D = a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)
        k = r + self.rx
        gap = log_aT[self.riT] - np.log(alpha + self.ut)[self.rit]
        log_d = (np.log(a) - np.log(b + ux - 1.0, where=ux > 0, out=np.zeros(len(ux))))[self.rix]
        log_d += k * gap
        ll += dot(self.rw, _softplus(log_d))
        s = self.rw * expit(log_d)
        inv_gap = (1.0 / (alpha + self.uT))[self.riT] - (1.0 / (alpha + self.ut))[self.rit]
        s_by_x = np.bincount(self.rix, s, minlength=len(ux))
        g += np.array(
            [
                dot(s, gap),
                dot(s * k, inv_gap),
                s_by_x.sum() / a,
                -(s_by_x[ux > 0] @ (1.0 / (b + ux[ux > 0] - 1.0))),
            ]
        )
        return ll, g * np.array([r, alpha, a, b])


def _softplus(v: Array) -> Array:
    """log(1 + e^v) without overflow."""
    return np.maximum(v, 0.0) + np.log1p(np.exp(-np.abs(v)))


@dataclass(frozen=True)
class BGNBD:
    """A fitted BG/NBD model. Arrays in, arrays out, one value per customer."""

    report: FitReport

    @property
    def params(self) -> dict[str, float]:
        return dict(self.report.params)

    def _p(self) -> tuple[float, float, float, float]:
        p = self.report.params
        return p["r"], p["alpha"], p["a"], p["b"]

    def p_alive(self, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> Array:
        """P(still a customer at T | x repeat purchases, the last at t_x)."""
        xa, ta, Ta = rfm_arrays(x, t_x, T)
        return self._p_alive(xa, ta, Ta)

    def _p_alive(self, x: Array, t_x: Array, T: Array) -> Array:
        r, alpha, a, b = self._p()
        rep = x > 0
        bx = np.where(rep, b + x - 1.0, 1.0)
        log_d = np.log(a) - np.log(bx) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return np.where(rep, expit(-log_d), 1.0)

    def _future(self, x: Array, T: Array, t: Array) -> Array:
        """Expected purchases in (T, T+t] of a customer alive at T: E[(1 - e^(-lambda p t))/p]."""
        r, alpha, a, b = self._p()
        k, c = r + x, a + b + x - 1.0
        ok = (abs(a - 1.0) > 1e-4) & (c > 1e-6)
        if np.all(ok):
            z = t / (alpha + T + t)
            with np.errstate(all="ignore"):
                bracket = -np.expm1(k * np.log1p(-z) + np.log(hyp2f1(k, b + x, c, z)))
                out = c / (a - 1.0) * bracket
            if np.all(np.isfinite(out)) and np.all(out >= 0):
                return np.where(t > 0, out, 0.0)
        return _future_by_quadrature(r, alpha, a, b, x, T, t)

    def conditional_expected_purchases(
        self, t: float, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
    ) -> Array:
        """Expected repeat purchases in (T, T + t] given x, t_x, T (FHL 2005 eq. 10)."""
        xa, ta, Ta = rfm_arrays(x, t_x, T)
        ux, uT, inv = by_pairs(xa, Ta)
        future = self._future(ux, uT, np.full(len(ux), _horizon(t)))
        return self._p_alive(xa, ta, Ta) * future[inv]

    def expected_purchases(self, t: npt.ArrayLike) -> Array:
        """E[X(t)]: expected repeat purchases of a new customer by time t (for tracking plots)."""
        ta = np.atleast_1d(np.asarray(t, dtype=np.float64))
        if not np.all(np.isfinite(ta)) or (ta < 0).any():
            raise InvalidModelData("times must be finite and not negative")
        zeros = np.zeros_like(ta)
        return self._future(zeros, zeros, ta)

    def discounted_expected_purchases(
        self,
        x: npt.ArrayLike,
        t_x: npt.ArrayLike,
        T: npt.ArrayLike,
        horizon: int,
        discount_rate_per_period: float,
        period_length: float = 1.0,
    ) -> Array:
        """Sum over periods k = 1..horizon of the purchases expected in period k / (1 + d)^k.

        A period is ``period_length`` time units (e.g. 4.345 for months when time is in weeks).
        """
        xa, ta, Ta = rfm_arrays(x, t_x, T)
        disc = discount_factors(horizon, discount_rate_per_period)
        ux, uT, inv = by_pairs(xa, Ta)
        times = period_length * np.arange(0, len(disc) + 1, dtype=np.float64)
        curve = self._future(
            np.repeat(ux, len(times)), np.repeat(uT, len(times)), np.tile(times, len(ux))
        ).reshape(len(ux), len(times))
        per_pair = np.diff(curve, axis=1) @ disc
        return self._p_alive(xa, ta, Ta) * per_pair[inv]


def _horizon(t: float) -> float:
    t = float(t)
    if not np.isfinite(t) or t < 0:
        raise InvalidModelData(f"horizon t must be finite and not negative, got {t}")
    return t


def _future_by_quadrature(
    r: float, alpha: float, a: float, b: float, x: Array, T: Array, t: Array, nodes: int = 160
) -> Array:
    """E_p[(1 - ((alpha+T)/(alpha+T+p t))^(r+x)) / p], p ~ Beta(a, b+x), by Gauss-Jacobi.

    Used where the closed form divides by a - 1 ~ 0, its 2F1 is undefined (a + b + x <= 1) or
    it fails (huge parameters). When a + b + x > 1e4, p is all but fixed at its mean a/(a+b+x)
    (standard deviation under 1 % of the mean) and the integrand is taken there.
    """
    out = np.empty(len(x))
    for xv in np.unique(x):
        if a + b + xv > 1e4:
            p, w = np.array([a / (a + b + xv)]), np.array([1.0])
        else:
            u, w = roots_jacobi(nodes, b + xv - 1.0, a - 1.0)
            p, w = (1.0 + u) / 2.0, w / w.sum()
        sel = x == xv
        ratio = t[sel, None] / (alpha + T[sel, None])
        vals = -np.expm1(-(r + xv) * np.log1p(p[None, :] * ratio)) / p[None, :]
        out[sel] = vals @ w
    return out


def fit_bgnbd(
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> BGNBD:
    """Fit BG/NBD by maximum likelihood.

    ``x`` repeat purchases, ``t_x`` time of the last one, ``T`` time observed, all from each
    customer's first purchase in one time unit. Without ``weights`` the rows are per customer
    and are collapsed first; with ``weights`` each row stands for that many customers.
    """
    d = rfm_for_fit("BG/NBD", x, t_x, T, weights)
    rate = rate_scale(d)
    starts = [
        (1.0, 1.0 / rate, 1.0, 1.0),
        (0.25, 0.25 / rate, 0.5, 3.0),
        (3.0, 3.0 / rate, 2.0, 1.0),
    ]
    report = fit_rfm_model("bgnbd", NAMES, _Likelihood, d, starts)
    return BGNBD(report)


def log_likelihood(
    params: Mapping[str, float],
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> float:
    """The BG/NBD log-likelihood at ``params`` (r, alpha, a, b), in the papers' units (natural log,
    summed over customers), on the same inputs as :func:`fit_bgnbd`: to compare two solutions."""
    d = rfm_for_fit("BG/NBD", x, t_x, T, weights)
    return _Likelihood(d)(log_params("BG/NBD", NAMES, params))[0]
