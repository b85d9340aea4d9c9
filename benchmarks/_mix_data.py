"""Loaders of the mix-model data sets with exact truth (``/work/shared/data``, see each SOURCE.md)
and a seeded simulator for the speed claim. Shared by the ``mix_*`` and ``plan_*`` scripts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from truefans.mix import Input, MixData
from truefans.mix.transforms import geometric_adstock, hill

SHARED = Path(os.environ.get("TRUEFANS_SHARED_DATA", "/work/shared/data"))
MMM_EXAMPLE = SHARED / "pymc_marketing_mmm_example" / "mmm_example_with_truth.csv"
RECOVERY = SHARED / "pymc_labs_mmm_param_recovery"


@dataclass
class Truth:
    data: MixData
    names: list[str]  # input names in the order of ``data.inputs``
    totals: np.ndarray  # (inputs,) true contribution summed over weeks and geos
    per_geo: np.ndarray  # (inputs, geos)


def mmm_example() -> Truth:
    df = pd.read_csv(MMM_EXAMPLE)
    data = MixData(
        y=df["y"].to_numpy(),
        inputs=[Input(c, "dollars", df[c].to_numpy()) for c in ("x1", "x2")],
        dates=pd.to_datetime(df["date_week"]).to_numpy(),
        events={"event_1": df["event_1"].to_numpy(), "event_2": df["event_2"].to_numpy()},
    )
    tot = np.array([df[f"true_{c}_contribution"].sum() for c in ("x1", "x2")])
    return Truth(data, ["x1 dollars", "x2 dollars"], tot, tot[:, None])


def recovery(preset: str) -> Truth:
    """A preset of pymc-labs/mmm-param-recovery: weeks x geos arrays, controls c1.. as controls."""
    df = pd.read_csv(RECOVERY / f"{preset}.csv")
    geos = sorted(df["geo"].unique())

    def piv(col: str) -> np.ndarray:
        return df.pivot(index="date", columns="geo", values=col)[geos].to_numpy()

    xs = [c for c in df.columns if c.startswith("x")]
    controls = [c for c in df.columns if c[0] == "c" and c[1:].isdigit()]
    data = MixData(
        y=piv("y"),
        inputs=[Input(c, "dollars", piv(c)) for c in xs],
        dates=pd.to_datetime(sorted(df["date"].unique())).to_numpy(),
        controls={c: piv(c) for c in controls},
        geos=geos,
    )
    per_geo = np.stack([piv(f"true_contribution_{c}").sum(axis=0) for c in xs])
    return Truth(data, [f"{c} dollars" for c in xs], per_geo.sum(axis=1), per_geo)


def simulated(weeks: int = 208, channels: int = 4, seed: int = 8) -> Truth:
    """Weekly business with ``channels`` Hill/adstock channels, trend, season and 8 % noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    inputs, contribs = [], []
    for i in range(channels):
        x = rng.gamma(2.0, 500.0, weeks) * (rng.uniform(size=weeks) < 0.6 + 0.1 * (i % 3))
        alpha, k, s, beta = 0.1 + 0.15 * i, 0.6 + 0.3 * i, 1.0 + 0.3 * (i % 3), 800.0 + 300 * i
        z = geometric_adstock(x / x[x > 0].mean(), alpha, 8)
        inputs.append(Input(f"ch{i}", "dollars", x))
        contribs.append(beta * hill(z, k, s))
    base = 6000 + 4.0 * t + 600 * np.sin(2 * np.pi * t / 52.18)
    mean = base + np.sum(contribs, axis=0)
    y = mean + rng.normal(0, 0.08 * base.mean(), weeks)
    tot = np.array([c.sum() for c in contribs])
    data = MixData(y=y, inputs=inputs)
    return Truth(data, [f"ch{i} dollars" for i in range(channels)], tot, tot[:, None])
