"""YouTube Studio: Analytics → Advanced mode → "Export current view" (CSV).

The export is a folder (or zip) of three files whose names do not say which report they hold:

* ``Table data.csv`` — one row per video when the report's dimension is **Content** (``Content``
  = video id, ``Video title``, ``Video publish time``, ``Duration``, then the metrics on screen);
  the first data row is ``Total`` (the channel's total: skipped, else every view counts twice).
  → ``contents`` (channel ``youtube``, ``youtube:<video id>``) and per-video ``metrics`` dated on
  the video's publish date (the table is a total over the range chosen in Studio).
* ``Chart data.csv`` — the chart's series per day: ``Date, Content, Video title, ..., <metric>``
  → ``contents`` and per-video daily ``metrics``; without a ``Content`` column, channel totals.
* ``Totals.csv`` — ``Date, <metric>``: the channel's total per day → channel ``metrics``.

Column names follow what was on screen and change over time: ``Impressions`` became
``Thumbnail impressions`` and ``Impressions click-through rate (%)`` became ``Thumbnail
click-through rate (%)`` (2025) — both land in ``impressions`` / ``impressions_ctr_pct``.
``Subscribers`` is the *net* change (it can be negative) → ``subscribers_net``; a running total
column (``Total subscribers``) → ``subscribers``. ``Average view duration`` (``H:MM:SS``) becomes
seconds; revenue columns keep their currency in the name (``estimated_revenue_usd``). Reports by
another dimension (traffic source, geography, age ...) are recognised and refused with advice:
they carry no video and no date.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import UnusableFile
from .common import (
    Header,
    col,
    count_rows,
    drop,
    duration_text_sql,
    export_names,
    find_header,
    metric_cells_sql,
    norm,
    number_text_sql,
    nz,
    only_table,
    pick_columns,
    quiet_detect,
    raw_columns,
    read_head,
    stage_csv,
    stage_metric_rows,
    staged_table,
    ts_sql,
    ts_text_sql,
)
from .registry import Detection, StageContext, StagedTable, register

#: "Mar 12, 2024" is Studio's English layout; ISO 8601 is always tried too
TIME_FORMATS = (
    "%b %d, %Y",
    "%b %d, %Y %I:%M %p",
    "%B %d, %Y",
    "%d %b %Y",
    "%d %B %Y",
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%d.%m.%Y",
)
_ID_COLUMNS = ["Content", "Video", "Video ID"]
_CONTENT_COLUMNS: dict[str, list[str]] = {
    "title": ["Video title", "Title"],
    "published": ["Video publish time", "Publish time", "Video published", "Published"],
    "date": ["Date", "Day"],
}
#: metric → column names over the years (first found wins; each column feeds one metric)
_METRICS: dict[str, list[str]] = {
    "views": ["Views"],
    "engaged_views": ["Engaged views"],
    "watch_time_hours": ["Watch time (hours)"],
    "watch_time_minutes": ["Watch time (minutes)"],
    "subscribers": ["Total subscribers", "Subscriber count", "Lifetime subscribers"],
    "subscribers_net": ["Subscribers"],
    "subscribers_gained": ["Subscribers gained"],
    "subscribers_lost": ["Subscribers lost"],
    "impressions": ["Thumbnail impressions", "Impressions"],
    "impressions_ctr_pct": [
        "Thumbnail click-through rate (%)",
        "Impressions click-through rate (%)",
        "Click-through rate (%)",
    ],
    "likes": ["Likes"],
    "dislikes": ["Dislikes"],
    "comments": ["Comments added", "Comments"],
    "shares": ["Shares"],
    "avg_view_duration_seconds": ["Average view duration"],
    "avg_percentage_viewed": ["Average percentage viewed (%)"],
    "unique_viewers": ["Unique viewers"],
    "new_viewers": ["New viewers"],
    "returning_viewers": ["Returning viewers"],
    "end_screen_clicks": ["End screen element clicks"],
    "card_clicks": ["Card clicks"],
}
_NET = ("subscribers_net",)
_DURATION_METRICS = ("avg_view_duration_seconds",)
_MONEY_RX = re.compile(r"^(.*?(revenue|rpm|cpm).*?)\s*\(([a-z]{3})\)$")
#: first columns of reports that are not by video or by day
_OTHER_DIMENSIONS = {
    "traffic source",
    "traffic source type",
    "geography",
    "country",
    "city",
    "viewer age",
    "viewer gender",
    "subscription status",
    "device type",
    "operating system",
    "playback location",
    "content type",
    "sharing service",
    "subtitles and cc",
    "video info language",
    "end screen element",
    "card",
    "playlist",
    "search term",
    "external source",
}
_YT_ONLY = {
    norm(c)
    for c in (
        "Watch time (hours)",
        "Thumbnail impressions",
        "Thumbnail click-through rate (%)",
        "Impressions click-through rate (%)",
        "Average view duration",
        "Subscribers gained",
        "Engaged views",
    )
}
_ANY_METRIC = [a for alts in _METRICS.values() for a in alts]


def _video_header(head: bytes) -> Header | None:
    return find_header(head, [_ID_COLUMNS, ["video title", "title"], _ANY_METRIC])


def _chart_header(head: bytes) -> Header | None:
    return find_header(head, [["date", "day"], _ANY_METRIC])


def _other_header(head: bytes) -> Header | None:
    h = find_header(head, [_ANY_METRIC])
    if h is not None and h.normed and h.normed[0] in _OTHER_DIMENSIONS and set(h.normed) & _YT_ONLY:
        return h
    return None


def _money_metrics(names: list[str], used: set[str]) -> dict[str, str]:
    out = {}
    for n in names:
        mt = _MONEY_RX.match(n)
        if n in used or not mt:
            continue
        base = re.sub(r"[^a-z0-9]+", "_", mt.group(1)).strip("_")
        out[f"{base}_{mt.group(3)}"] = n
        used.add(n)
    return out


class YouTubeSource:
    name = "youtube"
    description = "YouTube Studio Analytics exports (Table data, Chart data, Totals)"
    detection_rule = (
        "CSV whose header starts with Content (video id) next to Video title and YouTube metrics "
        "(Views, Watch time (hours), Subscribers, Impressions / Thumbnail impressions ...); or "
        "Date + YouTube metrics (Chart data.csv, Totals.csv)"
    )

    @quiet_detect
    def detect(self, path: Path, head: bytes) -> Detection | None:
        h = _video_header(head)
        if h is not None and h.normed[0] in {norm(c) for c in _ID_COLUMNS} | {"date", "day"}:
            return Detection(self.name, 0.95, "YouTube Studio export by video (Content)", None)
        h = _chart_header(head)
        if h is not None and h.normed[0] in ("date", "day"):
            names = set(h.normed)
            studio_name = path.stem.lower() in ("totals", "chart data", "table data")
            if names & _YT_ONLY:
                conf = 0.93
            elif studio_name:
                conf = 0.85
            else:
                return None
            return Detection(self.name, conf, "YouTube Studio daily series (Date)", "metrics")
        h = _other_header(head)
        if h is not None:
            return Detection(
                self.name, 0.9, f"YouTube Studio export by {h.columns[0].strip()}", "metrics"
            )
        return None

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        head = read_head(ctx.path)
        h = _video_header(head)
        if h is None:
            h = _chart_header(head)
        if h is None or h.normed[0] not in {norm(c) for c in _ID_COLUMNS} | {"date", "day"}:
            other = _other_header(head)
            dim = other.columns[0].strip() if other else "another dimension"
            raise UnusableFile(
                str(ctx.path),
                f"a YouTube Studio report by {dim}: it has no video and no date, so truefans "
                "cannot use it. In Studio → Analytics → Advanced mode pick the Content (video) "
                "dimension, then Export current view",
            )
        return only_table(ctx, self._stage(ctx, h))

    def _stage(self, ctx: StageContext, header: Header) -> list[StagedTable]:
        con, p = ctx.con, ctx.prefix
        raw = f"{p}_yt_raw"
        n, rejects, note = stage_csv(ctx, header, raw)
        names = raw_columns(con, raw)
        shown = export_names(header, names)
        idc = pick_columns(names, {"id": _ID_COLUMNS}).get("id")
        used = {idc} if idc else set()
        c = pick_columns(names, _CONTENT_COLUMNS, used=used)
        m = pick_columns(names, _METRICS, used=used)
        m.update(_money_metrics(names, used))
        notes = [note] if note else []
        vid = nz(col(idc)) if idc else "CAST(NULL AS VARCHAR)"
        # the Total row is the channel's sum, not a video
        con.execute(f"DELETE FROM {col(raw)} WHERE lower({vid}) = 'total'")
        has_total = count_rows(con, raw) < n - len(rejects)
        if has_total:
            notes.append("skipped the Total row")
        staged: list[StagedTable] = []
        local = False
        if idc:
            pub = col(c["published"]) if "published" in c else "CAST(NULL AS VARCHAR)"
            title = nz(col(c["title"])) if "title" in c else "CAST(NULL AS VARCHAR)"
            contents = f"{p}_yt_contents"
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE {col(contents)} AS
                SELECT min(__row) AS __row, content_id, 'youtube' AS channel_id,
                       any_value(published_at) AS published_at,
                       any_value(format) AS format, any_value(title) AS title,
                       any_value(url) AS url
                FROM (SELECT __row,
                        CASE WHEN {vid} IS NOT NULL THEN 'youtube:' || {vid} END AS content_id,
                        {ts_text_sql(pub, TIME_FORMATS)} AS published_at,
                        CASE WHEN {title} ILIKE '%#shorts%' THEN 'short' ELSE 'video' END
                            AS format,
                        {title} AS title,
                        'https://www.youtube.com/watch?v=' || {vid} AS url
                      FROM {col(raw)})
                GROUP BY content_id, CASE WHEN content_id IS NULL THEN __row END
                ORDER BY 1"""
            )
            # a publish time with a time of day is local (Studio shows the channel's zone);
            # a bare date is kept on its day
            row = con.execute(
                f"SELECT count(*) FROM {col(contents)} "
                "WHERE regexp_matches(published_at, '^\\d{4}-\\d\\d-\\d\\dT') "
                "AND NOT suffix(published_at, 'T00:00:00')"
            ).fetchone()
            local = bool(row and row[0])
            staged.append(
                staged_table(con, "contents", contents, rejects, notes, local_times=local)
            )
            rejects = []
        pub_ts = ts_sql(col(c["published"]), TIME_FORMATS) if "published" in c else "NULL"
        if "date" in c:
            d = col(c["date"])
            day = (
                f"coalesce(strftime(CAST({ts_sql(d, TIME_FORMATS)} AS DATE), '%Y-%m-%d'), {nz(d)})"
            )
        else:
            day = f"strftime(CAST({pub_ts} AS DATE), '%Y-%m-%d')"
        content = f"'youtube:' || {vid}" if idc else "CAST(NULL AS VARCHAR)"
        # per-video rows of a day series are <metric>_daily: the Table data's totals (dated on
        # the publish date) keep the plain names and never overwrite a day's count
        suffix = "'_daily'" if idc and "date" in c else "''"
        sel = metric_cells_sql(m)
        where = ""
        if idc:
            where = f"WHERE {vid} IS NOT NULL AND {day} IS NOT NULL"
            if "published" in c:  # a row whose video is rejected gives no metrics
                where += f" AND ({nz(col(c['published']))} IS NULL OR {pub_ts} IS NOT NULL)"
        base_sql = (
            f"SELECT __row, 'youtube' AS channel_id, {content} AS content_id, {day} AS date, "
            f"{suffix} AS __suffix{', ' + sel if sel else ''} FROM {col(raw)} {where}"
        )
        metrics_rel = f"{p}_yt_metrics"
        value_sql = {
            metric: duration_text_sql("__v__")
            if metric in _DURATION_METRICS
            else number_text_sql("__v__")
            for metric in m
        }
        _, mrejects = stage_metric_rows(
            con,
            metrics_rel,
            base_sql,
            value_sql,
            export_names={k: shown.get(v, v) for k, v in m.items()},
            date_column=shown.get(c["date"], "Date") if "date" in c else "Video publish time",
            may_be_negative=_NET,
        )
        staged.append(
            staged_table(con, "metrics", metrics_rel, rejects + mrejects, [] if idc else notes)
        )
        known = set(m.values()) | set(c.values()) | ({idc} if idc else set()) | {"duration"}
        unused = [shown.get(x, x) for x in names if x not in known]
        if unused:
            staged[-1].note = "; ".join(
                x for x in (staged[-1].note, "columns not read: " + ", ".join(unused[:12])) if x
            )
        drop(con, raw)
        return staged


register(YouTubeSource())
