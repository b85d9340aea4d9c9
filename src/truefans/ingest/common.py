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
import datetime as dt
import functools
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from ..errors import UnusableFile
from ..schema import ISO_4217
from .channels import load_user_config
from .registry import Detection, StageContext, StagedTable

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

T = TypeVar("T")
#: a header predicate: normed column names -> a match (anything truthy) or None
Predicate = Callable[[list[str]], T | None]
#: a reject: (file row, column, reason, the raw row)
Reject = tuple[int, str, str, str]
#: a source's ``detect`` method
DetectMethod = Callable[[Any, Path, bytes], Detection | None]
#: (find the header in a file's head, stage the file under it)
Reader = tuple[
    Callable[[bytes], "Header | None"], Callable[[StageContext, "Header"], list[StagedTable]]
]


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
    """Where a CSV's header is and how the file reads."""

    line: int  # 0-based index of the header line in the decoded text
    delimiter: str
    columns: list[str]  # as written
    encoding: str

    @property
    def normed(self) -> list[str]:
        """The column names compared by :func:`norm`."""
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


def header_at(head: bytes, is_header: Any, max_lines: int = 60) -> Header | None:
    """The first non-comment line of ``head`` whose normed columns satisfy ``is_header`` (with
    the delimiter that splits it into the most columns)."""
    encoding, text = decode(head)
    for i, line in enumerate(text.splitlines()[:max_lines]):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        best: Header | None = None
        for d in ",;\t":
            try:
                cols = next(csv.reader([line], delimiter=d))
            except (csv.Error, StopIteration):
                continue
            if len(cols) > 1 and is_header([norm(c) for c in cols]):
                cand = Header(i, d, cols, encoding)
                if best is None or len(cand.columns) > len(best.columns):
                    best = cand
        if best is not None:
            return best
    return None


def csv_scan(
    ctx: StageContext,
    header: Header,
    types: Mapping[str, str] | None = None,
    dateformat: str | None = None,
) -> str:
    """SQL: DuckDB's reader over the UTF-8 CSV under ``header``, one column per header column,
    named by :func:`norm`, VARCHAR unless ``types`` (by that name) says otherwise: a cell the
    type cannot read makes the query fail (a query selecting a few columns reads only those)."""
    names = unique_names(norm(c) for c in header.columns)
    types = types or {}
    cols = "{" + ", ".join(f"{lit(n)}: {lit(types.get(n, 'VARCHAR'))}" for n in names) + "}"
    return (
        f"read_csv({lit(str(ctx.path))}, header=true, skip={header.line}, auto_detect=false, "
        f"delim={lit(header.delimiter)}, quote='\"', escape='\"', columns={cols}, "
        "strict_mode=true, encoding='utf-8'"
        + (f", dateformat={lit(dateformat)}" if dateformat else "")
        + ")"
    )


def read_csv_table(ctx: StageContext, header: Header, rel: str) -> None:
    """Temp table ``rel`` from the UTF-8 CSV under ``header`` through DuckDB's reader: one
    VARCHAR column per header column, named by :func:`norm`, no ``__row`` (``rowid + 1`` is the
    row number). Raises ``duckdb.Error`` on an irregular file."""
    ctx.con.execute(
        f"CREATE OR REPLACE TEMP TABLE {col(rel)} AS SELECT * FROM {csv_scan(ctx, header)}"
    )


def stage_csv(ctx: StageContext, header: Header, rel: str) -> tuple[int, list[Reject], str]:
    """Stage the rows under ``header`` into temp table ``rel``: ``__row`` + one VARCHAR column per
    header column, named by :func:`norm`. Returns (rows, rejects, note).

    Fast path: DuckDB's CSV reader (no Python loop per row). Irregular files (ragged rows,
    text that is not UTF-8) fall back to Python's csv module, rejecting only the broken rows.
    """
    con = ctx.con
    if header.encoding in ("utf-8", "utf-8-sig"):
        try:
            read_csv_table(ctx, header, f"{rel}_r")
            con.execute(
                f'CREATE OR REPLACE TEMP TABLE "{rel}" AS SELECT rowid + 1 AS __row, * '
                f'FROM "{rel}_r"'
            )
            con.execute(f'DROP TABLE "{rel}_r"')
            row = con.execute(f'SELECT count(*) FROM "{rel}"').fetchone()
            return (int(row[0]) if row else 0), [], ""
        except duckdb.Error:
            con.execute(f'DROP TABLE IF EXISTS "{rel}_r"')
    return stage_csv_python(ctx, header, unique_names(norm(c) for c in header.columns), rel)


def stage_csv_python(
    ctx: StageContext, header: Header, names: list[str], rel: str
) -> tuple[int, list[Reject], str]:
    raw = ctx.path.read_bytes()
    encoding, text = decode(raw)
    note = "not valid UTF-8: read as Windows-1252" if encoding == "cp1252" else ""
    lines = text.splitlines(keepends=True)
    body = "".join(lines[header.line + 1 :])
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=header.delimiter)
    columns: list[list[str | None]] = [[] for _ in names]
    rows: list[int] = []
    rejects: list[Reject] = []
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
            for values, val in zip(columns, rec, strict=True):
                values.append(val)
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


def pick_columns(
    available: Iterable[str], aliases: Mapping[str, Sequence[str]], used: set[str] | None = None
) -> dict[str, str]:
    """Like :func:`pick` but each export column is used once, in the order of ``aliases`` (so
    ``Lifetime Total Likes`` is followers only when no followers column exists). Returns only the
    wanted names found."""
    have = {norm(a): a for a in available}
    used = set() if used is None else used
    out: dict[str, str] = {}
    for want, alts in aliases.items():
        for a in alts:
            n = norm(a)
            if n in have and have[n] not in used:
                out[want] = have[n]
                used.add(have[n])
                break
    return out


def find_col(
    columns: Sequence[str],
    exact: Iterable[str],
    contains: str | None = None,
    exclude: str | None = None,
) -> str | None:
    """The first column named by one of ``exact`` (normed), else the first whose name matches the
    regular expression ``contains`` and not ``exclude``."""
    have = set(columns)
    for a in exact:
        if norm(a) in have:
            return norm(a)
    if contains:
        for c in columns:
            words = spaced(c)
            if re.search(contains, words) and not (exclude and re.search(exclude, words)):
                return c
    return None


def spaced(name: str) -> str:
    """'hear-about-us' / 'utm_source' -> 'hear about us' / 'utm source' (for regex matching)."""
    return re.sub(r"[-_]+", " ", name)


def export_names(header: Header, staged: Sequence[str]) -> dict[str, str]:
    """Staged (normalised) column name → the column's name as the export writes it."""
    cols = [c.replace("\ufeff", "").strip() for c in header.columns]
    return dict(zip(staged, cols, strict=False))


class StagedColumns:
    """Staged column names of a CSV by normed header name, with display labels: called with a
    normed name it gives the SQL of that column of the raw table aliased ``r`` (NULL when the
    file lacks it)."""

    def __init__(self, ctx: StageContext, header: Header, raw: str) -> None:
        self._name(header, raw_columns(ctx.con, raw))

    @classmethod
    def of_csv(cls, header: Header) -> StagedColumns:
        """The columns of :func:`csv_scan` (those :func:`read_csv_table` stages), read or not."""
        self = cls.__new__(cls)
        self._name(header, unique_names(norm(c) for c in header.columns))
        return self

    def _name(self, header: Header, cols: list[str]) -> None:
        self.normed = header.normed
        self.by_norm: dict[str, str] = {}
        for nm, c in zip(self.normed, cols, strict=False):
            self.by_norm.setdefault(nm, c)
        self.labels = {
            cols[i]: header.columns[i].strip() for i in range(min(len(cols), len(header.columns)))
        }

    def __call__(self, alias: str | None) -> str:
        """SQL of the column named ``alias`` (normed) in the raw table ``r``."""
        if alias and alias in self.by_norm:
            return "r." + col(self.by_norm[alias])
        return "CAST(NULL AS VARCHAR)"

    def label(self, alias: str) -> str:
        """The column's name as the export writes it."""
        return self.labels.get(self.by_norm.get(alias, ""), alias)

    def first(self, aliases: Iterable[str]) -> str | None:
        """The first of ``aliases`` (normed) the file has."""
        return find_col(self.normed, aliases)

    def required(self, aliases: Iterable[str]) -> tuple[str, str]:
        """(name, SQL) of the first of ``aliases`` the file has: the header test made sure of
        one."""
        name = self.first(aliases)
        assert name is not None
        return name, self(name)


# -- SQL text ------------------------------------------------------------------------------------


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def col(name: str | None) -> str:
    """A quoted SQL identifier (a staged column, a table); NULL when the export lacks the column."""
    if name is None:
        return "CAST(NULL AS VARCHAR)"
    return '"' + name.replace('"', '""') + '"'


def nz(expr: str) -> str:
    """SQL: the trimmed text, NULL when empty."""
    return f"NULLIF(trim({expr}), '')"


def cell(name: str | None) -> str:
    """SQL: a staged column, trimmed, NULL when empty or when the export lacks the column."""
    return nz(col(name))


def first_filled(columns: Iterable[str], aliases: Sequence[str]) -> str:
    """SQL: the first non-empty value among every alias the export has (``Customer Description``
    empty on a guest payment, ``Card Name`` filled)."""
    have = set(columns)
    present = [cell(norm(a)) for a in aliases if norm(a) in have]
    if not present:
        return "CAST(NULL AS VARCHAR)"
    return present[0] if len(present) == 1 else f"coalesce({', '.join(present)})"


def blank_sql(x: str) -> str:
    """True when a cell holds no value (empty, or the ``--`` Google Ads writes for n/a)."""
    return f"(NULLIF(trim({x}), '') IS NULL OR trim({x}) IN ('--', '—'))"


def show_sql(x: str) -> str:
    """SQL: a value quoted for a reject reason (at most 60 characters)."""
    return f"'''' || left(CAST({x} AS VARCHAR), 60) || ''''"


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


def amount_sql(x: str) -> str:
    """Exact decimal: plain numbers take the fast cast, ``$1,500.00`` :func:`money_sql`, and a
    value ending in a comma and one or two digits (``1.500,00``, a spreadsheet's re-save in a
    decimal-comma locale) is read with the comma as the decimal separator."""
    return (
        f"CASE WHEN NOT contains({x}, ',') THEN coalesce(TRY_CAST({x} AS DECIMAL(18,4)), "
        f"{money_sql(x)}) "
        f"WHEN regexp_matches({x}, ',[0-9]{{1,2}}$') THEN {money_sql(x, decimal_comma=True)} "
        f"ELSE {money_sql(x)} END"
    )


def number_sql(x: str, decimal_comma: bool = False) -> str:
    """SQL turning '1,234', '$1,234.50', '41.2%', ' 12 ' into a DOUBLE (NULL if not a number).

    A percent sign is dropped (the number before it is kept); with ``decimal_comma`` the comma is
    the decimal separator.
    """
    t = f"trim({x})"
    cleaned = f"regexp_replace({t}, '[\\s$€£¥\\x{{00a0}}%]', '', 'g')"
    if decimal_comma:
        cleaned = f"replace(replace({cleaned}, '.', ''), ',', '.')"
        return f"TRY_CAST(NULLIF({cleaned}, '') AS DOUBLE)"
    cleaned = f"replace({cleaned}, ',', '')"
    # the cast alone reads plain numbers (spaces around them too); the cleaning runs only where
    # it fails (CASE evaluates a branch for its rows only; coalesce would clean every cell)
    fast = f"TRY_CAST({x} AS DOUBLE)"
    return (
        f"(CASE WHEN {fast} IS NOT NULL THEN {fast} "
        f"ELSE TRY_CAST(NULLIF({cleaned}, '') AS DOUBLE) END)"
    )


def number_text_sql(x: str) -> str:
    """SQL: '12,400' / '6.04%' / '1 234' → '12400' / '6.04' / '1234'; raw text if not a number."""
    clean = f"regexp_replace(trim({x}), '[,\\s\u00a0\u202f%]', '', 'g')"
    return f"(CASE WHEN TRY_CAST({clean} AS DOUBLE) IS NOT NULL THEN {clean} ELSE trim({x}) END)"


def duration_text_sql(x: str) -> str:
    """SQL: 'H:MM:SS' / 'M:SS' → seconds as text; plain numbers as they are; raw text otherwise."""
    parts = f"string_split(trim({x}), ':')"
    secs = (
        f"list_reduce(list_transform({parts}, lambda p: TRY_CAST(p AS DOUBLE)), "
        "lambda a, b: a * 60 + b)"
    )
    return (
        f"(CASE WHEN regexp_matches(trim({x}), '^\\d+(:\\d{{1,2}}){{1,2}}(\\.\\d+)?$') "
        f"THEN CAST({secs} AS VARCHAR) ELSE {number_text_sql(x)} END)"
    )


def iso_currencies_sql() -> str:
    """SQL list of the ISO 4217 currency codes: ``('AED', 'AFN', ...)``."""
    return "(" + ", ".join(lit(c) for c in sorted(ISO_4217)) + ")"


# -- times ---------------------------------------------------------------------------------------


def ts_sql(x: str, formats: Sequence[str]) -> str:
    """SQL parsing ``x`` with the first matching strptime format, else ISO 8601; NULL if none."""
    tries = [f"try_strptime(trim({x}), '{f}')" for f in formats]
    tries.append(f"TRY_CAST(trim({x}) AS TIMESTAMP)")
    return "CAST(coalesce(" + ", ".join(tries) + ") AS TIMESTAMP)"


def iso_sql(parsed: str) -> str:
    """SQL: a TIMESTAMP as ``YYYY-MM-DDTHH:MM:SS`` text."""
    return f"strftime({parsed}, '%Y-%m-%dT%H:%M:%S')"


UTC_FORMATS = (
    "%Y-%m-%dT%H:%M:%S.%gZ",
    "%Y-%m-%dT%H:%M:%SZ",
    "%b %d, %Y",
    "%B %d, %Y",
    "%m/%d/%Y",
    "%Y-%m-%d",
)


def utc_sql(x: str, formats: Sequence[str] = UTC_FORMATS) -> str:
    """SQL: a time with or without an offset (``Z``, ``+01:00``, `` -0500``, `` UTC``) → naive UTC
    TIMESTAMP (the workspace session runs in UTC); NULL when unreadable."""
    t = f"trim({x})"
    t = f"regexp_replace({t}, '\\s+(UTC|GMT)$', '+00:00')"
    t = f"regexp_replace({t}, '\\s*([+-]\\d{{2}}):?(\\d{{2}})$', '\\1:\\2')"
    tries = [f"CAST(TRY_CAST({t} AS TIMESTAMPTZ) AS TIMESTAMP)"]
    tries += [f"try_strptime(trim({x}), '{f}')" for f in formats]
    return "CAST(coalesce(" + ", ".join(tries) + ") AS TIMESTAMP)"


def time_text_sql(checked: Sequence[tuple[str, str]], value: str, when: str | None = None) -> str:
    """SQL: a time for the loader. ``checked`` are (raw cell, its parsed TIMESTAMP) pairs: the
    raw text of the first one that cannot be read is staged as it is (so that the loader names
    the column and shows the value); else ``value`` (a TIMESTAMP) as ISO text, only ``when``
    that holds if given."""
    raws = " ".join(f"WHEN NOT {blank_sql(x)} AND {t} IS NULL THEN {x}" for x, t in checked)
    last = f"WHEN {when} THEN" if when else "ELSE"
    return f"CASE {raws} {last} {iso_sql(value)} END"


#: a numeric offset or Z at the end of a time: "10:12:33-05:00", "10:12Z"
_OFFSET_RX = r"\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|[+-]\d\d:?\d\d)$"


def ts_text_sql(x: str, formats: Sequence[str]) -> str:
    """SQL: ISO text for the loader. Values with a UTC offset pass as they are (the loader applies
    the offset); others are normalised; unreadable ones stay raw so the loader's reject shows them."""
    iso = f"strftime({ts_sql(x, formats)}, '%Y-%m-%dT%H:%M:%S')"
    return (
        f"(CASE WHEN {nz(x)} IS NULL THEN NULL "
        f"WHEN regexp_matches(trim({x}), {lit(_OFFSET_RX)}) "
        f"AND TRY_CAST(trim({x}) AS TIMESTAMPTZ) IS NOT NULL THEN trim({x}) "
        f"ELSE coalesce({iso}, trim({x})) END)"
    )


_ZONES = {
    "UTC": "+00:00",
    "GMT": "+00:00",
    "Z": "+00:00",
    "EST": "-05:00",
    "EDT": "-04:00",
    "CST": "-06:00",
    "CDT": "-05:00",
    "MST": "-07:00",
    "MDT": "-06:00",
    "PST": "-08:00",
    "PDT": "-07:00",
    "AKST": "-09:00",
    "AKDT": "-08:00",
    "HST": "-10:00",
    "WET": "+00:00",
    "WEST": "+01:00",
    "BST": "+01:00",
    "CET": "+01:00",
    "CEST": "+02:00",
    "EET": "+02:00",
    "EEST": "+03:00",
    "AEST": "+10:00",
    "AEDT": "+11:00",
}
#: a zone written as a word after the time: "GMT+2", "UTC", "EST"
_ZONE_WORD_RX = r"\s+((GMT|UTC)\s*([+-]\d{1,2}(:?\d{2})?)?|[A-Z]{3,4})$"
#: a numeric offset or Z right after a time: "10:12:33-05:00", "10:12:33.5Z"
_ZONE_NUM_RX = r"(\d:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|[+-]\d{2}:?\d{2})$"


def _time_parts(date_parts: Sequence[str], with_time: bool = True) -> list[str]:
    times = [" %H:%M:%S", " %H:%M", " %I:%M:%S %p", " %I:%M %p", "T%H:%M:%S", ""]
    if not with_time:
        times = [""]
    return [d + t for d in date_parts for t in times]


def date_formats(day_first: bool = False, with_time: bool = True) -> list[str]:
    """strptime formats for the date styles exports and spreadsheets write."""
    slash = (
        ["%d/%m/%Y", "%d/%m/%y", "%m/%d/%Y"] if day_first else ["%m/%d/%Y", "%m/%d/%y", "%d/%m/%Y"]
    )
    dates = [
        "%Y-%m-%d",
        "%Y/%m/%d",
        *slash,
        "%d.%m.%Y",
        "%d-%m-%Y",
        "%B %d, %Y",
        "%b %d, %Y",
        "%d %B %Y",
        "%d %b %Y",
        "%a, %b %d, %Y",
        "%A, %B %d, %Y",
        "%d-%b-%Y",
        "%d-%b-%y",
    ]
    return _time_parts(dates, with_time)


def day_first(con: duckdb.DuckDBPyConnection, rel: str, column: str | None) -> bool:
    """Whether the file's ``1/2/2024``-style dates put the day first (some first field > 12 and
    no second field > 12); dotted dates (``05.03.2024``) are day-first anyway."""
    if column is None:
        return False
    c = f'trim("{column}")'
    rx = r"'^(\d{1,2})[/](\d{1,2})[/]\d{2,4}'"
    row = con.execute(
        f"SELECT count(*) FILTER (WHERE TRY_CAST(regexp_extract({c}, {rx}, 1) AS INT) > 12), "
        f"count(*) FILTER (WHERE TRY_CAST(regexp_extract({c}, {rx}, 2) AS INT) > 12) "
        f'FROM "{rel}"'
    ).fetchone()
    return bool(row and row[0] and not row[1])


def ts_stage(
    raw: str,
    formats: Sequence[str],
    utc: bool = False,
    date_only: bool = False,
    zones: bool = True,
) -> str:
    """SQL staging a timestamp: ISO text (``YYYY-MM-DDTHH:MM:SS``, with the offset the value
    carried — ``GMT+1``, ``EST``, ``Z``, ``-05:00`` — or ``Z`` for a UTC export) when parsed,
    else the raw text (so that the loader's reject shows it). ``zones=False`` skips looking for
    a zone after the time (faster, for files that never write one)."""
    t = f"trim({raw})"
    fmt = "%Y-%m-%d" if date_only else "%Y-%m-%dT%H:%M:%S"
    default = "'Z'" if utc and not date_only else "''"
    if not zones:
        return f"coalesce(strftime({ts_sql(t, formats)}, '{fmt}') || {default}, NULLIF({t}, ''))"
    body = (
        f"trim(regexp_replace(regexp_replace({t}, '{_ZONE_WORD_RX}', ''), '{_ZONE_NUM_RX}', '\\1'))"
    )
    zone = f"substr({t}, length({body}) + 1)"
    z = f"upper(trim({zone}))"
    named = " ".join(f"WHEN {z} = '{k}' THEN '{v}'" for k, v in _ZONES.items())
    gmt = (
        f"(CASE WHEN substr(regexp_extract({z}, '([+-])', 1), 1, 1) = '-' THEN '-' ELSE '+' END"
        f" || lpad(regexp_extract({z}, '[+-](\\d{{1,2}})', 1), 2, '0') || ':' || "
        f"coalesce(NULLIF(regexp_extract({z}, '[+-]\\d{{1,2}}:?(\\d{{2}})$', 1), ''), '00'))"
    )
    iso = f"(substr({z}, 1, 3) || ':' || substr(replace({z}, ':', ''), 4, 2))"
    offset = (
        f"(CASE WHEN {z} = '' THEN NULL {named} "
        f"WHEN regexp_matches({z}, '^[+-]\\d{{2}}:?\\d{{2}}$') THEN {iso} "
        f"WHEN regexp_matches({z}, '^(GMT|UTC)\\s*[+-]') THEN {gmt} END)"
    )
    parsed = ts_sql(body, formats)
    return (
        f"coalesce(strftime({parsed}, '{fmt}') || coalesce({offset}, {default}), NULLIF({t}, ''))"
    )


def ts_column(
    con: duckdb.DuckDBPyConnection,
    rel: str,
    column: str | None,
    *,
    utc: bool = False,
    date_only: bool = False,
    sample: int = 2000,
) -> str:
    """:func:`ts_stage` for ``column`` of ``rel``, tuned to the file: only the formats that parse
    some of a sample of its values are tried (a large export writes one format), and zones are
    looked for only when the sample carries some."""
    if column is None:
        return "CAST(NULL AS VARCHAR)"
    c = col(column)
    values = [
        str(r[0])
        for r in con.execute(
            f'SELECT DISTINCT trim({c}) FROM "{rel}" WHERE {nz(c)} IS NOT NULL LIMIT {int(sample)}'
        ).fetchall()
    ]
    candidates = date_formats(day_first(con, rel, column), with_time=True)
    zones = any(re.search(_ZONE_WORD_RX, v) or re.search(_ZONE_NUM_RX, v) for v in values)
    if values:
        bodies = [
            re.sub(_ZONE_NUM_RX, r"\1", re.sub(_ZONE_WORD_RX, "", v)).strip() if zones else v
            for v in values
        ]
        counts = ", ".join(
            f"count(*) FILTER (WHERE try_strptime(v, {lit(f)}) IS NOT NULL)" for f in candidates
        )
        row = con.execute(f"SELECT {counts} FROM (SELECT unnest(?::VARCHAR[]) AS v)", [bodies])
        got = row.fetchone() or ()
        candidates = [f for f, n in zip(candidates, got, strict=True) if n]
    return ts_stage(c, candidates, utc=utc, date_only=date_only, zones=zones)


# -- detecting and staging a file ----------------------------------------------------------------


def quiet_detect(detect: DetectMethod) -> DetectMethod:
    """Decorate a source's ``detect``: a file it cannot even look at (binary, truncated,
    unreadable) is not its own, so an exception means None."""

    @functools.wraps(detect)
    def wrapper(self: Any, path: Path, head: bytes) -> Detection | None:
        try:
            return detect(self, path, head)
        except Exception:
            return None

    return wrapper


def stage_first(ctx: StageContext, readers: Sequence[Reader], unusable: str) -> list[StagedTable]:
    """Stage the file with the first of ``readers`` whose header its head holds; UnusableFile
    saying ``unusable`` when none does."""
    head = read_head(ctx.path)
    for find, stage in readers:
        header = find(head)
        if header is not None:
            return stage(ctx, header)
    raise UnusableFile(str(ctx.path), unusable)


# -- temp tables ---------------------------------------------------------------------------------


def raw_columns(con: duckdb.DuckDBPyConnection, rel: str) -> list[str]:
    """The columns of a staged table, without ``__row``."""
    return [r[0] for r in con.execute(f"DESCRIBE {col(rel)}").fetchall() if r[0] != "__row"]


def count_rows(con: duckdb.DuckDBPyConnection, rel: str, where: str = "true") -> int:
    """The number of rows of ``rel`` (where ``where`` holds)."""
    row = con.execute(f"SELECT count(*) FROM {col(rel)} WHERE {where}").fetchone()
    return int(row[0]) if row else 0


def drop(con: duckdb.DuckDBPyConnection, *rels: str) -> None:
    """Drop temp tables (those that exist)."""
    for rel in rels:
        con.execute(f"DROP TABLE IF EXISTS {col(rel)}")


def drop_temp(con: duckdb.DuckDBPyConnection, prefix: str) -> None:
    """Drop every temp table whose name starts with ``prefix``."""
    try:
        names = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, ?)",
            [prefix],
        ).fetchall()
        for (name,) in names:
            con.execute(f'DROP TABLE IF EXISTS "{name}"')
    except duckdb.Error:
        pass


@contextmanager
def dropped_on_error(ctx: StageContext, source: str) -> Iterator[None]:
    """On any error, drop the source's temp tables (``<prefix>_<source>_...``): nothing
    half-staged stays behind."""
    try:
        yield
    except BaseException:
        drop_temp(ctx.con, f"{ctx.prefix}_{source}_")
        raise


def staged_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rel: str,
    rejects: Sequence[Reject] = (),
    notes: Iterable[str] = (),
    *,
    primary_identity: str | None = None,
    local_times: bool = False,
) -> StagedTable:
    """What a source hands the loader for temp table ``rel``: the file rows it stands for are
    its rows and the ``rejects``; the ``notes`` (empty ones left out) joined by ``'; '``."""
    return StagedTable(
        table,
        rel,
        count_rows(con, rel) + len(rejects),
        rejects=list(rejects),
        note="; ".join(n for n in notes if n),
        primary_identity=primary_identity,
        local_times=local_times,
    )


def only_table(ctx: StageContext, staged: list[StagedTable]) -> list[StagedTable]:
    """Honour ``--table``: keep only the staged table asked for (drop the others' temp tables)."""
    if not ctx.table:
        return staged
    keep = [s for s in staged if s.table == ctx.table]
    drop(ctx.con, *(s.relation for s in staged if s not in keep))
    if not keep:
        raise UnusableFile(
            str(ctx.path),
            f"this file gives {', '.join(s.table for s in staged)}, not {ctx.table}",
        )
    return keep


def user_channel_config(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The user's ``channels.toml`` beside the workspace file the connection has open (its rules
    go before the built-ins); empty when there is none."""
    try:
        row = con.execute(
            "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchone()
    except duckdb.Error:
        return {}
    if not row or not row[0]:
        return {}
    return load_user_config(Path(str(row[0])))


# -- row checks and rejects ----------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """A reason to reject a file row: ``cond`` (SQL, true = bad) names column ``label``."""

    label: str
    cond: str
    reason: str  # SQL expression giving the reason text


def number_checks(
    label: str, raw: str, parsed: str, *, nonneg: bool = True, rate: bool = False
) -> list[Check]:
    """Checks for one numeric cell: a number; not negative (counts); within 0–1 (rates)."""
    out = [
        Check(
            label,
            f"(NOT {blank_sql(raw)} AND ({parsed} IS NULL OR NOT isfinite({parsed})))",
            f"'not a number: ' || {show_sql(raw)}",
        )
    ]
    if rate:
        out.append(
            Check(
                label,
                f"({parsed} < 0 OR {parsed} > 1)",
                f"'a rate must be between 0 and 1: ' || {show_sql(raw)}",
            )
        )
    elif nonneg:
        out.append(Check(label, f"({parsed} < 0)", f"'negative: ' || {show_sql(raw)}"))
    return out


EMAIL_RX = r"^[^@\s,;<>]+@[^@\s,;<>]+\.[A-Za-z]{2,}$"


def email_checks(label: str, email: str) -> list[Check]:
    """Checks for a required email cell: present, and shaped like an email address."""
    return [
        Check(label, blank_sql(email), "'missing (required)'"),
        Check(
            label,
            f"NOT regexp_matches(trim({email}), {lit(EMAIL_RX)})",
            f"'not an email address: ' || {show_sql(email)}",
        ),
    ]


def bad_columns_sql(checks: Sequence[Check], suspect: str | None = None) -> str:
    """``__bad_col`` and ``__bad_reason`` select items: the first failing check of a row.

    ``suspect`` (SQL, optional) is a cheap test true for every row some check could fail: the
    checks then run on those rows only (on millions of good rows this saves most of the work).
    """
    if not checks:
        return "CAST(NULL AS VARCHAR) AS __bad_col, CAST(NULL AS VARCHAR) AS __bad_reason"
    c = "CASE " + " ".join(f"WHEN {k.cond} THEN {lit(k.label)}" for k in checks) + " END"
    r = "CASE " + " ".join(f"WHEN {k.cond} THEN {k.reason}" for k in checks) + " END"
    if suspect:
        c = f"CASE WHEN {suspect} THEN {c} END"
        r = f"CASE WHEN {suspect} THEN {r} END"
    return f"{c} AS __bad_col, {r} AS __bad_reason"


def all_failures_sql(checks: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """(reasons, columns) SQL naming every failing check of a row, ``'; '`` and ``', '``
    separated (NULL when none fails), from (column, CASE ... END giving a reason or NULL) pairs."""
    if not checks:
        return "CAST(NULL AS VARCHAR)", "CAST(NULL AS VARCHAR)"
    errs = ", ".join(f"{lit(c + ': ')} || ({sql})" for c, sql in checks)
    cols = ", ".join(f"CASE WHEN ({sql}) IS NOT NULL THEN {lit(c)} END" for c, sql in checks)
    return f"NULLIF(concat_ws('; ', {errs}), '')", f"NULLIF(concat_ws(', ', {cols}), '')"


def on_alias(row_expr: str, alias: str) -> str:
    """``rowid + 1`` / ``__row`` for the table aliased ``alias``."""
    return row_expr.replace("rowid", f"{alias}.rowid").replace("__row", f"{alias}.__row")


def collect_rejects(
    con: duckdb.DuckDBPyConnection,
    parsed: str,
    raw: str,
    labels: dict[str, str] | None = None,
    row_expr: str = "__row",
    max_raw: int | None = 500,
) -> list[Reject]:
    """(row, column, reason, raw row as JSON) of the rows of ``parsed`` with a ``__bad_col``
    (and its ``__bad_reason``); ``row_expr`` gives the row number of a row of ``raw``
    (``__row`` or ``rowid + 1``). The raw row is cut at ``max_raw`` characters (None: whole)."""
    cols = raw_columns(con, raw)
    labels = labels or {}
    js = "to_json({" + ", ".join(f"{lit(labels.get(c, c))}: r.{col(c)}" for c in cols) + "})"
    rows = con.execute(
        f"""SELECT p.__row, p.__bad_col, p.__bad_reason, CAST({js} AS VARCHAR)
        FROM (SELECT * FROM {col(parsed)} WHERE __bad_col IS NOT NULL) p
        JOIN {col(raw)} r ON p.__row = {on_alias(row_expr, "r")}
        ORDER BY p.__row"""
    ).fetchall()
    return [(int(a), str(b), str(c), str(d)[:max_raw]) for a, b, c, d in rows]


def left_out(
    con: duckdb.DuckDBPyConnection, base: str, kept: str, why: str
) -> tuple[int, int, str | None]:
    """(rows ``kept`` that no check rejected, rows not kept, the distinct ``why`` of those not
    kept, sorted and joined) of a table with ``__bad_col``; ``kept`` and ``why`` are SQL."""
    row = con.execute(
        f"""SELECT count(*) FILTER (WHERE {kept} AND __bad_col IS NULL),
                   count(*) FILTER (WHERE NOT {kept}),
                   string_agg(DISTINCT CASE WHEN NOT {kept} THEN {why} END, ', '
                              ORDER BY CASE WHEN NOT {kept} THEN {why} END)
            FROM {col(base)}"""
    ).fetchone()
    return (int(row[0]), int(row[1]), row[2]) if row else (0, 0, "")


class CheckedCsv:
    """A CSV staged raw (``<prefix>_<name>_raw``), then parsed in one pass with row checks
    (``<prefix>_<name>_p``): the rows no check rejects are kept in the tables staged from it."""

    def __init__(self, ctx: StageContext, header: Header, name: str) -> None:
        self.con = ctx.con
        self.stem = f"{ctx.prefix}_{name}"
        self.raw = f"{self.stem}_raw"
        self.parsed = f"{self.stem}_p"
        self.rows, self.csv_rejects, self.note = stage_csv(ctx, header, self.raw)
        self.columns = StagedColumns(ctx, header, self.raw)

    def parse(
        self,
        items: Sequence[str],
        checks: Sequence[Check],
        *,
        where: str | None = None,
        checks_on_items: bool = False,
        derived: Sequence[str] = (),
    ) -> list[Reject]:
        """The parsed table: ``__row``, the ``items`` (SQL select items over the raw table ``r``,
        of its rows ``where`` holds), the ``derived`` items over those, and the ``__bad_col`` /
        ``__bad_reason`` of the first failing check (over ``r``, or over the items when
        ``checks_on_items``). Returns the file's rejects and the checks'."""
        select = f"r.__row, {', '.join(items)}"
        filtered = f"{col(self.raw)} r" + (f" WHERE {where}" if where else "")
        if checks_on_items:
            more = "".join(f"{d}, " for d in derived)
            body = f"*, {more}{bad_columns_sql(checks)} FROM (\n  SELECT {select} FROM {filtered})"
        else:
            body = f"{select},\n  {bad_columns_sql(checks)}\nFROM {filtered}"
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {col(self.parsed)} AS\nSELECT {body}")
        return self.csv_rejects + collect_rejects(
            self.con, self.parsed, self.raw, self.columns.labels
        )

    def good(self, where: str = "true") -> int:
        """How many parsed rows no check rejected (of those ``where`` holds)."""
        return count_rows(self.con, self.parsed, f"__bad_col IS NULL AND {where}")

    def keep(self, what: str, columns: str, where: str = "true") -> str:
        """Temp table ``<prefix>_<name>_<what>``: ``columns`` (SQL select list) of the parsed
        rows no check rejected (and ``where`` holds for)."""
        rel = f"{self.stem}_{what}"
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {col(rel)} AS SELECT {columns} "
            f"FROM {col(self.parsed)} WHERE __bad_col IS NULL AND {where}"
        )
        return rel

    def drop(self) -> None:
        """Drop the raw and the parsed table."""
        drop(self.con, self.raw, self.parsed)


def take_keyless(
    con: duckdb.DuckDBPyConnection, base: str, column: str, reason: str
) -> list[Reject]:
    """Remove the rows of ``base`` whose ``__key`` is NULL and return them as rejects
    (``column`` and ``reason`` are SQL expressions over the row)."""
    rows = con.execute(
        f'SELECT __row, {column}, {reason}, CAST(to_json(b) AS VARCHAR) FROM "{base}" b '
        "WHERE __key IS NULL ORDER BY __row"
    ).fetchall()
    if rows:
        con.execute(f'DELETE FROM "{base}" WHERE __key IS NULL')
    return [(int(r), str(c), str(why), str(raw)) for r, c, why, raw in rows]


# -- metrics -------------------------------------------------------------------------------------


def unpivot_metrics(
    con: duckdb.DuckDBPyConnection,
    src: str,
    out: str,
    metrics: Sequence[tuple[str, str]],
    *,
    channel: str = "channel_id",
    content: str = "content_id",
    day: str = "date",
    where: str = "__bad_col IS NULL",
) -> int:
    """Temp table ``out`` (``__row``, channel_id, content_id, date, metric, value): for each
    (metric name, column of ``src``) the sum per channel, content and day. ``__row`` is unique
    (first file row × number of metrics + metric index). Returns its row count."""
    if not metrics:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {col(out)} (__row BIGINT, channel_id VARCHAR, "
            "content_id VARCHAR, date DATE, metric VARCHAR, value DOUBLE)"
        )
        return 0
    k = len(metrics)
    agg = f"{out}__agg"
    sums = ", ".join(f"sum({col(column)}) AS __s{i}" for i, (_, column) in enumerate(metrics))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {col(agg)} AS
        SELECT {channel} AS channel_id, {content} AS content_id, {day} AS date,
               min(__row) AS __r, {sums}
        FROM {col(src)} WHERE ({where})
        GROUP BY ALL"""
    )
    parts = [
        f"SELECT CAST(__r * {k} + {i} AS BIGINT) AS __row, channel_id, content_id, date, "
        f"{lit(name)} AS metric, CAST(__s{i} AS DOUBLE) AS value FROM {col(agg)} "
        f"WHERE __s{i} IS NOT NULL"
        for i, (name, _) in enumerate(metrics)
    ]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {col(out)} AS {' UNION ALL '.join(parts)}")
    drop(con, agg)
    return count_rows(con, out)


def metric_cells_sql(columns: Mapping[str, str]) -> str:
    """The select items of one raw text cell per metric (``columns``: metric → staged column),
    as the ``base_sql`` of :func:`stage_metric_rows` selects them."""
    return ", ".join(f"{nz(col(column))} AS {col(metric)}" for metric, column in columns.items())


def stage_metric_rows(
    con: duckdb.DuckDBPyConnection,
    rel: str,
    base_sql: str,
    metrics: Mapping[str, str],
    *,
    export_names: Mapping[str, str],
    date_column: str = "date",
    may_be_negative: Iterable[str] = (),
) -> tuple[int, list[Reject]]:
    """Unpivot ``base_sql`` into ``rel``: one row per (file row, metric) with a value.

    ``base_sql`` selects ``__row, channel_id, content_id, date, __suffix`` (appended to the
    metric's name: ``''`` or ``'_daily'``) and one raw text column per metric, named after it.
    ``metrics`` maps metric → SQL of its text value (``__v__`` stands for the raw cell). Blank
    cells are skipped (suppressed, not zero). Cells that are not numbers, negative counts and
    unreadable dates are taken out here as rejects naming the export's column, because one file
    row gives several staged rows (the loader reports a row once per staged row). Returns
    (rows, rejects).
    """
    if not metrics:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {col(rel)} (__row BIGINT, channel_id VARCHAR, "
            "content_id VARCHAR, date VARCHAR, metric VARCHAR, value VARCHAR)"
        )
        return 0, []
    on = ", ".join(col(m) for m in metrics)
    value = "CASE metric " + " ".join(
        f"WHEN {lit(m)} THEN {sql.replace('__v__', 'raw')}" for m, sql in metrics.items()
    )
    value += " END"
    column = "CASE metric " + " ".join(
        f"WHEN {lit(m)} THEN {lit(export_names.get(m, m))}" for m in metrics
    )
    column += " END"
    allowed = ", ".join(lit(m) for m in may_be_negative) or "NULL"
    quote = "''''"
    reason = (
        "CASE WHEN TRY_CAST(value AS DOUBLE) IS NULL "
        f"THEN __col || ': not a number: ' || {quote} || left(value, 60) || {quote} "
        f"WHEN TRY_CAST(value AS DOUBLE) < 0 AND __base NOT IN ({allowed}) "
        f"THEN __col || ': a count cannot be negative: ' || {quote} || value || {quote} "
        "WHEN TRY_CAST(date AS DATE) IS NULL "
        f"THEN {lit(date_column + ': not a date: ')} || {quote} || coalesce(left(date, 60), '') "
        f"|| {quote} END"
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {col(rel)} AS
        SELECT *, {reason} AS __reason FROM (
          SELECT __row, channel_id, content_id, date, metric || coalesce(__suffix, '') AS metric,
                 metric AS __base, {value} AS value, {column} AS __col
          FROM (UNPIVOT ({base_sql}) ON {on} INTO NAME metric VALUE raw)
          WHERE NULLIF(trim(raw), '') IS NOT NULL)
        ORDER BY __row, metric"""
    )
    bad = con.execute(
        f"SELECT __row, __reason, __base, __col, value, date FROM {col(rel)} "
        "WHERE __reason IS NOT NULL ORDER BY __row, __col"
    ).fetchall()
    rejects = [
        (
            int(r),
            "date" if why.startswith(date_column + ": not a date") else "value",
            why,
            json.dumps({"metric": m, "column": c, "value": v, "date": d}),
        )
        for r, why, m, c, v, d in bad
    ]
    if bad:
        con.execute(f"DELETE FROM {col(rel)} WHERE __reason IS NOT NULL")
    for extra in ("__reason", "__base", "__col"):
        con.execute(f"ALTER TABLE {col(rel)} DROP COLUMN {extra}")
    return count_rows(con, rel) + len(rejects), rejects


# -- sheets: a CSV with a preamble, or the first matching sheet of a workbook ---------------------

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
HEADER_LINES = 40


def is_excel(path: Path) -> bool:
    """Whether the file is a workbook (by its suffix)."""
    return path.suffix.lower() in EXCEL_SUFFIXES


def scan_csv(
    head: bytes, pred: Predicate[T], max_lines: int = HEADER_LINES
) -> tuple[Header, T] | None:
    """The first of the first lines whose columns satisfy ``pred`` (as a :class:`Header`)."""
    if b"\x00" in head[:2048] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None  # binary (a workbook named .csv, a zip...)
    encoding, text = decode(head)
    for i, line in enumerate(text.splitlines()[:max_lines]):
        if not line.strip() or (line.startswith("#") and not line.startswith(("#,", "#;", "#\t"))):
            continue  # blank, or a '# comment' preamble line (Typeform's header starts with '#,')
        for d in ",;\t":
            if d not in line:
                continue
            try:
                cols = next(csv.reader([line], delimiter=d))
            except (csv.Error, StopIteration):
                continue
            if len(cols) < 2:
                continue
            got = pred([norm(c) for c in cols])
            if got:
                return Header(i, d, cols, encoding), got
    return None


def sheet_text(v: object, *, exact_below: float = 1e15, durations: bool = True) -> str | None:
    """A workbook cell as text, None when empty: whole numbers below ``exact_below`` without
    ``.0``, dates and times ISO, durations in seconds (``durations=False``: as Python prints
    them)."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < exact_below:
            return str(int(v))
        return repr(v)
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, dt.time):
        return v.strftime("%H:%M:%S")
    if durations and isinstance(v, dt.timedelta):
        return str(int(v.total_seconds()))
    s = str(v)
    return s if s.strip() else None


#: a damaged .xls can make calamine ask for gigabytes and abort the whole process: workbooks
#: are read in a forked child with this address-space cap, so a bad file costs one file
WORKBOOK_MEMORY_CAP = 2 << 30


def _calamine_rows(path: str, nrows: int | None, first_only: bool) -> list[tuple[str, list[Any]]]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(path)
    if first_only:
        names = wb.sheet_names[:1]
        sheets = [(names[0] if names else "", wb.get_sheet_by_index(0))]
    else:
        sheets = [(name, wb.get_sheet_by_name(name)) for name in wb.sheet_names]
    return [(n, s.to_python(skip_empty_area=False, nrows=nrows)) for n, s in sheets]


@functools.lru_cache(maxsize=32)
def _read_workbook_cached(
    path: str, mtime_ns: int, size: int, nrows: int | None, first_only: bool
) -> tuple[str, Any]:
    import multiprocessing
    import pickle

    import python_calamine  # noqa: F401  (loaded before the fork: the child maps nothing new)

    def child(conn: Any) -> None:  # runs in the forked process
        try:
            import resource

            # the cap is on top of what the process already maps (DuckDB reserves a lot)
            with open("/proc/self/statm") as fh:
                mapped = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            cap = mapped + WORKBOOK_MEMORY_CAP
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        except (ImportError, ValueError, OSError):
            pass
        try:
            res: tuple[str, Any] = ("ok", _calamine_rows(path, nrows, first_only))
        except BaseException as e:  # calamine raises its own error types
            res = ("error", (str(e).splitlines() or [type(e).__name__])[0][:300])
        try:
            conn.send_bytes(pickle.dumps(res))
        finally:
            conn.close()

    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:  # no fork (not Linux/macOS): read in process
        try:
            return ("ok", _calamine_rows(path, nrows, first_only))
        except Exception as e:
            return ("error", str(e)[:300])
    parent, kid = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=child, args=(kid,), daemon=True)
    proc.start()
    kid.close()
    try:
        payload = parent.recv_bytes() if parent.poll(300) else b""
    except (EOFError, OSError):
        payload = b""
    proc.join(5)
    if proc.is_alive():
        proc.kill()
    if not payload:
        return ("error", "the spreadsheet reader gave up on it")
    result: tuple[str, Any] = pickle.loads(payload)
    return result


def _read_workbook_guarded(path: str, nrows: int | None, first_only: bool) -> tuple[str, Any]:
    try:
        st = os.stat(path)
    except OSError as e:
        return ("error", str(e))
    return _read_workbook_cached(path, st.st_mtime_ns, st.st_size, nrows, first_only)


def read_sheets(
    path: Path,
    nrows: int | None = None,
    *,
    first_only: bool = False,
    exact_below: float = 1e15,
    durations: bool = True,
) -> list[tuple[str, list[list[str | None]]]]:
    """(sheet name, rows as :func:`sheet_text`) for every sheet of a workbook (or the first
    only); UnusableFile when it cannot be read."""
    status, data = _read_workbook_guarded(str(path), nrows, first_only)
    if status != "ok":
        raise UnusableFile(str(path), f"not a readable spreadsheet ({data})")

    def text(v: object) -> str | None:
        return sheet_text(v, exact_below=exact_below, durations=durations)

    return [(n, [[text(v) for v in r] for r in rows]) for n, rows in data]


def scan_rows(
    rows: Sequence[Sequence[str | None]], pred: Predicate[T], max_lines: int = HEADER_LINES
) -> tuple[int, list[str], T] | None:
    """(index, cells, match) of the first of the first rows whose cells satisfy ``pred``."""
    for i, r in enumerate(rows[:max_lines]):
        cols = [c or "" for c in r]
        while cols and not cols[-1].strip():
            cols.pop()
        if len(cols) < 2:
            continue
        got = pred([norm(c) for c in cols])
        if got:
            return i, cols, got
    return None


def register_sheet(
    con: duckdb.DuckDBPyConnection,
    rel: str,
    header: Sequence[str | None],
    body: Sequence[Sequence[str | None]],
) -> tuple[list[str], int]:
    """Temp table ``rel`` from a sheet's header cells and the rows under it (empty rows skipped,
    the others numbered from 1). Returns (column names, rows)."""
    names = unique_names(norm(c or "") for c in header)
    data: list[list[str | None]] = [[] for _ in names]
    numbers: list[int] = []
    n = 0
    for r in body:
        if not any(v is not None and v.strip() for v in r):
            continue
        n += 1
        numbers.append(n)
        for j, values in enumerate(data):
            values.append(r[j] if j < len(r) else None)
    register_rows(con, rel, numbers, dict(zip(names, data, strict=True)))
    return names, n


def detect_header(path: Path, head: bytes, pred: Predicate[T]) -> tuple[list[str], T] | None:
    """(normed columns, match) of the header ``pred`` accepts, in a CSV head or a workbook."""
    try:
        if is_excel(path):
            for _, rows in read_sheets(path, nrows=HEADER_LINES):
                hit = scan_rows(rows, pred)
                if hit:
                    return [norm(c) for c in hit[1]], hit[2]
            return None
        found = scan_csv(head, pred)
        return (found[0].normed, found[1]) if found else None
    except Exception:
        return None


@dataclass
class Loaded:
    """A sheet staged by :func:`load_table`."""

    rel: str
    columns: list[str]  # staged column names (normed, unique), without __row
    rows: int
    rejects: list[Reject]
    note: str


def load_table(ctx: StageContext, pred: Predicate[T], rel: str, what: str) -> tuple[Loaded, T]:
    """Stage the rows under the header ``pred`` accepts into temp table ``rel`` (all VARCHAR).

    CSV goes through :func:`stage_csv` (DuckDB's reader); a workbook is read in Python (first
    sheet whose header matches) and registered.
    """
    if is_excel(ctx.path):
        try:
            sheets = read_sheets(ctx.path)
        except UnusableFile:
            sheets = []
        if not sheets:
            raise UnusableFile(str(ctx.path), "not a readable Excel workbook")
        for name, rows in sheets:
            hit = scan_rows(rows, pred)
            if not hit:
                continue
            i, cols, got = hit
            names, n = register_sheet(ctx.con, rel, cols, rows[i + 1 :])
            others = [s for s, _ in sheets if s != name]
            note = f"read sheet '{name}'" if others else ""
            return Loaded(rel, names, n, [], note), got
        raise UnusableFile(str(ctx.path), f"no sheet of this workbook has the header of {what}")
    found = scan_csv(read_head(ctx.path), pred)
    if found is None:
        raise UnusableFile(str(ctx.path), f"no header of {what} in the first {HEADER_LINES} lines")
    header, got = found
    n_rows, rejects, note = stage_csv(ctx, header, rel)
    return Loaded(rel, raw_columns(ctx.con, rel), n_rows, rejects, note), got


def touches_and_outcomes(
    con: duckdb.DuckDBPyConnection,
    loaded: Loaded,
    touch_rel: str,
    out_rel: str,
    keyless: list[Reject],
    note: str,
    *,
    local_times: bool,
    touch_rejects: list[Reject] | None = None,
) -> list[StagedTable]:
    """The touchpoints and outcomes a sheet of events staged: the rows without a key are rejects
    of both (the file's unreadable rows of the outcomes only)."""
    touch_rejects = keyless if touch_rejects is None else touch_rejects
    return [
        staged_table(con, "touchpoints", touch_rel, touch_rejects, [note], local_times=local_times),
        staged_table(
            con, "outcomes", out_rel, loaded.rejects + keyless, [note], local_times=local_times
        ),
    ]


# -- people in a sheet whose columns the user named ----------------------------------------------

EMAIL = (
    "email",
    "e-mail",
    "email address",
    "e-mail address",
    "your email",
    "your e-mail",
    "your-email",
    "your email address",
    "email_address",
    "emailaddress",
    "work email",
    "business email",
    "mail",
    "courriel",
    "contact email",
)
EMAIL_COL_RX = r"e-?mail"
EMAIL_NOT = (
    r"opt|consent|subscri|newsletter|marketing|confirm|permission|agree|gdpr|verif|sent|open|click"
)
PHONE = (
    "phone",
    "phone number",
    "telephone",
    "telephone number",
    "tel",
    "your-phone",
    "your-tel",
    "your phone",
    "your phone number",
    "mobile",
    "mobile number",
    "mobile phone",
    "cell",
    "cell phone",
    "phone_number",
    "contact number",
    "téléphone",
)
PHONE_RX = r"phone|telephone|mobile|\btel\b|whatsapp"
PHONE_NOT = r"consent|opt|\bsms\b|text me|best time|type"
NAME = (
    "name",
    "full name",
    "your name",
    "your-name",
    "your full name",
    "fullname",
    "full_name",
    "contact name",
    "name (full)",
    "nom",
    "attendee name",
    "visitor name",
)
NAME_RX = r"\byour (full )?name\b|^(full )?name\b|name\?$"
NAME_NOT = r"first|last|company|business|user|file|event|organi|product|project|surname|form|show"
FIRST = (
    "first name",
    "first_name",
    "firstname",
    "name (first)",
    "your-first-name",
    "given name",
    "first",
    "fname",
    "prénom",
    "prenom",
    "vorname",
)
LAST = (
    "last name",
    "last_name",
    "lastname",
    "name (last)",
    "surname",
    "your-last-name",
    "family name",
    "last",
    "lname",
    "nachname",
)
COMPANY = (
    "company",
    "company name",
    "organization",
    "organisation",
    "business",
    "business name",
    "your-company",
    "company_name",
    "organization name",
    "organisation name",
    "company / organization",
    "employer",
    "account",
)
COMPANY_RX = r"company|organi[sz]ation|business name"
COMPANY_NOT = r"size|type|industry|revenue|employee|website|url|phone|e-?mail|address"
TITLE = ("job title", "job_title", "jobtitle", "position", "role", "your-title", "job role")
COUNTRY = ("country", "country/region", "country code", "your-country", "country_code")


@dataclass
class PersonCols:
    """The columns of a sheet that say who a row is about (None: the sheet has none)."""

    email: str | None
    phone: str | None
    name: str | None
    first: str | None
    last: str | None
    company: str | None
    title: str | None
    country: str | None

    def any_contact(self) -> bool:
        """Whether the sheet has a column that can name someone."""
        return bool(self.email or self.phone or self.name or (self.first and self.last))

    def hint_sql(self) -> str:
        """The person-hint columns of a staged table (raw values)."""
        return ", ".join(
            f"{cell(c)} AS {alias}"
            for c, alias in (
                (self.email, "__email"),
                (self.phone, "__phone"),
                (self.name, "__name"),
                (self.first, "__first_name"),
                (self.last, "__last_name"),
                (self.company, "__company"),
                (self.title, "__title"),
                (self.country, "__country"),
            )
        )

    def has_hint(self) -> str:
        """SQL true when the row names someone by email or phone (identity can resolve it)."""
        parts = [f"{cell(c)} IS NOT NULL" for c in (self.email, self.phone) if c]
        return "(" + " OR ".join(parts) + ")" if parts else "false"


def person_cols(columns: Sequence[str], title_exact: Iterable[str] = TITLE) -> PersonCols:
    """Which columns hold the person, found by the aliases above (and name patterns)."""
    return PersonCols(
        email=find_col(columns, EMAIL, EMAIL_COL_RX, EMAIL_NOT),
        phone=find_col(columns, PHONE, PHONE_RX, PHONE_NOT),
        name=find_col(columns, NAME, NAME_RX, NAME_NOT),
        first=find_col(columns, FIRST),
        last=find_col(columns, LAST),
        company=find_col(columns, COMPANY, COMPANY_RX, COMPANY_NOT),
        title=find_col(columns, title_exact),
        country=find_col(columns, COUNTRY),
    )


# -- text ----------------------------------------------------------------------------------------


def fix_mojibake(text: str) -> str:
    """Repair UTF-8 text that was decoded as Latin-1 (Meta's JSON exports: 'JosÃ©' -> 'José')."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def unique_names(names: Iterable[str]) -> list[str]:
    """Column names made unique: a repeat gets ``_2``, ``_3``...; an empty name is ``column``."""
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


def read_head(path: Path, n: int = 65536) -> bytes:
    """The first ``n`` bytes of a file (what detection looks at)."""
    with path.open("rb") as fh:
        return fh.read(n)
