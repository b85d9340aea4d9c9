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
from .features import Prepared, odd_texts, prepare_features
from .prevalence import ScoreCalibration

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
        feats = _with_behaviour(prepare_features(frame).features, frame)
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

    @staticmethod
    def shipped_calibration() -> ScoreCalibration | None:
        """The out-of-fold rule logits of the labelled accounts the shipped weights were fitted
        on (for the median-sweep fake share); None if the weights file has none."""
        text = resources.files("truefans").joinpath("data/credibility_rules.json").read_text()
        c = json.loads(text).get("calibration")
        if not c:
            return None
        return ScoreCalibration(
            np.asarray(c["fake"], dtype=np.float64),
            np.asarray(c["real"], dtype=np.float64),
            str(c.get("source", "")),
        )

    def _check(self) -> None:
        if self.intercept_ is None:
            from ..errors import NotFitted

            raise NotFitted("the rule score has no weights yet: fit() it or use RuleScore.load()")

    # -- scoring -------------------------------------------------------------------------------

    def logits(self, frame: pd.DataFrame) -> np.ndarray:
        """The raw logit of every row (no insufficient-data handling): for evaluation."""
        return self.score(frame, explain=False)["logit"].to_numpy()

    def score(
        self, frame: pd.DataFrame, explain: bool = True, prepared: Prepared | None = None
    ) -> pd.DataFrame:
        """Score every row of ``frame`` (profile columns, ``username``, behaviour columns).

        Returns ``fake_score`` (0-1), ``band``, ``logit`` and, with ``explain``, ``reasons``
        (the fired rules, strongest first; "insufficient data: ..." when fields are odd or too
        few) and ``used`` (the features the score could use). ``prepared`` is
        ``prepare_features(frame)`` when the caller already has it (e.g. to score with the
        model too).
        """
        self._check()
        assert self.intercept_ is not None
        prep = prepared if prepared is not None else prepare_features(frame)
        if len(prep.features) != len(frame):
            raise InvalidOption("the prepared features are not those of this frame")
        feats = _with_behaviour(prep.features, frame)
        fired, clear = indicators(feats)
        wf = np.array([self.w_fire_[n] for n in RULE_NAMES])
        wc = np.array([self.w_clear_[n] for n in RULE_NAMES])
        evidence = fired.astype(np.float64) @ wf - clear.astype(np.float64) @ wc
        evaluated = (fired | clear).sum(axis=1)
        is_odd = prep.odd_codes != 0
        insufficient = is_odd | (evaluated < MIN_RULES)
        # an uncertain record is pulled half way back to the base rate: no confident score
        logit = self.intercept_ + np.where(insufficient, 0.5 * evidence, evidence)
        p = 1.0 / (1.0 + np.exp(-logit))
        code = np.where(
            insufficient, 3, np.where(p >= LIKELY_FAKE, 0, np.where(p >= SUSPICIOUS, 1, 2))
        )
        cols: dict[str, Any] = {
            "fake_score": p,
            "band": _texts(np.array(BANDS, dtype=object)[code], frame.index),
            "logit": logit,
            "insufficient": insufficient,
        }
        if explain:
            reasons = _reasons(fired, wf, prep.odd_codes, insufficient, evaluated)
            cols["reasons"] = _texts(reasons, frame.index)
            cols["used"] = _texts(_used(feats), frame.index)
        return pd.DataFrame(cols, index=frame.index)


def _texts(values: np.ndarray, index: pd.Index) -> pd.Series:
    """Text columns kept as Python strings (no per-row conversion to Arrow on a million rows)."""
    return pd.Series(values, index=index, dtype=object)


def _with_behaviour(features: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """The profile features plus the behaviour columns of ``frame`` (NaN where it has none)."""
    extra = {
        c: (
            pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            if c in frame.columns
            else np.full(len(frame), np.nan)
        )
        for c in BEHAVIOUR_COLUMNS
    }
    return features.assign(**extra)


def _codes(columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Row bit codes of boolean columns: the distinct codes and each row's position in them."""
    n = len(columns[0]) if columns else 0
    bits = np.zeros(n, dtype=np.int64)
    for j, col in enumerate(columns):
        bits |= col.astype(np.int64) << j
    if len(columns) <= 22:  # a table over every possible code beats sorting a million rows
        seen = np.bincount(bits, minlength=1 << len(columns)) > 0
        uniq = np.flatnonzero(seen)
        where = np.zeros(len(seen), dtype=np.int64)
        where[uniq] = np.arange(len(uniq))
        return uniq, where[bits]
    uniq, inv = np.unique(bits, return_inverse=True)
    return uniq, inv.reshape(-1)


def _reasons(
    fired: np.ndarray,
    wf: np.ndarray,
    odd_codes: np.ndarray,
    insufficient: np.ndarray,
    evaluated: np.ndarray,
) -> np.ndarray:
    """One string per row, built once per distinct combination of fired rules (fast on 1 M)."""
    if len(fired) == 0:
        return np.array([], dtype=object)
    uniq, inv = _codes([fired[:, j] for j in range(fired.shape[1])])
    order = np.argsort(-wf, kind="stable")
    texts = np.array(
        [
            "; ".join(RULES[j].reason for j in order if (int(code) >> j) & 1 and wf[j] > 0)
            for code in uniq
        ],
        dtype=object,
    )
    base = texts[inv]
    if insufficient.any():
        idx = np.flatnonzero(insufficient)
        odd = odd_texts(odd_codes[idx])
        # one head per distinct (odd fields, rules evaluated) pair
        key = np.char.add(odd.astype(str), np.char.add("|", evaluated[idx].astype(str)))
        uk, kinv = np.unique(key, return_inverse=True)
        heads = np.empty(len(uk), dtype=object)
        for u, k in enumerate(uk):
            why, _, n_eval = str(k).rpartition("|")
            heads[u] = (
                f"insufficient data ({why or f'only {n_eval} profile rule(s) could be evaluated'})"
            )
        head = heads[kinv.reshape(-1)]
        rest = base[idx]
        base[idx] = np.where(rest != "", head + "; " + rest, head)
    return base


def _used(feats: pd.DataFrame) -> np.ndarray:
    cols = [c for c in feats.columns if c != "username"]
    uniq, inv = _codes([~np.isnan(feats[c].to_numpy(dtype=np.float64)) for c in cols])
    texts = np.array(
        [",".join(c for j, c in enumerate(cols) if (int(code) >> j) & 1) for code in uniq],
        dtype=object,
    )
    return texts[inv] if len(feats) else np.array([], dtype=object)
