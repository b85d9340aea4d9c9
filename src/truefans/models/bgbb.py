"""BG/BB: Fader, Hardie & Shang (2010), "Customer-Base Analysis in a Discrete-Time
Noncontractual Setting" (Marketing Science 29(6)).

At each of n opportunities (e.g. yearly fundraisers) a live customer transacts with probability
p ~ Beta(alpha, beta) and, before the next one, drops out with probability theta ~ Beta(gamma,
delta). A customer is summarised by x transactions in n opportunities, the last at opportunity
t_x (0 if none).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, digamma, logsumexp

from truefans.models._fit import (
    Array,
    FitReport,
    InvalidModelData,
    as_column,
    check_weights,
    collapse,
    maximise,
    require,
    same_length,
)

NAMES = ("alpha", "beta", "gamma", "delta")


def _arrays(x: npt.ArrayLike, t_x: npt.ArrayLike, n: npt.ArrayLike) -> tuple[Array, Array, Array]:
    xa, ta, na = as_column(x, "x (transactions)"), as_column(t_x, "t_x"), as_column(n, "n")
    same_length(x=xa, t_x=ta, n=na)
    for arr, name in ((xa, "x"), (ta, "t_x"), (na, "n (opportunities)")):
        require((arr >= 0) & (arr == np.round(arr)), f"{name} must be whole numbers >= 0")
    require(xa <= ta, "x (transactions) cannot exceed t_x (the opportunity of the last one)")
    require(ta <= na, "t_x cannot exceed n (the number of opportunities)")
    require((xa > 0) | (ta == 0), "a customer with no transactions (x = 0) must have t_x = 0")
    return xa, ta, na


def _d_betaln(u: Array, v: Array) -> tuple[Array, Array]:
    s = digamma(u + v)
    return digamma(u) - s, digamma(v) - s


def _terms(params: Array, x: Array, t_x: Array, n: Array) -> tuple[Array, Array]:
    """Log of each term of the likelihood (rows x terms, -inf where absent) and its gradient.

    Term 0: alive through n. Term 1 + i (i < n - t_x): dropped out after opportunity t_x + i.
    """
    al, be, ga, de = params
    width = 1 + int((n - t_x).max())
    i = np.arange(width - 1, dtype=np.float64)[None, :]
    x2, t2, n2 = x[:, None], t_x[:, None], n[:, None]
    u1 = np.broadcast_to(al + x2, (len(x), width))
    v1 = np.concatenate([be + n2 - x2, be + t2 - x2 + i], axis=1)
    u2 = np.concatenate([np.full_like(x2, ga), np.full((len(x), width - 1), ga + 1.0)], axis=1)
    v2 = np.concatenate([de + n2, de + t2 + i], axis=1)
    present = np.concatenate([np.ones_like(x2, dtype=bool), i < (n2 - t2)], axis=1)
    log_t = betaln(u1, v1) - betaln(al, be) + betaln(u2, v2) - betaln(ga, de)
    log_t = np.where(present, log_t, -np.inf)
    du1, dv1 = _d_betaln(u1, v1)
    du2, dv2 = _d_betaln(u2, v2)
    d0a, d0b = _d_betaln(np.array(al), np.array(be))
    d0g, d0d = _d_betaln(np.array(ga), np.array(de))
    grad = np.stack([du1 - d0a, dv1 - d0b, du2 - d0g, dv2 - d0d])
    return log_t, grad


class _Likelihood:
    def __init__(self, x: Array, t_x: Array, n: Array, w: Array) -> None:
        self.x, self.t_x, self.n, self.w = x, t_x, n, w

    def __call__(self, theta: Array) -> tuple[float, Array]:
        params = np.exp(theta)
        log_t, grad = _terms(params, self.x, self.t_x, self.n)
        ll = logsumexp(log_t, axis=1)
        share = np.exp(log_t - ll[:, None])
        g = (grad * share[None]).sum(axis=2) @ self.w
        return float(self.w @ ll), g * params


@dataclass(frozen=True)
class BGBB:
    """A fitted BG/BB model. Arrays in, arrays out, one value per customer."""

    report: FitReport

    @property
    def params(self) -> dict[str, float]:
        return dict(self.report.params)

    def _p(self) -> Array:
        return np.array([self.report.params[k] for k in NAMES])

    def _log_likelihood(self, x: Array, t_x: Array, n: Array) -> Array:
        log_t, _ = _terms(self._p(), x, t_x, n)
        return np.asarray(logsumexp(log_t, axis=1))

    def p_alive(self, x: npt.ArrayLike, t_x: npt.ArrayLike, n: npt.ArrayLike) -> Array:
        """P(alive at opportunity n + 1 | x transactions in n, the last at t_x) (FHS eq. 11)."""
        c = collapse(*_arrays(x, t_x, n))
        xa, ta, na = c.columns
        al, be, ga, de = self._p()
        log_alive = (
            betaln(al + xa, be + na - xa)
            - betaln(al, be)
            + betaln(ga, de + na + 1.0)
            - betaln(ga, de)
        )
        return np.asarray(np.exp(log_alive - self._log_likelihood(xa, ta, na))[c.inverse])

    def expected_transactions(
        self, n_star: int, x: npt.ArrayLike, t_x: npt.ArrayLike, n: npt.ArrayLike
    ) -> Array:
        """Expected transactions in the next ``n_star`` opportunities (FHS eq. 13, as a sum)."""
        if n_star < 0 or int(n_star) != n_star:
            raise InvalidModelData(f"n_star must be a whole number >= 0, got {n_star}")
        c = collapse(*_arrays(x, t_x, n))
        xa, ta, na = c.columns
        al, be, ga, de = self._p()
        k = np.arange(1, int(n_star) + 1, dtype=np.float64)[None, :]
        log_future = betaln(ga, de + na[:, None] + k) - betaln(ga, de)
        total = np.exp(logsumexp(log_future, axis=1)) if n_star > 0 else np.zeros(len(xa))
        log_buy = betaln(al + xa + 1.0, be + na - xa) - betaln(al, be)
        out = np.exp(log_buy - self._log_likelihood(xa, ta, na)) * total
        return np.asarray(out[c.inverse])


def fit_bgbb(
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    n: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> BGBB:
    """Fit BG/BB: ``x`` transactions in ``n`` opportunities, the last at opportunity ``t_x``.

    Without ``weights`` the rows are per customer and are collapsed first.
    """
    xa, ta, na = _arrays(x, t_x, n)
    if weights is None:
        c = collapse(xa, ta, na)
        (xa, ta, na), w = c.columns, c.weights
    else:
        w = check_weights(weights, len(xa))
    keep = w > 0
    xa, ta, na, w = xa[keep], ta[keep], na[keep], w[keep]
    if not (na > 0).any():
        raise InvalidModelData("BG/BB: every customer has n = 0 opportunities; nothing to fit")
    if not (xa > 0).any():
        raise InvalidModelData(
            "BG/BB: nobody transacted at any opportunity (all x = 0); transaction and dropout "
            "probabilities cannot be told apart"
        )
    if len(collapse(xa, ta, na).weights) == 1:
        raise InvalidModelData(
            "BG/BB: every customer has the same (x, t_x, n) (or there is only one customer), so "
            "how customers differ cannot be estimated; fit on more customers"
        )
    starts = [(1.0, 1.0, 1.0, 1.0), (0.5, 2.0, 0.5, 3.0), (2.0, 0.5, 2.0, 1.0)]
    likelihood = _Likelihood(xa, ta, na, w)
    report = maximise("bgbb", NAMES, likelihood, starts, float(w.sum()), len(xa))
    return BGBB(report)
