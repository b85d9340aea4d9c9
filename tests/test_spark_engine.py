"""The engine layer without Spark: the Parquet export, workspace names, path counts on DuckDB."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import truefans
from truefans import credit, schema
from truefans.cli import app
from truefans.engine import parquet
from truefans.engine.aggregates import DEFAULT_TYPES, path_counts, rfm_collapsed
from truefans.engine.parquet import MANIFEST, duckdb_engine, export_parquet, read_manifest
from truefans.engine.spark import LOCAL_MASTER, SparkSpec, parse_spec
from truefans.errors import WorkspaceError
from truefans.measure import rfm
from truefans.measure.attribution import _main_currency, _money, _outcomes, build


@pytest.fixture(scope="module")
def exported(demo_path: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pq") / "demo-parquet"
    with truefans.open_workspace(demo_path, create=False) as ws:
        export_parquet(ws, out)
    return out


def _read_back(root: Path, name: str, columns: list[str]) -> pd.DataFrame:
    con = duckdb.connect()
    df = con.execute(
        f"SELECT {', '.join(columns)} FROM read_parquet('{root / name}/**/*.parquet', "
        "hive_partitioning = true, union_by_name = true)"
    ).df()
    return df.sort_values(columns, ignore_index=True)


def test_export_writes_every_table_with_a_manifest(demo_path: Path, exported: Path) -> None:
    m = read_manifest(exported)
    assert set(m.tables) == set(schema.CANONICAL)
    with truefans.open_workspace(demo_path, create=False) as ws:
        assert m.settings == dict(ws.con.execute("SELECT key, value FROM settings").fetchall())
        assert m.schema_version == ws.schema_version
        for name, info in m.tables.items():
            cols = list(info.columns)
            assert cols == [c for c in schema.CANONICAL[name].column_names if c in cols]
            want = ws.con.execute(f"SELECT {', '.join(cols)} FROM {name}").df()
            want = want.sort_values(cols, ignore_index=True)
            got = _read_back(exported, name, cols)
            assert info.rows == len(want) == len(got), name
            for c in cols:
                a, b = want[c], got[c]
                if name == "metrics" and c == "date":  # from the partition folder names
                    a, b = pd.to_datetime(a), pd.to_datetime(b)
                pd.testing.assert_series_equal(
                    a, b, check_dtype=False, check_names=False, obj=f"{name}.{c}"
                )


def test_export_partitions_touches_outcomes_and_metrics_by_day(exported: Path) -> None:
    m = read_manifest(exported)
    assert m.tables["touchpoints"].partition == "day"
    assert m.tables["outcomes"].partition == "day"
    assert m.tables["metrics"].partition == "date"
    days = sorted(p.name for p in (exported / "touchpoints").iterdir())
    assert days and all(d.startswith("day=") for d in days)
    # a day's folder holds exactly the touches of that UTC day
    first = days[0].split("=", 1)[1]
    con = duckdb.connect()
    ts = con.execute(
        f"SELECT min(ts)::DATE, max(ts)::DATE FROM '{exported / 'touchpoints' / days[0]}/*.parquet'"
    ).fetchone()
    assert ts is not None and str(ts[0]) == str(ts[1]) == first


def test_export_refuses_a_folder_with_files_and_replaces_on_request(
    demo_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with truefans.open_workspace(demo_path, create=False) as ws:
        with pytest.raises(WorkspaceError, match="not empty"):
            export_parquet(ws, out)
        assert (out / "keep.txt").read_text() == "mine"
        export_parquet(ws, out, replace=True)
    assert (out / MANIFEST).is_file() and not (out / "keep.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging or old folder left


def test_export_failure_leaves_nothing(
    demo_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ws, staging):
        (staging / "touchpoints").mkdir()
        raise OSError("disk full")

    monkeypatch.setattr(parquet, "_write_tables", broken)
    with (
        truefans.open_workspace(demo_path, create=False) as ws,
        pytest.raises(OSError, match="disk full"),
    ):
        export_parquet(ws, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_manifest_errors_name_the_folder(exported: Path, tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="no Parquet workspace"):
        read_manifest(tmp_path / "missing")
    with pytest.raises(WorkspaceError, match=r"has no _truefans\.json"):
        read_manifest(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    doc = json.loads((exported / MANIFEST).read_text())
    doc["format_version"] = 99
    (bad / MANIFEST).write_text(json.dumps(doc))
    with pytest.raises(WorkspaceError, match="version 99"):
        read_manifest(bad)


def test_workspace_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRUEFANS_SPARK_MASTER", raising=False)
    monkeypatch.delenv("TRUEFANS_WORKSPACE", raising=False)
    assert parse_spec("local-spark:/data/ws") == SparkSpec(LOCAL_MASTER, "/data/ws")
    assert parse_spec("spark://head:7077/data/ws") == SparkSpec("spark://head:7077", "/data/ws")
    assert parse_spec("k8s://api:6443/mnt/ws") == SparkSpec("k8s://api:6443", "/mnt/ws")
    assert parse_spec("yarn:/shared/ws") == SparkSpec("yarn", "/shared/ws")
    assert parse_spec("demo.duckdb") is None
    assert parse_spec(None) is None
    monkeypatch.setenv("TRUEFANS_WORKSPACE", "local-spark:rel/ws")
    monkeypatch.setenv("TRUEFANS_SPARK_MASTER", "local[1]")
    assert parse_spec(None) == SparkSpec("local[1]", "rel/ws")


def test_duckdb_only_commands_refuse_a_spark_workspace(exported: Path) -> None:
    name = f"local-spark:{exported}"
    with pytest.raises(WorkspaceError, match="DuckDB workspace only"):
        truefans.open_workspace(name)
    runner = CliRunner()
    for args in (["picture"], ["imports"], ["risk"], ["funnel"], ["import", os.devnull]):
        r = runner.invoke(app, ["--workspace", name, *args])
        assert r.exit_code == 1, (args, r.output)
        assert "DuckDB workspace only" in r.output and "clv" in r.output
        assert not Path(name).exists()  # no DuckDB file named after the Spark workspace


def test_cli_export_parquet(demo_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "pq"
    r = runner.invoke(
        app, ["--workspace", str(demo_path), "export-parquet", str(out), "--format", "json"]
    )
    assert r.exit_code == 0, r.output
    rows = {x["table"]: x for x in json.loads(r.output)}
    assert set(rows) == set(schema.CANONICAL)
    assert rows["touchpoints"]["partitioned_by"] == "day"
    assert rows["touchpoints"]["rows"] == read_manifest(out).tables["touchpoints"].rows > 0
    again = runner.invoke(app, ["--workspace", str(demo_path), "export-parquet", str(out)])
    assert again.exit_code == 1 and "--replace" in again.output


def _attribution_journeys(ws: truefans.Workspace) -> credit.Journeys:
    eng = ws.engine
    types = list(DEFAULT_TYPES)
    out = _outcomes(eng, types, None, None)
    net, _ = _money(out, types, _main_currency(ws, out))
    j, _, _ = build(eng, types, None, None, 30, "channel", net, out)
    return j


def test_path_counts_give_the_attribution_markov_exactly(demo_path: Path) -> None:
    with truefans.open_workspace(demo_path, create=False) as ws:
        j = _attribution_journeys(ws)
        pc = path_counts(ws.engine, currency=ws.setting("currency"))
    t = pc.table
    assert int(t["journeys"].sum()) == j.n
    assert float(t["conversions"].sum()) == float(j.conversions.sum())
    assert float(t["nulls"].sum()) == float(j.nulls.sum())
    np.testing.assert_allclose(t["value"].sum(), j.value.sum(), rtol=1e-12)
    # far fewer rows than journeys: what the driver collects is bounded by distinct paths
    assert len(t) < j.n / 3
    for order in (1, 2, 3):
        want = credit.markov_credit(j, order)
        got = pc.markov(order)
        assert got.labels == want.labels
        np.testing.assert_allclose(got.conversions, want.conversions, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(got.value, want.value, rtol=1e-9, atol=1e-6)


def test_rfm_collapsed_is_the_summary_collapse(demo_path: Path) -> None:
    with truefans.open_workspace(demo_path, create=False) as ws:
        want = rfm.summarise(ws.engine, time_unit="day").collapsed
        got = rfm_collapsed(ws.engine, time_unit="day")
    assert list(got.columns) == ["x", "t_x", "T", "weight"]
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=0, atol=0)


def test_duckdb_over_the_parquet_folder_gives_the_workspace_answers(
    demo_path: Path, exported: Path
) -> None:
    eng, manifest = duckdb_engine(exported)
    assert manifest.path == exported
    with truefans.open_workspace(demo_path, create=False) as ws:
        want = path_counts(ws.engine, currency=ws.setting("currency"))
        want_rfm = rfm_collapsed(ws.engine)
    got = path_counts(eng, currency=manifest.settings.get("currency"))
    pd.testing.assert_frame_equal(got.table, want.table, rtol=1e-12)
    pd.testing.assert_frame_equal(rfm_collapsed(eng), want_rfm, rtol=0, atol=0)
