"""Claim: `risk` and `funnel` each run on the large demo workspace in under 3 s on 2 cores.

The large demo (seed 7: about 1,000,000 people and 20,000,000 touchpoints) is the one
``benchmarks/picture.py`` builds (rebuilt when the generator changed); this script works on its own
copy so the two benchmarks never hold the same file. In one process, after one warm-up of each,
``--runs`` timed runs alternate; every run opens the workspace afresh and closes it.

Usage: ``.venv/bin/python benchmarks/risk_funnel.py [--runs N] [--write]``
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import _common as c
import picture as picture_bench
from truefans import open_workspace
from truefans.measure.funnel import funnel
from truefans.measure.risk import risk

NAME = "risk_funnel"
SECONDS_TARGET = 3.0


def workspace() -> Path:
    src = picture_bench.ensure_demo("large")
    dst = c.data_dir() / "large_demo_risk_funnel.duckdb"
    if not dst.exists() or dst.stat().st_mtime < src.stat().st_mtime:
        with c.step(f"copy {src.name} to {dst.name}"):
            c.remove_db(dst)
            shutil.copyfile(src, dst)
    return dst


def run(fn: object, path: Path) -> float:
    t0 = time.perf_counter()
    with open_workspace(path) as ws:
        fn(ws)  # type: ignore[operator]
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--write", action="store_true", help="store the section in RESULTS.md")
    args = ap.parse_args()
    path = workspace()
    contents = picture_bench.describe(path)
    with c.step("warm-up"):
        run(risk, path)
        run(funnel, path)
    times: dict[str, list[float]] = {"risk": [], "funnel": []}
    noise = c.OtherLoad()
    c.wait_quiet(max_wait=300)
    for i in range(1, args.runs + 1):
        for name, fn in (("risk", risk), ("funnel", funnel)):
            c.wait_quiet(max_wait=60)
            noise.start()
            secs = run(fn, path)
            noise.stop()
            times[name].append(secs)
            c.log(f"run {i}/{args.runs} {name}: {secs:.2f} s")
    table = [["", "truefans risk", "truefans funnel"]]
    table.append(
        [
            f"time, median (min) of {args.runs} after a warm-up",
            *(
                f"{c.fmt_s(c.median(times[n]))} ({c.fmt_s(min(times[n]))})"
                for n in ("risk", "funnel")
            ),
        ]
    )
    met = [
        (
            f"{n} under {SECONDS_TARGET:.0f} s on {c.cores()} cores ({c.fmt_s(c.median(times[n]))})",
            c.median(times[n]) < SECONDS_TARGET,
        )
        for n in ("risk", "funnel")
    ]
    notes = [
        f"Workspace: the large demo, copied to `{path.relative_to(c.ROOT)}`: {contents}.",
        "Timed: `open_workspace` + `risk(ws)` (defaults: every outcome, 30-day journeys) or "
        "`funnel(ws)` (by channel) + close, in one process, alternating.",
        c.summaries_note(path),
        noise.note(),
    ]
    body = c.section(
        NAME,
        "`risk` and `funnel` on the large demo workspace",
        "`risk` and `funnel` each run on the large demo (1M people, 20M touchpoints) in under "
        "3 s on 2 cores.",
        f"median time of each < {SECONDS_TARGET:.0f} s.",
        table,
        met,
        notes,
    )
    c.emit(NAME, body, args.write)
    return 0 if all(ok for _, ok in met) else 1


if __name__ == "__main__":
    sys.exit(main())
