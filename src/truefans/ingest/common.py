"""Shared tools for source modules: find the header, stage a file, pick columns, parse money/dates.

How a source hands rows to the loader
-------------------------------------
``Source.stage(ctx)`` returns :class:`~truefans.ingest.registry.StagedTable` objects. Each names a
temporary DuckDB table with a ``__row`` column (the file's data-row number, 1-based) and:

* the canonical columns of the target table it knows (raw strings are fine: the loader types and
  validates them, and rejects bad rows naming the column);
* instead of ``person_id`` (which only identity resolution can decide), **person hints**:
  ``__email``, ``__phone``, ``__profile_url`` (LinkedIn member URL), ``__handle`` (with
  ``__platform``: x, instagram, facebook, youtube, tiktok...), ``__customer_id`` / ``__crm_id``
  (with ``__platform``: stripe, shopify, hubspot...), and descriptive ``__name``,
  ``__first_name``, ``__last_name``, ``__company``, ``__title``, ``__location``, ``__country``
  (ISO 3166 alpha-2, helps parse phone numbers). Raw values: normalisation is identity's job.
  A row with no hint at all gets no person (an anonymous call, a day's takings).
* for ``audience``: the same hints; ``StagedTable.primary_identity`` says which hint is the
  identity that follows the channel (``email`` for a mailing list, ``profile_url`` for LinkedIn,
  ``handle`` for Instagram); the loader fills ``identity_id`` from it.
* ``channel_id`` values from :mod:`truefans.ingest.channels` (built-in channels are created on first
  use) or the user's own declared channels.

Keys: give each row a stable natural key derived from the export (Stripe's ``id``, Shopify's order
name, ``mailchimp:<email>``...), so that re-importing an overlapping later export updates what
changed and adds nothing twice.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from ..errors import UnusableFile
from .registry import StageContext

HINTS = (
    "__email",
    "__phone",
    "__profile_url",
    "__handle",
    "__customer_id",
    "__crm_id",
    "__cookie",
)
DESCRIPTIVE = (
    "__platform",
    "__name",
    "__first_name",
    "__last_name",
    "__company",
    "__title",
    "__location",
    "__country",
)


def norm(name: str) -> str:
    """Header names compared case- and space-insensitively: ' Email  Address' -> 'email address'."""
    name = name.replace("\ufeff", "").strip().strip('"').strip()
    return re.sub(r"\s+", " ", name).lower()


def decode(data: bytes) -> tuple[str, str]:
    """(encoding, text). Handles UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252."""
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16", data.decode("utf-16", errors="replace")
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", data[3:].decode("utf-8", errors="replace")
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start >= len(data) - 4:
            return "utf-8", data[: e.start].decode("utf-8")
        return "cp1252", data.decode("cp1252", errors="replace")


@dataclass
class Header:
    line: int  # 0-based index of the header line in the decoded text
    delimiter: str
    columns: list[str]  # as written
    encoding: str

    @property
    def normed(self) -> list[str]:
        return [norm(c) for c in self.columns]


def find_header(
    head: bytes,
    required: Iterable[Sequence[str]],
    *,
    max_lines: int = 40,
    delimiters: str = ",;\t",
) -> Header | None:
    """Find the first of the first ``max_lines`` lines that holds every required column.

    ``required`` is a list of alternatives per column (aliases, compared with :func:`norm`):
    ``[["email address", "email"], ["first name"]]``. Preambles (LinkedIn's ``Notes:``, GA4's
    ``#`` block) are skipped this way.
    """
    encoding, text = decode(head)
    req = [{norm(a) for a in alts} for alts in required]
    lines = text.splitlines()[:max_lines]
    for i, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        for d in delimiters:
            try:
                cols = next(csv.reader([line], delimiter=d))
            except (csv.Error, StopIteration):
                continue
            got = {norm(c) for c in cols}
            if len(cols) > 1 and all(alts & got for alts in req):
                return Header(i, d, cols, encoding)
    return None


def stage_csv(
    ctx: StageContext, header: Header, rel: str
) -> tuple[int, list[tuple[int, str, str, str]], str]:
    """Stage the rows under ``header`` into temp table ``rel``: ``__row`` + one VARCHAR column per
    header column, named by :func:`norm`. Returns (rows, rejects, note).

    Fast path: DuckDB's CSV reader (no Python loop per row). Irregular files (ragged rows,
    text that is not UTF-8) fall back to Python's csv module, rejecting only the broken rows.
    """
    names = _unique([norm(c) for c in header.columns])
    con = ctx.con
    if header.encoding in ("utf-8", "utf-8-sig"):
        cols = "{" + ", ".join(f"'{_sq(n)}': 'VARCHAR'" for n in names) + "}"
        try:
            con.execute(
                f'CREATE OR REPLACE TEMP TABLE "{rel}_r" AS SELECT * FROM read_csv(?, '
                f"header=true, skip={header.line}, auto_detect=false, delim=?, quote='\"', "
                f"escape='\"', columns={cols}, strict_mode=true, encoding='utf-8')",
                [str(ctx.path), header.delimiter],
            )
            con.execute(
                f'CREATE OR REPLACE TEMP TABLE "{rel}" AS SELECT rowid + 1 AS __row, * '
                f'FROM "{rel}_r"'
            )
            con.execute(f'DROP TABLE "{rel}_r"')
            row = con.execute(f'SELECT count(*) FROM "{rel}"').fetchone()
            return (int(row[0]) if row else 0), [], ""
        except duckdb.Error:
            con.execute(f'DROP TABLE IF EXISTS "{rel}_r"')
    return _stage_csv_python(ctx, header, names, rel)


def _stage_csv_python(
    ctx: StageContext, header: Header, names: list[str], rel: str
) -> tuple[int, list[tuple[int, str, str, str]], str]:
    raw = ctx.path.read_bytes()
    encoding, text = decode(raw)
    note = "not valid UTF-8: read as Windows-1252" if encoding == "cp1252" else ""
    lines = text.splitlines(keepends=True)
    body = "".join(lines[header.line + 1 :])
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=header.delimiter)
    columns: list[list[str | None]] = [[] for _ in names]
    rows: list[int] = []
    rejects: list[tuple[int, str, str, str]] = []
    i = 0
    try:
        for rec in reader:
            if not rec or all(not f.strip() for f in rec):
                continue
            i += 1
            if len(rec) != len(names):
                rejects.append(
                    (
                        i,
                        "",
                        f"row has {len(rec)} fields, the header has {len(names)}",
                        header.delimiter.join(rec)[:500],
                    )
                )
                continue
            rows.append(i)
            for col, val in zip(columns, rec, strict=True):
                col.append(val)
    except csv.Error as e:
        raise UnusableFile(str(ctx.path), f"not a readable CSV file ({e})") from e
    register_rows(ctx.con, rel, rows, dict(zip(names, columns, strict=True)))
    return len(rows) + len(rejects), rejects, note


def register_rows(
    con: duckdb.DuckDBPyConnection,
    rel: str,
    row_numbers: Sequence[int],
    columns: Mapping[str, Sequence[object]],
) -> None:
    """Create temp table ``rel`` from Python lists (for JSON/XLS sources and slow paths)."""
    data: dict[str, pa.Array] = {"__row": pa.array(list(row_numbers), pa.int64())}
    for name, vals in columns.items():
        data[name] = pa.array([None if v is None else str(v) for v in vals], pa.string())
    table = pa.table(data)
    con.register(f"{rel}_arrow", table)
    try:
        con.execute(f'CREATE OR REPLACE TEMP TABLE "{rel}" AS SELECT * FROM "{rel}_arrow"')
    finally:
        con.unregister(f"{rel}_arrow")


def pick(available: Iterable[str], aliases: Mapping[str, Sequence[str]]) -> dict[str, str | None]:
    """Map each wanted name to the first of its aliases present in ``available`` (normed)."""
    have = {norm(a): a for a in available}
    out: dict[str, str | None] = {}
    for want, alts in aliases.items():
        out[want] = next((have[norm(a)] for a in alts if norm(a) in have), None)
    return out


def col(name: str | None) -> str:
    """SQL for a staged column, NULL when the export lacks it."""
    if name is None:
        return "CAST(NULL AS VARCHAR)"
    return '"' + name.replace('"', '""') + '"'


def money_sql(x: str, decimal_comma: bool = False) -> str:
    """SQL turning '$1,234.56', '1.234,56 €', '(12.00)', '-5', 'USD 10' into DECIMAL(18,4).

    Exact: strings go straight to DECIMAL, never through a float. With ``decimal_comma`` the
    comma is the decimal separator (European exports).
    """
    s = f"regexp_replace(trim({x}), '[^0-9,.()\\-]', '', 'g')"
    neg = f"(contains({s}, '(') OR starts_with({s}, '-'))"
    digits = f"regexp_replace({s}, '[()\\-]', '', 'g')"
    if decimal_comma:
        num = f"replace(replace({digits}, '.', ''), ',', '.')"
    else:
        num = f"replace({digits}, ',', '')"
    return f"(CASE WHEN {neg} THEN -1 ELSE 1 END) * TRY_CAST(NULLIF({num}, '') AS DECIMAL(18,4))"


def ts_sql(x: str, formats: Sequence[str]) -> str:
    """SQL parsing ``x`` with the first matching strptime format, else ISO 8601; NULL if none."""
    tries = [f"try_strptime(trim({x}), '{f}')" for f in formats]
    tries.append(f"TRY_CAST(trim({x}) AS TIMESTAMP)")
    return "CAST(coalesce(" + ", ".join(tries) + ") AS TIMESTAMP)"


def fix_mojibake(text: str) -> str:
    """Repair UTF-8 text that was decoded as Latin-1 (Meta's JSON exports: 'JosÃ©' -> 'José')."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        n = n or "column"
        if n in seen:
            seen[n] += 1
            out.append(f"{n}_{seen[n]}")
        else:
            seen[n] = 1
            out.append(n)
    return out


def _sq(s: str) -> str:
    return s.replace("'", "''")


def read_head(path: Path, n: int = 65536) -> bytes:
    with path.open("rb") as fh:
        return fh.read(n)
