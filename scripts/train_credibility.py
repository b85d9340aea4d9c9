"""Train what ships for follower credibility, from the SRF followers only (CC BY-SA 4.0).

Writes ``src/truefans/data/credibility_rules.json`` (the rule weights and the out-of-fold error
rates of the "likely fake" flag, used to correct the fake share of an audience),
``src/truefans/data/credibility_model.json`` (the logistic model) and the model card
``src/truefans/data/credibility_MODEL_CARD.md`` with 5 x 5 stratified cross-validated figures.

    .venv/bin/python scripts/train_credibility.py [--data ../shared/data/credibility]

Only a set whose licence allows derived works may train what ships; the script refuses others.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, roc_auc_score, roc_curve
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold

from truefans.credibility.labelled import load_srf
from truefans.credibility.model import FakeModel
from truefans.credibility.prevalence import ErrorRates
from truefans.credibility.rules import LIKELY_FAKE, RULES, RuleScore

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "truefans" / "data"
SEED = 0


def sens_at_spec(y: np.ndarray, s: np.ndarray, spec: float) -> float:
    fpr, tpr, _ = roc_curve(y, s)
    return float(tpr[fpr <= 1 - spec].max())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "credibility"))
    args = ap.parse_args()
    srf = load_srf(Path(args.data) / "srf_instagram_followers")
    if not srf.shippable:
        raise SystemExit(f"{srf.name}: licence {srf.licence} does not allow a shipped model")
    x, y = srf.frame, srf.y

    # out-of-fold rule scores: the error rates the shipped estimate of the fake share corrects
    # with (at the likely-fake band, and at every cut-off for the median sweep)
    oof_logit = np.zeros(len(y))
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=SEED).split(x, y):
        oof_logit[te] = RuleScore().fit(x.iloc[tr], y[tr]).logits(x.iloc[te])
    flagged = 1.0 / (1.0 + np.exp(-oof_logit)) >= LIKELY_FAKE
    rates = ErrorRates.measure(flagged, y, "SRF, 5-fold out-of-fold")

    cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=5, random_state=SEED)
    fig: dict[str, list[float]] = {k: [] for k in ("rule_auc", "model_auc", "model_acc")}
    oof_model = np.zeros((5, len(y)))
    for i, (tr, te) in enumerate(cv.split(x, y)):
        rs = RuleScore().fit(x.iloc[tr], y[tr])
        fig["rule_auc"].append(roc_auc_score(y[te], rs.logits(x.iloc[te])))
        m = FakeModel().fit(x.iloc[tr], y[tr])
        p = m.predict_proba(x.iloc[te])
        oof_model[i // 5, te] = p
        fig["model_auc"].append(roc_auc_score(y[te], p))
        fig["model_acc"].append(accuracy_score(y[te], p >= 0.5))
    sens = [sens_at_spec(y, oof_model[r], 0.963) for r in range(5)]

    rules = RuleScore().fit(x, y, "SRF Instagram followers (CC BY-SA 4.0), all 975 rows")
    d = rules.to_dict()
    d["error_rates"] = {
        "likely_fake": {
            "sensitivity": rates.sensitivity,
            "specificity": rates.specificity,
            "n_fake": rates.n_fake,
            "n_real": rates.n_real,
            "source": rates.source,
        }
    }
    d["calibration"] = {
        "score": "rule logit",
        "source": "SRF, 5-fold out-of-fold (seed 0)",
        "fake": sorted(round(float(v), 6) for v in oof_logit[y == 1]),
        "real": sorted(round(float(v), 6) for v in oof_logit[y == 0]),
    }
    d["prior_fake_share"] = float(y.mean())
    d["licence"] = "CC BY-SA 4.0 (derived from SRF Data, 2017-10-instagram-influencers)"
    (OUT / "credibility_rules.json").write_text(json.dumps(d, indent=1) + "\n")
    model = FakeModel().fit(x, y, "SRF Instagram followers (CC BY-SA 4.0), all 975 rows")
    md = model.to_dict()
    md["licence"] = d["licence"]
    (OUT / "credibility_model.json").write_text(json.dumps(md, indent=1) + "\n")

    def ms(v: list[float]) -> str:
        return f"{np.mean(v):.3f} (sd {np.std(v):.3f})"

    weights = "\n".join(
        f"| `{r['name']}` | {r['reason']} | {r['w_fire']:.2f} | {r['w_clear']:.2f} | "
        f"{'SRF' if r['informed_by_data'] else 'prior only'} |"
        for r in d["rules"]
    )
    coefs = "\n".join(
        f"| `{f['name']}` | {', '.join(f'{k:.2f}' for k in f['knots']) or '-'} | "
        f"{', '.join(f'{w:+.3f}' for w in f['coef'])} |"
        for f in md["features"]
    )
    card = CARD.format(
        rule_auc=ms(fig["rule_auc"]),
        model_auc=ms(fig["model_auc"]),
        model_acc=ms(fig["model_acc"]),
        sens=f"{np.mean(sens):.3f}",
        se=rates.sensitivity,
        sp=rates.specificity,
        weights=weights,
        coefs=coefs,
        n_rules=len(RULES),
        intercept=d["intercept"],
        C=md["C"],
    )
    (OUT / "credibility_MODEL_CARD.md").write_text(card)
    print(card)


CARD = """# Model card: truefans follower credibility (rule weights and logistic model)

Files: `credibility_rules.json` (the rule score), `credibility_model.json` (the trained model).
Made by `scripts/train_credibility.py`; the benchmarks in `benchmarks/credibility_*.py` measure
both on four labelled sets (figures in `benchmarks/RESULTS.md`).

## Data and licence

Trained only on the **SRF Data** hand-labelled followers of Swiss Instagram influencers (2017):
975 accounts, 98 labelled fake by two journalists ("of no value to an advertiser": bots and
people paid to follow). Source: github.com/srfdata/2017-10-instagram-influencers,
`analysis/input/labelled_1000_inclprivate.csv`, © SRF Data, licensed **CC BY-SA 4.0**. Both
files here are derived from it and are therefore licensed **CC BY-SA 4.0** too (attribution:
SRF Data; share alike), unlike the rest of truefans (MIT).

InstaFake (CC BY-NC 4.0), the Kaggle Instagram set and Cresci 2015 (licences unknown) were used
**only to evaluate**, never to fit anything that ships.

## Features

Only what the `audience` table can hold: followers, following, posts, profile photo, bio length,
link, account age, verified, and the username's digit share. SRF records followers, following,
posts, photo and username; the rules on bio, link, account age, verification and the behaviour
rules (follow bursts, never engaged) have no licence-compatible labelled data and keep the common
prior weight (0.5). Missing features contribute nothing (rules) or take the training median
(model); odd values (negative counts, an account created in the future, following = 0) make the
score "insufficient data".

## Rule score ({n_rules} rules)

logit P(fake) = {intercept:.3f} + sum of w_fire (rule fired) or -w_clear (rule evaluated, not
fired). Weights are fitted by penalised logistic regression (L2 towards 0.5, weights >= 0).

| rule | reason | w_fire | w_clear | informed by |
|---|---|---|---|---|
{weights}

Error rates of the "likely fake" flag (score >= 0.5), out of fold on SRF: sensitivity {se:.3f},
specificity {sp:.3f}. The fake share of an audience is estimated by the median sweep: the
Rogan–Gladen correction at every cut-off of the rule logit whose sensitivity - false-positive
rate is at least 0.25, measured on the out-of-fold logits of SRF's 975 accounts (shipped in
`calibration`), and the median of those estimates (Forman 2008), with a bootstrap interval over
the audience and the labelled accounts.

## Logistic model (piecewise linear)

Each count feature is the feature plus hinges max(0, x - knot) at its training quartiles, so the
effect on the log-odds is a broken line; binary flags enter as they are. Standardised basis,
L2 penalty C = {C}. Missing features take the training median. The knots and C were checked by
5-fold cross-validation on the training data only (SRF, and Kaggle + InstaFake pooled; seeds 100
and 101, not the benchmark's): a straight line (no knots) is clearly worse (ROC AUC 0.934 vs
0.951 on SRF, 0.976 vs 0.983 pooled), and 1 to 5 knots with C from 0.1 to 1 lie within 0.002 of
each other, so 3 knots and C = 0.1 were kept.

| feature | knots | coefficients (feature, then each hinge; standardised) |
|---|---|---|
{coefs}

## Cross-validated figures on SRF (stratified 5-fold, repeated 5 times, seed 0)

- rule score ROC AUC: {rule_auc}
- model ROC AUC: {model_auc}; accuracy at 0.5: {model_acc}
- model sensitivity at specificity >= 0.963 (out-of-fold scores of each repeat): {sens}
  (SRF's published random forest: 0.774 at 0.963 on a 70/30 split)

## Limits

SRF is one country's Instagram in 2017 with 10 % fakes; the score is calibrated to that base rate
(the fake share of an audience is estimated separately). The prior-only rules are judgement, not
measurement. Scores on X/Twitter followers rank well (Cresci) but are not calibrated there: the
SRF calibration of the fake share assumes an audience scored on the same fields as SRF
(followers, following, posts, photo, username); an audience scored on fewer or other fields
has other error rates, so its estimated fake share is less certain than its interval says.
"""

if __name__ == "__main__":
    main()
