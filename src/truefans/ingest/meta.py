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
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ..errors import UnusableFile
from .common import (
    Header,
    decode,
    find_header,
    fix_mojibake,
    norm,
    register_rows,
    stage_csv,
)
from .registry import Detection, StageContext, StagedTable, register

# -- helpers shared with the YouTube source -------------------------------------------------------

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
_OFFSET_RX = r"\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|[+-]\d\d:?\d\d)$"


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def blank(x: str) -> str:
    """SQL: the trimmed text, NULL when empty."""
    return f"NULLIF(trim({x}), '')"


def parsed_ts_sql(x: str, formats: Sequence[str]) -> str:
    """SQL: a naive TIMESTAMP from the first matching format or ISO 8601 (wall time kept when the
    value carries an offset); NULL when nothing matches."""
    tries = [f"try_strptime(trim({x}), {lit(f)})" for f in formats]
    tries.append(f"TRY_CAST(trim({x}) AS TIMESTAMP)")
    return "CAST(coalesce(" + ", ".join(tries) + ") AS TIMESTAMP)"


def ts_text_sql(x: str, formats: Sequence[str]) -> str:
    """SQL: ISO text for the loader. Values with a UTC offset pass as they are (the loader applies
    the offset); others are normalised; unreadable ones stay raw so the loader's reject shows them."""
    iso = f"strftime({parsed_ts_sql(x, formats)}, '%Y-%m-%dT%H:%M:%S')"
    return (
        f"(CASE WHEN {blank(x)} IS NULL THEN NULL "
        f"WHEN regexp_matches(trim({x}), {lit(_OFFSET_RX)}) "
        f"AND TRY_CAST(trim({x}) AS TIMESTAMPTZ) IS NOT NULL THEN trim({x}) "
        f"ELSE coalesce({iso}, trim({x})) END)"
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


def pick_columns(
    available: Iterable[str], aliases: Mapping[str, Sequence[str]], used: set[str] | None = None
) -> dict[str, str]:
    """Like :func:`~truefans.ingest.common.pick` but each export column is used once, in the
    order of ``aliases`` (so ``Lifetime Total Likes`` is followers only when no followers column
    exists). Returns only the wanted names found."""
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


def stage_metric_rows(
    con: duckdb.DuckDBPyConnection,
    rel: str,
    base_sql: str,
    metrics: Mapping[str, str],
    *,
    export_names: Mapping[str, str],
    date_column: str = "date",
    may_be_negative: Iterable[str] = (),
) -> tuple[int, list[tuple[int, str, str, str]]]:
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
            f"CREATE OR REPLACE TEMP TABLE {q(rel)} (__row BIGINT, channel_id VARCHAR, "
            "content_id VARCHAR, date VARCHAR, metric VARCHAR, value VARCHAR)"
        )
        return 0, []
    on = ", ".join(q(m) for m in metrics)
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
        f"""CREATE OR REPLACE TEMP TABLE {q(rel)} AS
        SELECT *, {reason} AS __reason FROM (
          SELECT __row, channel_id, content_id, date, metric || coalesce(__suffix, '') AS metric,
                 metric AS __base, {value} AS value, {column} AS __col
          FROM (UNPIVOT ({base_sql}) ON {on} INTO NAME metric VALUE raw)
          WHERE NULLIF(trim(raw), '') IS NOT NULL)
        ORDER BY __row, metric"""
    )
    bad = con.execute(
        f"SELECT __row, __reason, __base, __col, value, date FROM {q(rel)} "
        "WHERE __reason IS NOT NULL ORDER BY __row, __col"
    ).fetchall()
    rejects = [
        (
            int(r),
            "date" if why.startswith(date_column + ": not a date") else "value",
            why,
            json.dumps({"metric": m, "column": col, "value": v, "date": d}),
        )
        for r, why, m, col, v, d in bad
    ]
    if bad:
        con.execute(f"DELETE FROM {q(rel)} WHERE __reason IS NOT NULL")
    for extra in ("__reason", "__base", "__col"):
        con.execute(f"ALTER TABLE {q(rel)} DROP COLUMN {extra}")
    return count_rows(con, rel) + len(rejects), rejects


def export_names(header: Header, staged: Sequence[str]) -> dict[str, str]:
    """Staged (normalised) column name → the column's name as the export writes it."""
    cols = [c.replace("\ufeff", "").strip() for c in header.columns]
    return dict(zip(staged, cols, strict=False))


def count_rows(con: duckdb.DuckDBPyConnection, rel: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {q(rel)}").fetchone()
    return int(row[0]) if row else 0


def only_table(ctx: StageContext, staged: list[StagedTable]) -> list[StagedTable]:
    """Honour ``--table``: keep only the staged table asked for (drop the others' temp tables)."""
    if not ctx.table:
        return staged
    keep = [s for s in staged if s.table == ctx.table]
    for s in staged:
        if s not in keep:
            ctx.con.execute(f"DROP TABLE IF EXISTS {q(s.relation)}")
    if not keep:
        raise UnusableFile(
            str(ctx.path),
            f"this file gives {', '.join(s.table for s in staged)}, not {ctx.table}",
        )
    return keep


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
    def detect(self, path: Path, head: bytes) -> Detection | None:
        try:
            return self._detect(path, head)
        except Exception:
            return None

    def _detect(self, path: Path, head: bytes) -> Detection | None:
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
        with path.open("rb") as fh:
            head = fh.read(65536)
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
        staged_names = [r[0] for r in con.execute(f"DESCRIBE {q(raw)}").fetchall()]
        names = [c for c in staged_names if c != "__row"]
        c = pick_columns(names, _POST_COLUMNS)
        m = pick_columns(names, _POST_METRICS, used=set(c.values()))
        shown = export_names(header, names)
        platform = _platform_of(ctx.path, set(names))
        key = blank(q(c["post_id"]))
        dropped = _drop_description_row(con, raw, key, [m[k] for k in m])
        pub = q(c["published"])
        ptype = f"lower(trim({q(c['post_type'])}))" if "post_type" in c else "NULL"
        channel = (
            f"(CASE WHEN {ptype} LIKE 'ig %' OR {ptype} LIKE 'instagram%' THEN 'instagram' "
            f"ELSE {lit(platform)} END)"
        )
        text = blank(q(c["text"])) if "text" in c else "CAST(NULL AS VARCHAR)"
        title = blank(q(c["title"])) if "title" in c else "CAST(NULL AS VARCHAR)"
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
        pub_ts = parsed_ts_sql(pub, META_TIME_FORMATS)
        # the Date column says "Lifetime" (totals: dated on the publish date) or holds the day
        # of a per-day breakdown (metrics named <metric>_daily, so they never overwrite totals)
        if "date" in c:
            d = q(c["date"])
            lifetime = f"({blank(d)} IS NULL OR NOT regexp_matches({d}, '\\d'))"
            day = (
                f"(CASE WHEN {lifetime} THEN strftime(CAST({pub_ts} AS DATE), '%Y-%m-%d') "
                f"ELSE coalesce(strftime(CAST({parsed_ts_sql(d, META_TIME_FORMATS)} AS DATE), "
                f"'%Y-%m-%d'), trim({d})) END)"
            )
            suffix = f"(CASE WHEN {lifetime} THEN '' ELSE '_daily' END)"
        else:
            day = f"strftime(CAST({pub_ts} AS DATE), '%Y-%m-%d')"
            suffix = "''"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {q(p + "_meta_base")} AS
            SELECT __row, {channel} AS channel_id, {key} AS pid, {day} AS day,
                   {suffix} AS __suffix, * EXCLUDE (__row)
            FROM {q(raw)}"""
        )
        base = q(p + "_meta_base")
        contents = f"{p}_meta_contents"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {q(contents)} AS
            SELECT __row,
                   CASE WHEN pid IS NOT NULL THEN channel_id || ':' || pid END AS content_id,
                   channel_id,
                   {ts_text_sql(pub, META_TIME_FORMATS)} AS published_at,
                   {fmt} AS format,
                   coalesce({title}, {first_line}) AS title,
                   {blank(q(c["permalink"]))} AS url,
                   {text} AS text,
                   {topics} AS topics
            FROM {base} ORDER BY __row"""
        )
        metrics_rel = f"{p}_meta_metrics"
        sel = ", ".join(f"{blank(q(col))} AS {q(metric)}" for metric, col in m.items())
        base_sql = (
            f"SELECT __row, channel_id, channel_id || ':' || pid AS content_id, day AS date, "
            f"__suffix{', ' + sel if sel else ''} FROM {base} "
            f"WHERE pid IS NOT NULL AND day IS NOT NULL AND {pub_ts} IS NOT NULL"
        )
        mrows, mrejects = stage_metric_rows(
            con,
            metrics_rel,
            base_sql,
            {metric: number_text_sql("__v__") for metric in m},
            export_names={k: shown.get(v, v) for k, v in m.items()},
            date_column=shown.get(c.get("date", ""), "Date") if "date" in c else "Publish time",
            may_be_negative=_MAY_BE_NEGATIVE,
        )
        con.execute(f"DROP TABLE IF EXISTS {base}")
        con.execute(f"DROP TABLE IF EXISTS {q(raw)}")
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
            StagedTable(
                "contents",
                contents,
                count_rows(con, contents) + len(rejects),
                rejects=rejects,
                note="; ".join(notes),
                local_times=True,
            ),
            StagedTable("metrics", metrics_rel, mrows, rejects=mrejects),
        ]

    def _stage_page(self, ctx: StageContext, header: Header) -> StagedTable:
        con, p = ctx.con, ctx.prefix
        raw = f"{p}_meta_raw"
        _, rejects, note = stage_csv(ctx, header, raw)
        names = [r[0] for r in con.execute(f"DESCRIBE {q(raw)}").fetchall() if r[0] != "__row"]
        date_col = pick_columns(names, {"date": ["Date"]})["date"]
        m = pick_columns(names, _PAGE_METRICS, used={date_col})
        dropped = _drop_description_row(con, raw, blank(q(date_col)), list(m.values()))
        platform = _platform_of(ctx.path, set(names))
        shown = export_names(header, names)
        rel = f"{p}_meta_metrics"
        sel = ", ".join(f"{blank(q(col))} AS {q(metric)}" for metric, col in m.items())
        day = _day_text_sql(q(date_col))
        base_sql = (
            f"SELECT __row, {lit(platform)} AS channel_id, CAST(NULL AS VARCHAR) AS content_id, "
            f"{day} AS date, '' AS __suffix, {sel} FROM {q(raw)}"
        )
        rows, mrejects = stage_metric_rows(
            con,
            rel,
            base_sql,
            {metric: number_text_sql("__v__") for metric in m},
            export_names={k: shown.get(v, v) for k, v in m.items()},
            date_column=shown.get(date_col, "Date"),
            may_be_negative=_MAY_BE_NEGATIVE,
        )
        con.execute(f"DROP TABLE IF EXISTS {q(raw)}")
        notes = [note] if note else []
        if dropped:
            notes.append("skipped the row of column descriptions under the header")
        return StagedTable(
            "metrics", rel, rows + len(rejects), rejects=rejects + mrejects, note="; ".join(notes)
        )

    def _stage_series(self, ctx: StageContext, header: Header, title: str) -> StagedTable:
        con, p = ctx.con, ctx.prefix
        raw = f"{p}_meta_raw"
        _, rejects, note = stage_csv(ctx, header, raw)
        names = [r[0] for r in con.execute(f"DESCRIBE {q(raw)}").fetchall() if r[0] != "__row"]
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
        rel = f"{p}_meta_metrics"
        base_sql = (
            f"SELECT __row, {lit(platform)} AS channel_id, CAST(NULL AS VARCHAR) AS content_id, "
            f"{_day_text_sql(q(cols['date']))} AS date, '' AS __suffix, "
            f"{blank(q(cols['value']))} AS {q(metric)} FROM {q(raw)}"
        )
        rows, mrejects = stage_metric_rows(
            con,
            rel,
            base_sql,
            {metric: number_text_sql("__v__")},
            export_names={metric: f"{title} (Primary)"},
            date_column="Date",
            may_be_negative=_MAY_BE_NEGATIVE,
        )
        con.execute(f"DROP TABLE IF EXISTS {q(raw)}")
        notes = [note] if note else []
        if metric == "followers" and not _looks_like_running_total(con, rel):
            # a "followers" chart of small day-to-day counts is the day's new followers
            con.execute(f"UPDATE {q(rel)} SET metric = 'followers_gained'")
            metric = "followers_gained"
        notes.append(f"series '{title}' read as metric {metric} on {platform}")
        return StagedTable(
            "metrics", rel, rows + len(rejects), rejects=rejects + mrejects, note="; ".join(notes)
        )

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
              FROM {q(rel)})"""
    ).fetchone()
    if not row or row[0] is None:
        return False
    low, mid, step = row
    return bool(low > 0 and (step is None or step <= 0.2 * mid))


def _day_text_sql(x: str) -> str:
    parsed = parsed_ts_sql(x, META_TIME_FORMATS)
    return f"coalesce(strftime(CAST({parsed} AS DATE), '%Y-%m-%d'), {blank(x)})"


def _drop_description_row(
    con: duckdb.DuckDBPyConnection, raw: str, key_sql: str, metric_cols: list[str]
) -> bool:
    """Facebook Insights exports put a row of column descriptions ("Lifetime: The number of
    people who ...") under the header: drop the first data row when its key is empty and a
    metric cell holds prose instead of a number."""
    if not metric_cols:
        return False
    prose = " OR ".join(
        f"(TRY_CAST(regexp_replace(trim({q(col)}), '[,%\\s]', '', 'g') AS DOUBLE) IS NULL "
        f"AND length(trim({q(col)})) >= 20 AND contains(trim({q(col)}), ' '))"
        for col in metric_cols
    )
    where = f"__row = (SELECT min(__row) FROM {q(raw)}) AND {key_sql} IS NULL AND ({prose})"
    row = con.execute(f"SELECT count(*) FROM {q(raw)} WHERE {where}").fetchone()
    if row and row[0]:
        con.execute(f"DELETE FROM {q(raw)} WHERE {where}")
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
