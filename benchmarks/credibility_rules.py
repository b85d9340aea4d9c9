"""Claim: the rule score, untrained, ranks fakes well on four labelled sets and beats the popular
tools' rules on F1. Stratified 5-fold CV repeated 5 times, seed 0: the shipped (SRF-calibrated)
weights are used as they are on Kaggle, InstaFake and Cresci; on SRF the weights are refitted on
each training fold, so no test account ever informs its own score.

F1 needs a cut-off. Three are reported: the fixed 'likely fake' band (score >= 0.5, calibrated at
SRF's 10 % fakes); the cut-off that maximises F1 on the training folds (one number chosen by
cross-validation, the weights untouched; the figure the target is checked on); and the band moved
to the audience's own fake share as estimated without labels (median sweep on SRF's out-of-fold
error rates, then Bayes' rule on the odds), which is what an unlabelled audience allows."""

from __future__ import annotations

import sys

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold

from _common import emit, section
from _credibility import FOLDS, REPEATS, SEED, sets
from truefans.credibility.features import prepare
from truefans.credibility.prevalence import ScoreCalibration, median_sweep
from truefans.credibility.rules import LIKELY_FAKE, RuleScore

TARGET = {"kaggle": 0.95, "instafake": 0.97, "srf": 0.89, "cresci": 0.93}


def popular(frame):
    f, _ = prepare(frame)
    ratio = f.following_count / f.followers_count.clip(lower=1)
    sb = (
        (ratio >= 50).fillna(False)
        | (f.posts_count == 0).fillna(False)
        | ((f.has_photo == 0) & (f.account_age_days > 60)).fillna(False)
        | ((f.bio_length == 0) & (f.following_count > 100)).fillna(False)
    )
    return {"following > 1,500": (f.following_count > 1500).fillna(False), "Socialbakers-style": sb}


def best_cutoff(scores: np.ndarray, y: np.ndarray) -> float:
    """The cut-off c maximising F1 of "score >= c" on labelled scores."""
    order = np.argsort(-scores, kind="stable")
    s, t = scores[order], y[order].astype(np.float64)
    tp = np.cumsum(t)
    flagged = np.arange(1, len(s) + 1)
    f1 = 2 * tp / (flagged + t.sum())
    last = np.r_[s[1:] != s[:-1], True]  # a cut-off flags every tie of its score
    return float(s[last][np.argmax(f1[last])])


def logit(p: float) -> float:
    p = min(max(p, 0.005), 0.995)
    return float(np.log(p / (1 - p)))


def main() -> None:
    shipped = RuleScore.load()
    shipped_cal = RuleScore.shipped_calibration()
    assert shipped_cal is not None
    # the base rate the shipped weights were fitted at (SRF's share of fakes)
    shipped_prior = len(shipped_cal.fake) / (len(shipped_cal.fake) + len(shipped_cal.real))
    rows = [
        [
            "set",
            "rule score ROC AUC (mean of 25 folds)",
            "target",
            "F1 rule score (>= 0.5)",
            "F1 rule score, cut-off by CV",
            "F1 rule score, band at estimated share",
            "F1 following > 1,500",
            "F1 Socialbakers-style",
        ]
    ]
    met = []
    for name, data in sets().items():
        cv = RepeatedStratifiedKFold(n_splits=FOLDS, n_repeats=REPEATS, random_state=SEED)
        aucs, f1s, f1_cv, f1_adj = [], [], [], []
        for tr, te in cv.split(data.frame, data.y):
            rs = RuleScore().fit(data.frame.iloc[tr], data.y[tr]) if name == "srf" else shipped
            sc = rs.score(data.frame.iloc[te], explain=False)
            s_te = sc["logit"].to_numpy()
            aucs.append(roc_auc_score(data.y[te], s_te))
            f1s.append(f1_score(data.y[te], sc["fake_score"] >= LIKELY_FAKE))
            s_tr = rs.logits(data.frame.iloc[tr])
            f1_cv.append(f1_score(data.y[te], s_te >= best_cutoff(s_tr, data.y[tr])))
            if name == "srf":  # refitted weights: their error rates from the training folds
                y_tr = data.y[tr]
                cal = ScoreCalibration(s_tr[y_tr == 1], s_tr[y_tr == 0])
                prior = float(y_tr.mean())
            else:
                cal, prior = shipped_cal, shipped_prior
            share = median_sweep(s_te, cal)
            f1_adj.append(f1_score(data.y[te], s_te + logit(share) - logit(prior) >= 0))
        base = {k: f1_score(data.y, v) for k, v in popular(data.frame).items()}
        auc, f1 = float(np.mean(aucs)), float(np.mean(f1s))
        f1c, f1a = float(np.mean(f1_cv)), float(np.mean(f1_adj))
        rows.append(
            [
                name,
                f"{auc:.3f}",
                f"≥ {TARGET[name]}",
                f"{f1:.3f}",
                f"{f1c:.3f}",
                f"{f1a:.3f}",
                f"{base['following > 1,500']:.3f}",
                f"{base['Socialbakers-style']:.3f}",
            ]
        )
        met.append((f"{name}: ROC AUC {auc:.3f} ≥ {TARGET[name]}", auc >= TARGET[name]))
        met.append(
            (
                f"{name}: F1 {f1c:.3f} (cut-off by CV) beats both popular rules "
                f"(best {max(base.values()):.3f})",
                f1c > max(base.values()),
            )
        )
    body = section(
        "credibility_rules",
        "Credibility: the rule score, untrained, on four labelled sets",
        "The transparent rule score (weights calibrated on SRF only) ranks fake followers well "
        "on sets it never saw and beats the popular tools' rules on F1.",
        "ROC AUC ≥ 0.95 Kaggle, ≥ 0.97 InstaFake, ≥ 0.89 SRF, ≥ 0.93 Cresci E13/INT; F1 above "
        "'following > 1,500' and the Socialbakers-style profile criteria",
        rows,
        met,
        [
            "Socialbakers-style = any of following/followers ≥ 50, no posts, no photo on an "
            "account older than 60 days, no bio and following > 100 (their profile criteria as "
            "listed by Cresci et al. 2015; location is not in these sets).",
            "F1 (>= 0.5): the fixed 'likely fake' band, a score calibrated to SRF's 10 % fakes; "
            "Kaggle and Cresci are about 50 % fakes.",
            "F1, cut-off by CV: the cut-off maximising F1 on the 4 training folds, applied to the "
            "test fold (mean of 25); the weights are not refitted (except on SRF, as above). "
            "This is the figure checked against the target.",
            "F1, band at estimated share: no labels of the set used; the fake share of the test "
            "fold is estimated by the median sweep with SRF's out-of-fold error rates and the "
            "score moved from SRF's base rate to it (Bayes' rule on the odds). It works where "
            "SRF's error rates carry over (Kaggle) and fails where they do not (Cresci, X).",
            "Popular rules are applied to the whole set (they have nothing to fit).",
        ],
    )
    emit("credibility_rules", body, "--write" in sys.argv)


if __name__ == "__main__":
    main()
