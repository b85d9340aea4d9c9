"""The same analyses on Spark (local mode) and on DuckDB give the same answers on the demo.

One Spark session (``local[2]``) serves every test of the run: starting one costs tens of seconds.
Counts and strings must be equal exactly; sums and fitted numbers to 1e-9 relative.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import truefans
from truefans.cli import app
from truefans.engine.aggregates import path_counts
from truefans.engine.parquet import export_parquet
from truefans.engine.spark import LOCAL_MASTER, SparkWorkspace, open_spark_workspace
from truefans.measure import rfm
from truefans.measure.attribution import attribution
from truefans.measure.clv import clv
from truefans.measure.fans import fans

pytestmark = pytest.mark.slow

RTOL = 1e-9


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java 17 on PATH")
    from truefans.engine.spark import spark_session as make

    session = make(LOCAL_MASTER, driver_memory="1g")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def demo_parquet(demo_path: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("spark") / "demo-parquet"
    with truefans.open_workspace(demo_path, create=False) as ws:
        export_parquet(ws, out)
    return out


@pytest.fixture(scope="module")
def both(
    demo_path: Path, demo_parquet: Path, spark_session
) -> Iterator[tuple[Any, SparkWorkspace]]:
    with truefans.open_workspace(demo_path, create=False) as duck:
        spark = open_spark_workspace(f"local-spark:{demo_parquet}", spark_session)
        assert spark.engine.name == "spark" and duck.engine.name == "duckdb"
        yield duck, spark
        spark.close()


def assert_same(a: Any, b: Any, where: str = "") -> None:
    """Equal structures: exact for ints, strings and booleans; floats to ``RTOL`` relative."""
    if isinstance(a, pd.DataFrame):
        assert isinstance(b, pd.DataFrame), where
        assert list(a.columns) == list(b.columns), where
        assert len(a) == len(b), where
        for c in a.columns:
            assert_same(a[c].tolist(), b[c].tolist(), f"{where}.{c}")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (where, set(a) ^ set(b))
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple | np.ndarray):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float | np.floating) and not isinstance(a, bool):
        if math.isnan(a):
            assert math.isnan(b), where
        else:
            assert math.isclose(a, b, rel_tol=RTOL, abs_tol=1e-12), (where, a, b)
    elif a is None or a is pd.NA or (isinstance(a, type(pd.NaT)) and a is pd.NaT):
        assert b is None or b is pd.NA or b is pd.NaT or (isinstance(b, float) and math.isnan(b))
    else:
        assert a == b, (where, a, b)
        assert type(a) is type(b) or isinstance(a, int | np.integer), (where, type(a), type(b))


def test_the_tables_read_back_alike(both) -> None:
    duck, spark = both
    for name in ("touchpoints", "outcomes", "channels", "metrics"):
        d = duck.engine.table(name)
        s = spark.engine.table(name)
        assert list(s.columns) == [c for c in d.columns if c != "source_id"], name
        assert int(duck.engine.execute(d.aggregate(n=d.count()))["n"].iloc[0]) == int(
            spark.engine.execute(s.aggregate(n=s.count()))["n"].iloc[0]
        )
    o = spark.engine.table("outcomes")
    row = spark.engine.execute(o.aggregate(first=o.ts.min(), total=o.value.sum()))
    od = duck.engine.table("outcomes")
    want = duck.engine.execute(od.aggregate(first=od.ts.min(), total=od.value.sum()))
    assert pd.Timestamp(row["first"].iloc[0]) == pd.Timestamp(want["first"].iloc[0])
    assert float(row["total"].iloc[0]) == float(want["total"].iloc[0])


def test_rfm_summary_is_the_same(both) -> None:
    duck, spark = both
    for kwargs in ({}, {"calibration_end": pd.Timestamp("2024-09-30").date(), "time_unit": "day"}):
        d = rfm.summarise(duck.engine, **kwargs)
        s = rfm.summarise(spark.engine, **kwargs)
        assert len(d.people) > 100
        assert_same(d.people, s.people, "people")
        assert_same(d.collapsed, s.collapsed, "collapsed")
        assert d.collapsed["weight"].sum() == len(d.people)
        assert (d.calibration_end, d.observation_end, d.currency, d.other_currencies) == (
            s.calibration_end,
            s.observation_end,
            s.currency,
            s.other_currencies,
        )


def test_path_counts_and_markov_are_the_same(both) -> None:
    duck, spark = both
    d = path_counts(duck.engine, currency=duck.setting("currency"))
    s = path_counts(spark.engine, currency=spark.setting("currency"))
    assert_same(d.table, s.table, "paths")
    for order in (1, 2):
        md, ms = d.markov(order), s.markov(order)
        assert md.labels == ms.labels
        assert_same(md.conversions, ms.conversions, f"markov_{order}.conversions")
        assert_same(md.value, ms.value, f"markov_{order}.value")


def test_clv_is_the_same(both) -> None:
    duck, spark = both
    for kwargs in (
        {},
        {"calibration_end": "2024-09-30", "model": "pareto"},
        {"model": "bgbb", "period": "month"},
    ):  # (sbg: the demo has no subscription curve to fit on either engine)
        d = clv(duck, **kwargs)
        s = clv(spark, **kwargs)
        assert len(d.table) > 10, kwargs
        assert_same(d.table, s.table, f"rows {kwargs}")
        assert_same(d.extra, s.extra, f"extra {kwargs}")
        assert_same(d.assumptions, s.assumptions, f"assumptions {kwargs}")


def test_attribution_every_model_is_the_same(both) -> None:
    duck, spark = both
    d = attribution(duck, draws=5, timing_draws=2)
    s = attribution(spark, draws=5, timing_draws=2)
    assert set(d.table["model"]) >= {"last", "markov_1", "shapley", "timing"}
    assert_same(d.table, s.table, "rows")
    assert_same(d.extra, s.extra, "extra")
    assert_same(d.assumptions, s.assumptions, "assumptions")


def test_fans_is_the_same(both) -> None:
    duck, spark = both
    for kwargs in ({}, {"engaged_by": "score", "as_of": "2024-10-31"}):
        d = fans(duck, **kwargs)
        s = fans(spark, **kwargs)
        assert d.table["people"].sum() > 1000
        assert_same(d.table, s.table, f"rows {kwargs}")
        assert_same(d.extra, s.extra, f"extra {kwargs}")
        assert_same(d.assumptions, s.assumptions, f"assumptions {kwargs}")


def test_cli_runs_clv_on_spark_and_refuses_the_rest(
    demo_path: Path, demo_parquet: Path, spark_session
) -> None:
    runner = CliRunner()
    name = f"local-spark:{demo_parquet}"
    args = ["clv", "--format", "json", "--time-unit", "day"]
    on_duck = runner.invoke(app, ["--workspace", str(demo_path), *args])
    on_spark = runner.invoke(app, ["--workspace", name, *args])
    assert on_duck.exit_code == 0 and on_spark.exit_code == 0, on_spark.output
    a, b = json.loads(on_duck.output), json.loads(on_spark.output)
    assert [r["person_id"] for r in a["rows"]] == [r["person_id"] for r in b["rows"]]
    assert a["params"].keys() == b["params"].keys()
    for k, v in a["params"].items():
        assert math.isclose(v, b["params"][k], rel_tol=1e-6), k  # json rounds to 6 decimals
    r = runner.invoke(app, ["--workspace", name, "funnel"])
    assert r.exit_code == 1 and "DuckDB workspace only" in r.output
