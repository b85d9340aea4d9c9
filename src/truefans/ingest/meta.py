"""Meta: Facebook Page and Instagram exports from Meta Business Suite, and Instagram's
"Download your information" follower lists.

Files read
----------
* **Post exports** (Business Suite → Insights → Content → Export data, CSV), one row per post:
  ``Post ID, ..., Publish time, Permalink, ..., Views, Reach, Reactions, Comments, Shares ...``
  (Facebook, with ``Page ID``/``Page name``) or ``Post ID, Account ID, Account username, ...,
  Views, Reach, Likes, Shares, Follows, Comments, Saves`` (Instagram). The older Facebook Insights
  "post data" export (``Post Message``, ``Posted``, ``Lifetime Post Total Reach`` ...) has a row of
  descriptions under the header, which is skipped. → ``contents`` (one per post) and ``metrics``
  (one per post and metric, dated on the post's publish date, or the export's ``Date`` column
  when it holds a date rather than ``Lifetime``).
* **Page-level daily series**: Business Suite's overview export (``sep=,`` line, the metric's
  name, then ``"Date","Primary"``; UTF-16) and the older Facebook Insights "page data" export
  (``Date, Lifetime Total Likes, Daily New Likes, Daily Unlikes ...`` with a description row).
  → channel-level ``metrics`` per day (``followers`` is a running total).
* **Instagram "Download your information" (JSON)**:
  ``connections/followers_and_following/followers_N.json`` (a list of entries, or older
  ``{"relationships_followers": [...]}``, or the 2019–2020 ``connections.json`` with
  ``{"followers": {"handle": "timestamp"}}``) → ``audience`` on channel ``instagram``, identity
  = the handle. ``following.json``, ``close_friends.json`` and the other relationship lists are
  the user's own choices, not an audience: they are recognised and import nothing (with a note).

Pitfalls handled: UTF-8 BOM, a header containing a comma (``"Reactions, Comments and Shares"``)
in any case, ``Impressions`` renamed ``Views`` (both are the metric ``impressions``), numbers
with thousands separators (``"12,400"``), blank = suppressed (not zero), local publish times
without an offset (``local_times``), 17–31 digit ids kept as text, mis-decoded UTF-8 in Meta's
JSON (``ZoÃ«`` → ``Zoë``), and HTML "Download your information" files (refused with advice).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ..errors import UnusableFile
from .common import (
    Header,
    Reject,
    col,
    count_rows,
    decode,
    drop,
    export_names,
    find_header,
    fix_mojibake,
    lit,
    metric_cells_sql,
    norm,
    number_text_sql,
    nz,
    only_table,
    pick_columns,
    quiet_detect,
    raw_columns,
    read_head,
    register_rows,
    stage_csv,
    stage_metric_rows,
    staged_table,
    ts_sql,
    ts_text_sql,
)
from .registry import Detection, StageContext, StagedTable, register

#: publish-time layouts seen in Meta exports (US month first); ISO 8601 is always tried too
META_TIME_FORMATS = (
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
)

# -- Meta column aliases --------------------------------------------------------------------------

_POST_COLUMNS: dict[str, list[str]] = {
    "post_id": ["Post ID", "Post id", "Media ID"],
    "published": ["Publish time", "Posted", "Published", "Created time", "Publish date"],
    "permalink": ["Permalink", "Post permalink", "Post link"],
    "title": ["Title"],
    "text": ["Description", "Post Message", "Message", "Caption"],
    "post_type": ["Post type", "Type", "Media type"],
    "date": ["Date"],
}
#: metric → export column names, first found wins; each column feeds one metric
_POST_METRICS: dict[str, list[str]] = {
    # Meta renamed Impressions to Views (2024–25): times the post was on screen
    "impressions": [
        "Views",
        "Impressions",
        "Lifetime Post Total Impressions",
        "Post impressions",
        "Total impressions",
    ],
    "reach": ["Reach", "Lifetime Post Total Reach", "Accounts reached", "Post reach"],
    "reach_organic": ["Lifetime Post organic reach", "Organic reach"],
    "reach_paid": ["Lifetime Post Paid Reach", "Paid reach"],
    "impressions_organic": ["Lifetime Post Organic Impressions", "Organic impressions"],
    "impressions_paid": ["Lifetime Post Paid Impressions", "Paid impressions"],
    "engagements": [
        "Reactions, Comments and Shares",
        "Interactions",
        "Content interactions",
        "Post engagements",
        "Engagement",
    ],
    "engaged_users": ["Lifetime Engaged Users", "Engaged users"],
    # Facebook reactions (like, love, haha ...) and Instagram likes are both "likes"
    "likes": [
        "Reactions",
        "Likes",
        "Lifetime Post Stories by action type - like",
        "Lifetime Talking About This (Post) by action type - like",
    ],
    "comments": [
        "Comments",
        "Lifetime Post Stories by action type - comment",
        "Lifetime Talking About This (Post) by action type - comment",
    ],
    "shares": [
        "Shares",
        "Lifetime Post Stories by action type - share",
        "Lifetime Talking About This (Post) by action type - share",
    ],
    "saves": ["Saves", "Saved"],
    "followers_gained": ["Follows", "New follows", "Follows from post"],
    "clicks": ["Total clicks", "Clicks", "Lifetime Post Consumptions", "Post clicks"],
    "link_clicks": ["Link clicks", "Lifetime Post Consumptions by type - link clicks"],
    "other_clicks": ["Other Clicks", "Lifetime Post Consumptions by type - other clicks"],
    "photo_clicks": [
        "Matched Audience Targeting Consumption (Photo Click)",
        "Lifetime Post Consumptions by type - photo view",
    ],
    "video_views": [
        "Plays",
        "3-second video views",
        "Lifetime Post Total Video Views",
        "Lifetime Total Video Views",
        "Video views",
    ],
    "profile_visits": ["Profile visits"],
    "replies": ["Replies"],
    "negative_feedback": ["Lifetime Negative Feedback", "Negative feedback"],
    "seconds_viewed": ["Seconds viewed"],
    "avg_seconds_viewed": ["Average Seconds viewed"],
}
#: the old Facebook Insights "page data" export: daily rows, running totals and daily counts
_PAGE_METRICS: dict[str, list[str]] = {
    "followers": [
        "Lifetime Total Followers",
        "Lifetime Page Followers",
        "Page followers",
        "Total followers",
        "Followers",
        "Lifetime Total Likes",
    ],
    "page_likes": ["Lifetime Total Likes", "Page likes", "Total likes"],
    "followers_gained": ["Daily New Followers", "Daily New Likes", "New followers", "New likes"],
    "followers_lost": ["Daily Unfollows", "Daily Unlikes", "Unfollows", "Unlikes"],
    "engaged_users": ["Daily Page Engaged Users"],
    "reach": ["Daily Total Reach", "Daily Page Reach"],
    "reach_organic": ["Daily Organic Reach"],
    "reach_paid": ["Daily Paid Reach"],
    "impressions": ["Daily Total Impressions", "Daily Page Impressions"],
    "impressions_organic": ["Daily Organic impressions"],
    "impressions_paid": ["Daily Paid Impressions"],
    "page_views": ["Daily Total Views of the Page", "Daily Logged-in Page Views"],
}
_PAGE_SIGNATURE = [
    "lifetime total likes",
    "daily new likes",
    "daily unlikes",
    "daily page engaged users",
    "daily total reach",
    "daily total impressions",
    "lifetime total followers",
    "daily new followers",
]
#: Business Suite overview series: the title (without "Facebook"/"Instagram") → metric
_SERIES_TITLES = {
    "follows": "followers_gained",
    "new follows": "followers_gained",
    "new followers": "followers_gained",
    "unfollows": "followers_lost",
    "followers": "followers",
    "page followers": "followers",
    "page likes": "page_likes",
    "reach": "reach",
    "views": "impressions",
    "impressions": "impressions",
    "viewers": "viewers",
    "visits": "profile_visits",
    "page visits": "profile_visits",
    "profile visits": "profile_visits",
    "link clicks": "link_clicks",
    "content interactions": "engagements",
    "interactions": "engagements",
}
_MAY_BE_NEGATIVE = ("followers_net",)
_DYI_NAMES = re.compile(
    r"^(followers(_\d+)?|following|close_friends|connections|"
    r"(pending_|recent_)?follow_requests.*|recently_unfollowed.*|blocked.*|restricted.*|"
    r"hide_story_from|removed_suggestions)\.(json|html?)$",
    re.I,
)


def _post_header(head: bytes) -> Header | None:
    return find_header(
        head,
        [["post id", "media id"], ["publish time", "posted", "published"], ["permalink"]],
    )


def _page_header(head: bytes) -> Header | None:
    return find_header(head, [["date"], _PAGE_SIGNATURE])


def _series_header(head: bytes) -> Header | None:
    return find_header(head, [["date"], ["primary"]])


def _series_title(head: bytes, header: Header) -> str:
    """The metric's name on the line above ``"Date","Primary"`` (Business Suite overview export)."""
    _, text = decode(head)
    lines = text.splitlines()
    for line in reversed(lines[: header.line]):
        t = line.strip().strip('"').strip()
        if t and not t.lower().startswith("sep="):
            return t
    return ""


class MetaSource:
    name = "meta"
    description = (
        "Meta Business Suite post and page exports (Facebook, Instagram) and Instagram "
        "'Download your information' follower lists (JSON)"
    )
    detection_rule = (
        "CSV header with Post ID, Publish time (or Posted) and Permalink; or Date + Facebook "
        "page metrics (Lifetime Total Likes, Daily New Likes ...); or a 'sep=,' / metric name / "
        '"Date","Primary" overview export; or followers_N.json / following.json / '
        "close_friends.json / connections.json from Instagram's data download"
    )

    # -- detection ------------------------------------------------------------------------------
    @quiet_detect
    def detect(self, path: Path, head: bytes) -> Detection | None:
        suffix = path.suffix.lower()
        if suffix in (".json", ".html", ".htm"):
            return self._detect_dyi(path, head)
        h = _post_header(head)
        if h is not None:
            names = set(h.normed)
            owner = {"page id", "page name", "account id", "account username"}
            legacy = {"post message", "lifetime post total reach", "lifetime engaged users"}
            # Post ID + Publish time + Permalink + the page or account columns is Meta's alone
            # (an X posts export has Post id + Date + Impressions, never these)
            if names & owner:
                conf = 0.98
            elif names & legacy:
                conf = 0.97
            else:
                conf = 0.9
            platform = _platform_of(path, names)
            return Detection(self.name, conf, f"{platform} post export (Post ID, Permalink)", None)
        h = _page_header(head)
        if h is not None:
            return Detection(self.name, 0.95, "Facebook page-level daily insights", "metrics")
        h = _series_header(head)
        if h is not None:
            title = _series_title(head, h)
            conf = 0.93 if title else 0.6
            return Detection(
                self.name, conf, f"Business Suite daily series ({title or 'untitled'})", "metrics"
            )
        return None

    def _detect_dyi(self, path: Path, head: bytes) -> Detection | None:
        named = bool(_DYI_NAMES.match(path.name))
        in_folder = "followers_and_following" in {p.lower() for p in path.parts}
        if path.suffix.lower() in (".html", ".htm"):
            if named and (in_folder or path.name.lower().startswith("followers")):
                return Detection(self.name, 0.9, "Instagram data download (HTML)", "audience")
            return None
        _, text = decode(head)
        looks = "string_list_data" in text or '"relationships_' in text
        if not looks and path.name.lower() == "connections.json":
            looks = '"followers"' in text or '"following"' in text
        if not looks:
            return None
        conf = 0.96 if (named or in_folder) else 0.9
        return Detection(self.name, conf, "Instagram data download (JSON)", "audience")

    # -- staging --------------------------------------------------------------------------------
    def stage(self, ctx: StageContext) -> list[StagedTable]:
        path = ctx.path
        suffix = path.suffix.lower()
        if suffix in (".html", ".htm"):
            raise UnusableFile(
                str(path),
                "this is the HTML version of Instagram's data download, which truefans cannot "
                "read; download it again with Format: JSON (Accounts Center → Your information "
                "and permissions → Download your information) and import followers_1.json",
            )
        if suffix == ".json":
            return only_table(ctx, [self._stage_dyi(ctx)])
        head = read_head(path)
        h = _post_header(head)
        if h is not None:
            return only_table(ctx, self._stage_posts(ctx, h))
        h = _page_header(head)
        if h is not None:
            return only_table(ctx, [self._stage_page(ctx, h)])
        h = _series_header(head)
        if h is not None:
            return only_table(ctx, [self._stage_series(ctx, h, _series_title(head, h))])
        raise UnusableFile(
            str(path),
            "not a Meta export truefans knows: expected a post export (Post ID, Publish time, "
            "Permalink ...) or a page-level export (Date + metrics)",
        )

    def _stage_posts(self, ctx: StageContext, header: Header) -> list[StagedTable]:
        con, p = ctx.con, ctx.prefix
        raw = f"{p}_meta_raw"
        _, rejects, note = stage_csv(ctx, header, raw)
        names = raw_columns(con, raw)
        c = pick_columns(names, _POST_COLUMNS)
        m = pick_columns(names, _POST_METRICS, used=set(c.values()))
        shown = export_names(header, names)
        platform = _platform_of(ctx.path, set(names))
        key = nz(col(c["post_id"]))
        dropped = _drop_description_row(con, raw, key, [m[k] for k in m])
        pub = col(c["published"])
        ptype = f"lower(trim({col(c['post_type'])}))" if "post_type" in c else "NULL"
        channel = (
            f"(CASE WHEN {ptype} LIKE 'ig %' OR {ptype} LIKE 'instagram%' THEN 'instagram' "
            f"ELSE {lit(platform)} END)"
        )
        text = nz(col(c["text"])) if "text" in c else "CAST(NULL AS VARCHAR)"
        title = nz(col(c["title"])) if "title" in c else "CAST(NULL AS VARCHAR)"
        first_line = f"NULLIF(trim(left(split_part({text}, chr(10), 1), 120)), '')"
        fmt = (
            f"(CASE WHEN {ptype} IS NULL OR {ptype} = '' THEN 'post' "
            f"WHEN {ptype} LIKE '%reel%' THEN 'reel' "
            f"WHEN {ptype} LIKE '%carousel%' OR {ptype} LIKE '%album%' THEN 'carousel' "
            f"WHEN {ptype} LIKE '%video%' OR {ptype} LIKE '%live%' THEN 'video' "
            f"WHEN {ptype} LIKE '%photo%' OR {ptype} LIKE '%image%' THEN 'photo' "
            f"WHEN {ptype} LIKE '%link%' THEN 'link' "
            f"WHEN {ptype} LIKE '%story%' OR {ptype} LIKE '%stories%' THEN 'story' "
            f"WHEN {ptype} LIKE '%status%' OR {ptype} LIKE '%text%' THEN 'status' "
            f"ELSE regexp_replace({ptype}, '^ig ', '') END)"
        )
        topics = (
            f"NULLIF(array_to_string(list_sort(list_distinct(regexp_extract_all(lower({text}), "
            f"'#([\\pL\\pN_]+)', 1))), ','), '')"
        )
        pub_ts = ts_sql(pub, META_TIME_FORMATS)
        # the Date column says "Lifetime" (totals: dated on the publish date) or holds the day
        # of a per-day breakdown (metrics named <metric>_daily, so they never overwrite totals)
        if "date" in c:
            d = col(c["date"])
            lifetime = f"({nz(d)} IS NULL OR NOT regexp_matches({d}, '\\d'))"
            day = (
                f"(CASE WHEN {lifetime} THEN strftime(CAST({pub_ts} AS DATE), '%Y-%m-%d') "
                f"ELSE coalesce(strftime(CAST({ts_sql(d, META_TIME_FORMATS)} AS DATE), "
                f"'%Y-%m-%d'), trim({d})) END)"
            )
            suffix = f"(CASE WHEN {lifetime} THEN '' ELSE '_daily' END)"
        else:
            day = f"strftime(CAST({pub_ts} AS DATE), '%Y-%m-%d')"
            suffix = "''"
        base_rel = f"{p}_meta_base"
        base = col(base_rel)
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {base} AS
            SELECT __row, {channel} AS channel_id, {key} AS pid, {day} AS day,
                   {suffix} AS __suffix, * EXCLUDE (__row)
            FROM {col(raw)}"""
        )
        contents = f"{p}_meta_contents"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {col(contents)} AS
            SELECT __row,
                   CASE WHEN pid IS NOT NULL THEN channel_id || ':' || pid END AS content_id,
                   channel_id,
                   {ts_text_sql(pub, META_TIME_FORMATS)} AS published_at,
                   {fmt} AS format,
                   coalesce({title}, {first_line}) AS title,
                   {nz(col(c["permalink"]))} AS url,
                   {text} AS text,
                   {topics} AS topics
            FROM {base} ORDER BY __row"""
        )
        metrics_rel = f"{p}_meta_metrics"
        sel = metric_cells_sql(m)
        base_sql = (
            f"SELECT __row, channel_id, channel_id || ':' || pid AS content_id, day AS date, "
            f"__suffix{', ' + sel if sel else ''} FROM {base} "
            f"WHERE pid IS NOT NULL AND day IS NOT NULL AND {pub_ts} IS NOT NULL"
        )
        date_column = shown.get(c.get("date", ""), "Date") if "date" in c else "Publish time"
        mrejects = _stage_counts(con, metrics_rel, base_sql, m, shown, date_column)
        drop(con, base_rel, raw)
        notes = [note] if note else []
        if dropped:
            notes.append("skipped the row of column descriptions under the header")
        unused = [
            n
            for n in names
            if n not in c.values() and n not in m.values() and n not in _IGNORED_POST_COLUMNS
        ]
        if unused:
            notes.append("columns not read: " + ", ".join(shown.get(u, u) for u in unused[:12]))
        return [
            staged_table(con, "contents", contents, rejects, notes, local_times=True),
            staged_table(con, "metrics", metrics_rel, mrejects),
        ]

    def _stage_page(self, ctx: StageContext, header: Header) -> StagedTable:
        con, p = ctx.con, ctx.prefix
        raw = f"{p}_meta_raw"
        _, rejects, note = stage_csv(ctx, header, raw)
        names = raw_columns(con, raw)
        date_col = pick_columns(names, {"date": ["Date"]})["date"]
        m = pick_columns(names, _PAGE_METRICS, used={date_col})
        dropped = _drop_description_row(con, raw, nz(col(date_col)), list(m.values()))
        platform = _platform_of(ctx.path, set(names))
        shown = export_names(header, names)
        rel, mrejects = _stage_channel_metrics(
            ctx, raw, platform, date_col, m, shown, shown.get(date_col, "Date")
        )
        notes = [note] if note else []
        if dropped:
            notes.append("skipped the row of column descriptions under the header")
        return staged_table(con, "metrics", rel, rejects + mrejects, notes)

    def _stage_series(self, ctx: StageContext, header: Header, title: str) -> StagedTable:
        con, p = ctx.con, ctx.prefix
        raw = f"{p}_meta_raw"
        _, rejects, note = stage_csv(ctx, header, raw)
        names = raw_columns(con, raw)
        cols = pick_columns(names, {"date": ["Date"], "value": ["Primary"]})
        t = norm(title)
        platform = "instagram" if "instagram" in t else _platform_of(ctx.path, set())
        bare = re.sub(r"^(facebook|instagram)\s+", "", t)
        metric = _SERIES_TITLES.get(bare) or re.sub(r"[^a-z0-9]+", "_", bare).strip("_")
        if not metric:
            raise UnusableFile(
                str(ctx.path),
                "a Date/Primary series without the metric's name on the line above the header; "
                "export it again from Business Suite without editing it",
            )
        rel, mrejects = _stage_channel_metrics(
            ctx,
            raw,
            platform,
            cols["date"],
            {metric: cols["value"]},
            {cols["value"]: f"{title} (Primary)"},
            "Date",
        )
        notes = [note] if note else []
        if metric == "followers" and not _looks_like_running_total(con, rel):
            # a "followers" chart of small day-to-day counts is the day's new followers
            con.execute(f"UPDATE {col(rel)} SET metric = 'followers_gained'")
            metric = "followers_gained"
        notes.append(f"series '{title}' read as metric {metric} on {platform}")
        return staged_table(con, "metrics", rel, rejects + mrejects, notes)

    def _stage_dyi(self, ctx: StageContext) -> StagedTable:
        path = ctx.path
        try:
            _, text = decode(path.read_bytes())
            data = json.loads(text)
        except (OSError, ValueError) as e:
            raise UnusableFile(str(path), f"not readable JSON ({e})") from e
        kind, entries = _dyi_entries(data, path.name)
        rel = f"{ctx.prefix}_meta_audience"
        if kind != "followers":
            register_rows(
                ctx.con,
                rel,
                [],
                {"channel_id": [], "followed_at": [], "__handle": [], "__platform": []},
            )
            what = {
                "following": "the accounts you follow",
                "close_friends": "your close friends list",
            }.get(kind, f"your '{kind}' list")
            return StagedTable(
                "audience",
                rel,
                0,
                note=f"{path.name} holds {what}, not your followers: nothing imported "
                "(import followers_1.json, followers_2.json ... for your Instagram audience)",
                primary_identity="handle",
            )
        rows = list(range(1, len(entries) + 1))
        register_rows(
            ctx.con,
            rel,
            rows,
            {
                "channel_id": ["instagram"] * len(entries),
                "followed_at": [e[1] for e in entries],
                "__handle": [e[0] for e in entries],
                "__platform": ["instagram"] * len(entries),
            },
        )
        return StagedTable(
            "audience",
            rel,
            len(entries),
            primary_identity="handle",
            local_times=False,  # Unix timestamps: UTC
        )


#: post-export columns that are neither content nor metrics (not worth a note)
_IGNORED_POST_COLUMNS = {
    norm(c)
    for c in (
        "Page ID",
        "Page name",
        "Account ID",
        "Account username",
        "Account name",
        "Duration (sec)",
        "Caption type",
        "Is crosspost",
        "Is share",
        "Languages",
        "Custom labels",
        "Funded content status",
        "Data comment",
        "Countries",
        "Audience Targeting",
        "Lifetime Post Consumers",
    )
}


def _platform_of(path: Path, names: set[str]) -> str:
    if names & {"account id", "account username", "account name"}:
        return "instagram"
    if names & {"page id", "page name", "post message", "lifetime post total reach"}:
        return "facebook"
    stem = path.name.lower()
    if "instagram" in stem or re.search(r"(^|[^a-z])ig([^a-z]|$)", stem):
        return "instagram"
    return "facebook"


def _looks_like_running_total(con: duckdb.DuckDBPyConnection, rel: str) -> bool:
    """A running total is large next to its day-to-day changes and (almost) never zero; a
    series of the day's new followers is not."""
    row = con.execute(
        f"""SELECT min(v), median(v), median(abs(d)) FROM (
              SELECT TRY_CAST(value AS DOUBLE) AS v,
                     TRY_CAST(value AS DOUBLE) - lag(TRY_CAST(value AS DOUBLE))
                         OVER (ORDER BY date) AS d
              FROM {col(rel)})"""
    ).fetchone()
    if not row or row[0] is None:
        return False
    low, mid, step = row
    return bool(low > 0 and (step is None or step <= 0.2 * mid))


def _stage_counts(
    con: duckdb.DuckDBPyConnection,
    rel: str,
    base_sql: str,
    columns: Mapping[str, str],
    shown: Mapping[str, str],
    date_column: str,
) -> list[Reject]:
    """:func:`~truefans.ingest.common.stage_metric_rows` of Meta's counts: ``columns`` maps
    metric → staged column, ``shown`` a staged column → its name in the export. Returns the
    rejects."""
    _, rejects = stage_metric_rows(
        con,
        rel,
        base_sql,
        {metric: number_text_sql("__v__") for metric in columns},
        export_names={k: shown.get(v, v) for k, v in columns.items()},
        date_column=date_column,
        may_be_negative=_MAY_BE_NEGATIVE,
    )
    return rejects


def _stage_channel_metrics(
    ctx: StageContext,
    raw: str,
    platform: str,
    date_col: str,
    columns: Mapping[str, str],
    shown: Mapping[str, str],
    date_column: str,
) -> tuple[str, list[Reject]]:
    """(staged table, rejects) of channel-level daily metrics (no content): ``columns`` of the
    raw table ``raw``, which is dropped."""
    rel = f"{ctx.prefix}_meta_metrics"
    base_sql = (
        f"SELECT __row, {lit(platform)} AS channel_id, CAST(NULL AS VARCHAR) AS content_id, "
        f"{_day_text_sql(col(date_col))} AS date, '' AS __suffix, {metric_cells_sql(columns)} "
        f"FROM {col(raw)}"
    )
    rejects = _stage_counts(ctx.con, rel, base_sql, columns, shown, date_column)
    drop(ctx.con, raw)
    return rel, rejects


def _day_text_sql(x: str) -> str:
    parsed = ts_sql(x, META_TIME_FORMATS)
    return f"coalesce(strftime(CAST({parsed} AS DATE), '%Y-%m-%d'), {nz(x)})"


def _drop_description_row(
    con: duckdb.DuckDBPyConnection, raw: str, key_sql: str, metric_cols: list[str]
) -> bool:
    """Facebook Insights exports put a row of column descriptions ("Lifetime: The number of
    people who ...") under the header: drop the first data row when its key is empty and a
    metric cell holds prose instead of a number."""
    if not metric_cols:
        return False
    prose = " OR ".join(
        f"(TRY_CAST(regexp_replace(trim({col(c)}), '[,%\\s]', '', 'g') AS DOUBLE) IS NULL "
        f"AND length(trim({col(c)})) >= 20 AND contains(trim({col(c)}), ' '))"
        for c in metric_cols
    )
    where = f"__row = (SELECT min(__row) FROM {col(raw)}) AND {key_sql} IS NULL AND ({prose})"
    if count_rows(con, raw, where):
        con.execute(f"DELETE FROM {col(raw)} WHERE {where}")
        return True
    return False


# -- Instagram "Download your information" ---------------------------------------------------------


def _dyi_entries(data: Any, filename: str) -> tuple[str, list[tuple[str | None, str | None]]]:
    """(list kind, [(handle, followed_at text)]) for every layout of the follower files seen:
    a top-level list (followers_N.json, 2022+), ``{"relationships_<kind>": [...]}`` (following,
    close friends, older followers), and the 2019–2020 ``connections.json``
    (``{"followers": {"handle": "2019-05-01T10:00:00+00:00"}}``)."""
    name = filename.lower()
    if isinstance(data, list):
        kind = "followers" if name.startswith("follower") else _kind_from_name(name)
        return kind, [_entry(e) for e in data]
    if isinstance(data, dict):
        rel_keys = [k for k in data if k.startswith("relationships_")]
        if rel_keys:
            k = rel_keys[0]
            kind = k.removeprefix("relationships_")
            items = data[k] if isinstance(data[k], list) else []
            return kind, [_entry(e) for e in items]
        if isinstance(data.get("followers"), (dict, list)):
            if isinstance(data["followers"], dict):
                return "followers", [
                    (_clean_handle(h), str(ts) if ts is not None else None)
                    for h, ts in data["followers"].items()
                ]
            return "followers", [_entry(e) for e in data["followers"]]
        if isinstance(data.get("following"), dict):
            return "following", []
    raise UnusableFile(
        filename,
        "not a follower list from Instagram's data download (expected a list of entries with "
        "string_list_data, or a relationships_* key)",
    )


def _kind_from_name(name: str) -> str:
    stem = name.rsplit(".", 1)[0]
    return re.sub(r"_\d+$", "", stem)


def _entry(e: Any) -> tuple[str | None, str | None]:
    if not isinstance(e, dict):
        return None, None
    sld = e.get("string_list_data") or [{}]
    first = sld[0] if isinstance(sld, list) and sld and isinstance(sld[0], dict) else {}
    handle = first.get("value") or e.get("title") or _handle_from_href(first.get("href"))
    ts = first.get("timestamp")
    when: str | None
    if isinstance(ts, (int, float)) and not isinstance(ts, bool):
        try:
            when = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        except (OverflowError, OSError, ValueError):
            when = str(ts)
    elif ts in (None, ""):
        when = None
    else:
        when = str(ts)
    return _clean_handle(handle), when


def _handle_from_href(href: Any) -> str | None:
    if not isinstance(href, str) or not href.strip():
        return None
    parts = [s for s in re.sub(r"^[a-z]+://[^/]+", "", href.strip()).split("/") if s]
    parts = [s for s in parts if s != "_u"]
    return parts[-1] if parts else None


def _clean_handle(h: Any) -> str | None:
    if not isinstance(h, str):
        return None
    h = fix_mojibake(h).strip()
    return h or None


register(MetaSource())
