"""The share of fakes in an audience, corrected for the scorer's error rates, with an interval.

A classifier's raw count of positives inherits its training prevalence: with sensitivity ``se`` and
specificity ``sp``, the flagged share ``q`` of an audience whose true fake share is ``p`` is
``q = se p + (1 - sp)(1 - p)``. The Rogan–Gladen estimator (Rogan & Gladen 1978; "adjusted
classify and count" in the quantification literature) inverts it:

    p = (q + sp - 1) / (se + sp - 1),   clipped to [0, 1].

``se`` and ``sp`` must come from labelled data *other than* the audience (the shipped ones come
from the SRF set, out of fold). The interval is a bootstrap over both sources of error: the
audience is resampled, and ``se`` and ``sp`` are drawn from their Beta posteriors given the
counts they were estimated from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidOption


@dataclass(frozen=True)
class ErrorRates:
    """A flag's sensitivity and specificity, with the counts they were measured on."""

    sensitivity: float
    specificity: float
    n_fake: int
    n_real: int
    source: str = ""

    @classmethod
    def measure(cls, flagged: np.ndarray, y: np.ndarray, source: str = "") -> ErrorRates:
        flagged = np.asarray(flagged, dtype=bool)
        y = np.asarray(y, dtype=bool)
        n_fake, n_real = int(y.sum()), int((~y).sum())
        if n_fake == 0 or n_real == 0:
            raise InvalidOption("error rates need both fake and real labelled accounts")
        return cls(float(flagged[y].mean()), float((~flagged[~y]).mean()), n_fake, n_real, source)

    @property
    def youden(self) -> float:
        return self.sensitivity + self.specificity - 1.0


def rogan_gladen(flagged_share: float, rates: ErrorRates) -> float:
    """The corrected fake share (clipped to [0, 1])."""
    j = rates.youden
    if j <= 0:
        raise InvalidOption(
            "the flag is no better than chance on its labelled data (sensitivity + specificity "
            "<= 1), so the share of fakes cannot be corrected with it"
        )
    return float(min(1.0, max(0.0, (flagged_share + rates.specificity - 1.0) / j)))


@dataclass(frozen=True)
class Prevalence:
    estimate: float
    low: float
    high: float
    flagged_share: float
    n: int
    level: float


def estimate_prevalence(
    flagged: np.ndarray,
    rates: ErrorRates,
    draws: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Prevalence:
    """Rogan–Gladen estimate of the fake share of an audience, with a bootstrap interval."""
    flagged = np.asarray(flagged, dtype=bool)
    n = len(flagged)
    if n == 0:
        raise InvalidOption("no followers to estimate a fake share from")
    q = float(flagged.mean())
    est = rogan_gladen(q, rates)
    rng = np.random.default_rng(seed)
    qs = rng.binomial(n, q, draws) / n
    tp = rates.sensitivity * rates.n_fake
    tn = rates.specificity * rates.n_real
    se = rng.beta(tp + 0.5, rates.n_fake - tp + 0.5, draws)
    sp = rng.beta(tn + 0.5, rates.n_real - tn + 0.5, draws)
    j = np.maximum(se + sp - 1.0, 1e-9)
    ps = np.clip((qs + sp - 1.0) / j, 0.0, 1.0)
    a = (1.0 - level) / 2.0
    low, high = np.quantile(ps, [a, 1.0 - a])
    return Prevalence(est, float(min(low, est)), float(max(high, est)), q, n, level)


def adjust_to_prior(p: np.ndarray, train_prior: float, new_prior: float) -> np.ndarray:
    """Posteriors calibrated at ``train_prior`` moved to an audience whose fake share is
    ``new_prior`` (Bayes' rule on the odds; Saerens, Latinne & Decaestecker 2002)."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
    new = min(max(new_prior, 1e-6), 1 - 1e-6)
    shift = np.log(new / (1 - new)) - np.log(train_prior / (1 - train_prior))
    return 1.0 / (1.0 + np.exp(-(np.log(p / (1 - p)) + shift)))
