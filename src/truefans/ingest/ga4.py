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
medium, not per row), so a two-million-row exploration imports at engine speed. A report by date
and channel whose every row is good is not staged at all: its sums per channel and day come from
one query over DuckDB's typed reader (:func:`_stage_summed`); any row to skip or reject sends the
file down the general path.

The helpers it shares with the other aggregate sources (numbers, row checks, unpivoting metric
columns) are in :mod:`.common`.
"""

from __future__ import annotations

import mmap
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import duckdb

from ..errors import UnusableFile
from .channels import CATALOG, GA4_GROUPS, channel_sql, user_channels
from .common import (
    Check,
    Header,
    StagedColumns,
    bad_columns_sql,
    blank_sql,
    col,
    collect_rejects,
    count_rows,
    csv_scan,
    decode,
    drop,
    header_at,
    lit,
    number_checks,
    number_sql,
    on_alias,
    quiet_detect,
    read_csv_table,
    read_head,
    show_sql,
    stage_csv,
    staged_table,
    unpivot_metrics,
    user_channel_config,
)
from .registry import Detection, StageContext, StagedTable, register

# ------------------------------------------------------------------------------------------------
# reading a GA4 CSV: one table of a file that may hold several
# ------------------------------------------------------------------------------------------------


def stage_raw(
    ctx: StageContext, header: Header, rel: str
) -> tuple[int, list[tuple[int, str, str, str]], str, str]:
    """Like :func:`~truefans.ingest.common.stage_csv`, but the fast path keeps the table DuckDB's
    reader made (no second copy to add ``__row``): returns (rows, rejects, note, row_expr),
    row_expr ``rowid + 1`` or ``__row``."""
    if header.encoding in ("utf-8", "utf-8-sig"):
        try:
            read_csv_table(ctx, header, rel)
            return count_rows(ctx.con, rel), [], "", "rowid + 1"
        except duckdb.Error:
            drop(ctx.con, rel)
    n, rejects, note = stage_csv(ctx, header, rel)
    return n, rejects, note, "__row"


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


@dataclass
class _Channels:
    """How a report's rows find their channel (the map temp table aliased ``m``)."""

    join: str = ""  # LEFT JOIN of the map (empty: no channel dimension)
    channel: str = "'website'"  # SQL of the row's channel id
    blank: str | None = None  # SQL: the row names no channel (None: it cannot)
    blank_label: str = ""  # the column a blank channel is reported in
    keyed_on_first: bool = False  # the map is keyed on the file's first column (total rows)
    unknown_groups: list[str] = field(default_factory=list)


def _is_total(x: str) -> str:
    """SQL: ``x`` is the label of a total row ("Grand total", "Total", ...)."""
    names_sql = ", ".join(lit(t) for t in _TOTAL_ROWS)
    return f"(lower(trim(coalesce({x}, ''))) IN ({names_sql}))"


def _channel_map(
    con: duckdb.DuckDBPyConnection, lay: _Layout, c: StagedColumns, source: str, chmap: str
) -> _Channels:
    """Temp table ``chmap``: the channel of each distinct channel cell (source / medium, or
    GA4's channel group) of ``source`` (the file's rows aliased ``r``), keyed by the raw cells
    so that the join needs no expression per row."""
    first_col = lay.header.normed[0] if lay.header.normed else ""
    if lay.source_medium or lay.source or lay.medium:
        if lay.source_medium:
            keys = [lay.source_medium]
            sm = "trim(coalesce(k0, ''))"
            src, med, camp = f"split_part({sm}, ' / ', 1)", f"split_part({sm}, ' / ', 2)", None
            blank_label = c.label(lay.source_medium)
        else:
            keys = [x for x in (lay.source, lay.medium, lay.campaign) if x]
            names_k = {x: f"k{i}" for i, x in enumerate(keys)}
            src = names_k.get(lay.source or "", "NULL")
            med = names_k.get(lay.medium or "", "NULL")
            camp = names_k.get(lay.campaign or "") if lay.campaign else None
            blank_label = c.label(lay.source or lay.medium or "")
        ks = ", ".join(f"{c(x)} AS k{i}" for i, x in enumerate(keys))
        cfg = user_channel_config(con)
        # blank: every one of source / medium is empty (checked once per distinct key)
        kblank = " AND ".join(
            blank_sql(f"k{i}")
            for i, x in enumerate(keys)
            if x in (lay.source_medium, lay.source, lay.medium)
        )
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {col(chmap)} AS
            SELECT *, {channel_sql(src, med, camp, cfg)} AS channel, ({kblank}) AS blank,
                   {_is_total("k0")} AS total
            FROM (SELECT DISTINCT {ks} FROM {source})"""
        )
        on = " AND ".join(f"m.k{i} IS NOT DISTINCT FROM {c(x)}" for i, x in enumerate(keys))
        return _Channels(
            join=f"LEFT JOIN {col(chmap)} m ON {on}",
            channel="m.channel",
            blank="coalesce(m.blank, true)",
            blank_label=blank_label,
            keyed_on_first=keys[0] == first_col,
        )
    if lay.group:
        g = c(lay.group)
        known = {**GA4_GROUPS, **_GROUPS_DE, "(not set)": "unassigned"}
        values = ", ".join(f"({lit(k)}, {lit(v)})" for k, v in known.items())
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {col(chmap)} AS
            SELECT d.k, coalesce(g.channel, 'unassigned') AS channel,
                   g.channel IS NULL AS unknown, {_is_total("d.k")} AS total
            FROM (SELECT DISTINCT {g} AS k FROM {source} WHERE NOT {blank_sql(g)}) d
            LEFT JOIN (VALUES {values}) g(name, channel) ON g.name = lower(trim(d.k))"""
        )
        unknown = [
            r[0]
            for r in con.execute(
                f"SELECT DISTINCT trim(k) FROM {col(chmap)} WHERE unknown AND NOT total "
                "ORDER BY 1 LIMIT 20"
            ).fetchall()
        ]
        return _Channels(
            join=f"LEFT JOIN {col(chmap)} m ON m.k = {g}",
            channel="m.channel",
            blank="m.channel IS NULL",
            blank_label=c.label(lay.group),
            keyed_on_first=lay.group == first_col,
            unknown_groups=unknown,
        )
    return _Channels()


def _stage_summed(ctx: StageContext, lay: _Layout, title: str) -> StagedTable | None:
    """A report by date and channel whose every row is good, summed per channel and day in one
    pass over the file: DuckDB's reader types the cells (numbers, dates as YYYYMMDD) and reads
    only the columns used, the channel map is joined and the rows summed in the same query.

    None when the file needs the general path in :meth:`GA4Source.stage`: another layout (pages,
    hours, no date, decimal commas, several tables, not UTF-8), or a row it would skip or reject
    (a cell the type cannot read, a blank channel or date, a negative count, a rate outside 0-1,
    a total row, a channel truefans cannot create). What is staged then is what the general path
    stages (the staged rows' ``__row`` aside: they number the sums, no file row is rejected)."""
    header = lay.header
    if (
        header.encoding not in ("utf-8", "utf-8-sig")
        or header.delimiter == ";"
        or lay.page
        or not lay.date
        or lay.date_hour
        or lay.metrics is None
        or section_end(ctx.path, header.line) is not None
    ):
        return None
    con = ctx.con
    c = StagedColumns.of_csv(header)
    numbers = [*lay.metrics.values(), *(lay.rates or []), *(lay.averages or [])]
    types = {c.by_norm[x]: "DOUBLE" for x in numbers}
    types[c.by_norm[lay.date]] = "DATE"
    scan = f"{csv_scan(ctx, header, types, dateformat='%Y%m%d')} r"
    chmap = f"{ctx.prefix}_ga4_ch"
    agg = f"{ctx.prefix}_ga4_sums"
    metrics_rel = f"{ctx.prefix}_ga4_metrics"
    try:
        ch = _channel_map(con, lay, c, f"{csv_scan(ctx, header)} r", chmap)
        # the rows the general path would skip or reject
        first_col = header.normed[0] if header.normed else ""
        if ch.keyed_on_first:
            total = "coalesce(m.total, false)"
        elif first_col in c.by_norm and c.by_norm[first_col] not in types:
            x0 = c(first_col)
            total = f"(CASE WHEN length({x0}) > 14 THEN false ELSE {_is_total(x0)} END)"
        else:
            total = "false"  # a typed first column: a "Total" label there fails the read
        bad = [ch.blank or "false", f"{c(lay.date)} IS NULL"]
        for want, column in lay.metrics.items():
            v = c(column)
            bad.append(
                f"NOT isfinite({v})" if want in _SIGNED else f"(NOT isfinite({v}) OR {v} < 0)"
            )
        bad += [f"(NOT isfinite({c(x)}) OR {c(x)} < 0 OR {c(x)} > 1)" for x in lay.rates or []]
        bad += [f"(NOT isfinite({c(x)}) OR {c(x)} < 0)" for x in lay.averages or []]
        sums = ", ".join(
            f"sum({c(column)}) AS __s{i}" for i, column in enumerate(lay.metrics.values())
        )
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {col(agg)} AS
            SELECT {ch.channel} AS channel_id, CAST(NULL AS VARCHAR) AS content_id,
                   {c(lay.date)} AS date, {sums},
                   count(*) FILTER (WHERE {" OR ".join(bad)}) AS __bad,
                   count(*) FILTER (WHERE {total}) AS __total
            FROM {scan} {ch.join}
            GROUP BY ALL"""
        )
    except duckdb.Error:
        drop(con, chmap, agg)
        return None
    row = con.execute(f"SELECT sum(__bad), sum(__total) FROM {col(agg)}").fetchone()
    known = {r[0] for r in con.execute("SELECT channel_id FROM channels").fetchall()}
    creatable = known | set(CATALOG) | set(user_channels(user_channel_config(con)))
    channels = {r[0] for r in con.execute(f"SELECT DISTINCT channel_id FROM {col(agg)}").fetchall()}
    if (row and (row[0] or row[1])) or not channels <= creatable:
        drop(con, chmap, agg)
        return None
    k = len(lay.metrics)
    parts = [
        f"SELECT CAST(__r * {k} + {i} AS BIGINT) AS __row, channel_id, content_id, date, "
        f"{lit(name)} AS metric, CAST(__s{i} AS DOUBLE) AS value FROM __n "
        f"WHERE __s{i} IS NOT NULL"
        for i, name in enumerate(lay.metrics)
    ]
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {col(metrics_rel)} AS
        WITH __n AS (SELECT *, row_number() OVER (ORDER BY channel_id, date) AS __r
                     FROM {col(agg)})
        {" UNION ALL ".join(parts)}"""
    )
    notes = [f"GA4 {title}" if title else "GA4 report"]
    if ch.unknown_groups:
        notes.append(
            "channel groups not known to truefans, counted as unassigned: "
            + ", ".join(ch.unknown_groups)
        )
    if lay.ignored:
        notes.append("columns not read: " + ", ".join(c.label(x) for x in lay.ignored))
    drop(con, chmap, agg)
    return staged_table(con, "metrics", metrics_rel, [], notes)


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

    @quiet_detect
    def detect(self, path: Path, head: bytes) -> Detection | None:
        header = header_at(head, _is_ga4_header)
        if header is None:
            return None
        lay = _layout(header.normed)
        if lay is None:
            return None
        _, text = decode(head)
        preamble = any(ln.lstrip().startswith("#") for ln in text.splitlines()[: header.line + 1])
        dim = _has_dimension(lay)
        if dim and preamble:
            return Detection(self.name, 0.97, "GA4 '#' preamble and GA4 report columns", None)
        if dim:
            return Detection(self.name, 0.93, "GA4 dimension and metric columns", None)
        if preamble:
            return Detection(self.name, 0.9, "GA4 '#' preamble and GA4 metric columns", None)
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
        summed = _stage_summed(ctx, lay, title)
        if summed is not None:
            return [summed]
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
        c = StagedColumns(ctx, header, raw)
        label = c.label

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
        first_col = header.normed[0] if header.normed else ""
        x0 = c(first_col) if first_col in c.by_norm else "NULL"
        totals_where = f"NOT (CASE WHEN length({x0}) > 14 THEN false ELSE {_is_total(x0)} END)"
        # channel
        chmap = f"{ctx.prefix}_ga4_ch"
        ch = _channel_map(con, lay, c, f"{col(raw)} r", chmap)
        unknown_groups = ch.unknown_groups
        if ch.keyed_on_first:
            totals_where = "NOT coalesce(m.total, false)"
        if ch.blank is not None:
            checks.append(Check(ch.blank_label, "__blank_channel", "'missing (required)'"))
            parts.append(f"{ch.blank} AS __blank_channel")
        join, chan_sql = ch.join, ch.channel
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
            f"""CREATE OR REPLACE TEMP TABLE {col(parsed_rel)} AS
            SELECT {on_alias(row_expr, "r")} AS __row, {", ".join(parts)}
            FROM {col(raw)} r {join}
            WHERE {totals_where}"""
        )
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {col(bad_rel)} AS
            SELECT * FROM (
              SELECT __row, {bad_columns_sql(checks)} FROM (
                SELECT p.*{", " if raw_items else ""}{", ".join(raw_items)}
                FROM (SELECT * FROM {col(parsed_rel)} WHERE {" OR ".join(suspect)}) p
                JOIN {col(raw)} r ON {on_alias(row_expr, "r")} = p.__row))
            WHERE __bad_col IS NOT NULL"""
        )
        good = f"__row NOT IN (SELECT __row FROM {col(bad_rel)})"
        n_parsed = count_rows(con, parsed_rel)
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
        rejects = csv_rejects + collect_rejects(con, bad_rel, raw, c.labels, row_expr)

        out: list[StagedTable] = []
        if lay.page:
            contents = f"{ctx.prefix}_ga4_contents"
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE {col(contents)} AS
                SELECT CAST(row_number() OVER (ORDER BY min(__row)) AS BIGINT) AS __row,
                       content_id, 'website' AS channel_id, 'page' AS format,
                       coalesce(first(__title ORDER BY __row) FILTER (WHERE __title IS NOT NULL),
                                any_value(__page), '(not set)') AS title,
                       any_value(__page) AS url
                FROM {col(parsed_rel)} WHERE {good}
                GROUP BY content_id"""
            )
            out.append(
                staged_table(
                    con, "contents", contents, notes=[f"GA4 {title or 'report'}: landing pages"]
                )
            )
        metrics_rel = f"{ctx.prefix}_ga4_metrics"
        unpivot_metrics(con, parsed_rel, metrics_rel, metric_cols, where=good)
        notes.insert(0, f"GA4 {title}" if title else "GA4 report")
        out.append(staged_table(con, "metrics", metrics_rel, rejects, notes))
        drop(con, raw, parsed_rel, bad_rel, chmap)
        return out


register(GA4Source())
