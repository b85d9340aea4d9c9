"""The trained fake-follower model, for followers whose profile counts are known.

A logistic regression (scikit-learn) on log counts, their ratios and the profile flags. A feature
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

from ..errors import NotFitted
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


@dataclass
class FakeModel:
    """``fit`` learns; ``predict_proba`` scores; ``to_dict``/``load`` (de)serialise as JSON."""

    C: float = 1.0
    features_: list[str] = field(default_factory=list)
    medians_: dict[str, float] = field(default_factory=dict)
    means_: dict[str, float] = field(default_factory=dict)
    scales_: dict[str, float] = field(default_factory=dict)
    coef_: dict[str, float] = field(default_factory=dict)
    intercept_: float | None = None
    trained_on_: str = ""

    def fit(self, frame: pd.DataFrame, y: np.ndarray, data_name: str = "") -> FakeModel:
        from sklearn.linear_model import LogisticRegression

        x = model_features(frame)
        keep = [c for c in x.columns if x[c].notna().any() and x[c].nunique() > 1]
        med = x[keep].median()
        z = x[keep].fillna(med)
        mean, scale = z.mean(), z.std(ddof=0).replace(0.0, 1.0)
        lr = LogisticRegression(C=self.C, max_iter=5000)
        lr.fit(((z - mean) / scale).to_numpy(), np.asarray(y))
        self.features_ = keep
        self.medians_ = {c: float(med[c]) for c in keep}
        self.means_ = {c: float(mean[c]) for c in keep}
        self.scales_ = {c: float(scale[c]) for c in keep}
        self.coef_ = {c: float(w) for c, w in zip(keep, lr.coef_[0], strict=True)}
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
            z += self.coef_[c] * (v - self.means_[c]) / self.scales_[c]
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "truefans fake-follower model (logistic regression)",
            "version": 1,
            "C": self.C,
            "trained_on": self.trained_on_,
            "intercept": self.intercept_,
            "features": [
                {
                    "name": c,
                    "coef": self.coef_[c],
                    "mean": self.means_[c],
                    "scale": self.scales_[c],
                    "median": self.medians_[c],
                }
                for c in self.features_
            ],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FakeModel:
        m = cls(C=float(d["C"]))
        m.features_ = [f["name"] for f in d["features"]]
        m.coef_ = {f["name"]: float(f["coef"]) for f in d["features"]}
        m.means_ = {f["name"]: float(f["mean"]) for f in d["features"]}
        m.scales_ = {f["name"]: float(f["scale"]) for f in d["features"]}
        m.medians_ = {f["name"]: float(f["median"]) for f in d["features"]}
        m.intercept_ = float(d["intercept"])
        m.trained_on_ = str(d.get("trained_on", ""))
        return m

    @classmethod
    def load(cls) -> FakeModel:
        text = resources.files("truefans").joinpath("data/credibility_model.json").read_text()
        return cls.from_dict(json.loads(text))
