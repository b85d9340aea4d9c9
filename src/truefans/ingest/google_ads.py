"""Google Ads: a report downloaded from the Google Ads UI (Campaigns > Download > .csv, or a
saved report from Reports) with campaigns split by Day, Week or Month.

The CSV starts with two lines above the header, the report's title and its date range
(``Campaign report`` / ``January 1, 2024 - June 30, 2024``), and ends with total rows
(``Total: Account``, ``Total: Campaigns``, ``Total: Search`` ...) that are skipped. Numbers carry
thousands separators (``"1,234.56"``) and ``--`` means "no value". The "Excel .csv" option writes
the same table as UTF-16 with tabs; both are read.

* ``costs``: one row per channel and period (day, week or month; the report's date range when it
  has no time column) with the cost summed over campaigns, in the report's ``Currency code`` (else
  the currency in the ``Cost (EUR)`` header, else ``--currency``). The channel is ``google_ads``;
  Video campaigns (``Campaign type`` = Video) go to ``youtube_ads``, as GA4 calls that traffic
  "Paid Video".
* ``metrics`` per channel and day: ``clicks``, ``impressions``, ``conversions``,
  ``conversion_value``, ``views`` (summed over campaigns). Values covering a week, a month or the
  whole range are dated at its last day.

A later export of an overlapping period replaces the days it covers (the key is channel and
period), so export every campaign in one report. Rows with a date, cost or count that cannot be
read (or a negative one) are rejected whole, naming the column.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from ..errors import UnusableFile
from .common import (
    Check,
    CheckedCsv,
    blank_sql,
    col,
    count_rows,
    decode,
    header_at,
    iso_currencies_sql,
    lit,
    money_sql,
    number_checks,
    number_sql,
    quiet_detect,
    raw_columns,
    read_head,
    show_sql,
    staged_table,
    unpivot_metrics,
)
from .registry import Detection, StageContext, StagedTable, register

_CAMPAIGN = ("campaign", "campaign name", "kampagne", "campagne", "campaña")
_CAMPAIGN_TYPE = ("campaign type", "kampagnentyp", "type de campagne")
_DAY = ("day", "date", "tag", "jour", "día")
_WEEK = ("week", "woche", "semaine", "semana")
_MONTH = ("month", "monat", "mois", "mes")
_CURRENCY = ("currency code", "currency", "währungscode", "code de la devise")
_COST = ("cost", "kosten", "coût", "coste")
_COST_RX = re.compile(r"^(cost|kosten|coût|coste) \(([a-z]{3})\)$")
_METRICS: dict[str, tuple[str, ...]] = {
    "clicks": ("clicks", "klicks", "clics"),
    "impressions": ("impr.", "impressions", "impr"),
    "conversions": ("conversions", "conv.", "konversionen"),
    "conversion_value": ("conv. value", "conversion value", "total conv. value", "konv.-wert"),
    "views": ("views", "video views", "aufrufe"),
}
_DAY_FORMATS = (
    "%Y-%m-%d",
    "%b %d, %Y",
    "%B %d, %Y",
    "%a, %b %d, %Y",
    "%A, %B %d, %Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
)
_MONTH_FORMATS = ("%B %Y", "%b %Y", "%Y-%m", "%Y-%m-%d", "%m/%Y")
_RANGE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y-%m-%d", "%m/%d/%Y")


def _is_ads(cols: list[str]) -> bool:
    have = set(cols)
    cost = any(c in have for c in _COST) or any(_COST_RX.match(c) for c in cols)
    return (
        any(c in have for c in _CAMPAIGN)
        and cost
        and any(c in have for c in _METRICS["impressions"])
        and any(c in have for c in _METRICS["clicks"])
    )


def _parse_day(text: str) -> date | None:
    for fmt in _RANGE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _date_range(head: bytes, header_line: int) -> tuple[str, date | None, date | None]:
    """(title, start, end) from the lines above the header."""
    _, text = decode(head)
    lines = [ln.strip().strip('"').strip() for ln in text.splitlines()[:header_line]]
    lines = [ln.split("\t")[0].strip().strip('"') for ln in lines if ln]
    title = lines[0] if lines else ""
    for ln in lines:
        parts = re.split(r"\s+[-–—]\s+", ln)
        if len(parts) == 2:
            a, b = _parse_day(parts[0]), _parse_day(parts[1])
            if a and b:
                return title, a, b
    return title, None, None


class GoogleAdsSource:
    name = "google_ads"
    description = (
        "Google Ads report CSV (campaigns by day/week/month) → costs per day and channel, "
        "metrics clicks, impressions, conversions"
    )
    detection_rule = (
        "a header with Campaign, Cost, Impr. (or Impressions) and Clicks, usually under a title "
        "line and a date-range line"
    )

    @quiet_detect
    def detect(self, path: Path, head: bytes) -> Detection | None:
        header = header_at(head, _is_ads)
        if header is None:
            return None
        cols = set(header.normed)
        strong = "impr." in cols or "currency code" in cols or "conv." in cols
        return Detection(
            self.name,
            0.96 if strong else 0.9,
            "Google Ads report columns (Campaign, Cost, Impr., Clicks)",
            None,
        )

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        con = ctx.con
        head = read_head(ctx.path)
        header = header_at(head, _is_ads)
        if header is None:
            raise UnusableFile(
                str(ctx.path),
                "no Google Ads report header found (expected Campaign, Cost, Impr., Clicks)",
            )
        title, start, end = _date_range(head, header.line)
        report = CheckedCsv(ctx, header, "gads")
        notes = [f"Google Ads {title}".strip()] if title else ["Google Ads report"]
        if report.note:
            notes.append(report.note)
        c = report.columns
        normed, lab = c.normed, c.label

        campaign_a = c.first(_CAMPAIGN)
        ctype = c(c.first(_CAMPAIGN_TYPE))
        cur_a = c.first(_CURRENCY)
        cost_a = c.first(_COST)
        header_currency = None
        if cost_a is None:
            m = next((_COST_RX.match(x) for x in normed if _COST_RX.match(x)), None)
            if m:
                cost_a, header_currency = m.group(0), m.group(2).upper()
        assert cost_a is not None
        cost = c(cost_a)

        # the period of a row
        day_a, week_a, month_a = c.first(_DAY), c.first(_WEEK), c.first(_MONTH)
        checks: list[Check] = []
        parts: list[str] = []
        if day_a or week_a:
            a = day_a or week_a
            assert a is not None
            x = c(a)
            cleaned = f"regexp_replace(trim({x}), '^(week of|woche vom|semaine du)\\s+', '', 'i')"
            tries = ", ".join(f"try_strptime({cleaned}, '{f}')" for f in _DAY_FORMATS)
            ps = f"CAST(coalesce({tries}) AS DATE)"
            pe = "__ps" if day_a else "CAST(__ps + 6 AS DATE)"
            parts += [f"{ps} AS __ps", f"{x} AS __raw_period"]
            checks.append(
                Check(
                    lab(a),
                    "__ps IS NULL",
                    "CASE WHEN NULLIF(trim(__raw_period), '') IS NULL THEN 'missing (required)' "
                    f"ELSE 'not a date: ' || {show_sql('__raw_period')} END",
                )
            )
            period_note = "per day" if day_a else "per week (dated at its last day)"
        elif month_a:
            x = c(month_a)
            tries = ", ".join(f"try_strptime(trim({x}), '{f}')" for f in _MONTH_FORMATS)
            parts += [f"CAST(coalesce({tries}) AS DATE) AS __ps", f"{x} AS __raw_period"]
            pe = "last_day(__ps)"
            checks.append(
                Check(
                    lab(month_a),
                    "__ps IS NULL",
                    f"'not a month: ' || {show_sql('__raw_period')}",
                )
            )
            period_note = "per month (dated at its last day)"
        elif start and end:
            parts += [f"DATE {lit(start.isoformat())} AS __ps"]
            pe = f"DATE {lit(end.isoformat())}"
            period_note = (
                f"no Day column: one cost for the report's range {start} to {end}; "
                f"its metrics are dated at the range's end {end}"
            )
        else:
            report.drop()
            raise UnusableFile(
                str(ctx.path),
                "this Google Ads report has no Day, Week or Month column and no date range above "
                "its header; download it again with Segment > Time > Day",
            )
        notes.append(period_note)

        # channel, currency, amounts
        channel = (
            f"CASE WHEN lower(trim(coalesce({ctype}, ''))) IN ('video', 'vidéo') "
            "THEN 'youtube_ads' ELSE 'google_ads' END"
        )
        parts.append(f"{channel} AS channel_id")
        if cur_a:
            cur = c(cur_a)
            parts.append(f"NULLIF(upper(trim({cur})), '') AS currency")
            parts.append(f"{cur} AS __raw_cur")
            iso = iso_currencies_sql()
            checks.append(
                Check(
                    lab(cur_a),
                    f"NOT {blank_sql('__raw_cur')} AND upper(trim(__raw_cur)) NOT IN {iso}",
                    f"'not an ISO 4217 currency code: ' || {show_sql('__raw_cur')}",
                )
            )
        elif header_currency:
            parts.append(f"{lit(header_currency)} AS currency")
        else:
            parts.append("CAST(NULL AS VARCHAR) AS currency")
        parts.append(f"{cost} AS __raw_cost")
        parts.append(f"CASE WHEN {blank_sql(cost)} THEN NULL ELSE {money_sql(cost)} END AS __cost")
        checks.append(
            Check(
                lab(cost_a),
                f"NOT {blank_sql('__raw_cost')} AND __cost IS NULL",
                f"'not an amount: ' || {show_sql('__raw_cost')}",
            )
        )
        checks.append(
            Check(lab(cost_a), "__cost < 0", f"'negative cost: ' || {show_sql('__raw_cost')}")
        )
        metric_cols: list[tuple[str, str]] = []
        for i, (metric, aliases) in enumerate(_METRICS.items()):
            a = c.first(aliases)
            if a is None:
                continue
            x = c(a)
            parts.append(f"{x} AS __raw_m{i}")
            parts.append(f"{number_sql(x)} AS __m{i}")
            metric_cols.append((metric, f"__m{i}"))
            checks.extend(number_checks(lab(a), f"__raw_m{i}", f"__m{i}"))

        # total rows at the bottom are not data
        first_col = "r." + col(raw_columns(con, report.raw)[0])
        tests = [first_col] + ([c(campaign_a)] if campaign_a else [])
        totals = " OR ".join(
            f"regexp_matches(lower(trim(coalesce({t}, ''))), '^(total|totals|gesamt|summe)\\s*(:|$)')"
            for t in tests
        )
        rejects = report.parse(
            parts, checks, where=f"NOT ({totals})", checks_on_items=True, derived=[f"{pe} AS __pe"]
        )
        parsed = report.parsed
        n_total_rows = report.rows - len(report.csv_rejects) - count_rows(con, parsed)
        if n_total_rows > 0:
            notes.append(f"{n_total_rows} total row(s) skipped")

        costs = f"{report.stem}_costs"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {col(costs)} AS
            SELECT CAST(min(__row) AS BIGINT) AS __row, channel_id,
                   strftime(__ps, '%Y-%m-%d') AS period_start,
                   strftime(__pe, '%Y-%m-%d') AS period_end,
                   CAST(sum(__cost) AS VARCHAR) AS dollars, currency
            FROM {col(parsed)} WHERE __bad_col IS NULL
            GROUP BY channel_id, __ps, __pe, currency
            HAVING sum(__cost) IS NOT NULL"""
        )
        currencies = con.execute(
            f"SELECT DISTINCT currency FROM {col(costs)} WHERE currency IS NOT NULL"
        ).fetchall()
        if len(currencies) > 1:
            notes.append(
                "several currencies ("
                + ", ".join(sorted(str(r[0]) for r in currencies))
                + "): a day can hold one cost per channel, the second currency's rows are "
                "rejected; export one account per file"
            )
        metrics = f"{report.stem}_metrics"
        unpivot_metrics(
            con, parsed, metrics, metric_cols, content="CAST(NULL AS VARCHAR)", day="__pe"
        )
        report.drop()
        return [
            staged_table(con, "costs", costs, rejects, notes),
            staged_table(
                con,
                "metrics",
                metrics,
                notes=["Google Ads clicks, impressions and conversions summed over campaigns"],
            ),
        ]


register(GoogleAdsSource())
