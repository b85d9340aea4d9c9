"""X (Twitter): the analytics CSV exports and the account archive.

Analytics (CSV, read set-based with DuckDB):

* post analytics, ``account_analytics_content_<start>_<end>.csv`` (X Premium analytics, 2024+)
  and the legacy ``tweet_activity_metrics_<handle>_<start>_<end>_<lang>.csv`` (to 2023) ->
  ``contents`` (one per post, ``x:<post id>``; the 19-digit id is kept as text, never a number)
  and per-post ``metrics`` (impressions, engagements, likes, reposts, replies, ... : totals at
  export time, dated on the post's day).
* account overview, ``account_overview_analytics_<start>_<end>.csv`` -> daily account
  ``metrics`` (impressions, ... ``followers_gained`` from *New follows*, ``followers_lost`` from
  *Unfollows*).

Archive ("Download an archive of your data", ``data/*.js``: JSON behind
``window.YTD.<name>.partN =``):

* ``follower.js`` -> ``audience`` on channel ``x``; the archive holds only account ids, so the
  identity is the account id as an X handle (no follow date is given).
* ``tweets.js`` (older archives: ``tweet.js``) -> ``contents`` + ``likes``/``reposts`` metrics;
  your replies to other accounts -> ``touchpoints`` of kind ``reply`` with that account (by id).
  Retweets of others' posts and replies in your own threads are left out.
* ``direct-messages.js`` -> ``touchpoints`` of kind ``message`` with the other party (by id).
* ``following.js`` (accounts you follow) holds nothing truefans stores: recognised and skipped
  with a note. The other archive files are not recognised (a folder or zip import passes over
  them).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ..errors import UnusableFile
from .common import Header, decode, find_header, pick, read_head, register_rows, stage_csv
from .registry import Detection, StageContext, StagedTable, register

SOURCE = "x"
CHANNEL = "x"

Reject = tuple[int, str, str, str]

POSTS = "posts"  # Premium analytics content CSV
LEGACY = "legacy"  # analytics.twitter.com tweet activity CSV
OVERVIEW = "overview"
ARCHIVE = "archive"

_SIGNATURES: list[tuple[str, list[list[str]], float]] = [
    (
        POSTS,
        [
            ["post id"],
            ["date"],
            ["impressions"],
            ["post link", "post text", "new follows", "detail expands"],
        ],
        0.96,
    ),
    (LEGACY, [["tweet id"], ["time"], ["impressions"]], 0.96),
    (
        OVERVIEW,
        [
            ["date"],
            ["impressions"],
            ["new follows"],
            ["unfollows", "create post", "profile visits"],
        ],
        0.93,
    ),
]
_POST_ALIASES = {
    "id": ["Post id", "Tweet id"],
    "date": ["Date", "time"],
    "text": ["Post text", "Tweet text"],
}
#: analytics column (normed) -> metric name
_METRICS = {
    "impressions": "impressions",
    "engagements": "engagements",
    "engagement rate": "engagement_rate",
    "likes": "likes",
    "bookmarks": "bookmarks",
    "shares": "shares",
    "new follows": "followers_gained",
    "follows": "followers_gained",
    "unfollows": "followers_lost",
    "replies": "replies",
    "reposts": "reposts",
    "retweets": "reposts",
    "profile visits": "profile_visits",
    "user profile clicks": "profile_visits",
    "detail expands": "detail_expands",
    "url clicks": "url_clicks",
    "hashtag clicks": "hashtag_clicks",
    "permalink clicks": "permalink_clicks",
    "app opens": "app_opens",
    "app installs": "app_installs",
    "email tweet": "email_shares",
    "dial phone": "phone_dials",
    "media views": "media_views",
    "media engagements": "media_engagements",
    "video views": "video_views",
    "create post": "posts_created",
}
# "Mon, Mar 4, 2024" (Premium analytics); other spellings seen in hand-edited files
_DAY_FORMATS = ["%a, %b %d, %Y", "%b %d, %Y", "%Y-%m-%d", "%m/%d/%Y", "%d %b %Y"]
# legacy "2024-01-05 14:00:00 +0000"
_LEGACY_FORMATS = ["%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z", "%Y-%m-%dT%H:%M:%S%z"]

_YTD = re.compile(rb"^\s*(?:\xef\xbb\xbf)?\s*window\.YTD\.([A-Za-z0-9_]+)\.part(\d+)\s*=")
_ARCHIVE_USED = {"follower", "following", "tweets", "tweet", "direct_messages"}


def _q(name: str | None) -> str:
    if name is None:
        return "CAST(NULL AS VARCHAR)"
    return '"' + name.replace('"', '""') + '"'


def _s(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _blank(x: str) -> str:
    return f"NULLIF(trim({x}), '')"


def _try(x: str, formats: Sequence[str]) -> str:
    return "coalesce(" + ", ".join(f"try_strptime(trim({x}), {_s(f)})" for f in formats) + ")"


class XSource:
    name = SOURCE
    description = (
        "X (Twitter) analytics CSVs (post content, account overview, legacy tweet activity) "
        "and account archive files (follower.js, tweets.js, direct-messages.js)"
    )
    detection_rule = (
        "CSV with X's analytics header (Post id / Tweet id + Date / time + Impressions; or Date, "
        "Impressions, New follows, Unfollows/Create Post), or a JavaScript file starting "
        "'window.YTD.<name>.partN ='"
    )

    def detect(self, path: Path, head: bytes) -> Detection | None:
        try:
            kind, conf, why, table = _kind(head)
        except Exception:
            return None
        if kind is None:
            return None
        return Detection(self.name, conf, why, table)

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        head = read_head(ctx.path)
        kind, _, _, _ = _kind(head)
        if kind is None:
            raise UnusableFile(str(ctx.path), "not an X export this source knows")
        if kind == ARCHIVE:
            return _stage_archive(ctx)
        required = next(r for k, r, _ in _SIGNATURES if k == kind)
        header = find_header(head, required)
        assert header is not None
        if kind == OVERVIEW:
            return [_stage_overview(ctx, header)]
        return _stage_posts(ctx, header, legacy=kind == LEGACY)


def _kind(head: bytes) -> tuple[str | None, float, str, str | None]:
    found = _YTD.match(head)
    if found:
        name = found.group(1).decode()
        if name in _ARCHIVE_USED:
            tables = {"follower": "audience", "following": "audience", "direct_messages": None}
            return ARCHIVE, 0.97, f"X archive file ({name})", tables.get(name, "contents")
        return None, 0.0, "", None  # the rest of the archive: passed over in a folder or zip
    for kind, required, conf in _SIGNATURES:
        if find_header(head, required, max_lines=5) is not None:
            table = "metrics" if kind == OVERVIEW else "contents"
            return kind, conf, f"X analytics CSV ({kind})", table
    return None, 0.0, "", None


# -- analytics CSVs --------------------------------------------------------------------------
def _value_sql(raw: str) -> str:
    """SQL: a count or rate from text ('1,234', '1234.0', '6.1%'); NULL if empty or unreadable."""
    t = f"trim({raw})"
    return (
        f"CASE WHEN {raw} IS NULL OR {t} IN ('', '-') THEN NULL "
        f"WHEN suffix({t}, '%') THEN TRY_CAST(replace(rtrim({t}, '%'), ',', '') AS DOUBLE) / 100 "
        f"ELSE TRY_CAST(replace({t}, ',', '') AS DOUBLE) END"
    )


def _unpivot(
    ctx: StageContext,
    raw: str,
    columns: Mapping[str, str],
    content_sql: str,
    day_sql: str,
    valid_sql: str,
    out: str,
) -> tuple[int, list[Reject]]:
    """Unpivot ``columns`` (staged column -> metric) of the valid rows of ``raw`` into ``out``.

    A row with an unreadable or negative value is rejected whole (one reject naming its
    columns). Several staged metric rows share their file row's ``__row``.
    """
    con = ctx.con
    long = f"{out}_long"
    cols = list(columns)
    metrics = "[" + ", ".join(_s(columns[c]) for c in cols) + "]"
    labels = "[" + ", ".join(_s(c) for c in cols) + "]"
    values = "[" + ", ".join(f"CAST({_q(c)} AS VARCHAR)" for c in cols) + "]"
    order = "[" + ", ".join(str(i) for i in range(len(cols))) + "]"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE "{long}" AS
        SELECT __row, cid, day, metric, label, ord, raw, {_value_sql("raw")} AS v FROM (
          SELECT __row, {content_sql} AS cid, {day_sql} AS day,
                 unnest({metrics}) AS metric, unnest({labels}) AS label,
                 unnest({order}) AS ord, unnest({values}) AS raw
          FROM "{raw}" WHERE {valid_sql})"""
    )
    bad_cond = "(raw IS NOT NULL AND trim(raw) NOT IN ('', '-') AND (v IS NULL OR NOT isfinite(v) OR v < 0))"
    rejects = [
        (int(r[0]), str(r[1]), str(r[2]), str(r[3]))
        for r in con.execute(
            f"""SELECT b.__row, b.cols, b.why, CAST(to_json(s) AS VARCHAR) FROM (
                  SELECT __row, string_agg(label, ', ' ORDER BY ord) AS cols,
                         string_agg(label || ': ' || CASE WHEN v < 0 THEN 'negative'
                                    ELSE 'not a number' END || ': ''' || left(raw, 60) || '''',
                                    '; ' ORDER BY ord) AS why
                  FROM "{long}" WHERE {bad_cond} GROUP BY __row) b
                JOIN "{raw}" s ON s.__row = b.__row ORDER BY b.__row"""
        ).fetchall()
    ]
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE "{out}" AS
        SELECT __row, {_s(CHANNEL)} AS channel_id,
               cid AS content_id, day AS date, metric, CAST(v AS VARCHAR) AS value
        FROM "{long}"
        WHERE v IS NOT NULL AND __row NOT IN (SELECT __row FROM "{long}" WHERE {bad_cond})
        ORDER BY __row, ord"""
    )
    con.execute(f'DROP TABLE "{long}"')
    row = con.execute(f'SELECT count(*) FROM "{out}"').fetchone()
    return (int(row[0]) if row else 0), rejects


def _metric_columns(header: Header, skip: Sequence[str | None]) -> dict[str, str]:
    names = [n for n in _unique_normed(header) if n not in skip]
    return {n: _METRICS[n] for n in names if n in _METRICS}


def _unique_normed(header: Header) -> list[str]:
    """The staged column names stage_csv gives (normed, repeats numbered)."""
    seen: dict[str, int] = {}
    out = []
    for n in header.normed:
        n = n or "column"
        if n in seen:
            seen[n] += 1
            out.append(f"{n}_{seen[n]}")
        else:
            seen[n] = 1
            out.append(n)
    return out


def _stage_posts(ctx: StageContext, header: Header, *, legacy: bool) -> list[StagedTable]:
    con = ctx.con
    raw = f"{ctx.prefix}_x_raw"
    _, rejects, note = stage_csv(ctx, header, raw)
    c = pick(_unique_normed(header), _POST_ALIASES)
    pid = f"trim({_q(c['id'])})"
    id_ok = f"regexp_full_match({pid}, '[0-9]{{1,20}}')"
    if legacy:
        parsed = _try(_q(c["date"]), _LEGACY_FORMATS)  # TIMESTAMPTZ
        utc = f"timezone('UTC', {parsed})"
        published = f"strftime({utc}, '%Y-%m-%dT%H:%M:%S') || '+00:00'"
        local = f"timezone({_s(ctx.tz)}, {parsed})" if ctx.tz else utc
        day = f"strftime({local}, '%Y-%m-%d')"
    else:
        parsed = _try(_q(c["date"]), _DAY_FORMATS)
        published = f"strftime({parsed}, '%Y-%m-%d')"
        day = published
    # ids a spreadsheet turned into 1.771E+18 are refused here (the loader cannot tell)
    for r in con.execute(
        f"""SELECT __row, {_q(c["id"])}, CAST(to_json(s) AS VARCHAR) FROM "{raw}" s
        WHERE {_blank(_q(c["id"]))} IS NOT NULL AND NOT {id_ok} ORDER BY __row"""
    ).fetchall():
        rejects.append(
            (
                int(r[0]),
                header.columns[_unique_normed(header).index(str(c["id"]))].strip(),
                f"not a post id (digits expected; a spreadsheet may have rounded it): '{r[1]}'",
                str(r[2]),
            )
        )
    text = _blank(_q(c["text"]))
    contents = f"{ctx.prefix}_x_contents"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE "{contents}" AS SELECT __row,
            CASE WHEN {id_ok} THEN 'x:' || {pid} END AS content_id,
            {_s(CHANNEL)} AS channel_id,
            coalesce({published}, {_blank(_q(c["date"]))}) AS published_at,
            CASE WHEN starts_with(ltrim(coalesce({text}, '')), '@') THEN 'reply' ELSE 'post'
                 END AS format,
            CASE WHEN {id_ok} THEN 'https://x.com/i/status/' || {pid} END AS url,
            {text} AS text,
            NULLIF(array_to_string(list_transform(regexp_extract_all(coalesce({text}, ''),
                   '#(\\w+)', 1), lambda t: lower(t)), ','), '') AS topics
        FROM "{raw}"
        WHERE {_blank(_q(c["id"]))} IS NULL OR {id_ok}"""
    )
    n_contents = con.execute(f'SELECT count(*) FROM "{contents}"').fetchone()
    metrics = f"{ctx.prefix}_x_metrics"
    n, mrejects = _unpivot(
        ctx,
        raw,
        _metric_columns(header, [c["id"], c["date"], c["text"]]),
        f"'x:' || {pid}",
        day,
        f"{id_ok} AND {day} IS NOT NULL",
        metrics,
    )
    con.execute(f'DROP TABLE "{raw}"')
    return [
        StagedTable(
            "contents",
            contents,
            (int(n_contents[0]) if n_contents else 0) + len(rejects),
            rejects=rejects,
            note=note,
            local_times=not legacy,
        ),
        StagedTable(
            "metrics",
            metrics,
            n + len(mrejects),
            rejects=mrejects,
            note="per-post metrics are totals at export time, dated on the post's day",
        ),
    ]


def _stage_overview(ctx: StageContext, header: Header) -> StagedTable:
    con = ctx.con
    raw = f"{ctx.prefix}_x_raw"
    _, rejects, note = stage_csv(ctx, header, raw)
    date_col = pick(_unique_normed(header), {"date": ["Date"]})["date"]
    parsed = _try(_q(date_col), _DAY_FORMATS)
    day = f"strftime({parsed}, '%Y-%m-%d')"
    for r in con.execute(
        f"""SELECT __row, {_q(date_col)}, CAST(to_json(s) AS VARCHAR) FROM "{raw}" s
        WHERE {day} IS NULL ORDER BY __row"""
    ).fetchall():
        why = f"not a date: '{r[1]}'" if r[1] and str(r[1]).strip() else "missing (required)"
        rejects.append((int(r[0]), "Date", why, str(r[2])))
    out = f"{ctx.prefix}_x_metrics"
    n, mrejects = _unpivot(
        ctx,
        raw,
        _metric_columns(header, [date_col]),
        "CAST(NULL AS VARCHAR)",
        day,
        f"{day} IS NOT NULL",
        out,
    )
    con.execute(f'DROP TABLE "{raw}"')
    all_rejects = sorted(rejects + mrejects)
    return StagedTable(
        "metrics",
        out,
        n + len(all_rejects),
        rejects=all_rejects,
        note="; ".join(x for x in (note, "account totals per day") if x),
    )


# -- archive -------------------------------------------------------------------------------
def _load_js(path: Path) -> tuple[str, object]:
    """(name, parsed JSON) of a ``window.YTD.<name>.partN = [...]`` file."""
    _, text = decode(path.read_bytes())
    found = re.match(r"^\s*window\.YTD\.([A-Za-z0-9_]+)\.part\d+\s*=\s*", text)
    if not found:
        raise UnusableFile(str(path), "not an X archive file (no 'window.YTD.' prefix)")
    try:
        data = json.loads(text[found.end() :].rstrip().rstrip(";"))
    except json.JSONDecodeError as e:
        raise UnusableFile(str(path), f"the archive file's JSON is damaged ({e})") from e
    return found.group(1), data


def _owner_id(path: Path) -> str | None:
    """The archive owner's account id from ``account.js`` beside the file, if there."""
    account = path.parent / "account.js"
    if not account.is_file():
        return None
    try:
        _, data = _load_js(account)
        if isinstance(data, list) and data:
            item = data[0].get("account", data[0])
            acc = item.get("accountId")
            return str(acc) if acc else None
    except (UnusableFile, AttributeError, OSError):
        return None
    return None


def _records(data: object, key: str) -> list[dict[str, object]]:
    if not isinstance(data, list):
        raise ValueError("the archive file holds no list")
    out = []
    for item in data:
        if isinstance(item, dict):
            inner = item.get(key, item)
            out.append(inner if isinstance(inner, dict) else {})
        else:
            out.append({})
    return out


def _stage_archive(ctx: StageContext) -> list[StagedTable]:
    name, data = _load_js(ctx.path)
    try:
        if name == "follower":
            return [_stage_followers(ctx, data)]
        if name in ("tweets", "tweet"):
            return _stage_tweets(ctx, data)
        if name == "direct_messages":
            return [_stage_dms(ctx, data)]
    except (ValueError, AttributeError, TypeError) as e:
        raise UnusableFile(str(ctx.path), f"unexpected layout in X archive file ({e})") from e
    if name == "following":
        why = "following.js lists the accounts you follow, not your audience"
        return [_skipped(ctx, why + "; nothing was imported from it")]
    raise UnusableFile(str(ctx.path), f"the X archive's {name} data is not used by truefans")


def _skipped(ctx: StageContext, note: str) -> StagedTable:
    rel = f"{ctx.prefix}_x_skip"
    ctx.con.execute(
        f'CREATE OR REPLACE TEMP TABLE "{rel}" (__row BIGINT, channel_id VARCHAR, '
        "__handle VARCHAR, __platform VARCHAR)"
    )
    return StagedTable("audience", rel, 0, note=note, primary_identity="handle")


def _append(cols: dict[str, list[str | None]], values: dict[str, str | None]) -> None:
    for k, v in values.items():
        cols[k].append(v)


def _text(v: object) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def _stage_followers(ctx: StageContext, data: object) -> StagedTable:
    recs = _records(data, "follower")
    rel = f"{ctx.prefix}_x_audience"
    ids = [_text(r.get("accountId")) for r in recs]
    register_rows(
        ctx.con,
        rel,
        list(range(1, len(recs) + 1)),
        {
            "channel_id": [CHANNEL] * len(recs),
            "__handle": ids,
            "__platform": ["x"] * len(recs),
        },
    )
    return StagedTable(
        "audience",
        rel,
        len(recs),
        note="the archive gives account ids only (no handle, no follow date)",
        primary_identity="handle",
    )


_CREATED = "%a %b %d %H:%M:%S %z %Y"  # "Wed Mar 13 10:12:01 +0000 2024"


def _utc(created: str | None) -> datetime | None:
    if not created:
        return None
    for fmt in (_CREATED, "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(created.replace("Z", "+0000"), fmt).astimezone(UTC)
        except ValueError:
            continue
    return None


def _iso_utc(t: datetime | None, raw: str | None) -> str | None:
    return t.strftime("%Y-%m-%dT%H:%M:%S+00:00") if t else raw


def _local_day(t: datetime, tz: str | None) -> str:
    return (t.astimezone(ZoneInfo(tz)) if tz else t).date().isoformat()


_HASHTAG = re.compile(r"#(\w+)")


def _stage_tweets(ctx: StageContext, data: object) -> list[StagedTable]:
    recs = _records(data, "tweet")
    owner = _owner_id(ctx.path)
    ids = {_text(t.get("id_str") or t.get("id")) for t in recs}
    # replies to a post of this file are your own threads: their target is you
    owners = {owner} if owner else set()
    for t in recs:
        if _text(t.get("in_reply_to_status_id_str")) in ids:
            target = _text(t.get("in_reply_to_user_id_str") or t.get("in_reply_to_user_id"))
            if target:
                owners.add(target)
    c: dict[str, list[str | None]] = {
        k: []
        for k in ("content_id", "channel_id", "published_at", "format", "url", "text", "topics")
    }
    c_rows: list[int] = []
    m_rows: list[int] = []
    m_cols: dict[str, list[str | None]] = {
        k: [] for k in ("channel_id", "content_id", "date", "metric", "value")
    }
    rejects: list[Reject] = []
    t_cols: dict[str, list[str | None]] = {
        k: []
        for k in (
            "touch_id",
            "ts",
            "channel_id",
            "content_id",
            "kind",
            "__handle",
            "__platform",
            "__name",
        )
    }
    t_rows: list[int] = []
    retweets = 0
    for i, t in enumerate(recs, start=1):
        tid = _text(t.get("id_str") or t.get("id"))
        full = html.unescape(str(t.get("full_text") or t.get("text") or ""))
        if full.startswith("RT @") or t.get("retweeted_status"):
            retweets += 1
            continue
        created_raw = _text(t.get("created_at"))
        when = _utc(created_raw)
        cid = f"x:{tid}" if tid and tid.isdigit() else None
        reply_to = _text(t.get("in_reply_to_user_id_str") or t.get("in_reply_to_user_id"))
        c_rows.append(i)
        c["content_id"].append(cid)
        c["channel_id"].append(CHANNEL)
        c["published_at"].append(_iso_utc(when, created_raw))
        c["format"].append("reply" if reply_to or full.startswith("@") else "post")
        c["url"].append(f"https://x.com/i/status/{tid}" if cid else None)
        c["text"].append(full or None)
        c["topics"].append(",".join(h.lower() for h in _HASHTAG.findall(full)) or None)
        if cid is None or when is None:
            continue  # the contents row is rejected by the loader; nothing else from it
        day = _local_day(when, ctx.tz)
        bad = []
        got = []
        for field, metric in (("favorite_count", "likes"), ("retweet_count", "reposts")):
            v = _text(t.get(field))
            if v is None:
                continue
            if not re.fullmatch(r"[0-9]+", v):
                bad.append((field, v))
            else:
                got.append((metric, v))
        if bad:
            rejects.append(
                (
                    i,
                    ", ".join(b[0] for b in bad),
                    "; ".join(f"{f}: not a count: '{v[:60]}'" for f, v in bad),
                    json.dumps(t)[:500],
                )
            )
        else:
            for metric, v in got:
                m_rows.append(i)
                _append(
                    m_cols,
                    {
                        "channel_id": CHANNEL,
                        "content_id": cid,
                        "date": day,
                        "metric": metric,
                        "value": v,
                    },
                )
        if reply_to and reply_to not in owners:
            mentions = t.get("entities", {})
            names = {
                _text(u.get("id_str") or u.get("id")): _text(u.get("name"))
                for u in (mentions.get("user_mentions", []) if isinstance(mentions, dict) else [])
                if isinstance(u, dict)
            }
            screen = _text(t.get("in_reply_to_screen_name"))
            t_rows.append(i)
            _append(
                t_cols,
                {
                    "touch_id": f"x:reply:{tid}",
                    "ts": _iso_utc(when, created_raw),
                    "channel_id": CHANNEL,
                    "content_id": cid,
                    "kind": "reply",
                    "__handle": reply_to,
                    "__platform": "x",
                    "__name": names.get(reply_to) or (f"@{screen}" if screen else None),
                },
            )
    con = ctx.con
    crel, mrel, trel = (f"{ctx.prefix}_x_{n}" for n in ("contents", "metrics", "touch"))
    register_rows(con, crel, c_rows, c)
    register_rows(con, mrel, m_rows, m_cols)
    register_rows(con, trel, t_rows, t_cols)
    note = f"{retweets} retweet(s) of others' posts left out" if retweets else ""
    return [
        StagedTable("contents", crel, len(c_rows), note=note),
        StagedTable(
            "metrics",
            mrel,
            len(m_cols["metric"]) + len(rejects),
            rejects=rejects,
            note="likes and reposts at archive time, dated on the post's day",
        ),
        StagedTable(
            "touchpoints",
            trel,
            len(t_rows),
            note="your replies to other accounts: a touch with the account replied to (by id)",
        ),
    ]


def _stage_dms(ctx: StageContext, data: object) -> StagedTable:
    convs = _records(data, "dmConversation")
    owner = _owner_id(ctx.path)
    notes = []
    if owner is None:
        counts: dict[str, int] = {}
        for conv in convs:
            for part in set(str(conv.get("conversationId") or "").split("-")):
                if part:
                    counts[part] = counts.get(part, 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        owner = ranked[0][0] if ranked else None
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            notes.append(
                f"could not tell whose archive this is (no account.js); assumed {owner} is you"
            )
    cols: dict[str, list[str | None]] = {
        k: [] for k in ("touch_id", "ts", "channel_id", "kind", "__handle", "__platform")
    }
    rows: list[int] = []
    i = 0
    for conv in convs:
        messages = conv.get("messages", [])
        for msg in messages if isinstance(messages, list) else []:
            i += 1
            body = msg.get("messageCreate") if isinstance(msg, dict) else None
            if not isinstance(body, dict):
                continue  # reactions, joins and other events are not messages
            sender, recipient = _text(body.get("senderId")), _text(body.get("recipientId"))
            other = recipient if sender == owner else sender
            created = _text(body.get("createdAt"))
            mid = _text(body.get("id"))
            rows.append(i)
            _append(
                cols,
                {
                    "touch_id": f"x:dm:{mid}" if mid else None,
                    "ts": _iso_utc(_utc(created), created),
                    "channel_id": CHANNEL,
                    "kind": "message",
                    "__handle": other,
                    "__platform": "x",
                },
            )
    rel = f"{ctx.prefix}_x_touch"
    register_rows(ctx.con, rel, rows, cols)
    notes.append("direct messages: a touch with the other party (by account id)")
    return StagedTable("touchpoints", rel, len(rows), note="; ".join(notes))


register(XSource())
