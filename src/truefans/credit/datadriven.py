"""A GA4-style data-driven model: a fitted conversion-probability model, credited by Shapley values.

Google describes its data-driven attribution as a model of the conversion probability of a path
from the touchpoints on it, and a path's credit as each touchpoint's Shapley value of that
probability (the counterfactual gain of adding it). Here the probability model is a weighted,
lightly L2-penalised logistic regression of "did the journey convert" on ``log(1 + touches)`` per
channel, fitted by L-BFGS with an analytic gradient on the distinct journeys. For each converting
journey, the Shapley values of its channels for ``p(x) - p(0)`` are computed exactly over the
subsets of its channels (up to :data:`EXACT_MAX` channels in one journey; sampled orders beyond),
negative values are set to zero, and the journey's conversion (and money) is split in proportion
(equally if every value is zero).

:func:`holdout_check` fits on a random 80 % of the people and reports the log-loss and AUC of the
predictions on the other 20 % beside the intercept-only model's.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial

import numpy as np
from scipy.special import expit

from .journeys import Credit, FloatArray, Journeys, make_credit

EXACT_MAX = 12
PENALTY = 1.0


@dataclass(frozen=True)
class Logit:
    intercept: float
    coef: FloatArray
    converged: bool

    def predict(self, x: FloatArray) -> FloatArray:
        return np.asarray(expit(self.intercept + x @ self.coef))


def features(j: Journeys, cap: int = 50) -> FloatArray:
    """``log(1 + touches)`` per journey and channel (touches capped at ``cap``)."""
    counts = np.zeros((j.n, j.n_channels))
    if len(j.channel):
        np.add.at(counts, (j.journey_of_touch, j.channel), 1.0)
    return np.log1p(np.minimum(counts, cap))


def _distinct(x: FloatArray, pos: FloatArray, neg: FloatArray) -> tuple[FloatArray, ...]:
    rows, inv = np.unique(x, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    return (
        rows,
        np.bincount(inv, pos, minlength=len(rows)),
        np.bincount(inv, neg, minlength=len(rows)),
    )


def fit_logit(x: FloatArray, pos: FloatArray, neg: FloatArray, penalty: float = PENALTY) -> Logit:
    """Weighted logistic regression: ``pos``/``neg`` are converting/non-converting counts per row."""
    rows, wp, wn = _distinct(x, pos, neg)
    k = rows.shape[1]
    total = wp + wn

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        eta = theta[0] + rows @ theta[1:]
        # -log-likelihood: wp * log(1 + e^-eta) + wn * log(1 + e^eta)
        nll = float(wp @ np.logaddexp(0, -eta) + wn @ np.logaddexp(0, eta))
        p = expit(eta)
        resid = total * p - wp
        grad = np.empty(k + 1)
        grad[0] = resid.sum()
        grad[1:] = rows.T @ resid
        nll += 0.5 * penalty * float(theta[1:] @ theta[1:])
        grad[1:] += penalty * theta[1:]
        return nll, grad

    rate = (wp.sum() + 0.5) / (total.sum() + 1.0)
    theta = np.zeros(k + 1)
    theta[0] = np.log(rate / (1 - rate))
    design = np.c_[np.ones(len(rows)), rows]
    ridge = np.r_[0.0, np.full(k, penalty)]
    f, g = objective(theta)
    converged = False
    for _ in range(100):  # Newton's method with step halving (the objective is convex)
        p = expit(design @ theta)
        hess = (design * (total * p * (1 - p))[:, None]).T @ design + np.diag(ridge)
        step = np.linalg.solve(hess + 1e-10 * np.eye(k + 1), g)
        t = 1.0
        while True:
            cand = theta - t * step
            fc, gc = objective(cand)
            if fc <= f + 1e-12 or t < 1e-8:
                break
            t *= 0.5
        done = abs(f - fc) < 1e-10 * (1 + abs(f))
        theta, f, g = cand, fc, gc
        if done or float(np.abs(g).max()) < 1e-8 * (1 + total.sum()):
            converged = True
            break
    return Logit(float(theta[0]), np.asarray(theta[1:]), converged)


def _subset_matrix(m: int) -> np.ndarray:
    idx = np.arange(1 << m)
    return ((idx[:, None] >> np.arange(m)[None, :]) & 1).astype(bool)


def row_shapley(model: Logit, x: FloatArray, seed: int = 0, samples: int = 200) -> FloatArray:
    """Per row, the Shapley value of each channel for ``p(x restricted to S) - p(0)``."""
    n, k = x.shape
    out = np.zeros((n, k))
    present = x > 0
    m_row = present.sum(axis=1)
    contrib = x * model.coef[None, :]
    rng = np.random.default_rng(seed)
    for m in np.unique(m_row):
        rows = np.flatnonzero(m_row == m)
        if m == 0:
            continue
        # the row's channels in column order, and their contributions to the logit
        cols = np.argsort(~present[rows], axis=1, kind="stable")[:, :m]
        c = np.take_along_axis(contrib[rows], cols, axis=1)
        if m <= EXACT_MAX:
            subsets = _subset_matrix(int(m))  # (2^m, m)
            size = subsets.sum(axis=1)
            f = expit(model.intercept + c @ subsets.T.astype(float))  # (rows, 2^m)
            w = np.array([factorial(s) * factorial(m - s - 1) / factorial(m) for s in range(m)])
            phi = np.zeros((len(rows), m))
            full = np.arange(1 << m)
            for i in range(m):
                bit = 1 << i
                without = full[(full & bit) == 0]
                phi[:, i] = (f[:, without | bit] - f[:, without]) @ w[size[without]]
        else:
            phi = np.zeros((len(rows), m))
            for _ in range(samples):
                order = rng.permutation(int(m))
                cum = np.cumsum(c[:, order], axis=1)
                f = expit(model.intercept + np.c_[np.zeros(len(rows)), cum])
                phi[:, order] += np.diff(f, axis=1)
            phi /= samples
        block = out[rows]
        np.put_along_axis(block, cols, phi, axis=1)
        out[rows] = block
    return out


def data_driven_credit(j: Journeys, seed: int = 0, penalty: float = PENALTY) -> Credit:
    x = features(j)
    model = fit_logit(x, j.conversions, j.nulls, penalty)
    conv_rows = np.flatnonzero((j.conversions > 0) & (j.lengths > 0))
    xr, inv = np.unique(x[conv_rows], axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    phi = row_shapley(model, xr, seed).clip(min=0)
    tot = phi.sum(axis=1, keepdims=True)
    present = xr > 0
    equal = present / np.maximum(present.sum(axis=1, keepdims=True), 1)
    split = np.where(tot > 0, phi / np.where(tot > 0, tot, 1), equal)
    wc = np.bincount(inv, j.conversions[conv_rows], minlength=len(xr))
    wv = np.bincount(inv, j.value[conv_rows], minlength=len(xr))
    conv = split.T @ wc
    val = split.T @ wv
    return make_credit(
        "data_driven",
        j,
        conv,
        val,
        extra={
            "coefficients": dict(zip(j.channels, model.coef.tolist(), strict=True)),
            "intercept": model.intercept,
            "converged": model.converged,
        },
    )


def log_loss(p: FloatArray, pos: FloatArray, neg: FloatArray) -> float:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    total = float(pos.sum() + neg.sum())
    return float(-(pos @ np.log(p) + neg @ np.log1p(-p)) / total) if total else float("nan")


def auc(p: FloatArray, pos: FloatArray, neg: FloatArray) -> float:
    """Weighted AUC (the Mann-Whitney probability that a conversion outranks a non-conversion)."""
    order = np.argsort(p, kind="stable")
    p, pos, neg = p[order], pos[order], neg[order]
    _, start = np.unique(p, return_index=True)
    gp = np.add.reduceat(pos, start) if len(p) else np.zeros(0)
    gn = np.add.reduceat(neg, start) if len(p) else np.zeros(0)
    below = np.cumsum(gn) - gn
    num = float(gp @ (below + 0.5 * gn))
    den = float(pos.sum() * neg.sum())
    return num / den if den > 0 else float("nan")


def holdout_check(j: Journeys, share: float = 0.2, seed: int = 0) -> dict[str, object]:
    """Fit on ~80 % of the people, score the rest: log-loss and AUC beside the base rate's."""
    rng = np.random.default_rng(seed)
    group = j.person if j.person is not None else np.arange(j.n)
    _, ginv = np.unique(group, return_inverse=True)
    held_group = rng.random(int(ginv.max()) + 1 if len(ginv) else 0) < share
    held = held_group[ginv.reshape(-1)]
    x = features(j)
    train, test = ~held, held
    if j.conversions[train].sum() == 0 or j.nulls[train].sum() == 0 or not test.any():
        return {"ok": False, "reason": "too few journeys of both kinds to hold some out"}
    model = fit_logit(x[train], j.conversions[train], j.nulls[train])
    p = model.predict(x[test])
    rate = j.conversions[train].sum() / (j.conversions[train].sum() + j.nulls[train].sum())
    base = np.full(int(test.sum()), rate)
    pos, neg = j.conversions[test], j.nulls[test]
    ll, ll0 = log_loss(p, pos, neg), log_loss(base, pos, neg)
    a = auc(p, pos, neg)
    return {
        "ok": True,
        "held_out_journeys": int(test.sum()),
        "log_loss": ll,
        "log_loss_base_rate": ll0,
        "auc": a,
        "better_than_base_rate": bool(ll < ll0),
    }
