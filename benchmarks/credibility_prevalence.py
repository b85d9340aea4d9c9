"""Claim: the estimated fake share of an audience is within 5 points of the truth at every
prevalence from 5 % to 50 %. Each labelled set is split in halves (stratified, seed r): the rule
score's error rates at every cut-off are measured on one half, audiences of 2,000 are resampled
from the other at each prevalence, and the median-sweep estimate (as shipped) is compared with
the truth; the single-band Rogan–Gladen estimate is shown beside it. SRF's rule weights are
refitted on the error-rate half, the other sets use the shipped weights."""

from __future__ import annotations

import sys

import numpy as np
from sklearn.model_selection import train_test_split

from _common import emit, section
from _credibility import SEED, sets
from truefans.credibility.prevalence import ErrorRates, ScoreCalibration, median_sweep, rogan_gladen
from truefans.credibility.rules import LIKELY_FAKE, RuleScore

PREVALENCES = (0.05, 0.10, 0.20, 0.30, 0.40, 0.50)
SPLITS, AUDIENCES, SIZE = 10, 20, 2000


def main() -> None:
    shipped = RuleScore.load()
    rng = np.random.default_rng(SEED)
    rows = [
        [
            "set",
            *[f"{p:.0%}" for p in PREVALENCES],
            "worst |error|",
            "worst, one band (score ≥ 0.5)",
        ]
    ]
    met = []
    for name, d in sets().items():
        errs = {p: [] for p in PREVALENCES}
        band_errs = {p: [] for p in PREVALENCES}
        for r in range(SPLITS):
            idx = np.arange(len(d.y))
            cal, aud = train_test_split(idx, test_size=0.5, stratify=d.y, random_state=SEED + r)
            rs = RuleScore().fit(d.frame.iloc[cal], d.y[cal]) if name == "srf" else shipped
            scored = rs.score(d.frame, explain=False)
            logit = scored["logit"].to_numpy()
            flag = scored["fake_score"].to_numpy() >= LIKELY_FAKE
            rates = ErrorRates.measure(flag[cal], d.y[cal])
            calib = ScoreCalibration(logit[cal][d.y[cal] == 1], logit[cal][d.y[cal] == 0])
            fakes, reals = aud[d.y[aud] == 1], aud[d.y[aud] == 0]
            for p in PREVALENCES:
                for _ in range(AUDIENCES):
                    k = rng.binomial(SIZE, p)
                    pick = np.r_[rng.choice(fakes, k), rng.choice(reals, SIZE - k)]
                    errs[p].append(median_sweep(logit[pick], calib) - k / SIZE)
                    band = rogan_gladen(float(flag[pick].mean()), rates)
                    band_errs[p].append(band - k / SIZE)
        mean_abs = {p: float(np.mean(np.abs(errs[p]))) for p in PREVALENCES}
        worst = max(mean_abs.values())
        band_worst = max(float(np.mean(np.abs(band_errs[p]))) for p in PREVALENCES)
        rows.append(
            [
                name,
                *[f"{100 * mean_abs[p]:.1f}" for p in PREVALENCES],
                f"{100 * worst:.1f}",
                f"{100 * band_worst:.1f}",
            ]
        )
        met.append(
            (
                f"{name}: mean |error| ≤ 5 points at every prevalence (worst {100 * worst:.1f})",
                worst <= 0.05,
            )
        )
    body = section(
        "credibility_prevalence",
        "Credibility: the estimated fake share of an audience",
        "The median-sweep estimate of the fake share (Rogan–Gladen at every cut-off of the rule "
        "score with sensitivity - false-positive rate ≥ 0.25, median; Forman 2008), with the "
        "error rates measured on a different half of the labelled set, is within 5 points of "
        "the truth from 5 % to 50 %.",
        "mean absolute error ≤ 5 percentage points at every prevalence 5–50 %",
        rows,
        met,
        [
            f"Cells: mean absolute error in percentage points over {SPLITS} splits × {AUDIENCES} "
            f"audiences of {SIZE:,} drawn with replacement, median-sweep estimate (what "
            "`truefans credibility` reports).",
            "Last column: the same audiences estimated from the one 'likely fake' band (score ≥ "
            "0.5) with Rogan–Gladen, the previous method: a band fixed at SRF's base rate flags "
            "almost nothing on Cresci, and dividing by its small Youden index amplifies noise.",
            "The error left is mostly that the two halves' fakes differ (SRF has 49 fakes per "
            "half): the error rates measured on one half are not exactly those of the other.",
        ],
    )
    emit("credibility_prevalence", body, "--write" in sys.argv)


if __name__ == "__main__":
    main()
