"""Shifted-beta-geometric (sBG): Fader & Hardie (2007), "How to project customer retention".

Subscribers renew each period until they cancel; each has a constant churn probability
theta ~ Beta(alpha, beta). Fitted on one cohort's survival counts: how many of the customers who
started in period 0 were still subscribed at the start of periods 1, 2, ...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, digamma, hyp2f1

from truefans.models._fit import Array, FitReport, InvalidModelData, as_column, maximise, require

NAMES = ("alpha", "beta")


def _d_betaln(u: Array, v: Array) -> tuple[Array, Array]:
    s = digamma(u + v)
    return digamma(u) - s, digamma(v) - s


class _Likelihood:
    """Cancellations in periods 1..k (P(T = t)) plus survivors beyond k (S(k))."""

    def __init__(self, alive: Array) -> None:
        self.lost = -np.diff(alive)
        self.t = np.arange(1, len(alive), dtype=np.float64)
        self.survivors = float(alive[-1])
        self.k = float(len(alive) - 1)

    def __call__(self, theta: Array) -> tuple[float, Array]:
        a, b = np.exp(theta)
        t, lost = self.t, self.lost
        base = betaln(a, b)
        ll = lost @ (betaln(a + 1.0, b + t - 1.0) - base)
        ll += self.survivors * (betaln(a, b + self.k) - base)
        d0a, d0b = _d_betaln(np.array(a), np.array(b))
        dpa, dpb = _d_betaln(a + 1.0, b + t - 1.0)
        dsa, dsb = _d_betaln(np.array(a), np.array(b + self.k))
        ga = lost @ (dpa - d0a) + self.survivors * (dsa - d0a)
        gb = lost @ (dpb - d0b) + self.survivors * (dsb - d0b)
        return float(ll), np.array([ga * a, gb * b])


@dataclass(frozen=True)
class SBG:
    """A fitted sBG model: retention and survival by period, and customer value."""

    report: FitReport

    @property
    def params(self) -> dict[str, float]:
        return dict(self.report.params)

    def _ab(self) -> tuple[float, float]:
        return self.report.params["alpha"], self.report.params["beta"]

    def survival(self, t: npt.ArrayLike) -> Array:
        """S(t): share of a starting cohort still subscribed after t periods."""
        a, b = self._ab()
        ta = _periods(t)
        return np.asarray(np.exp(betaln(a, b + ta) - betaln(a, b)))

    def retention(self, t: npt.ArrayLike) -> Array:
        """r(t) = S(t) / S(t-1): share of those subscribed in period t-1 who renew (t >= 1)."""
        a, b = self._ab()
        ta = _periods(t)
        if (ta < 1).any():
            raise InvalidModelData("retention is defined from period 1 on")
        return (b + ta - 1.0) / (a + b + ta - 1.0)

    def expected_lifetime(self) -> float:
        """Expected number of periods subscribed, counting period 0: (a+b-1)/(a-1); inf if a <= 1."""
        a, b = self._ab()
        return (a + b - 1.0) / (a - 1.0) if a > 1.0 else float("inf")

    def derl(self, discount_rate_per_period: float, renewals: npt.ArrayLike = 0) -> Array:
        """Discounted expected residual lifetime, in payments (Fader & Hardie 2010, eq. 6).

        For a customer who has made ``renewals`` renewals (n - 1 in the paper): the expected
        number of further payments, the next one undiscounted and each later one discounted by
        (1 + d) per period. Multiply by the payment per period for money.
        """
        d = float(discount_rate_per_period)
        if not np.isfinite(d) or d <= 0:
            raise InvalidModelData(f"discount rate must be > 0 per period, got {d}")
        a, b = self._ab()
        n = _periods(renewals) + 1.0
        lead = (b + n - 1.0) / (a + b + n - 1.0)
        return np.asarray(lead * hyp2f1(1.0, b + n, a + b + n, 1.0 / (1.0 + d)))


def _periods(t: npt.ArrayLike) -> Array:
    ta = np.atleast_1d(np.asarray(t, dtype=np.float64))
    if not np.all(np.isfinite(ta)) or (ta < 0).any() or (ta != np.round(ta)).any():
        raise InvalidModelData("periods must be whole numbers >= 0")
    return ta


def fit_sbg(alive: npt.ArrayLike) -> SBG:
    """Fit sBG to one cohort: ``alive[0]`` customers at the start, ``alive[t]`` after t periods.

    Counts (not percentages) so that the log-likelihood counts customers; for a published curve
    in percent of 1,000 customers pass ``round(pct * 10)``.
    """
    a = as_column(alive, "alive counts")
    if len(a) < 2:
        raise InvalidModelData("need the cohort size and at least one later count")
    require(a >= 0, "alive counts must not be negative")
    require(np.diff(a) <= 0, "alive counts must not grow from one period to the next")
    if a[0] <= 0:
        raise InvalidModelData("the cohort is empty (alive[0] = 0)")
    if a[-1] == a[0]:
        raise InvalidModelData(
            "nobody cancelled in the periods given: the churn rate cannot be estimated yet"
        )
    if a[1] == 0:
        raise InvalidModelData(
            "everybody cancelled at the first renewal: retention is 0, there is no curve to fit"
        )
    starts = [(1.0, 1.0), (0.5, 3.0), (3.0, 0.5)]
    report = maximise("sbg", NAMES, _Likelihood(a), starts, float(a[0]), len(a))
    return SBG(report)


class _Cohorts:
    """Several cohorts observed for different lengths: the sum of their likelihoods."""

    def __init__(self, parts: list[_Likelihood]) -> None:
        self.parts = parts

    def __call__(self, theta: Array) -> tuple[float, Array]:
        ll, grad = 0.0, np.zeros(2)
        for part in self.parts:
            p_ll, p_grad = part(theta)
            ll += p_ll
            grad += p_grad
        return ll, grad


def fit_sbg_cohorts(cohorts: Sequence[npt.ArrayLike]) -> SBG:
    """Fit sBG to several cohorts at once (each its own ``alive`` counts, as in :func:`fit_sbg`,
    observed for as many periods as it has had): the usual case of a business whose customers
    started in different months. Cohorts with a single count (started in the last period) add
    nothing and are skipped."""
    parts = []
    total_start = total_end = 0.0
    for i, c in enumerate(cohorts):
        a = as_column(c, f"alive counts of cohort {i}")
        if len(a) < 2 or a[0] <= 0:
            continue
        require(a >= 0, f"alive counts of cohort {i} must not be negative")
        require(np.diff(a) <= 0, f"alive counts of cohort {i} must not grow")
        parts.append(_Likelihood(a))
        total_start += float(a[0])
        total_end += float(a[-1])
    if not parts:
        raise InvalidModelData(
            "no cohort was observed for a full period after it started: nothing to fit yet"
        )
    if sum(float(p.lost.sum()) for p in parts) == 0:
        raise InvalidModelData(
            "nobody cancelled in the periods observed: the churn rate cannot be estimated yet"
        )
    if all(p.survivors == 0 and p.lost[0] == p.lost.sum() for p in parts):
        raise InvalidModelData(
            "everybody cancelled at the first renewal: retention is 0, there is no curve to fit"
        )
    starts = [(1.0, 1.0), (0.5, 3.0), (3.0, 0.5)]
    rows = sum(len(p.t) + 1 for p in parts)
    report = maximise("sbg", NAMES, _Cohorts(parts), starts, total_start, rows)
    return SBG(report)
