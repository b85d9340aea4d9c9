"""The transparent rule score: each rule a named reason with a calibrated weight.

A rule looks at one or two features and either *fires* (evidence of a fake), *does not fire*
(evidence of a real account) or cannot be evaluated because a feature is missing, in which case it
adds nothing: a missing feature is never read as zero. The score is a logistic model of the rule
indicators,

    logit P(fake) = intercept + sum over evaluated rules of (w_fire if fired else -w_clear),

with ``w_fire, w_clear >= 0`` so that a fired rule can only raise the score and every reason points
the way it reads. The weights are fitted on licence-compatible labelled data (the SRF followers,
CC BY-SA 4.0) by penalised maximum likelihood, shrunk towards a common prior of 0.5 (a rule the
data cannot inform, such as an empty bio, which SRF does not record, keeps the prior). That is a
calibration, not "fake if >= k flags", so it carries over between audiences whose base rates
differ. The fitted weights ship as ``truefans/data/credibility_rules.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from ..errors import InvalidOption
from .features import prepare

#: the bands of a score; "insufficient data" wins over the others when fields are odd or too few
BANDS = ("likely fake", "suspicious", "likely real", "insufficient data")
LIKELY_FAKE = 0.5
SUSPICIOUS = 0.2
#: fewer evaluated rules than this is "insufficient data" (the username and the behaviour rules
#: count: most exports give a username and a follow time and nothing else)
MIN_RULES = 2
PRIOR_WEIGHT = 0.5
#: weights (fired, clear) of the behaviour rules, which no licensed labelled set can inform (none
#: records follow times or interactions): a judgement, stated as such. A follow inside a burst of
#: follows many times the channel's usual rate is how bought followers arrive, so it weighs
#: about as much as the strongest profile evidence together (odds x 7); a clean follow history
#: weighs like a clear profile rule.
JUDGEMENT_WEIGHTS = {"follow_burst": (2.0, 0.5), "never_engaged": (0.5, 0.5)}


def _ratio(a: pd.Series, b: pd.Series) -> pd.Series:
    return a / b.clip(lower=1.0)


@dataclass(frozen=True)
class Rule:
    name: str
    reason: str  # what the user reads when it fires
    needs: tuple[str, ...]
    test: Callable[[pd.DataFrame], pd.Series]
    #: behaviour rules come from the workspace (touches, follow times), not a profile
    behaviour: bool = False


RULES: tuple[Rule, ...] = (
    Rule("no_posts", "has never posted", ("posts_count",), lambda f: f.posts_count == 0),
    Rule("few_posts", "fewer than 10 posts", ("posts_count",), lambda f: f.posts_count < 10),
    Rule(
        "few_followers",
        "fewer than 30 followers",
        ("followers_count",),
        lambda f: f.followers_count < 30,
    ),
    Rule(
        "under_100_followers",
        "fewer than 100 followers",
        ("followers_count",),
        lambda f: f.followers_count < 100,
    ),
    Rule(
        "follows_10x",
        "follows over 10 times as many accounts as follow it",
        ("following_count", "followers_count"),
        lambda f: _ratio(f.following_count, f.followers_count) > 10,
    ),
    Rule(
        "follows_30x",
        "follows over 30 times as many accounts as follow it",
        ("following_count", "followers_count"),
        lambda f: _ratio(f.following_count, f.followers_count) > 30,
    ),
    Rule(
        "follows_100_per_post",
        "follows over 100 accounts per post",
        ("following_count", "posts_count"),
        lambda f: _ratio(f.following_count, f.posts_count) > 100,
    ),
    Rule("no_photo", "no profile photo", ("has_photo",), lambda f: f.has_photo == 0),
    Rule(
        "username_digits",
        "a quarter or more of the username is digits",
        ("username_digit_share",),
        lambda f: f.username_digit_share >= 0.25,
    ),
    Rule("no_bio", "empty bio", ("bio_length",), lambda f: f.bio_length == 0),
    Rule("no_link", "no link in the profile", ("has_url",), lambda f: f.has_url == 0),
    Rule(
        "new_account",
        "account less than 180 days old",
        ("account_age_days",),
        lambda f: f.account_age_days < 180,
    ),
    Rule("not_verified", "not verified", ("verified",), lambda f: f.verified == 0),
    Rule(
        "follow_burst",
        "followed in a burst (many follows of this account in the same hour or day)",
        ("follow_burst",),
        lambda f: f.follow_burst == 1,
        behaviour=True,
    ),
    Rule(
        "never_engaged",
        "followed over 180 days ago and never liked, commented, clicked or replied",
        ("never_engaged",),
        lambda f: f.never_engaged == 1,
        behaviour=True,
    ),
)
RULE_NAMES = tuple(r.name for r in RULES)
BEHAVIOUR_COLUMNS = ("follow_burst", "never_engaged")


def indicators(features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per rule and row: fired, and evaluated-but-clear (both False = could not be evaluated)."""
    n = len(features)
    fired = np.zeros((n, len(RULES)), dtype=bool)
    clear = np.zeros((n, len(RULES)), dtype=bool)
    for j, rule in enumerate(RULES):
        cols = [c for c in rule.needs if c in features.columns]
        if len(cols) < len(rule.needs):
            continue
        ok = features[list(rule.needs)].notna().all(axis=1).to_numpy()
        hit = rule.test(features).fillna(False).to_numpy(dtype=bool)
        fired[:, j] = ok & hit
        clear[:, j] = ok & ~hit
    return fired, clear


@dataclass
class RuleScore:
    """Weights of the rules (``fit`` learns them; ``load`` reads the shipped ones)."""

    penalty: float = 3.0
    prior: float = PRIOR_WEIGHT
    w_fire_: dict[str, float] = field(default_factory=dict)
    w_clear_: dict[str, float] = field(default_factory=dict)
    intercept_: float | None = None
    fitted_on_: str = ""
    informed_: list[str] = field(default_factory=list)

    def fit(self, frame: pd.DataFrame, y: np.ndarray, data_name: str = "") -> RuleScore:
        """Penalised logistic fit of the rule indicators, weights >= 0, shrunk to the prior."""
        feats, _odd = prepare(frame)
        for c in BEHAVIOUR_COLUMNS:
            feats[c] = frame[c].astype("float64") if c in frame.columns else np.nan
        fired, clear = indicators(feats)
        y = np.asarray(y, dtype=np.float64)
        k = len(RULES)
        x = np.hstack([fired, -clear.astype(np.float64)]).astype(np.float64)
        prior = np.full(2 * k, self.prior)
        lam = self.penalty

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            z = x @ w[:-1] + w[-1]
            p = 1.0 / (1.0 + np.exp(-z))
            d = w[:-1] - prior
            value = float(np.sum(np.logaddexp(0.0, z) - y * z) + lam * np.sum(d * d))
            grad = np.r_[x.T @ (p - y) + 2 * lam * d, np.sum(p - y)]
            return value, grad

        start = np.r_[prior, 0.0]
        bounds = [(0.0, None)] * (2 * k) + [(None, None)]
        res = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
        w = res.x
        self.w_fire_ = {r.name: float(w[j]) for j, r in enumerate(RULES)}
        self.w_clear_ = {r.name: float(w[k + j]) for j, r in enumerate(RULES)}
        self.intercept_ = float(w[-1])
        self.fitted_on_ = data_name
        seen = (fired | clear).any(axis=0)
        self.informed_ = [r.name for j, r in enumerate(RULES) if seen[j]]
        return self

    # -- persistence ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        self._check()
        return {
            "kind": "truefans rule score",
            "version": 1,
            "penalty": self.penalty,
            "prior": self.prior,
            "intercept": self.intercept_,
            "fitted_on": self.fitted_on_,
            "rules": [
                {
                    "name": r.name,
                    "reason": r.reason,
                    "needs": list(r.needs),
                    "w_fire": round(self.w_fire_[r.name], 6),
                    "w_clear": round(self.w_clear_[r.name], 6),
                    "informed_by_data": r.name in self.informed_,
                }
                for r in RULES
            ],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RuleScore:
        rs = cls(penalty=float(d["penalty"]), prior=float(d["prior"]))
        known = {r["name"]: r for r in d["rules"]}
        missing = [n for n in RULE_NAMES if n not in known]
        if missing:
            raise InvalidOption(f"rule weights lack the rules {', '.join(missing)}")
        rs.w_fire_ = {n: float(known[n]["w_fire"]) for n in RULE_NAMES}
        rs.w_clear_ = {n: float(known[n]["w_clear"]) for n in RULE_NAMES}
        for name, (fire, clear) in JUDGEMENT_WEIGHTS.items():
            if not known[name].get("informed_by_data"):
                rs.w_fire_[name], rs.w_clear_[name] = fire, clear
        rs.intercept_ = float(d["intercept"])
        rs.fitted_on_ = str(d.get("fitted_on", ""))
        rs.informed_ = [n for n in RULE_NAMES if known[n].get("informed_by_data")]
        return rs

    @classmethod
    def load(cls) -> RuleScore:
        """The weights shipped with the package."""
        text = resources.files("truefans").joinpath("data/credibility_rules.json").read_text()
        return cls.from_dict(json.loads(text))

    def _check(self) -> None:
        if self.intercept_ is None:
            from ..errors import NotFitted

            raise NotFitted("the rule score has no weights yet: fit() it or use RuleScore.load()")

    # -- scoring -------------------------------------------------------------------------------

    def logits(self, frame: pd.DataFrame) -> np.ndarray:
        """The raw logit of every row (no insufficient-data handling): for evaluation."""
        return self.score(frame, explain=False)["logit"].to_numpy()

    def score(self, frame: pd.DataFrame, explain: bool = True) -> pd.DataFrame:
        """Score every row of ``frame`` (profile columns, ``username``, behaviour columns).

        Returns ``fake_score`` (0-1), ``band``, ``logit`` and, with ``explain``, ``reasons``
        (the fired rules, strongest first; "insufficient data: ..." when fields are odd or too
        few) and ``used`` (the features the score could use).
        """
        self._check()
        assert self.intercept_ is not None
        feats, odd = prepare(frame)
        for c in BEHAVIOUR_COLUMNS:
            feats[c] = (
                pd.to_numeric(frame[c], errors="coerce").astype("float64")
                if c in frame.columns
                else np.nan
            )
        fired, clear = indicators(feats)
        wf = np.array([self.w_fire_[n] for n in RULE_NAMES])
        wc = np.array([self.w_clear_[n] for n in RULE_NAMES])
        evidence = fired.astype(np.float64) @ wf - clear.astype(np.float64) @ wc
        evaluated = (fired | clear).sum(axis=1)
        odd_arr = odd.to_numpy(dtype=object)
        is_odd = odd_arr != ""
        insufficient = is_odd | (evaluated < MIN_RULES)
        # an uncertain record is pulled half way back to the base rate: no confident score
        logit = self.intercept_ + np.where(insufficient, 0.5 * evidence, evidence)
        p = 1.0 / (1.0 + np.exp(-logit))
        band = np.where(
            insufficient,
            BANDS[3],
            np.where(p >= LIKELY_FAKE, BANDS[0], np.where(p >= SUSPICIOUS, BANDS[1], BANDS[2])),
        )
        out = pd.DataFrame(
            {"fake_score": p, "band": band, "logit": logit, "insufficient": insufficient},
            index=frame.index,
        )
        if explain:
            out["reasons"] = _reasons(fired, wf, odd_arr, insufficient, evaluated)
            out["used"] = _used(feats)
        return out


def _reasons(
    fired: np.ndarray,
    wf: np.ndarray,
    odd: np.ndarray,
    insufficient: np.ndarray,
    evaluated: np.ndarray,
) -> np.ndarray:
    """One string per row, built once per distinct combination of fired rules (fast on 1 M)."""
    k = fired.shape[1]
    bits = (fired.astype(np.int64) << np.arange(k, dtype=np.int64)).sum(axis=1)
    order = np.argsort(-wf, kind="stable")
    texts: dict[int, str] = {}
    for code in np.unique(bits):
        parts = [RULES[j].reason for j in order if (code >> j) & 1 and wf[j] > 0]
        texts[int(code)] = "; ".join(parts)
    base = pd.Series(bits).map(texts).to_numpy(dtype=object)
    if insufficient.any():
        idx = np.flatnonzero(insufficient)
        for i in idx:
            why = odd[i] or f"only {evaluated[i]} profile rule(s) could be evaluated"
            head = f"insufficient data ({why})"
            base[i] = f"{head}; {base[i]}" if base[i] else head
    return base


def _used(feats: pd.DataFrame) -> np.ndarray:
    cols = [c for c in feats.columns if c != "username"]
    present = feats[cols].notna().to_numpy()
    bits = (present.astype(np.int64) << np.arange(len(cols), dtype=np.int64)).sum(axis=1)
    texts = {
        int(code): ",".join(c for j, c in enumerate(cols) if (code >> j) & 1)
        for code in np.unique(bits)
    }
    return pd.Series(bits).map(texts).to_numpy(dtype=object)
