"""Claim: scoring 1,000,000 followers (rule score with reasons and used features, and the trained
model) takes under 10 s on 2 cores. Synthetic follower profiles, seed 0; the best of 3 runs."""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from _common import OtherLoad, emit, section
from truefans.credibility.features import prepare_features
from truefans.credibility.model import FakeModel
from truefans.credibility.rules import RuleScore

N = 1_000_000


def frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz0123456789._"))
    names = ["".join(x) for x in rng.choice(letters, (5000, 10))]

    def maybe(v: np.ndarray, share: float) -> np.ndarray:
        v = v.astype(np.float64)
        v[rng.random(n) < share] = np.nan
        return v

    return pd.DataFrame(
        {
            "followers_count": maybe(rng.lognormal(5, 1.5, n).round(), 0.3),
            "following_count": maybe(rng.lognormal(5.5, 1.2, n).round(), 0.3),
            "posts_count": maybe(rng.negative_binomial(0.5, 0.02, n), 0.3),
            "has_photo": maybe(rng.random(n) < 0.9, 0.5),
            "bio_length": maybe(rng.integers(0, 150, n), 0.5),
            "username": rng.choice(names, n),
            "follow_burst": maybe(rng.random(n) < 0.05, 0.2),
            "never_engaged": maybe(rng.random(n) < 0.6, 0.2),
        }
    )


def main() -> None:
    f = frame(N)
    rules, model = RuleScore.load(), FakeModel.load()
    load = OtherLoad()
    times = []
    for _ in range(3):
        load.start()
        t0 = time.perf_counter()
        prepared = prepare_features(f)  # once, for both scorers
        out = rules.score(f, prepared=prepared)
        out["model_score"] = model.predict_proba(f, prepared=prepared)
        times.append(time.perf_counter() - t0)
        load.stop()
    best = min(times)
    body = section(
        "credibility_speed",
        "Credibility: scoring 1,000,000 followers",
        "The rule score (bands, reasons, features used) and the trained model score a million "
        "followers in under 10 s.",
        "under 10 s for 1,000,000 followers on 2 cores",
        [
            ["followers", "best of 3", "all runs", "likely fake"],
            [
                f"{N:,}",
                f"{best:.2f} s",
                ", ".join(f"{t:.2f}" for t in times),
                f"{int((out['band'] == 'likely fake').sum()):,}",
            ],
        ],
        [(f"{best:.2f} s < 10 s", best < 10)],
        [load.note()],
    )
    emit("credibility_speed", body, "--write" in sys.argv)


if __name__ == "__main__":
    main()
