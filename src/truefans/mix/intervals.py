"""Intervals by refitting on resampled data (moving-block bootstrap for dollars, parametric for counts).

Each replicate resamples the data (blocks of consecutive weekly residuals, so week-to-week
correlation survives), redraws every lift test's measured change from its standard error, every ROI
prior's mean and every curve prior's centre from their own sds ("randomise then optimise"), and
refits from the point estimate. The spread of the refits is the interval. Replicates draw from one
``numpy.random.default_rng(seed)`` in a fixed order: same data and seed, same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from truefans.mix.fit import _PRIORS, Fitter, MixFit
from truefans.mix.transforms import Array


@dataclass(frozen=True)
class Draws:
    """Parameters of the point fit (index 0) followed by those of each bootstrap refit."""

    theta: Array  # (draws, inputs, n)
    beta: Array  # (draws, geos, inputs)
    base_coef: Array  # (draws, geos, p)
    converged: Array  # (draws,) bool: did each refit's search report convergence

    @property
    def n(self) -> int:
        return int(self.theta.shape[0])


def block_length(weeks: int) -> int:
    """Moving-block length: about weeks ** (1/3), at least 4 weeks."""
    return max(4, int(np.ceil(weeks ** (1 / 3))))


def block_indices(weeks: int, length: int, rng: np.random.Generator) -> Array:
    """Row positions of a moving-block resample of ``weeks`` rows."""
    n_blocks = int(np.ceil(weeks / length))
    starts = rng.integers(0, weeks - length + 1, size=n_blocks)
    idx = (starts[:, None] + np.arange(length)[None, :]).ravel()[:weeks]
    return np.asarray(idx)


def bootstrap(fit: MixFit, n_boot: int | None = None, seed: int | None = None) -> Draws:
    """Refit ``fit`` on ``n_boot`` resampled data sets (defaults from its spec)."""
    spec = fit.spec
    n_boot = spec.n_boot if n_boot is None else n_boot
    rng = np.random.default_rng(spec.seed if seed is None else seed)
    fitter = Fitter(fit.prep, spec, fit.fit_weeks)
    mu = fit.fitted()
    y = fit.prep.y
    weeks = y.shape[0]
    resid = y - mu
    resid = resid - resid.mean(axis=0)
    length = block_length(weeks)
    prior_sd = np.array(
        [_PRIORS[n][1] for n in fitter.problem(y, np.ones_like(y)).names] * len(fit.names)
    )
    thetas, betas, coefs, conv = [fit.theta], [fit.beta], [fit.base_coef], [fit.report.converged]
    for _ in range(n_boot):
        if spec.likelihood == "gaussian":
            y_star = mu + resid[block_indices(weeks, length, rng)]
        else:
            lam = np.maximum(mu, 1e-6)
            if spec.likelihood == "negbin" and np.isfinite(fit.dispersion):
                lam = rng.gamma(fit.dispersion, lam / fit.dispersion)
            y_star = rng.poisson(lam).astype(np.float64)
        lifts = np.array(
            [lt.delta_outcome + lt.sd * rng.standard_normal() for lt in spec.lift_tests]
        )
        rois = {k: p.mean + p.sd * rng.standard_normal() for k, p in spec.roi_priors.items()}
        priors = fitter.prior_means + prior_sd * rng.standard_normal(prior_sd.size)
        refit = fitter.fit(
            y_star,
            starts=[fit.u],
            lift_targets=lifts,
            roi_means=rois,
            prior_means=priors,
            sigma=fit.sigma,
            dispersion=fit.dispersion,
            tight=False,
        )
        thetas.append(refit.theta)
        betas.append(refit.beta)
        coefs.append(refit.base_coef)
        conv.append(refit.report.converged)
    return Draws(np.array(thetas), np.array(betas), np.array(coefs), np.array(conv, dtype=bool))
