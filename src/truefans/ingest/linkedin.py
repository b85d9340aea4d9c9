"""LinkedIn: the member data export and the company Page analytics exports.

Member export ("Get a copy of your data", CSV files, one zip):

* ``Connections.csv`` -> ``audience`` on channel ``linkedin``: one row per 1st-degree connection,
  identity = the member's profile URL, ``followed_at`` = *Connected On* (a local date), with the
  email (when the member shares it), name, company and position as hints so the same person is
  recognised in other sources. A ``Notes:`` preamble, a UTF-8 BOM and CRLF line ends are handled.
* ``Invitations.csv`` -> ``touchpoints``: an incoming invitation is the other member reaching out
  (``follow``; ``message`` when it carries a note); an outgoing invitation with a note is a message
  to them. Outgoing invitations without a note are your action alone and are left out (the ones
  accepted are in Connections.csv).
* ``messages.csv`` -> ``touchpoints`` of kind ``message``, the person being the other party of the
  conversation (identified by profile URL; names repaired when the export wrote them as mojibake).
  Whose export it is is found from the data: the member who takes part in the most conversations.
  Messages you sent to a group conversation have no single other party and are left out.
* ``Company Follows.csv`` lists the pages the member follows: it says nothing about your audience
  or your customers, so it is recognised and skipped with a note.

Page analytics (Page admin view > Analytics > Export, old binary ``.xls`` or ``.xlsx``, read with
calamine; note rows above the header are skipped; dates are text ``MM/DD/YYYY`` or Excel
serials):

* followers -> ``metrics`` ``followers_gained`` per day (*Total followers* there is the day's NEW
  followers, not the running total) plus its organic / sponsored / auto-invited parts; only when
  a file carries a genuine running total (larger than the day's gains and never falling) is it
  stored as ``followers``. The demographic sheets (no dates) are not imported.
* visitors -> ``metrics`` ``page_views``, ``unique_visitors``, ``custom_button_clicks`` per day.
* content -> ``contents`` (one per post, keyed by the post's URN) and per-post ``metrics``
  (lifetime totals at export time, dated on the post's day) plus the page's daily totals.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from ..errors import UnusableFile
from .common import (
    Header,
    find_header,
    fix_mojibake,
    norm,
    pick,
    read_head,
    register_rows,
    stage_csv,
)
from .registry import Detection, StageContext, StagedTable, register

SOURCE = "linkedin"
CHANNEL = "linkedin"

Reject = tuple[int, str, str, str]

# -- member export: CSV signatures and column aliases (compared with common.norm) -------------
CONNECTIONS = "connections"
INVITATIONS = "invitations"
MESSAGES = "messages"
COMPANY_FOLLOWS = "company_follows"
PAGE_FOLLOWERS = "page_followers"
PAGE_VISITORS = "page_visitors"
PAGE_CONTENT = "page_content"

_CONNECTION_ALIASES = {
    "first": ["First Name", "Firstname"],
    "last": ["Last Name", "Lastname"],
    "url": ["URL", "Profile URL", "LinkedIn URL", "Profile Link"],
    "email": ["Email Address", "Email", "E-mail Address", "E-mail"],
    "company": ["Company", "Company Name"],
    "title": ["Position", "Title", "Job Title"],
    "connected": ["Connected On", "Connected on", "Connection Date", "Connected"],
}
_INVITATION_ALIASES = {
    "from": ["From"],
    "to": ["To"],
    "sent": ["Sent At", "Sent at", "Sent On", "Date"],
    "message": ["Message", "Note"],
    "direction": ["Direction"],
    "inviter": ["inviterProfileUrl", "Inviter Profile URL", "From Profile URL"],
    "invitee": ["inviteeProfileUrl", "Invitee Profile URL", "To Profile URL"],
}
_MESSAGE_ALIASES = {
    "conv": ["CONVERSATION ID"],
    "from": ["FROM"],
    "sender": ["SENDER PROFILE URL"],
    "to": ["TO"],
    "recipients": ["RECIPIENT PROFILE URLS", "RECIPIENT PROFILE URL"],
    "date": ["DATE"],
    "subject": ["SUBJECT"],
    "content": ["CONTENT"],
}
_SIGNATURES: list[tuple[str, list[list[str]], float]] = [
    (
        CONNECTIONS,
        [
            _CONNECTION_ALIASES["first"],
            _CONNECTION_ALIASES["last"],
            _CONNECTION_ALIASES["connected"],
        ],
        0.97,
    ),
    (
        MESSAGES,
        [["conversation id"], ["sender profile url"], ["date"], ["content"]],
        0.97,
    ),
    (
        INVITATIONS,
        [["from"], ["to"], ["sent at"], ["direction"]],
        0.95,
    ),
    (COMPANY_FOLLOWS, [["organization"], ["followed on"]], 0.95),
]

# Connected On is "03 Jan 2023" (English month names); older or localised files vary
_DATE_FORMATS = ["%d %b %Y", "%d %B %Y", "%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%b %d, %Y"]
# Invitations' Sent At is "1/08/24, 9:14 AM"
_SENT_FORMATS = [
    "%m/%d/%y, %I:%M %p",
    "%m/%d/%Y, %I:%M %p",
    "%m/%d/%y, %H:%M",
    "%m/%d/%Y, %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
]
# messages' DATE is "2023-06-11 15:33:58 UTC"
_UTC_FORMATS = ["%Y-%m-%d %H:%M:%S UTC", "%Y-%m-%d %H:%M UTC", "%Y-%m-%d %H:%M:%S"]

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_XLS_SUFFIXES = (".xls", ".xlsx", ".xlsm")


def _q(name: str | None) -> str:
    if name is None:
        return "CAST(NULL AS VARCHAR)"
    return '"' + name.replace('"', '""') + '"'


def _s(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _blank(x: str) -> str:
    return f"NULLIF(trim({x}), '')"


def _ts_try(x: str, formats: Sequence[str]) -> str:
    """SQL: the first format that parses ``x`` (a TIMESTAMP), else NULL."""
    tries = [f"try_strptime(trim({x}), {_s(f)})" for f in formats]
    return "coalesce(" + ", ".join(tries) + ")"


def _iso(x: str, formats: Sequence[str], suffix: str = "") -> str:
    """SQL: ISO text of the parsed value (``suffix`` adds an offset), else the raw text."""
    return (
        f"coalesce(strftime({_ts_try(x, formats)}, '%Y-%m-%dT%H:%M:%S') || {_s(suffix)}, "
        f"{_blank(x)})"
    )


class LinkedInSource:
    name = SOURCE
    description = (
        "LinkedIn member data export (Connections, Invitations, messages) and Page analytics "
        "exports (followers, visitors, content .xls/.xlsx)"
    )
    detection_rule = (
        "CSV whose header (after any Notes: preamble) is LinkedIn's: First Name, Last Name, "
        "Connected On (+ URL, Email Address...) / CONVERSATION ID, SENDER PROFILE URL, DATE, "
        "CONTENT / From, To, Sent At, Direction / Organization, Followed On; or an .xls/.xlsx "
        "workbook with a Page analytics sheet (Date + Organic/Sponsored followers; Date + page "
        "views/unique visitors; Date + Impressions (total) or a posts sheet with Post/Update "
        "link and Created date)"
    )

    # -- detection -------------------------------------------------------------------------
    def detect(self, path: Path, head: bytes) -> Detection | None:
        try:
            kind, conf, why = self._kind(path, head)
        except Exception:
            return None
        if kind is None:
            return None
        return Detection(self.name, conf, why, _TABLE_OF.get(kind))

    def _kind(self, path: Path, head: bytes) -> tuple[str | None, float, str]:
        if head.startswith(_OLE) or head.startswith(_ZIP):
            if path.suffix.lower() not in _XLS_SUFFIXES:
                return None, 0.0, ""
            try:
                kind = _sniff_workbook(path, head)
            except Exception:  # a damaged workbook: not recognised here
                kind = None
            if kind is None:
                return None, 0.0, ""
            return kind, 0.95, f"LinkedIn Page analytics workbook ({kind.split('_')[1]})"
        for kind, required, conf in _SIGNATURES:
            if find_header(head, required) is not None:
                return kind, conf, f"LinkedIn member export header ({kind.replace('_', ' ')})"
        return None, 0.0, ""

    # -- staging ---------------------------------------------------------------------------
    def stage(self, ctx: StageContext) -> list[StagedTable]:
        head = read_head(ctx.path)
        if (head.startswith(_OLE) or head.startswith(_ZIP)) and (
            ctx.path.suffix.lower() in _XLS_SUFFIXES
        ):
            return _stage_page(ctx)  # the sheets themselves say which report it is
        kind, _, _ = self._kind(ctx.path, head)
        if kind is None:
            raise UnusableFile(str(ctx.path), "not a LinkedIn export this source knows")
        if kind == COMPANY_FOLLOWS:
            return [
                _skipped(
                    ctx,
                    "Company Follows.csv lists the pages you follow; it says nothing about your "
                    "audience or customers, so nothing was imported from it",
                )
            ]
        required = next(r for k, r, _ in _SIGNATURES if k == kind)
        header = find_header(head, required)
        if header is None:  # pragma: no cover - _kind found it a moment ago
            raise UnusableFile(str(ctx.path), "no LinkedIn header found")
        if kind == CONNECTIONS:
            return [_stage_connections(ctx, header)]
        if kind == INVITATIONS:
            return [_stage_invitations(ctx, header)]
        return [_stage_messages(ctx, header)]


_TABLE_OF = {
    CONNECTIONS: "audience",
    INVITATIONS: "touchpoints",
    MESSAGES: "touchpoints",
    COMPANY_FOLLOWS: "audience",
    PAGE_FOLLOWERS: "metrics",
    PAGE_VISITORS: "metrics",
    PAGE_CONTENT: "contents",
}


def _count(ctx: StageContext, rel: str) -> int:
    row = ctx.con.execute(f'SELECT count(*) FROM "{rel}"').fetchone()
    return int(row[0]) if row else 0


def _skipped(ctx: StageContext, note: str) -> StagedTable:
    """A recognised file that holds nothing truefans stores: an empty table and a note."""
    rel = f"{ctx.prefix}_li_skip"
    ctx.con.execute(
        f'CREATE OR REPLACE TEMP TABLE "{rel}" (__row BIGINT, channel_id VARCHAR, '
        "followed_at VARCHAR, __profile_url VARCHAR)"
    )
    return StagedTable("audience", rel, 0, note=note, primary_identity="profile_url")


def _repair_names(ctx: StageContext, rel: str, columns: Sequence[str | None]) -> str:
    """Create ``<rel>_names`` (bad, good) for the distinct mojibake values of ``columns``.

    Only distinct suspicious values go through Python; the rows are fixed by a join.
    """
    out = f"{rel}_names"
    cols = [c for c in columns if c is not None]
    candidates: list[str] = []
    if cols:
        union = " UNION ".join(f'SELECT {_q(c)} AS v FROM "{rel}"' for c in cols)
        candidates = [
            r[0]
            for r in ctx.con.execute(
                f"SELECT DISTINCT v FROM ({union}) WHERE regexp_matches(v, '[ÃÂâÅÄ]')"
            ).fetchall()
        ]
    bad, good = [], []
    for v in candidates:
        fixed = _unmojibake(v)
        if fixed != v:
            bad.append(v)
            good.append(fixed)
    register_rows(ctx.con, out, list(range(1, len(bad) + 1)), {"bad": bad, "good": good})
    return out


def _unmojibake(text: str) -> str:
    fixed = fix_mojibake(text)
    if fixed == text:
        try:  # Windows-1252 flavour: 'â€™' -> '’'
            fixed = text.encode("cp1252").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return text
    return fixed


def _fixed(names_rel: str, x: str) -> str:
    """SQL: ``x`` repaired through the names table (a scalar subquery per distinct value)."""
    return f'coalesce((SELECT good FROM "{names_rel}" WHERE bad = {x}), {_blank(x)})'


# -- Connections -----------------------------------------------------------------------------
def _stage_connections(ctx: StageContext, header: Header) -> StagedTable:
    raw = f"{ctx.prefix}_li_conn_raw"
    rows, rejects, note = stage_csv(ctx, header, raw)
    c = pick(header.normed, _CONNECTION_ALIASES)
    names = _repair_names(ctx, raw, [c["first"], c["last"]])
    first, last = _fixed(names, _q(c["first"])), _fixed(names, _q(c["last"]))
    out = f"{ctx.prefix}_li_audience"
    ctx.con.execute(
        f"""CREATE OR REPLACE TEMP TABLE "{out}" AS SELECT __row,
            {_s(CHANNEL)} AS channel_id,
            {_iso(_q(c["connected"]), _DATE_FORMATS)} AS followed_at,
            {_blank(_q(c["url"]))} AS __profile_url,
            {_blank(_q(c["email"]))} AS __email,
            {first} AS __first_name,
            {last} AS __last_name,
            NULLIF(concat_ws(' ', {first}, {last}), '') AS __name,
            {_blank(_q(c["company"]))} AS __company,
            {_blank(_q(c["title"]))} AS __title,
            'linkedin' AS __platform
        FROM "{raw}" """
    )
    ctx.con.execute(f'DROP TABLE "{raw}"')
    ctx.con.execute(f'DROP TABLE "{names}"')
    primary = "profile_url"
    if c["url"] is None:  # exports before ~2020 had no URL column
        primary = "email"
        note = "; ".join(
            x
            for x in (
                note,
                "no profile URLs in this (older) export: connections are identified by the "
                "email they share; those without one cannot be imported",
            )
            if x
        )
    return StagedTable(
        "audience",
        out,
        rows,
        rejects=rejects,
        note=note,
        primary_identity=primary,
        local_times=True,
    )


# -- Invitations -----------------------------------------------------------------------------
def _stage_invitations(ctx: StageContext, header: Header) -> StagedTable:
    raw = f"{ctx.prefix}_li_inv_raw"
    rows, rejects, note = stage_csv(ctx, header, raw)
    c = pick(header.normed, _INVITATION_ALIASES)
    names = _repair_names(ctx, raw, [c["from"], c["to"]])
    direction = f"upper(trim(coalesce({_q(c['direction'])}, '')))"
    incoming = f"({direction} = 'INCOMING')"
    has_note = f"({_blank(_q(c['message']))} IS NOT NULL)"
    other_url = (
        f"CASE WHEN {incoming} THEN {_blank(_q(c['inviter']))} ELSE {_blank(_q(c['invitee']))} END"
    )
    other_name = (
        f"CASE WHEN {incoming} THEN {_fixed(names, _q(c['from']))} "
        f"ELSE {_fixed(names, _q(c['to']))} END"
    )
    kind = (
        f"CASE WHEN {incoming} AND NOT {has_note} THEN 'follow' "
        f"WHEN {direction} IN ('INCOMING', 'OUTGOING') THEN 'message' "
        f"ELSE {_blank(_q(c['direction']))} END"
    )
    out = f"{ctx.prefix}_li_touch"
    ctx.con.execute(
        f"""CREATE OR REPLACE TEMP TABLE "{out}" AS SELECT __row,
            'linkedin:invitation:' || lower({direction}) || ':'
                || coalesce({other_url}, {other_name}, '') || ':'
                || coalesce(trim({_q(c["sent"])}), '') AS touch_id,
            {_iso(_q(c["sent"]), _SENT_FORMATS)} AS ts,
            {_s(CHANNEL)} AS channel_id,
            {kind} AS kind,
            {other_url} AS __profile_url,
            {other_name} AS __name,
            'linkedin' AS __platform
        FROM "{raw}"
        WHERE NOT ({direction} = 'OUTGOING' AND NOT {has_note})"""
    )
    kept = _count(ctx, out)
    skipped = rows - len(rejects) - kept
    ctx.con.execute(f'DROP TABLE "{raw}"')
    ctx.con.execute(f'DROP TABLE "{names}"')
    notes = [note] if note else []
    if skipped:
        notes.append(
            f"{skipped} outgoing invitation(s) without a note left out (your action, not "
            "theirs; accepted ones are in Connections.csv)"
        )
    return StagedTable(
        "touchpoints",
        out,
        kept + len(rejects),
        rejects=rejects,
        note="; ".join(notes),
        local_times=True,
    )


# -- messages --------------------------------------------------------------------------------
def _stage_messages(ctx: StageContext, header: Header) -> StagedTable:
    con = ctx.con
    raw = f"{ctx.prefix}_li_msg_raw"
    rows, rejects, note = stage_csv(ctx, header, raw)
    c = pick(header.normed, _MESSAGE_ALIASES)
    conv, sender, recips = _q(c["conv"]), _q(c["sender"]), _q(c["recipients"])
    # the export's owner takes part in every conversation: most distinct conversations wins
    ranked = con.execute(
        f"""WITH parties AS (
              SELECT {conv} AS conv, trim({sender}) AS url FROM "{raw}"
              UNION ALL
              SELECT conv, trim(u) FROM (
                SELECT {conv} AS conv, unnest(string_split(coalesce({recips}, ''), ';')) AS u
                FROM "{raw}"))
            SELECT url, count(DISTINCT conv) AS n FROM parties
            WHERE url IS NOT NULL AND url <> ''
            GROUP BY url ORDER BY n DESC, url LIMIT 2"""
    ).fetchall()
    notes = [note] if note else []
    owner = ranked[0][0] if ranked else ""
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        notes.append(
            f"could not tell whose export this is (one conversation); assumed {owner} is you"
        )
    names = _repair_names(ctx, raw, [c["from"], c["to"]])
    recip_list = (
        f"list_filter(list_transform(string_split(coalesce({recips}, ''), ';'), "
        f"lambda x: trim(x)), lambda x: x <> '' AND x <> {_s(owner)})"
    )
    mine = f"(trim(coalesce({sender}, '')) = {_s(owner)})"
    other_url = (
        f"CASE WHEN {mine} THEN (CASE WHEN len({recip_list}) = 1 THEN {recip_list}[1] END) "
        f"ELSE {_blank(sender)} END"
    )
    other_name = (
        f"CASE WHEN {mine} THEN {_fixed(names, _q(c['to']))} "
        f"ELSE {_fixed(names, _q(c['from']))} END"
    )
    key = (
        f"md5(coalesce({conv}, '') || '|' || coalesce({_q(c['date'])}, '') || '|' "
        f"|| coalesce({sender}, '') || '|' || coalesce({_q(c['content'])}, ''))"
    )
    out = f"{ctx.prefix}_li_touch"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE "{out}" AS SELECT __row,
            'linkedin:message:' || {key} AS touch_id,
            {_iso(_q(c["date"]), _UTC_FORMATS, "+00:00")} AS ts,
            {_s(CHANNEL)} AS channel_id,
            'message' AS kind,
            {other_url} AS __profile_url,
            {other_name} AS __name,
            'linkedin' AS __platform
        FROM "{raw}"
        WHERE NOT ({mine} AND len({recip_list}) > 1)"""
    )
    kept = _count(ctx, out)
    group = rows - len(rejects) - kept
    if group:
        notes.append(
            f"{group} message(s) you sent to group conversations left out (no single other party)"
        )
    con.execute(f'DROP TABLE "{raw}"')
    con.execute(f'DROP TABLE "{names}"')
    return StagedTable(
        "touchpoints",
        out,
        kept + len(rejects),
        rejects=rejects,
        note="; ".join(notes),
        local_times=False,
    )


# -- Page analytics workbooks ----------------------------------------------------------------
Sheets = dict[str, list[list[object]]]


#: Reads a workbook in a child process: calamine aborts the whole process (a failed 4 GB
#: allocation) on some damaged .xls files, which must cost one file, not the import.
_CHILD = """
import pickle, sys
try:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))
except (ImportError, ValueError, OSError):
    pass
try:
    from python_calamine import CalamineWorkbook
    wb = CalamineWorkbook.from_path(sys.argv[1])
    out = {n: [list(r) for r in wb.get_sheet_by_name(n).to_python()] for n in wb.sheet_names}
    res = ("ok", out)
except Exception as e:
    res = ("error", str(e).splitlines()[0][:300] if str(e) else type(e).__name__)
sys.stdout.buffer.write(pickle.dumps(res))
"""


def _read_book(path: Path) -> Sheets:
    """Every sheet of a workbook as rows of cell values (read with calamine, out of process)."""
    import pickle
    import subprocess
    import sys

    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path)],
            capture_output=True,
            timeout=300,
            check=False,
        )
        status, payload = pickle.loads(done.stdout) if done.returncode == 0 else ("crash", "")
    except (subprocess.SubprocessError, OSError, pickle.UnpicklingError, EOFError, ValueError):
        status, payload = "crash", ""
    if status == "ok" and isinstance(payload, dict):
        return payload
    why = payload if status == "error" else "the spreadsheet reader gave up on it"
    raise UnusableFile(str(path), f"not a readable .xls/.xlsx workbook ({why})")


#: lower-cased header text that only LinkedIn Page analytics workbooks carry
_SNIFF = {
    PAGE_CONTENT: ("impressions (organic)", "impressions (total)", "update link", "post link"),
    PAGE_FOLLOWERS: ("organic followers", "sponsored followers", "auto-invited followers"),
    PAGE_VISITORS: ("page views (total)", "unique visitors (total)", "page views (desktop)"),
}


def _sniff_workbook(path: Path, head: bytes) -> str | None:
    """Which Page analytics report a workbook is, from its raw strings (detection must be
    cheap and must not run a spreadsheet parser on every file)."""
    if head.startswith(_ZIP):  # .xlsx: the XML of the strings and sheets, capped
        import zipfile

        parts = []
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if info.filename.startswith("xl/") and info.filename.endswith(".xml"):
                    with z.open(info) as fh:
                        parts.append(fh.read(1 << 20))
        haystacks = [b" ".join(parts).lower()]
        encodings = ["utf-8"]
    else:  # BIFF .xls: strings are stored as 8-bit or UTF-16LE text
        haystacks = [head.lower()]
        encodings = ["latin-1", "utf-16-le"]

    def found(needle: str) -> bool:
        return any(needle.encode(e) in h for h in haystacks for e in encodings)

    if any(found(n) for n in _SNIFF[PAGE_CONTENT][:2]) or (
        found("created date") and any(found(n) for n in _SNIFF[PAGE_CONTENT][2:])
    ):
        return PAGE_CONTENT
    for kind in (PAGE_FOLLOWERS, PAGE_VISITORS):
        if any(found(n) for n in _SNIFF[kind]):
            return kind
    return None


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


HeaderTest = Callable[[list[str]], bool]


def _header_row(rows: list[list[object]], test: HeaderTest, max_rows: int = 8) -> int | None:
    """Index of the first of the first rows whose normed cells satisfy ``test``."""
    for i, row in enumerate(rows[:max_rows]):
        cells = [norm(_cell_text(v)) for v in row]
        if test(cells):
            return i
    return None


def _is_followers(cells: list[str]) -> bool:
    return "date" in cells and any(
        c in cells for c in ("organic followers", "sponsored followers", "auto-invited followers")
    )


def _is_visitors(cells: list[str]) -> bool:
    return "date" in cells and any(_VISITOR_RX.match(c) for c in cells)


def _is_content_daily(cells: list[str]) -> bool:
    return "date" in cells and any(
        (m := _DAILY_RX.match(c)) is not None and m.group(1) == "impressions" for c in cells
    )


def _is_posts(cells: list[str]) -> bool:
    return "created date" in cells and any(
        c in cells for c in ("post link", "update link", "post title", "update title")
    )


def _workbook_kind(book: Sheets) -> str | None:
    found = {
        test.__name__: True
        for rows in book.values()
        for test in (_is_followers, _is_visitors, _is_content_daily, _is_posts)
        if _header_row(rows, test) is not None
    }
    if found.get("_is_posts") or (found.get("_is_content_daily") and not found.get("_is_visitors")):
        return PAGE_CONTENT
    if found.get("_is_followers"):
        return PAGE_FOLLOWERS
    if found.get("_is_visitors"):
        return PAGE_VISITORS
    return None


def _find_sheet(book: Sheets, test: HeaderTest) -> tuple[str, int, list[str]] | None:
    for name, rows in book.items():
        i = _header_row(rows, test)
        if i is not None:
            return name, i, [_cell_text(v) for v in rows[i]]
    return None


def _day_first(values: list[object]) -> bool:
    """Whether text dates in this sheet are DD/MM/YYYY (some day part is above 12)."""
    for v in values:
        m = re.match(
            r"^\s*(\d{1,2})[/.](\d{1,2})[/.](\d{2,4})\s*$", v if isinstance(v, str) else ""
        )
        if m and int(m.group(1)) > 12 >= int(m.group(2)):
            return True
    return False


def _xl_date(v: object, day_first: bool = False) -> str | None:
    """ISO date of a cell: a date/datetime, an Excel serial, or text; None if not a date."""
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if 1 <= v < 2958466:
            return (date(1899, 12, 30) + timedelta(days=int(v))).isoformat()
        return None
    text = _cell_text(v)
    fmts = ("%d/%m/%Y", "%d.%m.%Y", "%Y-%m-%d") if day_first else ("%m/%d/%Y", "%Y-%m-%d")
    for fmt in (*fmts, "%m/%d/%y", "%b %d, %Y", "%d %b %Y"):
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    if re.fullmatch(r"\d{5}(\.0+)?", text):  # a serial written as text
        return (date(1899, 12, 30) + timedelta(days=int(float(text)))).isoformat()
    return None


class _Bad(Exception):
    pass


def _xl_number(v: object) -> float | None:
    """A count or rate from a cell; None if empty; raises _Bad if not a number or negative."""
    if v is None or isinstance(v, bool):
        if isinstance(v, bool):
            raise _Bad("not a number")
        return None
    if isinstance(v, (int, float)):
        x = float(v)
    else:
        text = _cell_text(v)
        if text in ("", "-", "—"):
            return None
        pct = text.endswith("%")
        t = text.rstrip("%").replace(",", "").replace("\u00a0", "").strip()
        try:
            x = float(t)
        except ValueError as e:
            raise _Bad("not a number") from e
        if pct:
            x /= 100
    if x != x or x < 0:
        raise _Bad("negative" if x < 0 else "not a number")
    return x


class _Metrics:
    """Collects long metric rows and the rejects of the rows they came from."""

    def __init__(self) -> None:
        self.content: list[str | None] = []
        self.day: list[str] = []
        self.metric: list[str] = []
        self.value: list[str] = []
        self.rejects: list[Reject] = []

    def add(self, content_id: str | None, day: str, metric: str, value: float) -> None:
        self.content.append(content_id)
        self.day.append(day)
        self.metric.append(metric)
        self.value.append(repr(value) if not value.is_integer() else str(int(value)))

    def reject(self, sheet: str, row: int, column: str, reason: str, cells: list[object]) -> None:
        raw = " | ".join(_cell_text(v) for v in cells)[:500]
        self.rejects.append((row, column, f"sheet '{sheet}': {reason}", raw))

    def stage(self, ctx: StageContext, rel: str) -> StagedTable:
        # staged rows are numbered in order: a workbook's sheets each count their rows from 1,
        # so sheet row numbers would collide (the rejects above carry sheet and row)
        n = len(self.metric)
        register_rows(
            ctx.con,
            rel,
            list(range(1, n + 1)),
            {
                "channel_id": [CHANNEL] * n,
                "content_id": self.content,
                "date": self.day,
                "metric": self.metric,
                "value": self.value,
            },
        )
        return StagedTable("metrics", rel, n + len(self.rejects), rejects=self.rejects)

    def wide(
        self,
        sheet: str,
        rows: list[list[object]],
        header_at: int,
        columns: dict[int, str],
        date_col: int,
        content_of: dict[int, str | None] | None = None,
        skip_rows: set[int] | None = None,
    ) -> None:
        """Unpivot a wide sheet: one metric per mapped column per data row.

        A row with an unreadable date or value is rejected whole (one reject naming its
        columns); ``skip_rows`` are rows already rejected elsewhere (e.g. by contents).
        """
        body = rows[header_at + 1 :]
        day_first = _day_first([r[date_col] for r in body if date_col < len(r)])
        header = [_cell_text(v) for v in rows[header_at]]
        for i, r in enumerate(body, start=1):
            if not any(_cell_text(v) for v in r):
                continue
            if skip_rows and i in skip_rows:
                continue
            cell = r[date_col] if date_col < len(r) else None
            day = _xl_date(cell, day_first)
            if day is None:
                text = _cell_text(cell)
                why = f"not a date: '{text}'" if text else "missing (required)"
                self.reject(sheet, i, header[date_col], why, r)
                continue
            got: list[tuple[str, float]] = []
            bad: list[tuple[str, str]] = []
            for j, metric in columns.items():
                v = r[j] if j < len(r) else None
                try:
                    x = _xl_number(v)
                except _Bad as e:
                    bad.append((header[j], f"{e}: '{_cell_text(v)}'"))
                    continue
                if x is not None:
                    got.append((metric, x))
            if bad:
                self.reject(
                    sheet,
                    i,
                    ", ".join(b[0] for b in bad),
                    "; ".join(f"{col}: {why}" for col, why in bad),
                    r,
                )
                continue
            cid = content_of.get(i) if content_of is not None else None
            for metric, x in got:
                self.add(cid, day, metric, x)


_FOLLOWER_PARTS = {
    "organic followers": "followers_gained_organic",
    "sponsored followers": "followers_gained_sponsored",
    "auto-invited followers": "followers_gained_auto_invited",
}


def _stage_page(ctx: StageContext) -> list[StagedTable]:
    book = _read_book(ctx.path)
    kind = _workbook_kind(book)
    if kind is None:
        raise UnusableFile(
            str(ctx.path), "no LinkedIn Page analytics sheet (Date + followers/visitors/...)"
        )
    rel = f"{ctx.prefix}_li_metrics"
    if kind == PAGE_FOLLOWERS:
        return [_stage_followers(ctx, book, rel)]
    if kind == PAGE_VISITORS:
        return [_stage_visitors(ctx, book, rel)]
    return _stage_content(ctx, book, rel)


def _stage_followers(ctx: StageContext, book: Sheets, rel: str) -> StagedTable:
    found = _find_sheet(book, _is_followers)
    assert found is not None
    sheet, at, header = found
    rows = book[sheet]
    normed = [norm(h) for h in header]
    date_col = normed.index("date")
    parts = {j: _FOLLOWER_PARTS[h] for j, h in enumerate(normed) if h in _FOLLOWER_PARTS}
    total_col = normed.index("total followers") if "total followers" in normed else None
    running = (
        total_col is not None and parts and _is_running_total(rows[at + 1 :], total_col, parts)
    )
    columns = dict(parts)
    if total_col is not None:
        columns[total_col] = "followers" if running else "followers_gained"
    m = _Metrics()
    m.wide(sheet, rows, at, columns, date_col)
    if running or total_col is None:  # the day's gains are the sum of the parts
        _sum_parts(m, set(parts.values()), "followers_gained")
    note = (
        "Total followers is a running total here: stored as followers"
        if running
        else "Total followers is the day's new followers: stored as followers_gained"
    )
    staged = m.stage(ctx, rel)
    staged.note = note + "; demographic sheets (no dates) not imported"
    return staged


def _is_running_total(body: list[list[object]], total_col: int, parts: dict[int, str]) -> bool:
    """A genuine follower total is at least the day's gains, above them somewhere, never falling."""
    prev = None
    above = False
    for r in body:
        try:
            total = _xl_number(r[total_col]) if total_col < len(r) else None
            gained = sum((_xl_number(r[j]) or 0.0) for j in parts if j < len(r))
        except _Bad:
            continue
        if total is None:
            continue
        if total + 0.5 < gained or (prev is not None and total + 0.5 < prev):
            return False
        above = above or total > gained + 0.5
        prev = total
    return above


def _sum_parts(m: _Metrics, part_names: set[str], name: str) -> None:
    sums: dict[str, float] = {}
    for cid, day, metric, value in zip(m.content, m.day, m.metric, m.value, strict=True):
        if cid is None and metric in part_names:
            sums[day] = sums.get(day, 0.0) + float(value)
    for day, total in sums.items():
        m.add(None, day, name, total)


_VISITOR_RX = re.compile(r"^(.+?) (page views|unique visitors) \((desktop|mobile|total)\)$")
_BUTTON_RX = re.compile(r"^custom button clicks \((total)\)$")


def _stage_visitors(ctx: StageContext, book: Sheets, rel: str) -> StagedTable:
    found = _find_sheet(book, _is_visitors)
    assert found is not None
    sheet, at, header = found
    normed = [norm(h) for h in header]
    by_section: dict[str, dict[str, int]] = {}
    for j, h in enumerate(normed):
        mt = _VISITOR_RX.match(h)
        if mt and mt.group(3) == "total":
            by_section.setdefault(mt.group(1), {})[mt.group(2).replace(" ", "_")] = j
        elif h in ("page views", "unique visitors"):  # a file without sections
            by_section.setdefault("", {})[h.replace(" ", "_")] = j
    main: str | None = next((s for s in ("total", "", "overview") if s in by_section), None)
    if main is None and by_section:
        main = sorted(by_section)[0]
    columns: dict[int, str] = {}
    if main is not None:
        columns.update({j: name for name, j in by_section[main].items()})
    for j, h in enumerate(normed):
        if _BUTTON_RX.match(h):
            columns[j] = "custom_button_clicks"
    m = _Metrics()
    m.wide(sheet, book[sheet], at, columns, normed.index("date"))
    staged = m.stage(ctx, rel)
    staged.note = (
        f"page views and unique visitors of the '{main or '?'}' section; "
        "demographic sheets (no dates) not imported"
    )
    return staged


_CONTENT_BASES = {
    "impressions": "impressions",
    "unique impressions": "unique_impressions",
    "clicks": "clicks",
    "reactions": "reactions",
    "likes": "reactions",
    "comments": "comments",
    "reposts": "reposts",
    "shares": "reposts",
    "engagement rate": "engagement_rate",
}
_DAILY_RX = re.compile(r"^(.+?) \((organic|sponsored|total)\)$")
_POST_ALIASES = {
    "title": ["Post title", "Update title"],
    "link": ["Post link", "Update link"],
    "type": ["Post type", "Update type"],
    "created": ["Created date"],
    "content_type": ["Content Type"],
}
_POST_METRICS = {
    "impressions": "impressions",
    "views (excluding off-site video views)": "views",
    "views": "views",
    "off-site views": "offsite_views",
    "clicks": "clicks",
    "click through rate (ctr)": "ctr",
    "likes": "reactions",
    "reactions": "reactions",
    "comments": "comments",
    "reposts": "reposts",
    "shares": "reposts",
    "follows": "followers_gained",
    "engagement rate": "engagement_rate",
}
_URN_RX = re.compile(r"urn:li:(activity|share|ugcPost):(\d+)")
_FORMATS = {"video": "video", "article": "article", "newsletter": "newsletter"}


def _post_id(link: str, title: str, created: str) -> str | None:
    found = _URN_RX.search(link)
    if found:
        return f"linkedin:{found.group(1)}:{found.group(2)}"
    if link:
        return f"linkedin:{link}"
    if title or created:
        digest = hashlib.sha256(f"{title}|{created}".encode()).hexdigest()[:16]
        return f"linkedin:post:{digest}"
    return None


def _stage_content(ctx: StageContext, book: Sheets, rel: str) -> list[StagedTable]:
    m = _Metrics()
    staged: list[StagedTable] = []
    notes = []
    posts = _find_sheet(book, _is_posts)
    if posts is not None:
        sheet, at, header = posts
        rows = book[sheet]
        c = pick(header, _POST_ALIASES)
        idx = {name: header.index(col) if col is not None else None for name, col in c.items()}

        def get(r: list[object], name: str) -> object:
            j = idx[name]
            return r[j] if j is not None and j < len(r) else None

        body = rows[at + 1 :]
        created_col = idx["created"]
        day_first = _day_first([get(r, "created") for r in body])
        out: dict[str, list[str | None]] = {
            k: [] for k in ("content_id", "channel_id", "published_at", "format", "title", "url")
        }
        numbers: list[int] = []
        content_of: dict[int, str | None] = {}
        bad_rows: set[int] = set()
        for i, r in enumerate(body, start=1):
            if not any(_cell_text(v) for v in r):
                continue
            link, title = _cell_text(get(r, "link")), _cell_text(get(r, "title"))
            created_raw = _cell_text(get(r, "created"))
            day = _xl_date(get(r, "created"), day_first)
            cid = _post_id(link, title, created_raw)
            ctype = _cell_text(get(r, "content_type")).lower()
            numbers.append(i)
            out["content_id"].append(cid)
            out["channel_id"].append(CHANNEL)
            out["published_at"].append(day or created_raw or None)
            out["format"].append(_FORMATS.get(ctype, "post"))
            out["title"].append(title or None)
            out["url"].append(link or None)
            content_of[i] = cid
            if cid is None or day is None:  # the contents row is rejected by the loader
                bad_rows.add(i)
        crel = f"{ctx.prefix}_li_contents"
        register_rows(ctx.con, crel, numbers, out)
        staged.append(StagedTable("contents", crel, len(numbers), local_times=True))
        metric_cols = {
            j: _POST_METRICS[norm(h)] for j, h in enumerate(header) if norm(h) in _POST_METRICS
        }
        if created_col is not None:
            m.wide(sheet, rows, at, metric_cols, created_col, content_of, bad_rows)
        notes.append("per-post metrics are lifetime totals at export time, dated on the post's day")
    daily = _find_sheet(book, _is_content_daily)
    if daily is not None and (posts is None or daily[0] != posts[0]):
        sheet, at, header = daily
        normed = [norm(h) for h in header]
        columns: dict[int, str] = {}
        has_total = {
            _CONTENT_BASES[mt.group(1)]
            for h in normed
            if (mt := _DAILY_RX.match(h))
            and mt.group(1) in _CONTENT_BASES
            and mt.group(2) == "total"
        }
        has_sponsored = {
            _CONTENT_BASES[mt.group(1)]
            for h in normed
            if (mt := _DAILY_RX.match(h))
            and mt.group(1) in _CONTENT_BASES
            and mt.group(2) == "sponsored"
        }
        for j, h in enumerate(normed):
            mt = _DAILY_RX.match(h)
            base = _CONTENT_BASES.get(mt.group(1)) if mt else _CONTENT_BASES.get(h)
            if base is None:
                continue
            part = mt.group(2) if mt else "total"
            if part == "total":
                columns[j] = base
            elif part == "organic" and base not in has_total and base not in has_sponsored:
                columns[j] = base  # organic is all there is
            else:
                columns[j] = f"{base}_{part}"
        m.wide(sheet, book[sheet], at, columns, normed.index("date"))
        notes.append("page totals per day stored without a content id")
    mstaged = m.stage(ctx, rel)
    mstaged.note = "; ".join(notes)
    staged.append(mstaged)
    return staged


register(LinkedInSource())
