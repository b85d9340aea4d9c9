"""Journeys + Markov order 1 and the recency-frequency summary on Spark local mode vs DuckDB (#10).

For each size N (touchpoints; N / 10 transactions, N / 20 people, 11 channels, one year):

1. a seeded generator fills a temporary truefans workspace (hash-based SQL, the same rows for the
   same seed whatever the thread count) and ``truefans.engine.parquet.export_parquet`` writes it
   as the Parquet layout of a Spark workspace (touchpoints and outcomes partitioned by day) in a
   temporary folder;
2. each engine runs in its own process over the same Parquet folder: Spark local mode
   (``local[2]``, ``spark.driver.memory=4g``; in local mode the executors live in the driver JVM,
   so that is all of Spark's heap) and DuckDB (views over the same files). Each computes the
   journeys counted per distinct channel path (``engine.aggregates.path_counts``) and the weighted
   distinct (x, t_x, T) rows (``engine.aggregates.rfm_collapsed``), then fits Markov order 1 and
   BG/NBD locally on what it collected;
3. the parent checks both engines collected the same aggregates (counts exact, sums 1e-9) and the
   same fits, and records times, collected rows and the peak RSS of each process tree (the Spark
   one includes its JVM).

Each measured size is stored in ``benchmarks/_data/spark_scale.json`` (with its date and the load
at the time), and the section shows every stored size, so a long 100M run can be added later.

    .venv/bin/python benchmarks/spark_scale.py [--touches 1000000 10000000] [--write]
    .venv/bin/python benchmarks/spark_scale.py --touches 100000000 --write   # slow on 2 cores
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    ROOT,
    data_dir,
    emit,
    fmt_mb,
    log,
    run_child,
    section,
    step,
    utc_now,
)

STORE = "spark_scale.json"
SEED = 42
CHANNELS = 11
YEAR_S = 365 * 86_400
DRIVER_MEMORY = "4g"


# -- the data ------------------------------------------------------------------------------------


def generate(n_touches: int, out: Path, seed: int = SEED) -> dict[str, int]:
    """A truefans workspace of synthetic touches and orders, exported as Parquet to ``out``."""
    import truefans
    from truefans.engine.parquet import export_parquet

    people = max(n_touches // 20, 10)
    buyers = max(people // 2, 5)
    orders = max(n_touches // 10, 10)
    db = out.parent / "generate.duckdb"
    with truefans.open_workspace(db) as ws:
        con = ws.con
        con.execute("SET preserve_insertion_order = false")
        con.execute(
            "INSERT INTO channels (channel_id, name, kind) SELECT 'ch' || lpad(i::VARCHAR, 2, '0'), "
            f"'channel ' || i, 'social' FROM range({CHANNELS}) t(i)"
        )
        # each person leans to one channel (60 % of their touches), the rest spread at random
        con.execute(
            f"""
            INSERT INTO touchpoints (touch_id, person_id, ts, channel_id, kind)
            SELECT 't' || i, 'p' || p,
                   TIMESTAMP '2024-01-01' + to_seconds((hash(i, {seed} + 1) % {YEAR_S})::BIGINT),
                   'ch' || lpad((CASE WHEN hash(i, {seed} + 2) % 10 < 6
                                      THEN hash(p, {seed} + 3) % {CHANNELS}
                                      ELSE hash(i, {seed} + 4) % {CHANNELS} END)::VARCHAR, 2, '0'),
                   'view'
            FROM (SELECT i, hash(i, {seed}) % {people} AS p FROM range({n_touches}) t(i))
            """
        )
        con.execute(
            f"""
            INSERT INTO outcomes (outcome_id, person_id, ts, type, value, currency)
            SELECT 'o' || j, 'p' || (hash(j, {seed} + 5) % {buyers}),
                   TIMESTAMP '2024-01-01' + to_seconds((hash(j, {seed} + 6) % {YEAR_S})::BIGINT),
                   'order', (5 + (hash(j, {seed} + 7) % 50000) / 100)::DECIMAL(18, 4), 'USD'
            FROM range({orders}) t(j)
            """
        )
        con.execute(
            "INSERT INTO people (person_id) SELECT DISTINCT person_id FROM touchpoints "
            "UNION SELECT DISTINCT person_id FROM outcomes"
        )
        con.execute("INSERT INTO settings VALUES ('currency', 'USD') ON CONFLICT DO NOTHING")
        export_parquet(ws, out)
    db.unlink()
    Path(str(db) + ".wal").unlink(missing_ok=True)
    return {"touches": n_touches, "orders": orders, "people": people}


# -- one engine in its own process ---------------------------------------------------------------


def child(engine: str, folder: str, outdir: str, shuffle: int) -> None:
    from truefans.engine.aggregates import path_counts, rfm_collapsed
    from truefans.models import fit_bgnbd

    t0 = time.perf_counter()
    if engine == "spark":
        from truefans.engine.spark import SparkWorkspace, parse_spec, spark_session

        session = spark_session("local[2]", driver_memory=DRIVER_MEMORY, shuffle_partitions=shuffle)
        spec = parse_spec(f"local-spark:{folder}")
        assert spec is not None
        eng: Any = SparkWorkspace(spec, session).engine
    else:
        from truefans.engine.parquet import duckdb_engine

        eng, _ = duckdb_engine(folder)
        eng.con.execute("SET threads = 2")
    t_start = time.perf_counter() - t0
    t1 = time.perf_counter()
    pc = path_counts(eng, currency="USD")
    t_paths = time.perf_counter() - t1
    t2 = time.perf_counter()
    rc = rfm_collapsed(eng, currency="USD")
    t_rfm = time.perf_counter() - t2
    t3 = time.perf_counter()
    markov = pc.markov(1)
    x, t_x, big_t, w = (rc[k].to_numpy(np.float64) for k in ("x", "t_x", "T", "weight"))
    fit = fit_bgnbd(x, t_x, big_t, weights=w)
    t_fit = time.perf_counter() - t3
    paths = pc.table.assign(path=[">".join(p) for p in pc.table["path"]])
    paths.to_parquet(Path(outdir) / f"{engine}_paths.parquet")
    rc.to_parquet(Path(outdir) / f"{engine}_rfm.parquet")
    print(
        json.dumps(
            {
                "start_s": t_start,
                "paths_s": t_paths,
                "rfm_s": t_rfm,
                "fit_s": t_fit,
                "journeys": int(pc.table["journeys"].sum()),
                "distinct_paths": len(pc.table),
                "customers": int(rc["weight"].sum()),
                "distinct_triples": len(rc),
                "markov_conversions": dict(
                    zip(markov.labels, markov.conversions.tolist(), strict=True)
                ),
                "bgnbd": {k: float(v) for k, v in fit.params.items()},
            }
        ),
        flush=True,
    )
    if engine == "spark":
        session.stop()


def same_frames(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    for c in a.columns:
        x, y = a[c].to_numpy(), b[c].to_numpy()
        if x.dtype.kind == "f":
            if not np.allclose(x, y, rtol=1e-9, atol=1e-9):
                return False
        elif not (x == y).all():
            return False
    return True


def close_dicts(a: dict[str, float], b: dict[str, float], rtol: float) -> bool:
    return set(a) == set(b) and all(math.isclose(a[k], b[k], rel_tol=rtol, abs_tol=1e-9) for k in a)


def measure(n: int) -> dict[str, Any]:
    shuffle = max(8, n // 2_000_000)
    with tempfile.TemporaryDirectory(prefix="truefans-spark-scale-") as tmp:
        folder = Path(tmp) / "parquet"
        with step(f"generate {n:,} touchpoints and export them as Parquet"):
            facts = generate(n, folder)
        size = sum(f.stat().st_size for f in folder.rglob("*.parquet"))
        out: dict[str, Any] = {"n": n, **facts, "parquet_bytes": size, "shuffle": shuffle}
        for engine in ("duckdb", "spark"):
            with step(f"{engine}: path counts + RFM summary + fits"):
                run = run_child(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        engine,
                        str(folder),
                        tmp,
                        "--shuffle",
                        str(shuffle),
                    ]
                )
            if run.returncode != 0:
                raise SystemExit(f"{engine} run failed (exit {run.returncode})")
            out[engine] = {**run.payload(), "wall_s": run.wall, "peak_rss": run.peak_rss}
        d = Path(tmp)
        out["same_paths"] = same_frames(
            pd.read_parquet(d / "duckdb_paths.parquet"), pd.read_parquet(d / "spark_paths.parquet")
        )
        out["same_rfm"] = same_frames(
            pd.read_parquet(d / "duckdb_rfm.parquet"), pd.read_parquet(d / "spark_rfm.parquet")
        )
        out["same_fits"] = close_dicts(
            out["duckdb"]["markov_conversions"], out["spark"]["markov_conversions"], 1e-9
        ) and close_dicts(out["duckdb"]["bgnbd"], out["spark"]["bgnbd"], 1e-9)
        out["date"] = utc_now()
        out["load"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return out


# -- the section ---------------------------------------------------------------------------------


def report(stored: dict[str, dict[str, Any]]) -> str:
    runs = [stored[k] for k in sorted(stored, key=int)]
    rows = [
        [
            "touchpoints / transactions",
            "engine",
            "journeys → distinct paths",
            "customers → distinct (x, t_x, T)",
            "path counts",
            "RFM summary",
            "fits (driver)",
            "session start",
            "peak RSS (process tree)",
            "same answers",
        ]
    ]
    for r in runs:
        for e in ("spark", "duckdb"):
            m = r[e]
            rows.append(
                [
                    f"{r['touches']:,} / {r['orders']:,}",
                    "Spark local[2], driver 4g" if e == "spark" else "DuckDB, 2 threads",
                    f"{m['journeys']:,} → {m['distinct_paths']:,}",
                    f"{m['customers']:,} → {m['distinct_triples']:,}",
                    f"{m['paths_s']:.1f} s",
                    f"{m['rfm_s']:.1f} s",
                    f"{m['fit_s']:.2f} s",
                    f"{m['start_s']:.1f} s",
                    fmt_mb(m["peak_rss"]),
                    "yes" if r["same_paths"] and r["same_rfm"] and r["same_fits"] else "NO",
                ]
            )
    largest = runs[-1]
    met = [
        (
            "both engines collect the same path counts and (x, t_x, T) rows and fit the same "
            "Markov and BG/NBD at every size",
            all(r["same_paths"] and r["same_rfm"] and r["same_fits"] for r in runs),
        ),
        (
            f"Spark completes {largest['touches']:,} touchpoints with the driver's heap capped "
            "at 4 GB (spark.driver.memory=4g)",
            True,
        ),
        (
            "the 100,000,000-touchpoint / 10,000,000-transaction run",
            any(r["touches"] >= 100_000_000 for r in runs),
        ),
    ]
    notes = [
        "Data: seeded hash-based generator (seed 42): N touchpoints over 2024 on 11 channels for "
        "N/20 people (each leaning to one channel), N/10 orders of N/40 buyers; written through a "
        "truefans workspace and `export-parquet` (zstd, partitioned by day) to a temporary folder.",
        "Each engine runs in its own process over the same Parquet folder; times exclude process "
        "start-up and the Spark session start (shown apart). What reaches the driver is the "
        "distinct-path table and the distinct (x, t_x, T) table: compare their sizes with the "
        "journeys and customers they stand for.",
        "Sizes measured at different times: "
        + "; ".join(f"{r['touches']:,} on {r['date']} (load {r['load']})" for r in runs)
        + ". The machine is shared (about seven sessions on 2 cores): figures taken under load "
        "are pessimistic for both engines alike.",
        "Parquet size: "
        + "; ".join(f"{r['touches']:,}: {r['parquet_bytes'] / 1024**2:,.0f} MB" for r in runs)
        + ". Spark shuffle partitions: "
        + ", ".join(f"{r['shuffle']}" for r in runs)
        + ".",
    ]
    return section(
        "spark_scale",
        "Spark local mode vs DuckDB: journeys + Markov order 1 and the RFM summary",
        "the aggregations the path and CLV models need run on Spark (local mode, 2 cores, driver "
        "heap ≤ 4 GB) with the same answers as DuckDB, and only distinct paths and distinct "
        "(x, t_x, T) rows reach the driver.",
        "same answers at every size; Spark completes within a 4 GB driver; 100M touchpoints / "
        "10M transactions.",
        rows,
        met,
        notes,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--touches", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--write", action="store_true", help="store the section in RESULTS.md")
    ap.add_argument(
        "--report-only", action="store_true", help="print the section of the stored sizes"
    )
    ap.add_argument("--child", nargs=3, metavar=("ENGINE", "FOLDER", "OUTDIR"), help="internal")
    ap.add_argument("--shuffle", type=int, default=8, help="internal")
    args = ap.parse_args()
    if args.child:
        child(*args.child, shuffle=args.shuffle)
        return
    if shutil.which("java") is None:
        raise SystemExit("Spark needs Java 17 on PATH")
    store = data_dir() / STORE
    stored: dict[str, dict[str, Any]] = json.loads(store.read_text()) if store.exists() else {}
    for n in [] if args.report_only else args.touches:
        r = measure(n)
        log(
            f"{n:,}: spark paths {r['spark']['paths_s']:.1f} s rfm {r['spark']['rfm_s']:.1f} s; "
            f"duckdb paths {r['duckdb']['paths_s']:.1f} s rfm {r['duckdb']['rfm_s']:.1f} s; "
            f"same: {r['same_paths']} {r['same_rfm']} {r['same_fits']}"
        )
        stored[str(n)] = r
        if args.write:  # trial runs of other sizes stay out of the record
            store.write_text(json.dumps(stored, indent=1))
    if not stored:
        raise SystemExit(f"nothing measured yet ({store} is empty)")
    emit("spark_scale", report(stored), args.write)


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
