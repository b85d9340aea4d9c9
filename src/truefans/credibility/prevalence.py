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


# -- median sweep: every cut-off of the score, not one fixed band ------------------------------


@dataclass(frozen=True)
class ScoreCalibration:
    """Out-of-sample scores of labelled fakes and reals: the error rates at every cut-off.

    A single flag's correction is only as good as its Youden index ``se + sp - 1``, and a band
    fixed for one base rate can flag almost nothing on another audience (then the correction
    divides noise by a small number). The median sweep (Forman 2008, "MS") applies the
    Rogan–Gladen correction at every cut-off of the score whose Youden index is at least
    ``min_youden`` and takes the median of the estimates, so no single cut-off decides.
    """

    fake: np.ndarray  # scores of the labelled fakes
    real: np.ndarray  # scores of the labelled reals
    source: str = ""

    def __post_init__(self) -> None:
        if len(self.fake) == 0 or len(self.real) == 0:
            raise InvalidOption("a score calibration needs both fake and real labelled accounts")

    @property
    def cutoffs(self) -> np.ndarray:
        return np.unique(np.r_[self.fake, self.real])

    def rates(self, cutoffs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sensitivity and false-positive rate of "score >= cut-off" at each cut-off."""
        return _share_at_least(self.fake, cutoffs), _share_at_least(self.real, cutoffs)


def _share_at_least(values: np.ndarray, cutoffs: np.ndarray) -> np.ndarray:
    s = np.sort(np.asarray(values, dtype=np.float64))
    return 1.0 - np.searchsorted(s, cutoffs, side="left") / len(s)


def _sweep(
    flagged: np.ndarray, tpr: np.ndarray, fpr: np.ndarray, min_youden: float
) -> float | None:
    """Median over cut-offs with Youden >= min_youden of the clipped Rogan–Gladen estimates."""
    j = tpr - fpr
    ok = j >= min_youden
    if not ok.any():
        return None
    est = np.clip((flagged[ok] - fpr[ok]) / j[ok], 0.0, 1.0)
    return float(np.median(est))


def median_sweep(scores: np.ndarray, cal: ScoreCalibration, min_youden: float = 0.25) -> float:
    """The median-sweep estimate of the fake share of an audience with these scores."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) == 0:
        raise InvalidOption("no followers to estimate a fake share from")
    cut = cal.cutoffs
    tpr, fpr = cal.rates(cut)
    est = _sweep(_share_at_least(scores, cut), tpr, fpr, min_youden)
    if est is None:
        raise InvalidOption(
            f"no cut-off of the score has sensitivity - false-positive rate >= {min_youden} on "
            "its labelled data, so the share of fakes cannot be corrected with it"
        )
    return est


def estimate_prevalence_sweep(
    scores: np.ndarray,
    cal: ScoreCalibration,
    draws: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    min_youden: float = 0.25,
) -> Prevalence:
    """Median-sweep estimate of the fake share, with a bootstrap interval over the audience
    and over the labelled scores the error rates come from. ``flagged_share`` is the share of
    the audience at or above the calibration's best (highest-Youden) cut-off."""
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    est = median_sweep(scores, cal, min_youden)
    cut = cal.cutoffs
    # the audience as counts between consecutive cut-offs: resampled by one multinomial draw
    bins = np.searchsorted(cut, scores, side="right")  # 0 = below every cut-off
    probs = np.bincount(bins, minlength=len(cut) + 1) / n
    rng = np.random.default_rng(seed)
    out = np.empty(draws)
    for i in range(draws):
        counts = rng.multinomial(n, probs)
        at_least = 1.0 - np.cumsum(counts)[:-1] / n  # share >= cut[k]
        fake = rng.choice(cal.fake, len(cal.fake))
        real = rng.choice(cal.real, len(cal.real))
        tpr, fpr = _share_at_least(fake, cut), _share_at_least(real, cut)
        e = _sweep(at_least, tpr, fpr, min_youden)
        out[i] = est if e is None else e
    a = (1.0 - level) / 2.0
    low, high = np.quantile(out, [a, 1.0 - a])
    tpr, fpr = cal.rates(cut)
    best = cut[int(np.argmax(tpr - fpr))]
    q = float((scores >= best).mean())
    return Prevalence(est, float(min(low, est)), float(max(high, est)), q, n, level)
