"""Automatic review of a mix fit, run before any number is shown.

Each check says plainly what it found. ``blocking`` checks mean the numbers should not be used
(the CLI shows the review instead of the figures); ``warning`` checks qualify them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from truefans.mix.fit import Fitter, MixFit
from truefans.mix.intervals import Draws
from truefans.mix.transforms import Array

Severity = Literal["ok", "info", "warning", "blocking"]


@dataclass(frozen=True)
class Check:
    name: str
    severity: Severity
    message: str


def holdout_weeks(weeks: int, asked: int | None) -> int:
    if asked is not None:
        return int(asked)
    return int(min(13, max(4, round(0.1 * weeks))))


def _mape(y: Array, mu: Array) -> float:
    denom = np.maximum(np.abs(y), 1e-9)
    return float(np.mean(np.abs(y - mu) / denom))


def collinear_groups(x: Array, names: tuple[str, ...], threshold: float) -> list[list[str]]:
    """Inputs whose weekly amounts correlate above ``threshold`` (pooled over geos), grouped."""
    flat = x.reshape(x.shape[0], -1)
    n = flat.shape[0]
    if n < 2:
        return []
    sd = flat.std(axis=1)
    corr = np.atleast_2d(np.corrcoef(flat)) if np.all(sd > 0) else np.eye(n)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if abs(corr[i, j]) >= threshold:
                parent[root(j)] = root(i)
    groups: dict[int, list[str]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(names[i])
    return [g for g in groups.values() if len(g) > 1]


def tradeoff_groups(totals: Array, names: tuple[str, ...], cutoff: float = -0.7) -> list[list[str]]:
    """Pairs whose bootstrap totals trade off (correlation below ``cutoff``): credit is split
    between them by the noise, not by the data."""
    if totals.shape[0] < 10 or totals.shape[1] < 2:
        return []
    sd = totals.std(axis=0)
    out = []
    for i in range(totals.shape[1]):
        for j in range(i + 1, totals.shape[1]):
            if sd[i] > 0 and sd[j] > 0:
                c = float(np.corrcoef(totals[:, i], totals[:, j])[0, 1])
                if c < cutoff:
                    out.append([names[i], names[j]])
    return out


def review(
    fit: MixFit, draws: Draws | None, totals: Array | None
) -> tuple[list[Check], list[list[str]], dict[str, float]]:
    """The checks, the groups that cannot be separated, and holdout metrics."""
    checks: list[Check] = []
    rep = fit.report
    if rep.converged and rep.starts_agree:
        checks.append(
            Check("convergence", "ok", f"converged ({len(rep.start_costs)} starts agree)")
        )
    elif rep.converged:
        checks.append(
            Check(
                "convergence",
                "warning",
                "the starting points reached different optima; the best is shown "
                f"(costs {', '.join(f'{c:.1f}' for c in sorted(rep.start_costs))})",
            )
        )
    else:
        checks.append(Check("convergence", "blocking", f"the fit did not converge: {rep.message}"))
    if draws is not None and draws.n > 1:
        share = float(draws.converged[1:].mean())
        if share < 0.9:
            checks.append(
                Check(
                    "bootstrap",
                    "warning",
                    f"only {share:.0%} of the bootstrap refits converged; intervals are rough",
                )
            )
    base = fit.baseline()
    neg = base < 0
    if neg.any():
        checks.append(
            Check(
                "negative baseline",
                "warning" if neg.mean() < 0.1 else "blocking",
                f"the baseline is negative in {int(neg.sum())} of {neg.size} weeks: media get "
                "more credit than the outcome allows; add controls or events",
            )
        )
    else:
        checks.append(Check("negative baseline", "ok", "the baseline stays positive"))
    for name in fit.prep.dropped:
        checks.append(
            Check(
                "few active weeks",
                "warning",
                f"{name} is active in fewer than {fit.spec.min_active_weeks} weeks and was left "
                "out of the model (its effect is in the baseline)",
            )
        )
    for note in fit.simplified:
        checks.append(Check("short history", "warning", note))
    groups = collinear_groups(fit.prep.x, fit.names, fit.spec.collinear_threshold)
    if totals is not None:
        for pair in tradeoff_groups(totals, fit.names):
            if not any(set(pair) <= set(g) for g in groups):
                merged = [g for g in groups if set(g) & set(pair)]
                new = sorted(set(pair).union(*[set(g) for g in merged]))
                groups = [g for g in groups if g not in merged] + [new]
    for g in groups:
        checks.append(
            Check(
                "cannot separate",
                "warning",
                f"{', '.join(g)} move together: the model cannot separate their effects; "
                "only their sum is reported with confidence",
            )
        )
    # residuals
    mu = fit.fitted()
    y = fit.prep.y
    if fit.spec.likelihood == "gaussian":
        r = (y - mu) / fit.sigma
    else:
        var = np.maximum(mu, 0.5)
        if fit.spec.likelihood == "negbin" and np.isfinite(fit.dispersion):
            var = var + var**2 / fit.dispersion
        r = (y - mu) / np.sqrt(var)
        disp = float((r**2).mean())
        if disp > 1.5:
            checks.append(
                Check(
                    "dispersion",
                    "warning",
                    f"the counts vary {disp:.1f}x more than the {fit.spec.likelihood} "
                    "likelihood expects: intervals are too narrow"
                    + ("; try the negative binomial" if fit.spec.likelihood == "poisson" else ""),
                )
            )
    ac = float(np.mean([np.corrcoef(r[:-1, g], r[1:, g])[0, 1] for g in range(r.shape[1])]))
    if np.isfinite(ac) and ac > 0.3:
        checks.append(
            Check(
                "residuals",
                "warning",
                f"residuals correlate week to week (lag-1 {ac:.2f}): something slow is missing "
                "(a trend change, a control)",
            )
        )
    else:
        checks.append(Check("residuals", "ok", f"lag-1 residual correlation {ac:.2f}"))
    metrics = {"residual_lag1": ac}
    # holdout: refit without the last weeks, predict them
    h = holdout_weeks(fit.prep.weeks, fit.spec.holdout_weeks)
    if h > 0 and fit.prep.weeks - h >= 12:
        fitter = Fitter(fit.prep, fit.spec, fit_weeks=fit.prep.weeks - h)
        try:
            held = fitter.fit(starts=[fit.u])
        except (np.linalg.LinAlgError, ValueError) as e:  # pragma: no cover - reported, not hidden
            checks.append(Check("holdout", "warning", f"holdout refit failed: {e}"))
        else:
            pred = held.fitted()[-h:]
            out_err = _mape(y[-h:], pred)
            in_err = _mape(y[:-h], held.fitted()[:-h])
            metrics.update(holdout_weeks=float(h), holdout_mape=out_err, insample_mape=in_err)
            bad = out_err > max(2 * in_err, 0.1)
            checks.append(
                Check(
                    "holdout",
                    "warning" if bad else "ok",
                    f"last {h} weeks predicted from the weeks before: error {out_err:.1%} "
                    f"(in-sample {in_err:.1%})"
                    + ("; the model forecasts poorly, read the figures with care" if bad else ""),
                )
            )
    return checks, groups, metrics
