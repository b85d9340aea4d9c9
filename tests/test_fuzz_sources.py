"""Every parser, fed mutated files: never a traceback, never a half-written import."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import truefans
from truefans.schema import CANONICAL

ROOT = Path(__file__).resolve().parents[1]
EXPORTS = ROOT.parent / "shared" / "data" / "exports"
SAMPLES = sorted(
    p
    for base in (ROOT / "tests" / "data", EXPORTS)
    if base.exists()
    for p in base.rglob("*")
    if p.is_file() and p.suffix.lower() in (".csv", ".tsv", ".txt", ".json", ".js", ".xls", ".xlsx")
)


def mutate(data: bytes, how: str, n: int) -> bytes:
    if how == "truncate":
        return data[: n % max(len(data), 1)]
    if how == "delimiter":
        return data.replace(b",", b";")
    if how == "encoding":
        try:
            return data.decode("utf-8").encode("utf-16")
        except UnicodeDecodeError:
            return data[::-1]
    if how == "extra_column":
        lines = data.split(b"\n")
        return b"\n".join(line + b",extra" if line.strip() else line for line in lines)
    if how == "missing_column":
        lines = data.split(b"\n")
        return b"\n".join(line.rsplit(b",", 1)[0] for line in lines)
    if how == "huge_field":
        lines = data.split(b"\n")
        k = 1 + n % max(len(lines) - 1, 1)
        if k < len(lines):
            lines[k] = b"x" * 200_000 + b"," + lines[k]
        return b"\n".join(lines)
    if how == "formula":
        return data.replace(b"@", b'@=HYPERLINK("http://x")', 3)
    if how == "garbage_bytes":
        return data[: n % max(len(data), 1)] + bytes(range(256)) + data[n % max(len(data), 1) :]
    if how == "empty_lines":
        return data.replace(b"\n", b"\n\n\n", 5)
    raise ValueError(how)


def state(ws) -> dict[str, int]:
    return {t: ws.count(t) for t in [*CANONICAL, "imports", "rejects"]}


@pytest.mark.slow
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sample=st.sampled_from(SAMPLES),
    how=st.sampled_from(
        [
            "truncate",
            "delimiter",
            "encoding",
            "extra_column",
            "missing_column",
            "huge_field",
            "formula",
            "garbage_bytes",
            "empty_lines",
        ]
    ),
    n=st.integers(min_value=0, max_value=10_000),
)
def test_mutated_files_never_crash_or_half_write(tmp_path_factory, sample, how, n):
    tmp = tmp_path_factory.mktemp("fuzz")
    target = tmp / sample.name
    shutil.copy(sample, target)
    target.write_bytes(mutate(sample.read_bytes(), how, n))
    with truefans.open_workspace(tmp / "w.duckdb") as ws:
        (tmp / "channels.csv").write_text(
            "channel_id,kind\nweb,web\ninstagram,social\nlinkedin,social\nnewsletter,email\n"
        )
        ws.import_files([tmp / "channels.csv"])
        before = state(ws)
        reports = ws.import_files([target])  # must not raise
        after = state(ws)
        for r in reports:
            assert r.status in ("ok", "rejects", "unusable", "duplicate"), r
            assert 0 <= r.rejected <= r.rows and min(r.added, r.updated, r.skipped) >= 0, r
        if all(r.status == "unusable" for r in reports):
            assert after == before
        # no row in any table without its import (nothing half-written)
        for table in CANONICAL:
            orphans = ws.con.execute(
                f'SELECT count(*) FROM "{table}" WHERE source_id IS NOT NULL AND source_id NOT IN '
                "(SELECT source_id FROM imports)"
            ).fetchone()[0]
            assert orphans == 0, table
