"""The full mix result: point fit, bootstrap intervals, review, and what a user reads off it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from truefans.mix.curves import ResponseCurve
from truefans.mix.data import MixData, MixError, MixSpec, prepare
from truefans.mix.fit import Fitter, MixFit, media_features, simplified_spec
from truefans.mix.intervals import Draws, bootstrap
from truefans.mix.review import Check, review
from truefans.mix.transforms import Array, adstock_weights


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its interval (``level`` of the bootstrap refits)."""

    value: float
    low: float
    high: float

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high


def _estimate(point: float, draws: Array, level: float) -> Estimate:
    if draws.size == 0:
        return Estimate(float(point), float(point), float(point))
    lo, hi = np.quantile(draws, [(1 - level) / 2, 1 - (1 - level) / 2])
    return Estimate(float(point), float(lo), float(hi))


@dataclass
class InputResult:
    name: str
    channel: str
    unit: str
    amount: float  # total dollars or hours over the data
    total: Estimate  # contribution over the data (outcome units)
    share: Estimate  # of the summed outcome
    roi: Estimate  # contribution per dollar or per hour
    marginal_roi: Estimate  # extra outcome per extra dollar / hour (+1 % in every week)
    weekly: Array  # (weeks,) contribution, summed over geos
    weekly_low: Array
    weekly_high: Array
    separable: bool = True


@dataclass
class GroupResult:
    """Inputs the model cannot separate: only their sum is reported with confidence."""

    names: list[str]
    total: Estimate
    share: Estimate


@dataclass
class MixResult:
    fit: MixFit
    draws: Draws
    inputs: list[InputResult]
    groups: list[GroupResult]
    baseline_share: Estimate
    metrics: dict[str, float]
    checks: list[Check]
    level: float
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No blocking finding: the figures may be shown (with the warnings)."""
        return not any(c.severity == "blocking" for c in self.checks)

    def input(self, name: str) -> InputResult:
        for r in self.inputs:
            if r.name == name:
                return r
        raise MixError(f"no input {name!r} (inputs: {[r.name for r in self.inputs]})")

    def curves(self) -> list[ResponseCurve]:
        """Response curves with draws, for the planner."""
        fit, d = self.fit, self.draws
        share = fit.prep.x.sum(axis=1)  # (inputs, geos)
        share = share / share.sum(axis=1, keepdims=True)
        weekly_total = fit.prep.x.sum(axis=2)  # (inputs, weeks)
        out = []
        for i, r in enumerate(self.inputs):
            out.append(
                ResponseCurve(
                    name=r.name,
                    channel=r.channel,
                    unit=r.unit,
                    kind=fit.spec.saturation,
                    beta=d.beta[:, :, i],
                    params=d.theta[:, i, 1:],
                    scale=fit.scales[i],
                    geo_share=share[i],
                    observed=(float(weekly_total[i].min()), float(weekly_total[i].max())),
                )
            )
        return out

    def response_curve(self, name: str, grid: Array) -> tuple[Array, Array, Array]:
        """Weekly outcome at steady weekly amounts ``grid``: point, low, high."""
        curve = self.curves()[self.fit.names.index(name)]
        v = curve.value(grid)
        return _band(v, self.level)

    def adstock_curve(self, name: str) -> tuple[Array, Array, Array]:
        """Share of a week's effect felt 0, 1, ... max_lag-1 weeks later: point, low, high."""
        i = self.fit.names.index(name)
        w = np.stack(
            [adstock_weights(float(a), self.fit.spec.max_lag) for a in self.draws.theta[:, i, 0]]
        )
        return _band(w, self.level)


def _band(v: Array, level: float) -> tuple[Array, Array, Array]:
    if v.shape[0] < 2:
        return v[0], v[0], v[0]
    lo, hi = np.quantile(v[1:], [(1 - level) / 2, 1 - (1 - level) / 2], axis=0)
    return v[0], lo, hi


def _per_draw(fit: MixFit, draws: Draws) -> tuple[Array, Array, Array]:
    """Weekly contributions (draws, inputs, weeks) summed over geos, totals at +1 %, baselines."""
    x = fit.prep.x
    bumped = x * 1.01
    n = draws.n
    weekly = np.empty((n, x.shape[0], x.shape[1]))
    bump_tot = np.empty((n, x.shape[0]))
    for d in range(n):
        th, b = draws.theta[d], draws.beta[d]
        m = media_features(x, fit.scales, th, fit.spec.saturation, fit.spec.max_lag)
        mb = media_features(bumped, fit.scales, th, fit.spec.saturation, fit.spec.max_lag)
        weekly[d] = np.einsum("itg,gi->it", m, b)
        bump_tot[d] = np.einsum("itg,gi->i", mb, b)
    return weekly, bump_tot, weekly.sum(axis=2)


def analyse(data: MixData, spec: MixSpec | None = None) -> MixResult:
    """Fit, bootstrap, review: everything ``truefans mix`` shows."""
    spec = spec or MixSpec()
    prep = prepare(data, spec)
    spec2, notes = simplified_spec(spec, prep.weeks)
    if prep.weeks <= len(prep.names) * 2 + 2 * spec2.fourier_order + 4:
        raise MixError(f"{prep.weeks} weeks is too few for {len(prep.names)} inputs")
    fit = Fitter(prep, spec2).fit()
    fit.simplified = notes
    draws = bootstrap(fit) if spec2.n_boot > 0 else _no_draws(fit)
    return summarise(fit, draws)


def _no_draws(fit: MixFit) -> Draws:
    return Draws(
        fit.theta[None], fit.beta[None], fit.base_coef[None], np.array([fit.report.converged])
    )


def summarise(fit: MixFit, draws: Draws) -> MixResult:
    level = fit.spec.level
    weekly, bump_tot, totals = _per_draw(fit, draws)
    y_total = float(fit.prep.y.sum())
    amounts = fit.prep.x.sum(axis=(1, 2))
    boot = slice(1, None)
    checks, groups, metrics = review(fit, draws, totals[boot] if draws.n > 1 else None)
    grouped = {n for g in groups for n in g}
    inputs = []
    for i, name in enumerate(fit.names):
        tot = totals[:, i]
        mroi = (bump_tot[:, i] - tot) / (0.01 * amounts[i])
        wk = weekly[:, i, :]
        band = _band(wk, level)
        inputs.append(
            InputResult(
                name=name,
                channel=fit.prep.channels[i],
                unit=fit.prep.units[i],
                amount=float(amounts[i]),
                total=_estimate(tot[0], tot[boot], level),
                share=_estimate(tot[0] / y_total, tot[boot] / y_total, level),
                roi=_estimate(tot[0] / amounts[i], tot[boot] / amounts[i], level),
                marginal_roi=_estimate(mroi[0], mroi[boot], level),
                weekly=band[0],
                weekly_low=band[1],
                weekly_high=band[2],
                separable=name not in grouped,
            )
        )
    group_results = []
    for g in groups:
        idx = [fit.names.index(n) for n in g]
        s = totals[:, idx].sum(axis=1)
        group_results.append(
            GroupResult(
                g,
                _estimate(s[0], s[boot], level),
                _estimate(s[0] / y_total, s[boot] / y_total, level),
            )
        )
    media = totals.sum(axis=1)
    base_share = _estimate(1 - media[0] / y_total, 1 - media[boot] / y_total, level)
    mu = fit.fitted()
    y = fit.prep.y
    resid = y - mu
    k = fit.u.size + fit.beta.size + fit.base_coef.size + (fit.spec.likelihood != "poisson")
    ll = fit.log_likelihood()
    metrics.update(
        r2=float(1 - (resid**2).sum() / ((y - y.mean(axis=0)) ** 2).sum()),
        mape=float(np.mean(np.abs(resid) / np.maximum(np.abs(y), 1e-9))),
        nrmse=float(np.sqrt((resid**2).mean()) / max(float(np.ptp(y)), 1e-12)),
        sigma=float(fit.sigma),
        log_likelihood=ll,
        aic=float(2 * k - 2 * ll),
        weeks=float(fit.prep.weeks),
        bootstrap_draws=float(draws.n - 1),
    )
    result = MixResult(
        fit=fit,
        draws=draws,
        inputs=inputs,
        groups=group_results,
        baseline_share=base_share,
        metrics=metrics,
        checks=checks,
        level=level,
        notes=list(fit.simplified),
    )
    _check_finite(result)
    return result


def _check_finite(result: MixResult) -> None:
    values = [result.baseline_share.value, result.baseline_share.low, result.baseline_share.high]
    for r in result.inputs:
        for e in (r.total, r.share, r.roi, r.marginal_roi):
            values += [e.value, e.low, e.high]
    if not np.all(np.isfinite(values)):
        raise MixError("the fit produced non-finite numbers; check the inputs' scale")
