"""Claim: for 4 channels x 208 weeks, the point fit takes at most 5 s and the full result with
intervals at most 60 s, cold start included, in at most 500 MB, with no PyTensor/JAX/TensorFlow.

Each run is a fresh Python process (interpreter start and imports included in the wall time):
``--child point`` runs :func:`truefans.mix.fit_mix`, ``--child full`` runs
:func:`truefans.mix.analyse` (fit, 200 block-bootstrap refits, review with a holdout refit).
Data: a seeded simulated business (``benchmarks/_mix_data.py``: 4 Hill/adstock channels, trend,
season, 8 % noise). The median of ``--runs`` runs of each is reported; peak memory is the highest
RSS of the process seen.

Usage: ``.venv/bin/python benchmarks/mix_speed.py [--runs N] [--write]``
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time

import _common as c

NAME = "mix_speed"
HEAVY = ("pytensor", "jax", "tensorflow", "pymc", "torch")


def child(kind: str) -> None:
    t0 = time.perf_counter()
    import numpy as np

    import _mix_data as md
    from truefans.mix import MixSpec, analyse, fit_mix

    truth = md.simulated(208, 4)
    if kind == "point":
        fit = fit_mix(truth.data, MixSpec())
        totals = fit.contributions().sum(axis=(1, 2))
        converged = fit.report.converged
    else:
        res = analyse(truth.data, MixSpec(n_boot=200, seed=0))
        totals = np.array([r.total.value for r in res.inputs])
        converged = res.fit.report.converged
    err = float(np.mean(np.abs(totals / truth.totals - 1)))
    loaded = sorted(m for m in HEAVY if m in sys.modules)
    c.child_result(seconds=time.perf_counter() - t0, mae=err, converged=converged, loaded=loaded)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--child", choices=["point", "full"])
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return 0
    installed = [m for m in HEAVY if importlib.util.find_spec(m) is not None]
    c.wait_quiet(max_wait=120)
    load = c.OtherLoad()
    runs: dict[str, list[c.ChildRun]] = {"point": [], "full": []}
    for i in range(args.runs):
        for kind in ("point", "full"):
            load.start()
            run = c.run_child([sys.executable, __file__, "--child", kind])
            load.stop()
            if run.returncode != 0:
                c.log(f"{kind} run failed (exit {run.returncode})")
                return 2
            c.log(f"run {i + 1} {kind}: {run.wall:.2f} s, {c.fmt_mb(run.peak_rss)}")
            runs[kind].append(run)
    wall = {k: c.median([r.wall for r in v]) for k, v in runs.items()}
    peak = max(r.peak_rss for v in runs.values() for r in v)
    payload = {k: v[0].payload() for k, v in runs.items()}
    loaded = sorted({m for p in payload.values() for m in p["loaded"]})
    rows = [
        ["run (fresh process)", "median wall", "runs", "peak memory", "mean abs. error of totals"],
        *[
            [
                k,
                c.fmt_s(wall[k]),
                ", ".join(f"{r.wall:.2f}" for r in runs[k]),
                c.fmt_mb(max(r.peak_rss for r in runs[k])),
                f"{payload[k]['mae']:.1%}",
            ]
            for k in ("point", "full")
        ],
    ]
    met = [
        (f"point fit {wall['point']:.2f} s ≤ 5 s", wall["point"] <= 5),
        (f"full result with intervals {wall['full']:.2f} s ≤ 60 s", wall["full"] <= 60),
        (f"peak memory {c.fmt_mb(peak)} ≤ 500 MB", peak <= 500 * c.MB),
        (
            "no PyTensor/JAX/TensorFlow installed or imported"
            + (f" (installed: {installed}, imported: {loaded})" if installed or loaded else ""),
            not installed and not loaded,
        ),
    ]
    body = c.section(
        NAME,
        "Mix model: speed and memory, 4 channels x 208 weeks, cold start",
        "Point fit ≤ 5 s and full result with intervals ≤ 60 s on 2 cores, cold start included; "
        "peak memory ≤ 500 MB; no PyTensor/JAX/TensorFlow in the default install.",
        "≤ 5 s, ≤ 60 s, ≤ 500 MB, none of those libraries",
        rows,
        met,
        [load.note()],
    )
    c.emit(NAME, body, args.write)
    return 0 if all(ok for _, ok in met) else 1


if __name__ == "__main__":
    sys.exit(main())
