"""Golden check on PyMC-Marketing's example data with exact known contributions (the full claim,
with 200 bootstrap refits and timing, is benchmarks/mix_mmm_example.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from truefans.mix import Input, MixData, MixSpec, analyse

DATA = Path("/work/shared/data/pymc_marketing_mmm_example/mmm_example_with_truth.csv")


@pytest.mark.skipif(not DATA.exists(), reason=f"{DATA} not on this machine")
def test_mmm_example_contributions_within_five_percent():
    pd = pytest.importorskip("pandas")
    df = pd.read_csv(DATA)
    data = MixData(
        y=df["y"].to_numpy(),
        inputs=[
            Input("x1", "dollars", df["x1"].to_numpy()),
            Input("x2", "dollars", df["x2"].to_numpy()),
        ],
        dates=pd.to_datetime(df["date_week"]).to_numpy(),
        events={"event_1": df["event_1"].to_numpy(), "event_2": df["event_2"].to_numpy()},
    )
    res = analyse(data, MixSpec(saturation="logistic", n_boot=40, seed=1))
    assert res.ok
    for ch in ("x1", "x2"):
        truth = float(df[f"true_{ch}_contribution"].sum())
        r = res.input(f"{ch} dollars")
        assert r.total.value == pytest.approx(truth, rel=0.05)
        assert r.total.contains(truth)
        assert np.isfinite(r.marginal_roi.value) and r.marginal_roi.value < r.roi.value
