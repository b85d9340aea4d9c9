"""Claim: on pymc-labs/mmm-param-recovery ``small_business`` the mean absolute error of the four
channels' total contributions is at most 12 %, no channel is off by more than 25 %, and at least
3 of the 4 truths lie inside the 94 % intervals.

Data: ``pymc_labs_mmm_param_recovery/small_business.csv`` (104 weeks, 4 channels, 2 controls,
a baseline with 10 % weekly noise; exact weekly contributions in the file). Model: our defaults
(geometric adstock max lag 8, Hill saturation, trend, yearly Fourier order 2, the controls),
200 block-bootstrap refits, seed 0. PyMC-Marketing's defaults measured 21 % mean error with 2 of
4 inside (issue #8).

Usage: ``.venv/bin/python benchmarks/mix_small_business.py [--boot N] [--write]``
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import _common as c
import _mix_data as md
from truefans.mix import MixSpec, analyse

NAME = "mix_small_business"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boot", type=int, default=200)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    if not (md.RECOVERY / "small_business.csv").exists():
        c.log("small_business.csv missing: cannot measure")
        return 2
    truth = md.recovery("small_business")
    load = c.OtherLoad()
    load.start()
    t0 = time.perf_counter()
    res = analyse(truth.data, MixSpec(n_boot=args.boot, seed=0))
    wall = time.perf_counter() - t0
    load.stop()
    rows = [["channel", "true total", "estimate", "error", "94 % interval", "truth inside"]]
    errs, inside = [], 0
    for name, true in zip(truth.names, truth.totals, strict=True):
        r = res.input(name)
        err = r.total.value / true - 1
        errs.append(abs(err))
        inside += r.total.contains(true)
        rows.append(
            [
                name,
                f"{true:,.0f}",
                f"{r.total.value:,.0f}",
                f"{err:+.1%}",
                f"{r.total.low:,.0f} – {r.total.high:,.0f}",
                "yes" if r.total.contains(true) else "no",
            ]
        )
    mae = float(np.mean(errs))
    rows.append(["**mean absolute error**", "", "", f"**{mae:.1%}**", "", f"**{inside} of 4**"])
    met = [
        (f"mean absolute error {mae:.1%} ≤ 12 %", mae <= 0.12),
        (f"largest error {max(errs):.1%} ≤ 25 %", max(errs) <= 0.25),
        (f"{inside} of 4 truths inside the 94 % intervals (≥ 3)", inside >= 3),
    ]
    notes = [
        f"Fit + {args.boot} bootstrap refits + review in {wall:.1f} s in one process.",
        "Review: " + "; ".join(ch.message for ch in res.checks),
        "With the true curves fixed (only the linear part estimated) the same data give "
        "+22 % for Social-Media and −21 % for Local-Ads: most of the error here is the noise "
        "of this one 104-week draw, not the curve search.",
        load.note(),
    ]
    body = c.section(
        NAME,
        "Mix model: small business (mmm-param-recovery), contributions vs exact truth",
        "Mean absolute error of the 4 channel totals ≤ 12 %, none > 25 %, ≥ 3 of 4 truths "
        "inside the 94 % intervals.",
        "MAE ≤ 12 %, max ≤ 25 %, coverage ≥ 3/4",
        rows,
        met,
        notes,
    )
    c.emit(NAME, body, args.write)
    return 0 if all(ok for _, ok in met) else 1


if __name__ == "__main__":
    sys.exit(main())
