"""The Spark engine: the same Ibis expressions on PySpark, over a Parquet workspace folder.

A Spark workspace is named ``local-spark:DIR`` (Spark local mode on this machine, ``local[2]``) or
``spark://HOST:PORT/DIR``, ``yarn:DIR``, ``k8s://HOST:PORT/DIR`` (a cluster master; DIR must then
be a path every executor can read). DIR is a folder written by ``truefans export-parquet``.

Session settings (the measured pitfalls of ``docs/DESIGN.md``, "Engine layer"): UTC session time
zone, Arrow collection, few shuffle partitions, no console progress bar. The driver's memory comes
from ``TRUEFANS_SPARK_DRIVER_MEMORY`` (default 2g) and must be set before the first session starts;
``TRUEFANS_SPARK_MASTER`` overrides the master of ``local-spark:``. One session serves the whole
process (starting one costs tens of seconds).

PySpark is an optional dependency: ``pip install 'truefans[spark]'``.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from ..errors import WorkspaceError
from .parquet import Manifest, read_manifest

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LOCAL_MASTER = "local[2]"
DEFAULT_DRIVER_MEMORY = "2g"
SHUFFLE_PARTITIONS = 8

_SPEC = re.compile(
    r"^(?:(?P<local>local-spark):(?P<ldir>.+)"
    r"|(?P<scheme>spark|k8s)://(?P<host>[^/]+)(?P<rdir>/.*)"
    r"|(?P<yarn>yarn):(?P<ydir>.+))$"
)


@dataclass(frozen=True)
class SparkSpec:
    """Where a Spark workspace lives: the Spark master and the Parquet folder."""

    master: str
    path: str


#: the analyses (their Python function names) that run on a Spark workspace; the others are
#: DuckDB-only for now and refuse a Spark workspace with a message
SPARK_ANALYSES = ("attribution", "clv", "fans")


def parse_spec(raw: str | os.PathLike[str] | None) -> SparkSpec | None:
    """The Spark master and folder of a workspace name (``$TRUEFANS_WORKSPACE`` when None), or
    None for a DuckDB workspace."""
    if raw is None:
        raw = os.environ.get("TRUEFANS_WORKSPACE")
    if raw is None:
        return None
    m = _SPEC.match(str(raw))
    if m is None:
        return None
    if m["local"]:
        return SparkSpec(os.environ.get("TRUEFANS_SPARK_MASTER") or LOCAL_MASTER, m["ldir"])
    if m["yarn"]:
        return SparkSpec("yarn", m["ydir"])
    return SparkSpec(f"{m['scheme']}://{m['host']}", m["rdir"])


def is_spark(raw: str | os.PathLike[str] | None) -> bool:
    return parse_spec(raw) is not None


def _require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError as e:
        raise WorkspaceError(
            "a Spark workspace needs PySpark: pip install 'truefans[spark]' (and Java 17)"
        ) from e


def spark_session(
    master: str = LOCAL_MASTER,
    driver_memory: str | None = None,
    shuffle_partitions: int | None = None,
) -> SparkSession:
    """The process's Spark session (created on first use with truefans' settings).

    ``shuffle_partitions`` (default ``$TRUEFANS_SPARK_SHUFFLE_PARTITIONS`` or 8): more for
    hundreds of millions of rows, so each task's sort fits in memory."""
    _require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    memory = driver_memory or os.environ.get("TRUEFANS_SPARK_DRIVER_MEMORY", DEFAULT_DRIVER_MEMORY)
    builder: Any = SparkSession.builder
    session: SparkSession = (
        builder.master(master)
        .appName("truefans")
        .config("spark.driver.memory", memory)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config(
            "spark.sql.shuffle.partitions",
            str(
                shuffle_partitions
                or os.environ.get("TRUEFANS_SPARK_SHUFFLE_PARTITIONS", SHUFFLE_PARTITIONS)
            ),
        )
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.parquet.inferTimestampNTZ.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


_views = itertools.count(1)


class SparkEngine:
    """Runs Ibis expressions on PySpark over the Parquet datasets of a workspace folder."""

    name = "spark"

    def __init__(self, session: SparkSession, manifest: Manifest) -> None:
        self.session = session
        self.manifest = manifest
        self.backend = ibis.pyspark.connect(session)
        self._tables: dict[str, ir.Table] = {}
        self._prefix = f"tf{next(_views)}_"

    def table(self, name: str) -> ir.Table:
        got = self._tables.get(name)
        if got is not None:
            return got
        info = self.manifest.tables.get(name)
        if info is None:
            raise WorkspaceError(f"{self.manifest.path} has no table {name!r}")
        path = self.manifest.path / name
        df = self.session.read.option("basePath", str(path)).parquet(str(path))
        if info.derived_partition and info.partition in df.columns:
            df = df.drop(info.partition)
        # the table's own column order (a partition column comes back last)
        df = df.select(*[c for c in info.columns if c in df.columns])
        view = f"{self._prefix}{name}"
        df.createOrReplaceTempView(view)
        got = self.backend.table(view)
        self._tables[name] = got
        return got

    def execute(self, expr: ir.Table) -> pd.DataFrame:
        return self.backend.to_pyarrow(expr).to_pandas()

    @contextmanager
    def materialized(self, expr: ir.Table) -> Iterator[ir.Table]:
        """Compute ``expr`` once (cached in Spark's memory) for several queries, then release it."""
        cached = expr.cache()
        try:
            yield cached
        finally:
            cached.release()

    def close(self) -> None:
        for name in list(self._tables):
            self.session.catalog.dropTempView(f"{self._prefix}{name}")
        self._tables.clear()


class SparkWorkspace:
    """A read-only workspace on Spark: the analyses that have a Spark path accept it."""

    def __init__(self, spec: SparkSpec, session: SparkSession | None = None) -> None:
        self.spec = spec
        self.manifest = read_manifest(spec.path)
        self.path: Path = self.manifest.path
        self._engine = SparkEngine(session or spark_session(spec.master), self.manifest)

    @property
    def engine(self) -> SparkEngine:
        return self._engine

    @property
    def schema_version(self) -> int:
        return self.manifest.schema_version

    def setting(self, key: str, default: str | None = None) -> str | None:
        return self.manifest.settings.get(key, default)

    def close(self) -> None:
        self._engine.close()

    def __enter__(self) -> SparkWorkspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_spark_workspace(
    raw: str | os.PathLike[str], session: SparkSession | None = None
) -> SparkWorkspace:
    """Open ``local-spark:DIR`` (or a cluster master's ``.../DIR``) for the analyses."""
    spec = parse_spec(raw)
    if spec is None:
        raise WorkspaceError(
            f"{raw} is not a Spark workspace; use local-spark:DIR or spark://HOST:PORT/DIR"
        )
    return SparkWorkspace(spec, session)


def duckdb_only(raw: str | os.PathLike[str] | None, what: str = "this command") -> WorkspaceError:
    """The error for a command that has no Spark path yet, given a Spark workspace."""
    return WorkspaceError(
        f"{raw}: {what} runs on a DuckDB workspace only for now; on Spark: "
        f"{', '.join(SPARK_ANALYSES)}. Use the workspace file the folder was exported from"
    )


def open_for_analysis(raw: str | os.PathLike[str] | None, analysis: str) -> SparkWorkspace:
    """A Spark workspace for ``analysis``, or a clear error when it has no Spark path yet."""
    if analysis not in SPARK_ANALYSES:
        raise duckdb_only(raw, f"`truefans {analysis}`")
    return open_spark_workspace(raw if raw is not None else os.environ["TRUEFANS_WORKSPACE"])
