"""The trained fake-follower model, for followers whose profile counts are known.

A logistic regression (scikit-learn), piecewise linear in log counts, their ratios and the profile flags. A feature
the training data lacks is left out; at prediction a missing feature takes the training median
(the "used" column of a score says which were really there). The fitted model ships as plain JSON
coefficients (``truefans/data/credibility_model.json``, no pickle), trained by
``scripts/train_credibility.py`` on the SRF followers (CC BY-SA 4.0), so the file is under the same
licence; the card beside it gives the data, the features and the cross-validated figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidOption, NotFitted
from .features import Prepared, prepare_features

MODEL_FEATURES = (
    "log_followers",
    "log_following",
    "log_posts",
    "log_bio_length",
    "log_following_per_follower",
    "log_following_per_post",
    "log_followers_per_post",
    "has_photo",
    "has_url",
    "verified",
    "username_digit_share",
    "log_account_age",
)


def model_features(frame: pd.DataFrame, prepared: Prepared | None = None) -> pd.DataFrame:
    """The model's inputs from profile columns (NaN where a profile field is missing).

    ``prepared`` is ``prepare_features(frame)`` when the caller already has it.
    """
    f = (prepared if prepared is not None else prepare_features(frame)).features

    def col(c: str) -> np.ndarray:
        return f[c].to_numpy(dtype=np.float64)

    lf, lg, lp = (np.log1p(col(c)) for c in ("followers_count", "following_count", "posts_count"))
    x = {
        "log_followers": lf,
        "log_following": lg,
        "log_posts": lp,
        "log_bio_length": np.log1p(col("bio_length")),
        "log_following_per_follower": lg - lf,
        "log_following_per_post": lg - lp,
        "log_followers_per_post": lf - lp,
        **{c: col(c) for c in ("has_photo", "has_url", "verified", "username_digit_share")},
        "log_account_age": np.log1p(col("account_age_days")),
    }
    return pd.DataFrame({c: x[c] for c in MODEL_FEATURES}, index=f.index)


#: binary features enter as they are; every other feature is piecewise linear between knots
BINARY_FEATURES = ("has_photo", "has_url", "verified")


def _basis(v: np.ndarray, knots: list[float]) -> list[np.ndarray]:
    """The feature itself and one hinge max(0, v - k) per knot: a piecewise-linear curve."""
    return [v, *(np.maximum(0.0, v - k) for k in knots)]


@dataclass
class FakeModel:
    """``fit`` learns; ``predict_proba`` scores; ``to_dict``/``load`` (de)serialise as JSON.

    A logistic regression that is additive and piecewise linear in each feature: every count
    feature gets ``knots`` hinges at quantiles of its training values (log counts do not act on
    the odds in a straight line: an account following 7,000 is not 7x as suspect as one following
    1,000), fitted with an L2 penalty ``C``. It stays a handful of numbers per feature in JSON.
    """

    C: float = 0.1
    knots: int = 3
    features_: list[str] = field(default_factory=list)
    knots_: dict[str, list[float]] = field(default_factory=dict)
    medians_: dict[str, float] = field(default_factory=dict)
    means_: dict[str, list[float]] = field(default_factory=dict)
    scales_: dict[str, list[float]] = field(default_factory=dict)
    coef_: dict[str, list[float]] = field(default_factory=dict)
    intercept_: float | None = None
    trained_on_: str = ""

    def fit(self, frame: pd.DataFrame, y: np.ndarray, data_name: str = "") -> FakeModel:
        from sklearn.linear_model import LogisticRegression

        x = model_features(frame)
        keep = [c for c in x.columns if x[c].notna().any() and x[c].nunique() > 1]
        med = x[keep].median()
        qs = np.linspace(0.0, 1.0, self.knots + 2)[1:-1]
        knots: dict[str, list[float]] = {}
        blocks: list[np.ndarray] = []
        for c in keep:
            v = x[c].fillna(med[c]).to_numpy(dtype=np.float64)
            k: list[float] = []
            if c not in BINARY_FEATURES and self.knots > 0:
                k = [float(q) for q in np.unique(np.quantile(x[c].dropna(), qs))]
            knots[c] = k
            blocks.append(np.column_stack(_basis(v, k)))
        z = np.hstack(blocks)
        mean, scale = z.mean(axis=0), z.std(axis=0)
        scale[scale == 0] = 1.0
        lr = LogisticRegression(C=self.C, max_iter=5000)
        lr.fit((z - mean) / scale, np.asarray(y))
        self.features_ = keep
        self.knots_ = knots
        self.medians_ = {c: float(med[c]) for c in keep}
        at = 0
        for c in keep:
            w = len(knots[c]) + 1
            self.means_[c] = [float(v) for v in mean[at : at + w]]
            self.scales_[c] = [float(v) for v in scale[at : at + w]]
            self.coef_[c] = [float(v) for v in lr.coef_[0][at : at + w]]
            at += w
        self.intercept_ = float(lr.intercept_[0])
        self.trained_on_ = data_name
        return self

    def predict_proba(self, frame: pd.DataFrame, prepared: Prepared | None = None) -> np.ndarray:
        """P(fake) per row (``prepared`` = ``prepare_features(frame)`` if already computed)."""
        if self.intercept_ is None:
            raise NotFitted("the model is not fitted: fit() it or use FakeModel.load()")
        x = model_features(frame, prepared)
        z = np.full(len(x), self.intercept_)
        for c in self.features_:
            v = x[c].to_numpy(dtype=np.float64)
            v = np.where(np.isnan(v), self.medians_[c], v)
            for b, w, m, sc in zip(
                _basis(v, self.knots_[c]),
                self.coef_[c],
                self.means_[c],
                self.scales_[c],
                strict=True,
            ):
                z += w * (b - m) / sc
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "truefans fake-follower model (piecewise-linear logistic regression)",
            "version": 2,
            "C": self.C,
            "knots_per_feature": self.knots,
            "trained_on": self.trained_on_,
            "intercept": self.intercept_,
            "features": [
                {
                    "name": c,
                    "median": self.medians_[c],
                    "knots": self.knots_[c],
                    "coef": self.coef_[c],
                    "mean": self.means_[c],
                    "scale": self.scales_[c],
                }
                for c in self.features_
            ],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FakeModel:
        """From :meth:`to_dict` (version 2) or a straight-line model of version 1."""

        def listed(v: Any) -> list[float]:
            return [float(x) for x in v] if isinstance(v, list) else [float(v)]

        m = cls(C=float(d["C"]), knots=int(d.get("knots_per_feature", 0)))
        for f in d["features"]:
            name = f["name"]
            m.features_.append(name)
            m.knots_[name] = [float(k) for k in f.get("knots", [])]
            m.coef_[name] = listed(f["coef"])
            m.means_[name] = listed(f["mean"])
            m.scales_[name] = listed(f["scale"])
            m.medians_[name] = float(f["median"])
            if not len(m.coef_[name]) == len(m.means_[name]) == len(m.knots_[name]) + 1:
                raise InvalidOption(f"model feature {name!r}: coefficients and knots disagree")
        m.intercept_ = float(d["intercept"])
        m.trained_on_ = str(d.get("trained_on", ""))
        return m

    @classmethod
    def load(cls) -> FakeModel:
        text = resources.files("truefans").joinpath("data/credibility_model.json").read_text()
        return cls.from_dict(json.loads(text))
