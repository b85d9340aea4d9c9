"""Attribution at scale, and exact Markov credit against `channelattribution` (issue #5).

1. One run on one synthetic data set: 1,000,000 converting and 5,000,000 non-converting journeys
   (about three touches each, eleven channels) cut from touch and outcome events
   (:func:`truefans.credit.build_journeys`), then every rule-based model and Markov order 1-3.
2. The GA4-style data-driven model (logistic fit + Shapley credit) on 100,000 people with about
   1.3 million touchpoints.
3. First-order Markov on the same paths table in ``channelattribution`` (PyPI, run in its own
   venv under ``benchmarks/_data/`` in a child process with sockets disabled, ``flg_pro=False``)
   and in truefans: time of the model call, and agreement of the shares. The peer simulates its
   removal effects, so it is run with two seeds to show its own noise.

    .venv/bin/python benchmarks/attribution.py [--write]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    DATA_DIR,
    OtherLoad,
    data_dir,
    emit,
    fmt_s,
    log,
    section,
    wait_quiet,
)
from truefans import credit

PEER_VENV = DATA_DIR / "attr-peer-venv"
CHANNELS = tuple(f"ch{i:02d}" for i in range(11))

PEER_CHILD = r"""
import json, socket, sys, time
class _NoNet(socket.socket):
    def __init__(self, *a, **k):
        raise OSError("network disabled in the benchmark")
socket.socket = _NoNet
socket.create_connection = lambda *a, **k: (_ for _ in ()).throw(OSError("no network"))
import pandas as pd
import ChannelAttribution as ca
data = pd.read_csv(sys.argv[1])
out = {}
runs = [("default", 0, 1e5)] + [(f"1e6_s{s}", s, 1e6) for s in (0, 17, 40, 1000)]
for name, seed, nsim in runs:
    t0 = time.perf_counter()
    res = ca.markov_model(data, "path", "conv", var_value="value", var_null="null", order=1,
                          sep=">", seed=seed, nsim_start=nsim, verbose=False, flg_pro=False)
    dt = time.perf_counter() - t0
    r = res if isinstance(res, pd.DataFrame) else res["result"]
    out[name] = {"seconds": dt, "conversions": dict(zip(r["channel_name"], r["total_conversions"]))}
print(json.dumps(out))
"""


def events(n_conv: int, n_null: int, mean_touches: float, seed: int) -> credit.TimingData:
    """People with touches over 60 days; the first ``n_conv`` buy once at the end of theirs."""
    rng = np.random.default_rng(seed)
    people = n_conv + n_null
    k = 1 + rng.poisson(mean_touches - 1, people)
    person = np.repeat(np.arange(people, dtype=np.int64), k)
    # channel propensities differ between converting and other people, so credit is not uniform
    conv_p = np.linspace(1.0, 3.0, len(CHANNELS))
    null_p = conv_p[::-1]
    is_conv = person < n_conv
    u = rng.random(len(person))
    cdf_c = np.cumsum(conv_p / conv_p.sum())
    cdf_n = np.cumsum(null_p / null_p.sum())
    chan = np.where(is_conv, np.searchsorted(cdf_c, u), np.searchsorted(cdf_n, u)).astype(np.int64)
    chan = np.minimum(chan, len(CHANNELS) - 1)
    t = rng.random(len(person)) * 25.0
    o_person = np.arange(n_conv, dtype=np.int64)
    o_time = np.full(n_conv, 26.0)
    value = np.round(rng.gamma(2.0, 60.0, n_conv), 2)
    return credit.TimingData(CHANNELS, person, t, chan, o_person, o_time, value, 0.0, 30.0)


def scale_run() -> dict[str, float]:
    with_t: dict[str, float] = {}
    d = events(1_000_000, 5_000_000, 3.0, seed=5)
    log(f"events: {len(d.touch_time):,} touches, {len(d.outcome_time):,} outcomes")
    t0 = time.perf_counter()
    j, _ = credit.build_journeys(
        d.channels,
        d.touch_person,
        d.touch_time,
        d.touch_channel,
        d.outcome_person,
        d.outcome_time,
        d.outcome_value,
        30.0,
    )
    with_t["journeys"] = time.perf_counter() - t0
    log(f"journeys: {j.n:,} ({int(j.conversions.sum()):,} converting) {with_t['journeys']:.1f} s")
    t1 = time.perf_counter()
    credit.all_rules(j)
    with_t["rules"] = time.perf_counter() - t1
    log(f"rules {with_t['rules']:.1f} s")
    for k in (1, 2, 3):
        tk = time.perf_counter()
        credit.markov_credit(j, k)
        with_t[f"markov_{k}"] = time.perf_counter() - tk
        log(f"markov {k}: {with_t[f'markov_{k}']:.1f} s")
    with_t["total"] = time.perf_counter() - t0
    with_t["journeys_n"] = float(j.n)
    with_t["converting"] = float(j.conversions.sum())
    with_t["touches"] = float(len(j.channel))
    return with_t


def data_driven_run() -> dict[str, float]:
    d = events(12_000, 88_000, 13.0, seed=6)
    t0 = time.perf_counter()
    j, _ = credit.build_journeys(
        d.channels,
        d.touch_person,
        d.touch_time,
        d.touch_channel,
        d.outcome_person,
        d.outcome_time,
        d.outcome_value,
        30.0,
    )
    credit.data_driven_credit(j)
    dt = time.perf_counter() - t0
    return {"seconds": dt, "touches": float(len(d.touch_time)), "people": 100_000.0}


def peer_run(paths_csv: Path) -> dict[str, dict[str, object]] | None:
    py = PEER_VENV / "bin" / "python"
    if not py.exists():
        log(f"no peer venv at {PEER_VENV}: pip install channelattribution matplotlib into it")
        return None
    res = subprocess.run(
        [str(py), "-c", PEER_CHILD, str(paths_csv)], capture_output=True, text=True, check=False
    )
    if res.returncode != 0:
        log(res.stderr[-2000:])
        return None
    line = [x for x in res.stdout.splitlines() if x.startswith("{")][-1]
    return dict(json.loads(line))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    wait_quiet()
    load = OtherLoad()
    load.start()
    big = scale_run()
    dd = data_driven_run()
    load.stop()
    log(f"data-driven: {dd['seconds']:.1f} s")

    # the same paths table for both Markov implementations
    d = events(200_000, 800_000, 3.0, seed=7)
    j, _ = credit.build_journeys(
        d.channels,
        d.touch_person,
        d.touch_time,
        d.touch_channel,
        d.outcome_person,
        d.outcome_time,
        d.outcome_value,
        30.0,
    )
    paths = credit.collapse_paths(j)
    csv = data_dir() / "attribution_paths.csv"
    with csv.open("w") as f:
        f.write("path,conv,null,value\n")
        for i in range(paths.n):
            ch = paths.channel[paths.offsets[i] : paths.offsets[i + 1]]
            f.write(
                ">".join(CHANNELS[c] for c in ch)
                + f",{paths.conversions[i]:.0f},{paths.nulls[i]:.0f},{paths.value[i]:.2f}\n"
            )
    load.start()
    t0 = time.perf_counter()
    ours = credit.markov_credit(paths, 1)
    ours_s = time.perf_counter() - t0
    peer = peer_run(csv)
    load.stop()
    ours_share = ours.channel_share()
    rows = [["figure", "measured", "target"]]
    rows.append(
        [
            f"journeys + 7 rule models + Markov 1-3, {big['converting']:,.0f} converting + "
            f"{big['journeys_n'] - big['converting']:,.0f} other journeys ({big['touches']:,.0f} touches)",
            fmt_s(big["total"]),
            "< 60 s",
        ]
    )
    rows.append(
        [
            "  of which journeys / rules / Markov 1 / 2 / 3",
            " / ".join(
                fmt_s(big[k]) for k in ("journeys", "rules", "markov_1", "markov_2", "markov_3")
            ),
            "",
        ]
    )
    rows.append(
        [
            f"data-driven model, {dd['people']:,.0f} people, {dd['touches']:,.0f} touches",
            fmt_s(dd["seconds"]),
            "< 30 s",
        ]
    )
    met = [
        ("journeys + rules + Markov 1-3 under 60 s", big["total"] < 60),
        ("data-driven model under 30 s", dd["seconds"] < 30),
    ]
    notes = [
        "Journeys are cut in NumPy by `truefans.credit.build_journeys` (the in-memory twin of the "
        "engine's Ibis journeys, equal to it by test on the demo workspace).",
        load.note(),
    ]
    if peer is not None:

        def shares(run: str) -> dict[str, float]:
            conv: dict[str, float] = peer[run]["conversions"]  # type: ignore[assignment]
            tot = sum(conv.values())
            return {k: v / tot for k, v in conv.items()}

        def dist(a: dict[str, float], b: dict[str, float]) -> float:
            return sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in CHANNELS)

        peer_s = float(peer["default"]["seconds"])  # type: ignore[arg-type]
        ratio = peer_s / ours_s if ours_s > 0 else float("inf")
        precise = [f"1e6_s{s}" for s in (0, 17, 40, 1000)]
        to_ours = [dist(ours_share, shares(r)) for r in precise]
        pairs = [
            dist(shares(a), shares(b)) for i, a in enumerate(precise) for b in precise[i + 1 :]
        ]
        # some seeds give the very same draw (the peer groups seeds): not an independent run
        between = [x for x in pairs if x > 0] or [0.0]
        notes.append(
            f"The peer's noise is the mean distance between its runs at 1e6 simulations with seeds "
            f"0, 17, 40 and 1000 ({len(between)} of {len(pairs)} pairs differ; identical pairs are "
            "the same draw and are left out). Its default run (1e5 simulations) is farther off."
        )
        d_default = dist(ours_share, shares("default"))
        rows.append(
            [
                f"Markov order 1 on the same paths table ({paths.n:,} distinct paths of "
                f"{int(paths.conversions.sum() + paths.nulls.sum()):,} journeys): truefans (exact) "
                "vs channelattribution `markov_model` (simulated, default 1e5 simulations)",
                f"{fmt_s(ours_s)} vs {fmt_s(peer_s)}: {ratio:.1f}× faster",
                "≥ 5×",
            ]
        )
        rows.append(
            [
                "sum over channels of |share difference|: truefans vs the peer's default run",
                f"{d_default:.4f}",
                "",
            ]
        )
        rows.append(
            [
                "same, truefans vs the peer at 1e6 simulations, 4 seeds (mean) / between those "
                "peer runs (mean, the peer's own noise)",
                f"{np.mean(to_ours):.4f} / {np.mean(between):.4f}",
                "first ≤ second",
            ]
        )
        met.append(("Markov order 1 ≥ 5× faster than channelattribution", ratio >= 5))
        met.append(
            (
                "first-order shares agree within the peer's simulation noise (truefans is no "
                "farther from each peer run than the peer runs are from each other)",
                float(np.mean(to_ours)) <= float(np.mean(between)),
            )
        )
    else:
        notes.append("channelattribution not installed: the comparison was not run")
    body = section(
        "attribution",
        "Attribution: journeys and models at scale; exact Markov vs channelattribution",
        "Journeys, every rule model and Markov order 1-3 handle millions of journeys in a minute "
        "on two cores; the data-driven model fits 100,000 people in seconds; exact first-order "
        "Markov credit agrees with channelattribution's simulated one and is faster.",
        "Issue #5: < 60 s, < 30 s, ≥ 5× faster, agreement within the peer's noise.",
        rows,
        met,
        notes,
    )
    emit("attribution", body, args.write)


if __name__ == "__main__":
    main()
