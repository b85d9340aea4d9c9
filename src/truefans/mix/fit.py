"""Fitting the mix model by variable projection.

The model of week ``t`` (in each geo ``g``)::

    mean[t] = baseline[t] + sum_i beta_i * sat_i(adstock_i(x_i / scale_i))[t]
    baseline[t] = intercept + trend * t + Fourier terms of the day of year + events + controls

is linear in the baseline coefficients and the media effects ``beta_i >= 0`` once the curve
parameters (adstock ``alpha``; Hill ``k, s`` or logistic ``lam``) are fixed. For fixed curve
parameters the linear part is solved exactly: the baseline columns are projected out (QR) and the
non-negative effects come from :func:`scipy.optimize.nnls`. The curve parameters (a handful per
input) are found by :func:`scipy.optimize.least_squares` on the residuals of that exact solution
("variable projection", Golub & Pereyra 1973), from several fixed starting points.

Lift tests and ROI priors are linear in ``beta`` for fixed curves, so they enter the same
least-squares problem as extra rows weighted by their standard errors: a Gaussian likelihood term.
Weak Gaussian priors on the transformed curve parameters keep them in plausible ranges (MAP).
Counts (Poisson, negative binomial with identity link) are fitted by iteratively reweighted least
squares: the weights ``1 / Var(mean)`` are refreshed until they settle, whose fixed point solves
the likelihood's score equations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import least_squares, nnls
from scipy.special import expit, gammaln, logit

from truefans.mix.data import FULL_MODEL_WEEKS, MixData, MixError, MixSpec, Prepared, prepare
from truefans.mix.transforms import Array, geometric_adstock, saturate

#: adstock alpha is kept in [0, ALPHA_MAX)
ALPHA_MAX = 0.95
#: (alpha, k, s) for Hill; (alpha, lam) for logistic; (alpha,) for linear — the same for all inputs
STARTS: dict[str, list[tuple[float, ...]]] = {
    "hill": [(0.3, 1.0, 1.0), (0.1, 0.5, 2.0), (0.6, 2.0, 1.0), (0.3, 0.3, 1.5), (0.2, 3.0, 2.5)],
    "logistic": [(0.3, 1.0), (0.1, 3.0), (0.6, 0.5), (0.3, 5.0), (0.2, 0.2)],
    "linear": [(0.3,), (0.05,), (0.7,), (0.5,), (0.15,)],
}
#: bounds of the transformed parameters: logit(alpha / ALPHA_MAX), log k, log s, log lam
_BOUNDS = {"alpha": (-8.0, 6.0), "k": (np.log(0.02), np.log(50.0)), "s": (np.log(0.5), np.log(5.0))}
_BOUNDS["lam"] = _BOUNDS["k"]
#: weak priors on the transformed parameters: (mean, sd)
_PRIORS = {"alpha": (-0.5, 2.0), "k": (0.0, 2.0), "s": (np.log(1.5), 1.0), "lam": (0.0, 2.0)}


def param_names(saturation: str) -> tuple[str, ...]:
    return {"hill": ("alpha", "k", "s"), "logistic": ("alpha", "lam"), "linear": ("alpha",)}[
        saturation
    ]


def to_natural(u: Array, saturation: str) -> Array:
    """Transformed parameters (inputs, n) to natural ones (alpha, k, s / lam)."""
    out = np.exp(u)
    out[:, 0] = ALPHA_MAX * expit(u[:, 0])
    if saturation == "linear":
        return out[:, :1]
    return out


def to_transformed(theta: Array) -> Array:
    u = np.log(np.maximum(theta, 1e-300))
    u[:, 0] = logit(np.clip(theta[:, 0] / ALPHA_MAX, 1e-6, 1 - 1e-6))
    return u


def year_fraction(prep: Prepared) -> Array:
    """Position of each week in the year (0..1), from the dates or from the week index."""
    if prep.dates is not None:
        days = prep.dates.astype("datetime64[D]").astype(np.int64)
        return np.asarray((days / 365.25) % 1.0)
    return np.asarray((np.arange(prep.weeks) / (365.25 / 7)) % 1.0)


def baseline_design(prep: Prepared, trend: bool, fourier_order: int) -> tuple[Array, list[str]]:
    """Baseline columns per geo, shape (geos, weeks, p), and their names."""
    weeks = prep.weeks
    cols, names = [np.ones(weeks)], ["intercept"]
    if trend:
        cols.append(np.linspace(0.0, 1.0, weeks))
        names.append("trend")
    frac = year_fraction(prep)
    for k in range(1, fourier_order + 1):
        cols += [np.sin(2 * np.pi * k * frac), np.cos(2 * np.pi * k * frac)]
        names += [f"sin{k}", f"cos{k}"]
    common = np.stack(cols, axis=1)
    per_geo = [np.concatenate([common, prep.extra[:, g, :]], axis=1) for g in range(prep.n_geos)]
    return np.stack(per_geo), names + list(prep.extra_names)


def input_scales(x: Array) -> Array:
    """Per input and geo: the mean of the non-zero weeks (1 where there are none)."""
    active = x > 0
    n = active.sum(axis=1)
    total = np.where(active, x, 0.0).sum(axis=1)
    return np.asarray(np.where(n > 0, total / np.maximum(n, 1), 1.0))


def media_features(x: Array, scales: Array, theta: Array, saturation: str, max_lag: int) -> Array:
    """sat(adstock(x / scale)) for every input: (inputs, weeks, geos)."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        z = geometric_adstock(x[i] / scales[i], float(theta[i, 0]), max_lag)
        out[i] = z if saturation == "linear" else saturate(saturation, z, theta[i, 1:])
    return out


def _orthonormal(a: Array) -> Array:
    """An orthonormal basis of the column space of ``a`` (rank-revealing)."""
    u, s, _ = np.linalg.svd(a, full_matrices=False)
    keep = s > s[0] * 1e-10 if s.size and s[0] > 0 else np.zeros(0, dtype=bool)
    return np.asarray(u[:, keep])


@dataclass
class FitReport:
    """How the non-linear search went (honest convergence, as in :mod:`truefans.models`)."""

    converged: bool
    message: str
    cost: float  # half the sum of squared weighted residuals (priors and lift tests included)
    gradient_norm: float  # projected gradient of ``cost`` w.r.t. the transformed parameters
    evaluations: int
    start_costs: list[float] = field(default_factory=list)
    starts_agree: bool = True
    reweightings: int = 0


@dataclass
class Problem:
    """One least-squares problem: data (possibly resampled), weights, scale, calibration targets."""

    prep: Prepared
    spec: MixSpec
    base: Array  # (geos, weeks, p)
    scales: Array  # (inputs, geos)
    y: Array  # (weeks, geos)
    rows_w: Array  # (weeks, geos) sqrt(weight) / sigma of each data row
    saturation: str
    lift_targets: Array  # delta_outcome of each lift test
    roi_means: dict[str, float]
    prior_means: Array  # (n_params,) centres of the curve priors
    fit_weeks: int = -1  # rows used (the holdout check fits on the first weeks only)

    def __post_init__(self) -> None:
        n = self.prep.weeks if self.fit_weeks < 0 else self.fit_weeks
        self.n = n
        self.q = []
        self.py = []
        for g in range(self.prep.n_geos):
            q = _orthonormal(self.rows_w[:n, g, None] * self.base[g, :n])
            wy = self.rows_w[:n, g] * self.y[:n, g]
            self.q.append(q)
            self.py.append(wy - q @ (q.T @ wy))
        self.n_inputs = self.prep.x.shape[0]
        self.names = param_names(self.saturation)
        self.k = len(self.names)

    # -- parameters ------------------------------------------------------------------------------

    def bounds(self) -> tuple[Array, Array]:
        lo = np.array([_BOUNDS[n][0] for n in self.names] * self.n_inputs)
        hi = np.array([_BOUNDS[n][1] for n in self.names] * self.n_inputs)
        return lo, hi

    def theta(self, u: Array) -> Array:
        return to_natural(u.reshape(self.n_inputs, self.k), self.saturation)

    # -- the projected problem -------------------------------------------------------------------

    def features(self, theta: Array) -> Array:
        return media_features(self.prep.x, self.scales, theta, self.saturation, self.spec.max_lag)

    def _extra_rows(self, theta: Array, m: Array, g: int) -> tuple[Array, Array]:
        """Lift-test and ROI-prior rows of geo ``g``: (rows, inputs) and targets."""
        rows, targets = [], []
        names = self.prep.names
        for j, lt in enumerate(self.spec.lift_tests):
            if lt.geo != g:
                continue
            i = names.index(lt.input_name)
            rows.append(self._lift_row(theta, m, i, g, lt.start, lt.end, lt.delta_spend) / lt.sd)
            targets.append(self.lift_targets[j] / lt.sd)
        for name, prior in self.spec.roi_priors.items():
            i = names.index(name)
            spend = float(self.prep.x[i, : self.n, g].sum())
            if spend <= 0:
                continue
            row = np.zeros(self.n_inputs)
            row[i] = m[i, : self.n, g].sum() / spend / prior.sd
            rows.append(row)
            targets.append(self.roi_means[name] / prior.sd)
        if not rows:
            return np.zeros((0, self.n_inputs)), np.zeros(0)
        return np.array(rows), np.array(targets)

    def _lift_row(
        self, theta: Array, m: Array, i: int, g: int, start: int, end: int, delta: float
    ) -> Array:
        x = self.prep.x[i, :, g].copy()
        x[start : end + 1] += delta / (end - start + 1)
        x = np.maximum(x, 0.0)
        z = geometric_adstock(x / self.scales[i, g], float(theta[i, 0]), self.spec.max_lag)
        f = z if self.saturation == "linear" else saturate(self.saturation, z, theta[i, 1:])
        stop = min(end + self.spec.max_lag, self.prep.weeks)
        row = np.zeros(self.n_inputs)
        row[i] = float((f[start:stop] - m[i, start:stop, g]).sum())
        return row

    def solve_linear(self, theta: Array) -> tuple[Array, Array, Array]:
        """Media effects (geos, inputs), residuals of the data rows and of the extra rows."""
        m = self.features(theta)
        n = self.n
        betas, res, extra = [], [], []
        for g in range(self.prep.n_geos):
            a = (self.rows_w[:n, g, None] * m[:, :n, g].T).copy()
            a -= self.q[g] @ (self.q[g].T @ a)
            rows, targets = self._extra_rows(theta, m, g)
            big_a = np.vstack([a, rows]) if len(rows) else a
            big_b = np.concatenate([self.py[g], targets]) if len(rows) else self.py[g]
            beta, _ = nnls(big_a, big_b, maxiter=50 * self.n_inputs)
            betas.append(beta)
            res.append(self.py[g] - a @ beta)
            if len(rows):
                extra.append(targets - rows @ beta)
        ex = np.concatenate(extra) if extra else np.zeros(0)
        return np.array(betas), np.concatenate(res), ex

    def prior_residuals(self, u: Array) -> Array:
        if not self.spec.priors:
            return np.zeros(0)
        sds = np.array([_PRIORS[n][1] for n in self.names] * self.n_inputs)
        return np.asarray((u - self.prior_means) / sds)

    def residuals(self, u: Array) -> Array:
        theta = self.theta(u)
        _, res, extra = self.solve_linear(theta)
        return np.concatenate([res, extra, self.prior_residuals(u)])

    # -- search ----------------------------------------------------------------------------------

    def search(self, starts: Sequence[Array], tight: bool = True) -> tuple[Array, FitReport]:
        lo, hi = self.bounds()
        tol = 1e-10 if tight else 1e-6
        best = None
        costs = []
        evals = 0
        for u0 in starts:
            sol = least_squares(
                self.residuals,
                np.clip(u0, lo + 1e-9, hi - 1e-9),
                bounds=(lo, hi),
                method="trf",
                diff_step=1e-5,
                ftol=tol,
                xtol=tol,
                gtol=tol,
                max_nfev=200 * (len(u0) + 1) if tight else 60 * (len(u0) + 1),
            )
            evals += int(sol.nfev)
            costs.append(float(sol.cost))
            if best is None or sol.cost < best.cost:
                best = sol
        assert best is not None
        g = best.jac.T @ best.fun
        at_lo = (best.x <= lo + 1e-8) & (g > 0)
        at_hi = (best.x >= hi - 1e-8) & (g < 0)
        gnorm = float(np.linalg.norm(np.where(at_lo | at_hi, 0.0, g)))
        ordered = sorted(costs)
        agree = (
            len(ordered) < 2
            or ordered[1] - ordered[0] < 1.0
            or (sum(c - ordered[0] < 1.0 for c in ordered) >= 2)
        )
        scale = max(1.0, float(np.sqrt(2 * best.cost)))
        converged = bool(best.status > 0) and gnorm < 1e-2 * scale
        report = FitReport(
            converged=converged,
            message=str(best.message),
            cost=float(best.cost),
            gradient_norm=gnorm,
            evaluations=evals,
            start_costs=costs,
            starts_agree=agree,
        )
        return np.asarray(best.x), report


@dataclass
class MixFit:
    """A fitted mix model: curve parameters, effects, baseline, and how the fit went."""

    prep: Prepared
    spec: MixSpec  # as actually fitted (simplified below 52 weeks)
    theta: Array  # (inputs, n) natural curve parameters
    u: Array  # the same, transformed (what the search moved)
    beta: Array  # (geos, inputs) media effects in outcome units per week at saturation 1
    base_coef: Array  # (geos, p)
    base_names: list[str]
    scales: Array  # (inputs, geos)
    sigma: float  # residual sd (Gaussian) or 1
    dispersion: float  # negative binomial size (inf for Poisson / Gaussian)
    report: FitReport
    weights: Array  # (weeks, geos) 1 / Var(mean) / sigma**2 ... data-row weights used
    simplified: list[str] = field(default_factory=list)
    fit_weeks: int = -1

    # -- model pieces ----------------------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        return self.prep.names

    def features(self, x: Array | None = None, theta: Array | None = None) -> Array:
        return media_features(
            self.prep.x if x is None else x,
            self.scales,
            self.theta if theta is None else theta,
            self.spec.saturation,
            self.spec.max_lag,
        )

    def contributions(self, x: Array | None = None) -> Array:
        """Weekly contribution of each input: (inputs, weeks, geos)."""
        return np.asarray(self.features(x) * self.beta.T[:, None, :])

    def baseline(self) -> Array:
        base, _ = baseline_design(self.prep, self.spec.trend, self.spec.fourier_order)
        return np.asarray(np.einsum("gtp,gp->tg", base, self.base_coef))

    def fitted(self) -> Array:
        return np.asarray(self.baseline() + self.contributions().sum(axis=0))

    def log_likelihood(self, weeks: int | None = None) -> float:
        n = self.prep.weeks if weeks is None else weeks
        y, mu = self.prep.y[:n], np.maximum(self.fitted()[:n], 1e-9)
        if self.spec.likelihood == "gaussian":
            r = y - mu
            return float(-0.5 * (r**2).sum() / self.sigma**2 - r.size * np.log(self.sigma))
        if self.spec.likelihood == "poisson" or not np.isfinite(self.dispersion):
            return float((y * np.log(mu) - mu - gammaln(y + 1)).sum())
        phi = self.dispersion
        return float(
            (
                gammaln(y + phi)
                - gammaln(phi)
                - gammaln(y + 1)
                + phi * np.log(phi / (phi + mu))
                + y * np.log(mu / (phi + mu))
            ).sum()
        )


def simplified_spec(spec: MixSpec, weeks: int) -> tuple[MixSpec, list[str]]:
    """Under 52 weeks: no yearly seasonality and straight-line response (said in the review)."""
    notes = []
    if weeks < FULL_MODEL_WEEKS:
        if spec.fourier_order:
            notes.append(f"{weeks} weeks (< {FULL_MODEL_WEEKS}): no yearly seasonality fitted")
        if spec.saturation != "linear":
            notes.append(
                f"{weeks} weeks (< {FULL_MODEL_WEEKS}): no saturation fitted (straight-line "
                "response with carry-over); marginal returns equal average returns"
            )
        spec = replace(spec, fourier_order=0, saturation="linear")
    return spec, notes


def _variance(mu: Array, likelihood: str, dispersion: float) -> Array:
    mu = np.maximum(mu, 0.5)
    if likelihood == "negbin" and np.isfinite(dispersion):
        return np.asarray(mu + mu**2 / dispersion)
    return mu


def _nb_dispersion(y: Array, mu: Array) -> float:
    """Moment estimate of the negative binomial size from Var = mu + mu**2 / size."""
    mu = np.maximum(mu, 0.5)
    excess = float(((y - mu) ** 2 - mu).sum())
    if excess <= 0:
        return float("inf")
    return float((mu**2).sum() / excess)


class Fitter:
    """Builds problems for one prepared data set (used by the point fit and the bootstrap)."""

    def __init__(self, prep: Prepared, spec: MixSpec, fit_weeks: int = -1) -> None:
        self.prep = prep
        self.spec = spec
        self.fit_weeks = fit_weeks
        self.base, self.base_names = baseline_design(prep, spec.trend, spec.fourier_order)
        self.scales = input_scales(prep.x)
        names = param_names(spec.saturation)
        self.prior_means = np.array([_PRIORS[n][0] for n in names] * prep.x.shape[0])

    def problem(
        self,
        y: Array,
        rows_w: Array,
        lift_targets: Array | None = None,
        roi_means: dict[str, float] | None = None,
        prior_means: Array | None = None,
    ) -> Problem:
        return Problem(
            prep=self.prep,
            spec=self.spec,
            base=self.base,
            scales=self.scales,
            y=y,
            rows_w=rows_w,
            saturation=self.spec.saturation,
            lift_targets=(
                np.array([lt.delta_outcome for lt in self.spec.lift_tests])
                if lift_targets is None
                else lift_targets
            ),
            roi_means=(
                {k: v.mean for k, v in self.spec.roi_priors.items()}
                if roi_means is None
                else roi_means
            ),
            prior_means=self.prior_means if prior_means is None else prior_means,
            fit_weeks=self.fit_weeks,
        )

    def starts(self) -> list[Array]:
        n = self.prep.x.shape[0]
        out = []
        for start in STARTS[self.spec.saturation][: max(1, self.spec.n_starts)]:
            theta = np.tile(np.array(start, dtype=np.float64), (n, 1))
            out.append(to_transformed(theta).ravel())
        return out

    def assemble(
        self, prob: Problem, u: Array, report: FitReport, sigma: float, disp: float
    ) -> MixFit:
        theta = prob.theta(u)
        beta, _, _ = prob.solve_linear(theta)
        m = prob.features(theta)
        n = prob.n
        coefs = []
        for g in range(self.prep.n_geos):
            w = prob.rows_w[:n, g]
            target = w * (prob.y[:n, g] - m[:, :n, g].T @ beta[g])
            coef, *_ = np.linalg.lstsq(w[:, None] * self.base[g, :n], target, rcond=None)
            coefs.append(coef)
        return MixFit(
            prep=self.prep,
            spec=self.spec,
            theta=theta,
            u=u,
            beta=beta,
            base_coef=np.array(coefs),
            base_names=self.base_names,
            scales=self.scales,
            sigma=sigma,
            dispersion=disp,
            report=report,
            weights=prob.rows_w**2,
            fit_weeks=self.fit_weeks,
        )

    def fit(
        self,
        y: Array | None = None,
        starts: Sequence[Array] | None = None,
        lift_targets: Array | None = None,
        roi_means: dict[str, float] | None = None,
        prior_means: Array | None = None,
        sigma: float | None = None,
        dispersion: float | None = None,
        tight: bool = True,
    ) -> MixFit:
        """Fit on ``y`` (default: the data) from ``starts`` (default: the fixed starts)."""
        y = self.prep.y if y is None else y
        starts = self.starts() if starts is None else starts
        n = self.prep.weeks if self.fit_weeks < 0 else self.fit_weeks

        def make(rows_w: Array) -> Problem:
            return self.problem(y, rows_w, lift_targets, roi_means, prior_means)

        if self.spec.likelihood == "gaussian":
            given = sigma is not None
            if sigma is None:
                sigma = self._first_sigma(y)
            prob = make(np.full_like(y, 1.0 / sigma))
            u, report = prob.search(starts, tight)
            fit = self.assemble(prob, u, report, sigma, float("inf"))
            if given or not tight:
                return fit
            # refresh sigma once if the first guess was off (it weighs priors and lift tests)
            r = (y - fit.fitted())[:n]
            dof = max(1, r.size - len(self.base_names) * self.prep.n_geos - fit.beta.size)
            new = float(np.sqrt((r**2).sum() / dof))
            if abs(new / sigma - 1) > 0.1:
                prob = make(np.full_like(y, 1.0 / new))
                u2, report2 = prob.search([u], tight)
                report2.start_costs = report.start_costs
                report2.starts_agree = report.starts_agree
                report2.evaluations += report.evaluations
                fit = self.assemble(prob, u2, report2, new, float("inf"))
            return fit
        # counts: iteratively reweighted
        disp = float("inf") if dispersion is None else dispersion
        mu = np.maximum(np.broadcast_to(y[:n].mean(axis=0), y.shape).copy(), 0.5)
        u_cur: list[Array] = list(starts)
        cfit: MixFit | None = None
        evals = 0
        for it in range(8):
            w = 1.0 / _variance(mu, self.spec.likelihood, disp)
            prob = make(np.sqrt(w))
            u, report = prob.search(u_cur, tight)
            evals += report.evaluations
            new_fit = self.assemble(prob, u, report, 1.0, disp)
            mu_new = np.maximum(new_fit.fitted(), 0.5)
            if self.spec.likelihood == "negbin" and dispersion is None:
                disp = _nb_dispersion(y[:n], mu_new[:n])
                new_fit.dispersion = disp
            change = float(np.max(np.abs(mu_new - mu) / mu))
            cfit, mu, u_cur = new_fit, mu_new, [u]
            cfit.report.reweightings = it + 1
            if change < 1e-4:
                break
        assert cfit is not None
        cfit.report.evaluations = evals
        return cfit

    def _first_sigma(self, y: Array) -> float:
        """Residual sd of a quick straight-line model (alpha 0.3): the scale of the data rows."""
        n = self.prep.weeks if self.fit_weeks < 0 else self.fit_weeks
        prob = self.problem(y, np.ones_like(y))
        theta = np.tile(np.array(STARTS[self.spec.saturation][0]), (self.prep.x.shape[0], 1))
        _, res, _ = prob.solve_linear(theta)
        dof = max(1, n * self.prep.n_geos - len(self.base_names) * self.prep.n_geos)
        return float(max(np.sqrt((res**2).sum() / dof), 1e-9 * (np.abs(y).mean() + 1e-300)))


def fit_mix(data: MixData, spec: MixSpec | None = None) -> MixFit:
    """Point fit of the mix model (no intervals, no review): the fast path."""
    spec = spec or MixSpec()
    prep = prepare(data, spec)
    spec2, notes = simplified_spec(spec, prep.weeks)
    if prep.weeks <= len(prep.names) * 2 + 2 * spec2.fourier_order + 4:
        raise MixError(f"{prep.weeks} weeks is too few for {len(prep.names)} inputs")
    fit = Fitter(prep, spec2).fit()
    fit.simplified = notes
    return fit
