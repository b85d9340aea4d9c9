"""Intervals by bootstrap over people, stability under resampling, and the recommended model.

A bootstrap draw resamples people with replacement (every journey of a drawn person comes along, as
often as the person was drawn) and recomputes a model's credit. The interval of each label is the
2.5th-97.5th percentile of its credit over the draws. **Stability** is one minus the mean total
variation distance (half the sum of absolute share differences) between a draw's shares and the
full data's: 1 when resampling never moves the shares, 0 when it moves them completely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .journeys import Credit, FloatArray, IntArray, Journeys

#: the recommendation's thresholds
MIN_STABILITY = 0.8
MIN_AUC = 0.6


@dataclass(frozen=True)
class Interval:
    conv_low: FloatArray
    conv_high: FloatArray
    value_low: FloatArray
    value_high: FloatArray
    stability: float
    draws: int


def person_draws(groups: IntArray, draws: int, seed: int) -> list[FloatArray]:
    """Per draw, how many times each item's person was drawn (a weight per item)."""
    _, inv = np.unique(groups, return_inverse=True)
    inv = inv.reshape(-1)
    k = int(inv.max()) + 1 if len(inv) else 0
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(draws):
        counts = np.bincount(rng.integers(0, k, k), minlength=k).astype(np.float64)
        out.append(counts[inv])
    return out


def tv_distance(a: FloatArray, b: FloatArray) -> float:
    return 0.5 * float(np.abs(a - b).sum())


def summarise(point: Credit, reps: list[Credit]) -> Interval:
    if not reps:
        nan = np.full(len(point.labels), np.nan)
        return Interval(nan, nan, nan, nan, float("nan"), 0)
    conv = np.array([r.conversions for r in reps])
    val = np.array([r.value for r in reps])
    stab = 1.0 - float(np.mean([tv_distance(r.share, point.share) for r in reps]))
    return Interval(
        np.percentile(conv, 2.5, axis=0),
        np.percentile(conv, 97.5, axis=0),
        np.percentile(val, 2.5, axis=0),
        np.percentile(val, 97.5, axis=0),
        stab,
        len(reps),
    )


def bootstrap(
    j: Journeys, fn: Callable[[Journeys], Credit], draws: int = 30, seed: int = 0
) -> Interval:
    """Bootstrap over people of a journey model (``fn`` maps journeys to credit)."""
    point = fn(j)
    groups = j.person if j.person is not None else np.arange(j.n)
    reps = [fn(j.reweighted(w)) for w in person_draws(groups, draws, seed)]
    return summarise(point, reps)


def recommend(
    stability: dict[str, float],
    data_driven_holdout: dict[str, object] | None,
    timing_holdout: dict[str, object] | None,
) -> tuple[str, str]:
    """The model the data support, and why.

    1. ``timing`` when it predicts held-out people's outcome times better than no effect at all
       (gain per outcome more than two standard errors) and is stable under resampling;
    2. else ``data_driven`` when its held-out log-loss beats the base rate with AUC >= 0.6 and it
       is stable;
    3. else the most stable of the multi-touch models (Markov order 1, Shapley, linear).
    """
    t = timing_holdout or {}
    if t.get("ok") and t.get("better_than_no_effect"):
        s = stability.get("timing", 0.0)
        if s >= MIN_STABILITY:
            return "timing", (
                f"the timing-aware model predicts when held-out people buy better than chance "
                f"(gain {float(t['gain_per_outcome']):.3f} ± {float(t['gain_stderr']):.3f} nats "  # type: ignore[arg-type]
                f"per outcome) and its shares are stable under resampling ({s:.2f}); it is the "
                "only model here that compares each person with themselves over time"
            )
    dd = data_driven_holdout or {}
    if dd.get("ok") and dd.get("better_than_base_rate") and float(dd.get("auc", 0)) >= MIN_AUC:  # type: ignore[arg-type]
        s = stability.get("data_driven", 0.0)
        if s >= MIN_STABILITY:
            return "data_driven", (
                f"the data-driven model predicts held-out journeys better than the base rate "
                f"(AUC {float(dd['auc']):.2f}, log-loss {float(dd['log_loss']):.4f} vs "  # type: ignore[arg-type]
                f"{float(dd['log_loss_base_rate']):.4f}) and is stable ({s:.2f})"  # type: ignore[arg-type]
            )
    candidates: list[str] = [m for m in ("markov_1", "shapley", "linear") if m in stability]
    if not candidates:
        candidates = list(stability) or ["linear"]
    best = max(candidates, key=lambda m: stability.get(m, 0.0))
    return best, (
        "no fitted model beat its held-out baseline, so the most stable multi-touch model is shown "
        f"({best}, stability {stability.get(best, float('nan')):.2f}); treat its credit as a "
        "description of the journeys, not as what each channel caused"
    )
