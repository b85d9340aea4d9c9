"""Google Analytics 4: the CSV a report or an exploration downloads (Share / Download file > CSV).

GA4 gives aggregates only (no person), so everything lands in ``metrics``:

* **Traffic acquisition** (by "Session primary channel group" or "Session source / medium"),
  **User acquisition** and **Free-form explorations** by date and channel: one metric row per
  channel, day and metric (``sessions``, ``engaged_sessions``, ``users``, ``new_users``,
  ``key_events``, ``event_count``, ``views``, ``transactions``, ``revenue``). The channel comes
  from GA4's group name (:data:`~truefans.ingest.channels.GA4_GROUPS`) or, finer, from source /
  medium through :func:`~truefans.ingest.channels.channel_sql` (with the user's
  ``channels.toml`` rules). Rows of the same channel and day are summed.
* **Landing page** (and Pages and screens): each page becomes a ``contents`` row (channel
  ``website``, format ``page``, id ``ga4:page:<path>``) and its metrics are metrics of that
  content, on the traffic channel when the report also splits by channel, else on ``website``.

A report without a date dimension covers the range written in its ``#`` preamble: its values are
dated at the range's **end date**, and the staged note says so. Rates and averages are not stored
(they do not add up across days or channels) but are checked, so a corrupt row is rejected whole:
a number that is not a number, a negative count, a rate outside 0–1, a missing channel or date.

Everything runs as SQL over the staged CSV (a channel is computed once per distinct source /
medium, not per row), so a two-million-row exploration imports at engine speed.

The helpers at the top (numbers, row checks, unpivoting metric columns) are shared with the other
aggregate sources (Google Ads, Mailchimp campaigns).
"""

from __future__ import annotations

import mmap
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from ..errors import UnusableFile
from .channels import GA4_GROUPS, channel_sql, load_user_config
from .common import Header, decode, norm, read_head, stage_csv
from .registry import Detection, StageContext, StagedTable, register

# ------------------------------------------------------------------------------------------------
# shared helpers for aggregate reports
# ------------------------------------------------------------------------------------------------


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def qcol(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def blank_sql(x: str) -> str:
    """True when a cell holds no value (empty, or the ``--`` Google Ads writes for n/a)."""
    return f"(NULLIF(trim({x}), '') IS NULL OR trim({x}) IN ('--', '—'))"


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


def show_sql(x: str) -> str:
    return f"'''' || left(CAST({x} AS VARCHAR), 60) || ''''"


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


def raw_columns(con: duckdb.DuckDBPyConnection, rel: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {qcol(rel)}").fetchall() if r[0] != "__row"]


def collect_rejects(
    con: duckdb.DuckDBPyConnection,
    parsed: str,
    raw: str,
    labels: dict[str, str] | None = None,
    row_expr: str = "__row",
) -> list[tuple[int, str, str, str]]:
    """(row, column, reason, raw row as JSON) of the rows of ``parsed`` with a ``__bad_col``;
    ``row_expr`` gives the row number of a row of ``raw`` (``__row`` or ``rowid + 1``)."""
    cols = raw_columns(con, raw)
    labels = labels or {}
    js = "to_json({" + ", ".join(f"{lit(labels.get(c, c))}: r.{qcol(c)}" for c in cols) + "})"
    rows = con.execute(
        f"""SELECT p.__row, p.__bad_col, p.__bad_reason, CAST({js} AS VARCHAR)
        FROM (SELECT * FROM {qcol(parsed)} WHERE __bad_col IS NOT NULL) p
        JOIN {qcol(raw)} r ON p.__row = {on_alias(row_expr, "r")}
        ORDER BY p.__row"""
    ).fetchall()
    return [(int(a), str(b), str(c), str(d)[:500]) for a, b, c, d in rows]


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
            f"CREATE OR REPLACE TEMP TABLE {qcol(out)} (__row BIGINT, channel_id VARCHAR, "
            "content_id VARCHAR, date DATE, metric VARCHAR, value DOUBLE)"
        )
        return 0
    k = len(metrics)
    agg = f"{out}__agg"
    sums = ", ".join(f"sum({qcol(column)}) AS __s{i}" for i, (_, column) in enumerate(metrics))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {qcol(agg)} AS
        SELECT {channel} AS channel_id, {content} AS content_id, {day} AS date,
               min(__row) AS __r, {sums}
        FROM {qcol(src)} WHERE ({where})
        GROUP BY ALL"""
    )
    parts = [
        f"SELECT CAST(__r * {k} + {i} AS BIGINT) AS __row, channel_id, content_id, date, "
        f"{lit(name)} AS metric, CAST(__s{i} AS DOUBLE) AS value FROM {qcol(agg)} "
        f"WHERE __s{i} IS NOT NULL"
        for i, (name, _) in enumerate(metrics)
    ]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {qcol(out)} AS {' UNION ALL '.join(parts)}")
    drop(con, agg)
    return count(con, out)


def on_alias(row_expr: str, alias: str) -> str:
    """``rowid + 1`` / ``__row`` for the table aliased ``alias``."""
    return row_expr.replace("rowid", f"{alias}.rowid").replace("__row", f"{alias}.__row")


def stage_raw(
    ctx: StageContext, header: Header, rel: str
) -> tuple[int, list[tuple[int, str, str, str]], str, str]:
    """Like :func:`stage_csv`, but the fast path keeps the table DuckDB's reader made (no second
    copy to add ``__row``): returns (rows, rejects, note, row_expr), row_expr ``rowid + 1`` or
    ``__row``."""
    if header.encoding in ("utf-8", "utf-8-sig"):
        names: list[str] = []
        seen: dict[str, int] = {}
        for name in header.normed:
            name = name or "column"
            seen[name] = seen.get(name, 0) + 1
            names.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
        cols = "{" + ", ".join(f"{lit(n)}: 'VARCHAR'" for n in names) + "}"
        try:
            ctx.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {qcol(rel)} AS SELECT * FROM read_csv(?, "
                f"header=true, skip={header.line}, auto_detect=false, delim=?, quote='\"', "
                f"escape='\"', columns={cols}, strict_mode=true, encoding='utf-8')",
                [str(ctx.path), header.delimiter],
            )
            return count(ctx.con, rel), [], "", "rowid + 1"
        except duckdb.Error:
            ctx.con.execute(f"DROP TABLE IF EXISTS {qcol(rel)}")
    n, rejects, note = stage_csv(ctx, header, rel)
    return n, rejects, note, "__row"


def count(con: duckdb.DuckDBPyConnection, rel: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {qcol(rel)}").fetchone()
    return int(row[0]) if row else 0


def drop(con: duckdb.DuckDBPyConnection, *rels: str) -> None:
    for rel in rels:
        con.execute(f"DROP TABLE IF EXISTS {qcol(rel)}")


def user_channel_config(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The user's ``channels.toml`` beside the workspace the connection is on (else empty)."""
    try:
        row = con.execute(
            "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchone()
    except duckdb.Error:
        return {}
    if not row or not row[0]:
        return {}
    return load_user_config(Path(row[0]))


def header_at(head: bytes, is_header: Any, max_lines: int = 60) -> Header | None:
    """The first non-comment line of ``head`` whose normed columns satisfy ``is_header``."""
    import csv

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


def section_end(path: Path, header_line: int) -> int | None:
    """Byte offset where the table under the header ends, when a blank line is followed by more
    content (GA4 writes several tables into one file); None when the table runs to the end."""
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return None
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            start = 0
            for _ in range(header_line + 1):
                nl = mm.find(b"\n", start)
                if nl == -1:
                    return None
                start = nl + 1
            best: int | None = None
            crlf = mm[max(start - 2, 0) : start] == b"\r\n"
            for sep in (b"\n\r\n",) if crlf else (b"\n\n",):
                pos = mm.find(sep, max(start - 1, 0))
                while pos != -1:
                    window = mm[pos : pos + 65536]
                    if re.search(rb"\S", window):
                        best = pos + 1 if best is None else min(best, pos + 1)
                        break
                    if pos + 65536 >= size:
                        break
                    pos = mm.find(sep, pos + len(sep))
            return best


def stage_section(
    ctx: StageContext, header: Header, rel: str
) -> tuple[int, list[tuple[int, str, str, str]], str, int, str]:
    """:func:`stage_csv` of the table under ``header`` only (up to a blank line followed by
    another table). Returns (rows, rejects, note, number of tables left out, row_expr)."""
    end = section_end(ctx.path, header.line)
    if end is None:
        n, rejects, note, row_expr = stage_raw(ctx, header, rel)
        return n, rejects, note, 0, row_expr
    data = ctx.path.read_bytes()
    lines = data[:end].split(b"\n")
    body = b"\n".join(lines[header.line :])
    rest = data[end:]
    others = len(
        [
            b
            for b in re.split(rb"\r?\n[ \t]*\r?\n", rest)
            if b.strip() and not all(x.strip().startswith(b"#") for x in b.strip().splitlines())
        ]
    )
    fd, tmp = tempfile.mkstemp(suffix=".csv", prefix="truefans-section-")
    try:
        with os.fdopen(fd, "wb") as fh:
            if header.encoding == "utf-8-sig" and not body.startswith(b"\xef\xbb\xbf"):
                fh.write(b"\xef\xbb\xbf")
            fh.write(body)
        sub = replace(ctx, path=Path(tmp))
        n, rejects, note = stage_csv(sub, replace(header, line=0), rel)
    finally:
        os.unlink(tmp)
    return n, rejects, note, max(others, 1), "__row"


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


def iso_sql(parsed: str) -> str:
    return f"strftime({parsed}, '%Y-%m-%dT%H:%M:%S')"


class StagedColumns:
    """Staged column names of a CSV by normed header name, with display labels."""

    def __init__(self, ctx: StageContext, header: Header, raw: str) -> None:
        cols = raw_columns(ctx.con, raw)
        self.normed = header.normed
        self.by_norm: dict[str, str] = {}
        for nm, c in zip(self.normed, cols, strict=False):
            self.by_norm.setdefault(nm, c)
        self.labels = {
            cols[i]: header.columns[i].strip() for i in range(min(len(cols), len(header.columns)))
        }

    def __call__(self, alias: str | None) -> str:
        if alias and alias in self.by_norm:
            return "r." + qcol(self.by_norm[alias])
        return "CAST(NULL AS VARCHAR)"

    def label(self, alias: str) -> str:
        return self.labels.get(self.by_norm.get(alias, ""), alias)

    def first(self, aliases: tuple[str, ...]) -> str | None:
        return next((a for a in aliases if a in self.normed), None)


# ------------------------------------------------------------------------------------------------
# GA4
# ------------------------------------------------------------------------------------------------

#: canonical metric → header aliases (normed; English UI, older labels, German UI)
METRICS: dict[str, tuple[str, ...]] = {
    "sessions": ("sessions", "sitzungen"),
    "engaged_sessions": ("engaged sessions", "sitzungen mit interaktionen"),
    "users": (
        "active users",
        "users",
        "total users",
        "aktive nutzer",
        "nutzer",
        "nutzer insgesamt",
    ),
    "new_users": ("new users", "neue nutzer"),
    "key_events": ("key events", "conversions", "schlüsselereignisse"),
    "event_count": ("event count", "anzahl der ereignisse", "ereignisanzahl"),
    "views": ("views", "aufrufe"),
    "transactions": ("transactions", "ecommerce purchases", "purchases", "transaktionen"),
    "revenue": ("total revenue", "purchase revenue", "umsatz insgesamt", "gesamtumsatz"),
}
#: metrics that may be negative (revenue nets refunds)
_SIGNED = {"revenue"}
#: headers that only GA4 writes: enough, with a dimension or a preamble, to recognise it
_SIGNATURE = {
    "sessions",
    "engaged sessions",
    "active users",
    "new users",
    "key events",
    "event count",
    "total revenue",
    "engagement rate",
    "sitzungen",
    "aktive nutzer",
}
_DATE = ("date", "datum")
_DATE_HOUR = ("date + hour (yyyymmddhh)", "datum + stunde (jjjjmmtthh)")
_PAGE = (
    "landing page",
    "landing page + query string",
    "page path and screen class",
    "page path + query string and screen class",
    "page path",
    "page path + query string",
    "zielseite",
    "zielseite + suchstring",
    "seitenpfad und bildschirmklasse",
)
_PAGE_TITLE = (
    "page title",
    "page title and screen class",
    "seitentitel",
    "seitentitel und bildschirmklasse",
)
_SOURCE = ("session source", "first user source", "source", "sitzungsquelle")
_MEDIUM = ("session medium", "first user medium", "medium", "sitzungsmedium")
_CAMPAIGN = ("session campaign", "first user campaign", "campaign", "sitzungskampagne")
_GROUP_RX = re.compile(r"channel ?group|channelgruppe|channel grouping")
_SOURCE_MEDIUM_RX = re.compile(r"(source|quelle) ?/ ?medium")
_RATE_RX = re.compile(r"(^|\s)rate$|rate\b|quote$|interaktionsrate|absprungrate")
_AVERAGE_RX = re.compile(r"^average |per session|per user|^durchschnittliche |pro sitzung")
_TOTAL_ROWS = ("grand total", "total", "totals", "gesamtsumme", "summe")
# GA4's German group names (the English ones are in GA4_GROUPS)
_GROUPS_DE = {
    "organische suche": "organic_search",
    "direkt": "direct",
    "organische soziale netzwerke": "social_other",
    "organisch social": "social_other",
    "verweis": "referral",
    "e-mail": "newsletter",
    "bezahlte suche": "google_ads",
    "bezahlte soziale netzwerke": "paid_other",
    "organisches video": "youtube",
    "bezahltes video": "youtube_ads",
    "nicht zugewiesen": "unassigned",
}


@dataclass
class _Layout:
    header: Header
    date: str | None = None  # normed column names
    date_hour: bool = False
    group: str | None = None
    source_medium: str | None = None
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    page: str | None = None
    page_query: bool = False
    page_title: str | None = None
    metrics: dict[str, str] | None = None  # canonical → column
    rates: list[str] | None = None
    averages: list[str] | None = None
    ignored: list[str] | None = None


def _layout(cols: Sequence[str]) -> _Layout | None:
    """Which GA4 column is which (``cols`` are normed), or None when no metric is known."""
    lay = _Layout(Header(0, ",", list(cols), "utf-8"), metrics={}, rates=[], averages=[])
    assert lay.metrics is not None and lay.rates is not None and lay.averages is not None
    taken: set[str] = set()
    for want, aliases in METRICS.items():
        for a in aliases:
            if a in cols and a not in taken:
                lay.metrics[want] = a
                taken.add(a)
                break
    if not lay.metrics:
        return None
    ignored = []
    for c in cols:
        if c in taken:
            continue
        if c in _DATE and lay.date is None:
            lay.date = c
        elif c in _DATE_HOUR and lay.date is None:
            lay.date, lay.date_hour = c, True
        elif _SOURCE_MEDIUM_RX.search(c) and lay.source_medium is None:
            lay.source_medium = c
        elif _GROUP_RX.search(c) and lay.group is None:
            lay.group = c
        elif c in _SOURCE and lay.source is None:
            lay.source = c
        elif c in _MEDIUM and lay.medium is None:
            lay.medium = c
        elif c in _CAMPAIGN and lay.campaign is None:
            lay.campaign = c
        elif c in _PAGE and lay.page is None:
            lay.page, lay.page_query = c, "query string" in c or "suchstring" in c
        elif c in _PAGE_TITLE and lay.page_title is None:
            lay.page_title = c
        elif _RATE_RX.search(c):
            lay.rates.append(c)
        elif _AVERAGE_RX.search(c):
            lay.averages.append(c)
        else:
            ignored.append(c)
    lay.ignored = ignored
    return lay


def _is_ga4_header(cols: Sequence[str]) -> bool:
    return bool(_SIGNATURE & set(cols)) and _layout(cols) is not None


def _has_dimension(lay: _Layout) -> bool:
    return any((lay.group, lay.source_medium, lay.source, lay.page, lay.date))


_D8 = re.compile(r"(?<!\d)(\d{8})(?!\d)")


def _preamble(head: bytes, header_line: int) -> tuple[str, date | None, date | None]:
    """(report title, start, end) from the ``#`` lines above the header."""
    _, text = decode(head)
    lines = [ln.strip() for ln in text.splitlines()[:header_line] if ln.strip().startswith("#")]
    title = ""
    start = end = None
    found: list[date] = []
    for ln in lines:
        body = ln.lstrip("#").strip()
        if not title and body and not set(body) <= set("-= ") and not _D8.search(body):
            title = body
        dates = []
        for d in _D8.findall(body):
            try:
                dates.append(datetime.strptime(d, "%Y%m%d").date())
            except ValueError:
                continue
        if not dates:
            continue
        low = body.lower()
        if len(dates) >= 2:
            start, end = dates[0], dates[1]
        elif re.search(r"start|beginn|début|inicio|inizio", low):
            start = dates[0]
        elif re.search(r"end|fin|ende", low):
            end = dates[0]
        found.extend(dates)
    if end is None and found:
        end = found[-1]
    if start is None and len(found) >= 2:
        start = found[0]
    return title, start, end


class GA4Source:
    name = "ga4"
    description = (
        "Google Analytics 4 report / exploration CSV (traffic acquisition, landing page, "
        "free-form by date and channel) → metrics per channel (and page) and day"
    )
    detection_rule = (
        "a header with GA4 metric columns (Sessions, Engaged sessions, Active users, Key events, "
        "Event count, Total revenue ...) next to a GA4 dimension (channel group, source / medium, "
        "landing page, Date) or under GA4's '#' preamble"
    )

    def detect(self, path: Path, head: bytes) -> Detection | None:
        try:
            header = header_at(head, _is_ga4_header)
            if header is None:
                return None
            lay = _layout(header.normed)
            if lay is None:
                return None
            _, text = decode(head)
            preamble = any(
                ln.lstrip().startswith("#") for ln in text.splitlines()[: header.line + 1]
            )
            dim = _has_dimension(lay)
            if dim and preamble:
                return Detection(self.name, 0.97, "GA4 '#' preamble and GA4 report columns", None)
            if dim:
                return Detection(self.name, 0.93, "GA4 dimension and metric columns", None)
            if preamble:
                return Detection(self.name, 0.9, "GA4 '#' preamble and GA4 metric columns", None)
            return None
        except Exception:
            return None

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        con = ctx.con
        head = read_head(ctx.path)
        header = header_at(head, _is_ga4_header)
        if header is None:
            raise UnusableFile(
                str(ctx.path),
                "no GA4 report header found (expected columns like Sessions, Engaged sessions, "
                "Key events next to a channel group, source / medium, landing page or Date)",
            )
        lay = _layout(header.normed)
        assert lay is not None and lay.metrics is not None
        lay.header = header
        title, start, end = _preamble(head, header.line)
        notes: list[str] = []
        raw = f"{ctx.prefix}_ga4_raw"
        n_file, csv_rejects, read_note, others, row_expr = stage_section(ctx, header, raw)
        if read_note:
            notes.append(read_note)
        if others:
            notes.append(
                f"{others} more table(s) after a blank line in this file were not read "
                "(download one table per file)"
            )
        names = raw_columns(con, raw)
        by_norm: dict[str, str] = {}
        for normed, name in zip(header.normed, names, strict=False):
            by_norm.setdefault(normed, name)
        labels = {
            names[i]: header.columns[i].strip() for i in range(min(len(names), len(header.columns)))
        }

        def c(normed: str | None) -> str:
            assert normed is not None
            return "r." + qcol(by_norm[normed])

        def label(normed: str) -> str:
            return labels.get(by_norm[normed], normed)

        if lay.date is None and end is None:
            drop(con, raw)
            raise UnusableFile(
                str(ctx.path),
                "this GA4 report has no Date column and no date range in its '#' header lines; "
                "download it again with the header lines (or add the Date dimension)",
            )
        decimal_comma = header.delimiter == ";"
        parts: list[str] = []  # parsed values, one pass over the file
        raw_items: list[str] = []  # raw cells the checks show (read again for suspect rows only)
        checks: list[Check] = []

        # total rows ("Grand total") are not data: GA4 labels them in the file's first column,
        # checked once per distinct value when the channel map is keyed on that column
        names_sql = ", ".join(lit(t) for t in _TOTAL_ROWS)

        def is_total(x: str) -> str:
            return f"(lower(trim(coalesce({x}, ''))) IN ({names_sql}))"

        first_col = header.normed[0] if header.normed else ""
        x0 = c(first_col) if first_col in by_norm else "NULL"
        totals_where = f"NOT (CASE WHEN length({x0}) > 14 THEN false ELSE {is_total(x0)} END)"
        # channel
        chmap = f"{ctx.prefix}_ga4_ch"
        unknown_groups: list[str] = []
        chan_sql = "'website'"
        if lay.source_medium or lay.source or lay.medium:
            # the map is keyed by the raw cells, so the join needs no expression per row
            if lay.source_medium:
                keys = [lay.source_medium]
                sm = "trim(coalesce(k0, ''))"
                src, med, camp = f"split_part({sm}, ' / ', 1)", f"split_part({sm}, ' / ', 2)", None
                blank_label = label(lay.source_medium)
            else:
                keys = [x for x in (lay.source, lay.medium, lay.campaign) if x]
                names_k = {x: f"k{i}" for i, x in enumerate(keys)}
                src = names_k.get(lay.source or "", "NULL")
                med = names_k.get(lay.medium or "", "NULL")
                camp = names_k.get(lay.campaign or "") if lay.campaign else None
                blank_label = label(lay.source or lay.medium or "")
            ks = ", ".join(f"{c(x)} AS k{i}" for i, x in enumerate(keys))
            cfg = user_channel_config(con)
            # blank: every one of source / medium is empty (checked once per distinct key)
            kblank = " AND ".join(
                blank_sql(f"k{i}")
                for i, x in enumerate(keys)
                if x in (lay.source_medium, lay.source, lay.medium)
            )
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE {qcol(chmap)} AS
                SELECT *, {channel_sql(src, med, camp, cfg)} AS channel, ({kblank}) AS blank,
                       {is_total("k0")} AS total
                FROM (SELECT DISTINCT {ks} FROM {qcol(raw)} r)"""
            )
            if keys[0] == first_col:
                totals_where = "NOT coalesce(m.total, false)"
            on = " AND ".join(f"m.k{i} IS NOT DISTINCT FROM {c(x)}" for i, x in enumerate(keys))
            join = f"LEFT JOIN {qcol(chmap)} m ON {on}"
            chan_sql = "m.channel"
            checks.append(Check(blank_label, "__blank_channel", "'missing (required)'"))
            parts.append("coalesce(m.blank, true) AS __blank_channel")
        elif lay.group:
            g = c(lay.group)
            known = {**GA4_GROUPS, **_GROUPS_DE, "(not set)": "unassigned"}
            values = ", ".join(f"({lit(k)}, {lit(v)})" for k, v in known.items())
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE {qcol(chmap)} AS
                SELECT d.k, coalesce(g.channel, 'unassigned') AS channel,
                       g.channel IS NULL AS unknown, {is_total("d.k")} AS total
                FROM (SELECT DISTINCT {g} AS k FROM {qcol(raw)} r WHERE NOT {blank_sql(g)}) d
                LEFT JOIN (VALUES {values}) g(name, channel) ON g.name = lower(trim(d.k))"""
            )
            unknown_groups = [
                r[0]
                for r in con.execute(
                    f"SELECT DISTINCT trim(k) FROM {qcol(chmap)} WHERE unknown AND NOT total "
                    "ORDER BY 1 LIMIT 20"
                ).fetchall()
            ]
            if lay.group == first_col:
                totals_where = "NOT coalesce(m.total, false)"
            join = f"LEFT JOIN {qcol(chmap)} m ON m.k = {g}"
            chan_sql = "m.channel"
            checks.append(Check(label(lay.group), "__blank_channel", "'missing (required)'"))
            parts.append("m.channel IS NULL AS __blank_channel")
        else:
            join = ""
        parts.append(f"{chan_sql} AS channel_id")

        # date
        if lay.date:
            d = c(lay.date)
            t = f"left(trim({d}), 8)" if lay.date_hour else f"trim({d})"
            first = f"left({d}, 8)" if lay.date_hour else d
            fast = f"try_strptime({first}, '%Y%m%d')"
            parsed = (
                f"CAST(CASE WHEN {fast} IS NOT NULL THEN {fast} ELSE "
                f"coalesce(try_strptime({t}, '%Y%m%d'), TRY_CAST({t} AS TIMESTAMP)) END AS DATE)"
            )
            parts.append(f"{parsed} AS date")
            raw_items.append(f"{d} AS __raw_date")
            checks.append(
                Check(
                    label(lay.date),
                    "(date IS NULL)",
                    "CASE WHEN NULLIF(trim(__raw_date), '') IS NULL THEN 'missing (required)' "
                    "ELSE 'not a date (GA4 writes YYYYMMDD): ' || "
                    + show_sql("__raw_date")
                    + " END",
                )
            )
        else:
            assert end is not None
            parts.append(f"DATE {lit(end.isoformat())} AS date")
            rng = f"{start.isoformat()} to {end.isoformat()}" if start else f"up to {end}"
            notes.append(
                f"the report has no Date dimension: its totals ({rng}) are dated at the "
                f"report's end date {end.isoformat()}"
            )

        # page
        if lay.page:
            p = f"trim({c(lay.page)})"
            if lay.page_query:
                p = f"split_part({p}, '?', 1)"
            parts.append(f"'ga4:page:' || coalesce(NULLIF({p}, ''), '(not set)') AS content_id")
            parts.append(f"NULLIF(NULLIF({p}, ''), '(not set)') AS __page")
            if lay.page_title:
                parts.append(f"NULLIF(trim({c(lay.page_title)}), '') AS __title")
            else:
                parts.append("CAST(NULL AS VARCHAR) AS __title")
        else:
            parts.append("CAST(NULL AS VARCHAR) AS content_id")

        # numbers
        suspect = ["__blank_channel" if "__blank_channel" in " ".join(parts) else "false"]
        suspect.append("date IS NULL")
        metric_cols: list[tuple[str, str]] = []
        for i, (want, column) in enumerate(lay.metrics.items()):
            x = c(column)
            raw_items.append(f"{x} AS __raw_m{i}")
            parts.append(f"{number_sql(x, decimal_comma)} AS __m{i}")
            metric_cols.append((want, f"__m{i}"))
            checks.extend(
                number_checks(label(column), f"__raw_m{i}", f"__m{i}", nonneg=want not in _SIGNED)
            )
            suspect.append(f"__m{i} IS NULL OR NOT isfinite(__m{i})")
            if want not in _SIGNED:
                suspect.append(f"__m{i} < 0")
        for j, column in enumerate(lay.rates or []):
            x = c(column)
            v = number_sql(x, decimal_comma)
            pct = f"CASE WHEN suffix(trim({x}), '%') THEN {v} / 100 ELSE {v} END"
            raw_items.append(f"{x} AS __raw_r{j}")
            parts.append(f"{pct} AS __r{j}")
            checks.extend(number_checks(label(column), f"__raw_r{j}", f"__r{j}", rate=True))
            suspect.append(f"__r{j} IS NULL OR NOT isfinite(__r{j}) OR __r{j} < 0 OR __r{j} > 1")
        for j, column in enumerate(lay.averages or []):
            x = c(column)
            raw_items.append(f"{x} AS __raw_a{j}")
            parts.append(f"{number_sql(x, decimal_comma)} AS __a{j}")
            checks.extend(number_checks(label(column), f"__raw_a{j}", f"__a{j}"))
            suspect.append(f"__a{j} IS NULL OR NOT isfinite(__a{j}) OR __a{j} < 0")

        # one pass parses every row (each number once: its slow fallback stays lazy); the
        # checks, which show the raw cells, then run on the few rows that look wrong
        parsed_rel = f"{ctx.prefix}_ga4_p"
        bad_rel = f"{ctx.prefix}_ga4_bad"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {qcol(parsed_rel)} AS
            SELECT {on_alias(row_expr, "r")} AS __row, {", ".join(parts)}
            FROM {qcol(raw)} r {join}
            WHERE {totals_where}"""
        )
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {qcol(bad_rel)} AS
            SELECT * FROM (
              SELECT __row, {bad_columns_sql(checks)} FROM (
                SELECT p.*{", " if raw_items else ""}{", ".join(raw_items)}
                FROM (SELECT * FROM {qcol(parsed_rel)} WHERE {" OR ".join(suspect)}) p
                JOIN {qcol(raw)} r ON {on_alias(row_expr, "r")} = p.__row))
            WHERE __bad_col IS NOT NULL"""
        )
        good = f"__row NOT IN (SELECT __row FROM {qcol(bad_rel)})"
        n_parsed = count(con, parsed_rel)
        skipped_totals = n_file - len(csv_rejects) - n_parsed
        if skipped_totals > 0:
            notes.append(f"{skipped_totals} total row(s) skipped")
        if unknown_groups:
            notes.append(
                "channel groups not known to truefans, counted as unassigned: "
                + ", ".join(unknown_groups)
            )
        if lay.ignored:
            notes.append("columns not read: " + ", ".join(label(x) for x in lay.ignored))
        rejects = csv_rejects + collect_rejects(con, bad_rel, raw, labels, row_expr)

        out: list[StagedTable] = []
        if lay.page:
            contents = f"{ctx.prefix}_ga4_contents"
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE {qcol(contents)} AS
                SELECT CAST(row_number() OVER (ORDER BY min(__row)) AS BIGINT) AS __row,
                       content_id, 'website' AS channel_id, 'page' AS format,
                       coalesce(first(__title ORDER BY __row) FILTER (WHERE __title IS NOT NULL),
                                any_value(__page), '(not set)') AS title,
                       any_value(__page) AS url
                FROM {qcol(parsed_rel)} WHERE {good}
                GROUP BY content_id"""
            )
            out.append(
                StagedTable(
                    "contents",
                    contents,
                    count(con, contents),
                    note=f"GA4 {title or 'report'}: landing pages",
                )
            )
        metrics_rel = f"{ctx.prefix}_ga4_metrics"
        n_metrics = unpivot_metrics(con, parsed_rel, metrics_rel, metric_cols, where=good)
        out.append(
            StagedTable(
                "metrics",
                metrics_rel,
                n_metrics + len(rejects),
                rejects=rejects,
                note="; ".join([f"GA4 {title}" if title else "GA4 report", *notes]),
            )
        )
        drop(con, raw, parsed_rel, bad_rel, chmap)
        return out


register(GA4Source())
