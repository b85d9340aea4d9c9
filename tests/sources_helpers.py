"""What the source tests share: where the export fixtures are, which sources bid for a file, a
file staged through its source and read back, and an import checked end to end."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from truefans.ingest.common import read_head
from truefans.ingest.registry import Detection, StageContext, StagedTable, load_sources

#: the real exports kept next to the repository (absent in some checkouts)
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "exports"
#: the synthetic variants kept with the tests
TEST_DATA = Path(__file__).parent / "data"


def needs_shared(family: str = "") -> pytest.MarkDecorator:
    """Skip a test when the shared export fixtures (of ``family``) are not present."""
    return pytest.mark.skipif(
        not (SHARED / family).exists(), reason="shared export fixtures not present"
    )


def _identity_ready() -> bool:
    try:
        from truefans.ingest import identity
    except ImportError:
        return False
    return hasattr(identity, "resolve_hints")


needs_identity = pytest.mark.skipif(not _identity_ready(), reason="identity resolution not there")


# -- detection -----------------------------------------------------------------------------------


def detections(path: Path) -> list[Detection]:
    """Every registered source's bid for the file, the highest first."""
    head = read_head(path)
    found = [d for s in load_sources().values() if (d := s.detect(path, head)) is not None]
    return sorted(found, key=lambda d: -d.confidence)


def bids(path: Path) -> dict[str, float]:
    """Source name → how sure it is that the file is its own (the sources that bid)."""
    return {d.source: d.confidence for d in detections(path)}


def assert_wins(path: Path, source: str, at_least: float = 0.0) -> Detection:
    """``source`` bids for the file (at least ``at_least``) and no other source bids as high.
    Returns its detection."""
    dets = detections(path)
    assert dets and dets[0].source == source, dets
    assert dets[0].confidence >= at_least, dets
    assert all(d.confidence < dets[0].confidence for d in dets[1:]), dets
    return dets[0]


def files(root: Path, pattern: str = "*", but: str | None = None) -> list[Path]:
    """The files under ``root`` matching ``pattern`` (not the ``.md`` notes), except those in a
    folder named ``but``."""
    if not root.exists():
        return []
    return sorted(
        p
        for p in root.rglob(pattern)
        if p.is_file() and p.suffix != ".md" and (but is None or p.parent.name != but)
    )


def assert_never_taken(source: str, paths: Iterable[Path]) -> None:
    """``source`` bids for none of the files."""
    for path in paths:
        assert source not in bids(path), path


def assert_junk_ignored(source: str, tmp_path: Path, junk: Sequence[tuple[str, bytes]]) -> None:
    """``source`` neither bids for nor raises on files that are not what their name says."""
    src = load_sources()[source]
    for name, data in junk:
        path = tmp_path / name
        path.write_bytes(data)
        assert src.detect(path, data) is None, name


# -- staging -------------------------------------------------------------------------------------


def stage_file(
    ws: Any, source: str, path: Path, prefix: str = "t1", **kw: Any
) -> list[StagedTable]:
    """The tables ``source`` stages from ``path`` in the workspace's connection."""
    return load_sources()[source].stage(StageContext(con=ws.con, path=path, prefix=prefix, **kw))


@dataclass
class Staged:
    """A staged table read back: what the source said about it and its rows."""

    table: str
    rows: pd.DataFrame
    rejects: list[tuple[int, str, str, str]]
    note: str
    staged: StagedTable


def temp_tables(ws: Any, prefix: str = "t1") -> list[str]:
    """The tables named ``<prefix>...`` left in the workspace's connection."""
    return [
        r[0]
        for r in ws.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE ?", [prefix + "%"]
        ).fetchall()
    ]


def stage_tables(
    ws: Any,
    source: str,
    path: Path,
    *,
    order: Mapping[str, str] | None = None,
    unique_rows: bool = False,
    local_times: bool | None = None,
    **kw: Any,
) -> list[Staged]:
    """Stage ``path`` with ``source`` and read every staged table back (by ``__row``, or the
    ``order`` given for its table), dropping it. Checks: a table's rows and rejects add up to
    the rows it says it stands for; ``__row`` is unique (``unique_rows``); the export's times
    are local or UTC as said (``local_times``); no temp table is left behind."""
    out = []
    for st in stage_file(ws, source, path, **kw):
        by = (order or {}).get(st.table, "__row")
        df = ws.con.execute(f'SELECT * FROM "{st.relation}" ORDER BY {by}').df()
        assert len(df) + len(st.rejects) == st.rows
        if unique_rows:
            assert df["__row"].is_unique
        if local_times is not None:
            assert st.local_times is local_times
        ws.con.execute(f'DROP TABLE "{st.relation}"')
        out.append(Staged(st.table, df, st.rejects, st.note, st))
    assert temp_tables(ws) == []
    return out


def stage_frames(ws: Any, source: str, path: Path, **kw: Any) -> dict[str, Any]:
    """:func:`stage_tables` by table: ``{table: rows, table + "_rejects": rejects,
    table + "_note": note, table + "_staged": the StagedTable}``."""
    out: dict[str, Any] = {}
    for s in stage_tables(ws, source, path, **kw):
        out[s.table] = s.rows
        out[s.table + "_rejects"] = s.rejects
        out[s.table + "_note"] = s.note
        out[s.table + "_staged"] = s.staged
    return out


def by_id(df: pd.DataFrame, key: str = "outcome_id") -> dict[str, dict[str, Any]]:
    """Staged rows by their key."""
    return {r[key]: r for r in df.to_dict("records")}


def records(ws: Any, staged: StagedTable, order: str = "__row") -> list[dict[str, Any]]:
    """A staged table's rows as dicts, NULL as None."""
    df = ws.con.execute(f'SELECT * FROM "{staged.relation}" ORDER BY {order}').df()
    return df.astype(object).where(df.notna(), None).to_dict("records")


# -- importing -----------------------------------------------------------------------------------


def import_ok(ws: Any, paths: Sequence[Path], **kw: Any) -> list[Any]:
    """Import the files: every report is ok, with no reject. Returns the reports."""
    reports = ws.import_files(list(paths), **kw)
    assert all(r.status == "ok" and r.rejected == 0 for r in reports), reports
    return reports


def assert_reimport_adds_nothing(ws: Any, paths: Sequence[Path]) -> None:
    """Importing the files again adds no row."""
    again = ws.import_files(list(paths))
    assert sum(r.added for r in again) == 0


def scalar(ws: Any, sql: str, params: Sequence[object] = ()) -> Any:
    """The one value a query gives."""
    return ws.con.execute(sql, list(params)).fetchone()[0]


def edited_copy(
    src: Path, dest: Path, replace: Sequence[tuple[str, str]] = (), append: str = ""
) -> Path:
    """A copy of the export ``src`` at ``dest`` as a later export would have it: each ``(old,
    new)`` of ``replace`` replaced (``old`` must be there) and ``append`` added at the end."""
    text = src.read_text(encoding="utf-8")
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new)
    dest.write_text(text + append, encoding="utf-8")
    return dest


def import_with_rejects(
    ws: Any,
    path: Path,
    *,
    added: int,
    rows: Sequence[int],
    columns: Sequence[str],
    in_file_order: bool = True,
) -> pd.DataFrame:
    """Import a file with bad rows: its good rows land and each bad one is listed (in file
    order, unless ``in_file_order`` is False), naming the column. Returns the rejects, by row."""
    (report,) = ws.import_files([path])
    assert report.status == "rejects" and report.added == added
    assert report.rejected == len(rows)
    rej = ws.rejects()
    if not in_file_order:
        rej = rej.sort_values("row")
    assert list(rej["row"]) == list(rows)
    assert list(rej["column"]) == list(columns)
    return rej


def rejected_cells(ws: Any, distinct: bool = True) -> list[tuple[int, str]]:
    """(file row, column) of the workspace's rejects, sorted (each once when ``distinct``)."""
    rej = ws.rejects()
    cells = list(zip(rej["row"], rej["column"], strict=True))
    return sorted(set(cells) if distinct else cells)
