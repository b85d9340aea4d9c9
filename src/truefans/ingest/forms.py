"""Website form submissions: questions people asked through a form on the site.

Form tools each write their own export; the columns that hold the person (email, phone, name,
company) are named by the site owner, so they are found through alias lists. Tools recognised by
their header signature:

* **Typeform** (Results > Responses > Download all responses, CSV or XLSX): ``#`` (response token),
  one column per question, hidden fields (``utm_source``...), ``Start Date (UTC)``,
  ``Submit Date (UTC)`` (older: ``Submitted At``), ``Network ID``. Times are UTC.
* **Gravity Forms** (Forms > Import/Export > Export Entries): ``Entry Id``, ``Entry Date``,
  ``Date Updated``, ``Source Url``, ``User Agent``, ``User IP`` + fields (``Name (First)``...).
* **WPForms** (WPForms > Tools > Export, or Entries > Export All): fields + ``Entry ID``,
  ``Date`` (site time) and ``Date GMT``.
* **Jotform** (Tables > Download All > CSV / Excel): ``Submission Date`` + fields
  (``Submission ID``, ``Submission IP`` when chosen).
* **Netlify Forms** (Forms > form > Download as CSV): fields + ``created_at`` (ISO, UTC) and the
  submission ``id``.
* **Contact Form 7** through **CFDB7** or **Flamingo** exports: the form's field names
  (``your-name``, ``your-email``, ``your-message``) and a date column.
* **Google Forms** (Responses > Download responses, or the linked Sheet): ``Timestamp`` first, then
  one column per question (``Email address`` when the form collects emails).

Each submission becomes an ``outcomes`` row of type ``question`` (key ``<tool>:<entry id>``, or a
hash of time + email when the tool gives no id) and, when it names someone by email or phone, a
``touchpoints`` row of kind ``form`` on channel ``website``. A "How did you hear about us?" answer
sets the outcome's ``channel_id`` through a small mapping of common answers; without one, UTM
columns (or UTM parameters in a page-URL column) are mapped with
:func:`~truefans.ingest.channels.channel_sql`.

This module also holds the small readers the hand-kept sheets share (:mod:`.leads`,
:mod:`.hours`): find a header by a predicate over column names, in a CSV or in an Excel sheet.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from ..errors import UnusableFile
from .channels import channel_sql, load_user_config
from .common import Header, decode, norm, read_head, register_rows, stage_csv, ts_sql
from .registry import Detection, StageContext, StagedTable, register

T = TypeVar("T")
#: a header predicate: normed column names -> a match (anything truthy) or None
Predicate = Callable[[list[str]], T | None]

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
HEADER_LINES = 40

# --------------------------------------------------------------------------------------------
# shared readers (CSV with preamble, or the first matching sheet of a workbook)
# --------------------------------------------------------------------------------------------


def is_excel(path: Path) -> bool:
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


def _cell(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, dt.time):
        return v.strftime("%H:%M:%S")
    if isinstance(v, dt.timedelta):
        return str(int(v.total_seconds()))
    s = str(v)
    return s if s.strip() else None


def excel_sheets(path: Path, nrows: int | None = None) -> list[tuple[str, list[list[str | None]]]]:
    """(sheet name, rows as strings) for every sheet of a workbook; [] when unreadable."""
    try:
        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_path(str(path))
        out = []
        for name in wb.sheet_names:
            sheet = wb.get_sheet_by_name(name)
            rows = sheet.to_python(skip_empty_area=False, nrows=nrows)
            out.append((name, [[_cell(v) for v in r] for r in rows]))
        return out
    except Exception:
        return []


def _scan_rows(
    rows: Sequence[Sequence[str | None]], pred: Predicate[T], max_lines: int = HEADER_LINES
) -> tuple[int, list[str], T] | None:
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


def detect_header(path: Path, head: bytes, pred: Predicate[T]) -> tuple[list[str], T] | None:
    """(normed columns, match) of the header ``pred`` accepts, in a CSV head or a workbook."""
    try:
        if is_excel(path):
            for _, rows in excel_sheets(path, nrows=HEADER_LINES):
                hit = _scan_rows(rows, pred)
                if hit:
                    return [norm(c) for c in hit[1]], hit[2]
            return None
        found = scan_csv(head, pred)
        return (found[0].normed, found[1]) if found else None
    except Exception:
        return None


def unique_names(names: Iterable[str]) -> list[str]:
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


@dataclass
class Loaded:
    rel: str
    columns: list[str]  # staged column names (normed, unique), without __row
    rows: int
    rejects: list[tuple[int, str, str, str]]
    note: str


def load_table(ctx: StageContext, pred: Predicate[T], rel: str, what: str) -> tuple[Loaded, T]:
    """Stage the rows under the header ``pred`` accepts into temp table ``rel`` (all VARCHAR).

    CSV goes through :func:`~truefans.ingest.common.stage_csv` (DuckDB's reader); a workbook is
    read in Python (first sheet whose header matches) and registered.
    """
    if is_excel(ctx.path):
        sheets = excel_sheets(ctx.path)
        if not sheets:
            raise UnusableFile(str(ctx.path), "not a readable Excel workbook")
        for name, rows in sheets:
            hit = _scan_rows(rows, pred)
            if not hit:
                continue
            i, cols, got = hit
            names = unique_names(norm(c) for c in cols)
            data: list[list[str | None]] = [[] for _ in names]
            numbers: list[int] = []
            n = 0
            for r in rows[i + 1 :]:
                if not any(v is not None and v.strip() for v in r):
                    continue
                n += 1
                numbers.append(n)
                for j, col in enumerate(data):
                    col.append(r[j] if j < len(r) else None)
            register_rows(ctx.con, rel, numbers, dict(zip(names, data, strict=True)))
            others = [s for s, _ in sheets if s != name]
            note = f"read sheet '{name}'" if others else ""
            return Loaded(rel, names, n, [], note), got
        raise UnusableFile(str(ctx.path), f"no sheet of this workbook has the header of {what}")
    found = scan_csv(read_head(ctx.path), pred)
    if found is None:
        raise UnusableFile(str(ctx.path), f"no header of {what} in the first {HEADER_LINES} lines")
    header, got = found
    n_rows, rejects, note = stage_csv(ctx, header, rel)
    names = [r[0] for r in ctx.con.execute(f'DESCRIBE "{rel}"').fetchall() if r[0] != "__row"]
    return Loaded(rel, names, n_rows, rejects, note), got


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


def is_heard(name: str) -> bool:
    """Whether a column asks how the person heard about the business."""
    return bool(re.search(HEARD_RX, spaced(name)))


def user_channel_config(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The user's ``channels.toml`` beside the workspace file (its rules go before the built-ins)."""
    try:
        row = con.execute(
            "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchone()
    except duckdb.Error:
        return {}
    if not row or not row[0]:
        return {}
    return load_user_config(Path(row[0]))


# ---- times -----------------------------------------------------------------------------------

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
    c = q(column)
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


def lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def q(name: str | None) -> str:
    if name is None:
        return "CAST(NULL AS VARCHAR)"
    return '"' + name.replace('"', '""') + '"'


def nz(expr: str) -> str:
    """NULL for empty text."""
    return f"NULLIF(trim({expr}), '')"


def count(con: duckdb.DuckDBPyConnection, rel: str, where: str = "true") -> int:
    row = con.execute(f'SELECT count(*) FROM "{rel}" WHERE {where}').fetchone()
    return int(row[0]) if row else 0


def take_keyless(
    con: duckdb.DuckDBPyConnection, base: str, column: str, reason: str
) -> list[tuple[int, str, str, str]]:
    """Remove the rows of ``base`` whose ``__key`` is NULL and return them as rejects
    (``column`` and ``reason`` are SQL expressions over the row)."""
    rows = con.execute(
        f'SELECT __row, {column}, {reason}, CAST(to_json(b) AS VARCHAR) FROM "{base}" b '
        "WHERE __key IS NULL ORDER BY __row"
    ).fetchall()
    if rows:
        con.execute(f'DELETE FROM "{base}" WHERE __key IS NULL')
    return [(int(r), str(c), str(why), str(raw)) for r, c, why, raw in rows]


# ---- people ----------------------------------------------------------------------------------

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
EMAIL_RX = r"e-?mail"
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
    email: str | None
    phone: str | None
    name: str | None
    first: str | None
    last: str | None
    company: str | None
    title: str | None
    country: str | None

    def any_contact(self) -> bool:
        return bool(self.email or self.phone or self.name or (self.first and self.last))

    def hint_sql(self) -> str:
        """The person-hint columns of a staged table (raw values)."""
        return ", ".join(
            f"{nz(q(c))} AS {alias}"
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
        parts = [f"{nz(q(c))} IS NOT NULL" for c in (self.email, self.phone) if c]
        return "(" + " OR ".join(parts) + ")" if parts else "false"


def person_cols(columns: Sequence[str], title_exact: Iterable[str] = TITLE) -> PersonCols:
    return PersonCols(
        email=find_col(columns, EMAIL, EMAIL_RX, EMAIL_NOT),
        phone=find_col(columns, PHONE, PHONE_RX, PHONE_NOT),
        name=find_col(columns, NAME, NAME_RX, NAME_NOT),
        first=find_col(columns, FIRST),
        last=find_col(columns, LAST),
        company=find_col(columns, COMPANY, COMPANY_RX, COMPANY_NOT),
        title=find_col(columns, title_exact),
        country=find_col(columns, COUNTRY),
    )


# ---- "how did you hear about us?" ------------------------------------------------------------

HEARD_RX = (
    r"hear about|heard about|hear of|heard of|find us|found us|how did you (hear|find|learn|"
    r"discover|get to know)|referral source|lead source|where did you (hear|find|learn)|"
    r"how you heard|referred by|^source$|^how did you"
)
_ADS = r"\b(ad|ads|advert|advertis\w*|sponsored|promoted)\b"
#: (regular expression on the lower-cased answer, channel id); first match wins
HEARD_MAP: list[tuple[str, str]] = [
    (rf"linked\s*in.*{_ADS}|{_ADS}.*linked\s*in", "linkedin_ads"),
    (
        rf"(facebook|instagram|\bmeta\b|\bfb\b|\big\b).*{_ADS}|{_ADS}.*(facebook|instagram)",
        "meta_ads",
    ),
    (rf"google.*{_ADS}|adwords|{_ADS}.*google|paid search|sponsored (result|search)", "google_ads"),
    (rf"youtube.*{_ADS}|{_ADS}.*youtube", "youtube_ads"),
    (rf"tiktok.*{_ADS}|{_ADS}.*tiktok", "tiktok_ads"),
    (r"linked\s*in", "linkedin"),
    (r"instagram|\binsta\b|\big\b", "instagram"),
    (r"facebook|\bfb\b|\bmeta\b", "facebook"),
    (r"twitter|\bx\b|x\.com|tweet", "x"),
    (r"tik\s*tok", "tiktok"),
    (r"podcast|spotify|episode", "podcast"),
    (r"you\s*tube|\byt\b", "youtube"),
    (r"pinterest", "pinterest"),
    (r"reddit", "reddit"),
    (r"threads", "threads"),
    (r"bluesky|bsky", "bluesky"),
    (r"newsletter|e-?mail|mailing list|mailchimp|substack", "newsletter"),
    (
        r"trade\s*-?show|\bexpo\b|exhibit|conference|booth|\bfairs?\b|summit|convention|"
        r"\bevents?\b|meet-?up|seminar|\btalk\b|keynote",
        "trade_shows",
    ),
    (
        r"friend|colleague|word of mouth|recommend|referr|family|neighbou?r|client|customer|"
        r"co-?worker|partner|someone|\bboss\b|\bwife\b|\bhusband\b|mouth|networking",
        "word_of_mouth",
    ),
    (r"google|\bbing\b|search|duck\s*duck|yahoo|ecosia|\bseo\b", "organic_search"),
    (r"\bpress\b|article|magazine|newspaper|\btv\b|television|radio|\bnews\b|journal", "press"),
    (r"\bblog\b|website|web site|your site", "website"),
    (_ADS, "paid_other"),
]


def heard_sql(answer: str) -> str:
    """SQL: a "how did you hear about us" answer -> channel id, NULL when not recognised."""
    a = f"lower(trim(coalesce({answer}, '')))"
    whens = " ".join(f"WHEN regexp_matches({a}, {lit(rx)}) THEN {lit(ch)}" for rx, ch in HEARD_MAP)
    return f"(CASE WHEN {a} = '' THEN NULL {whens} END)"


def unknown_answers(con: duckdb.DuckDBPyConnection, rel: str, column: str) -> str:
    """A note naming the answers no channel was found for (at most five shown)."""
    c = q(column)
    rows = con.execute(
        f'SELECT trim({c}) AS a, count(*) AS n FROM "{rel}" '
        f"WHERE {nz(c)} IS NOT NULL AND {heard_sql(c)} IS NULL GROUP BY 1 ORDER BY 2 DESC, 1 "
    ).fetchall()
    if not rows:
        return ""
    total = sum(int(r[1]) for r in rows)
    shown = ", ".join(f"'{r[0][:40]}'" + (f" ({r[1]})" if r[1] > 1 else "") for r in rows[:5])
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return (
        f"{total} '{column}' answer(s) matched no channel and were left empty: {shown}{more} "
        "(add a rule in channels.toml or edit the answers)"
    )


def utm_sql(columns: Sequence[str], con: duckdb.DuckDBPyConnection) -> str | None:
    """SQL channel from UTM columns or UTM parameters / gclid in a page-URL column; NULL when the
    row carries none. None when the file has no such column."""
    src = find_col(columns, ("utm_source", "utm source"), r"utm[_ ]?source")
    med = find_col(columns, ("utm_medium", "utm medium"), r"utm[_ ]?medium")
    camp = find_col(columns, ("utm_campaign", "utm campaign"), r"utm[_ ]?campaign")
    gclid = find_col(columns, ("gclid",))
    url = find_col(
        columns,
        (
            "source url",
            "page url",
            "landing page",
            "landing page url",
            "referrer",
            "referer",
            "embed url",
            "form url",
            "page",
            "url",
        ),
    )
    if not (src or med or camp or gclid or url):
        return None

    def param(col: str | None, name: str) -> str:
        parts = []
        if col:
            parts.append(nz(q(col)))
        if url:
            parts.append(
                f"NULLIF(url_decode(regexp_extract({q(url)}, '[?&]{name}=([^&#]*)', 1)), '')"
            )
        return "coalesce(" + ", ".join(parts) + ")" if parts else "CAST(NULL AS VARCHAR)"

    s, m, c = param(src, "utm_source"), param(med, "utm_medium"), param(camp, "utm_campaign")
    g = param(gclid, "gclid")
    cfg = user_channel_config(con)
    return (
        f"(CASE WHEN {s} IS NOT NULL OR {m} IS NOT NULL THEN {channel_sql(s, m, c, cfg)} "
        f"WHEN {g} IS NOT NULL THEN 'google_ads' END)"
    )


# --------------------------------------------------------------------------------------------
# the forms source
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    key: str  # key prefix
    label: str
    id_col: tuple[str, ...]
    ts_col: tuple[str, ...]
    utc: bool
    confidence: float


TYPEFORM = Tool(
    "typeform",
    "Typeform",
    ("#", "token", "response id"),
    ("submit date (utc)", "submitted at", "submit date", "start date (utc)"),
    True,
    0.96,
)
GRAVITY = Tool(
    "gravityforms", "Gravity Forms", ("entry id",), ("entry date", "date created"), False, 0.96
)
WPFORMS_GMT = Tool("wpforms", "WPForms", ("entry id",), ("date gmt",), True, 0.94)
WPFORMS = Tool(
    "wpforms", "WPForms", ("entry id",), ("date", "entry date", "date submitted"), False, 0.93
)
JOTFORM = Tool("jotform", "Jotform", ("submission id",), ("submission date",), False, 0.92)
NETLIFY = Tool("netlify", "Netlify Forms", ("id", "number"), ("created_at",), True, 0.92)
CF7 = Tool(
    "cf7",
    "Contact Form 7 (CFDB7 / Flamingo)",
    ("id", "submission id", "form_id_entry"),
    ("date", "submitted", "submitted on", "submitted at", "form_date", "created", "date submitted"),
    False,
    0.92,
)
GOOGLE = Tool("googleforms", "Google Forms", (), ("timestamp",), False, 0.9)


def _has_contact(cols: list[str]) -> bool:
    return person_cols(cols).any_contact()


def which_tool(cols: list[str]) -> Tool | None:
    s = set(cols)
    if ("#" in s or "token" in s) and s & {
        "submit date (utc)",
        "submitted at",
        "network id",
        "start date (utc)",
    }:
        return TYPEFORM
    if (
        "entry id" in s
        and "entry date" in s
        and s & {"source url", "user ip", "user agent", "date updated"}
    ):
        return GRAVITY
    if "entry id" in s and "date gmt" in s:
        return WPFORMS_GMT
    if "entry id" in s and s & {"date", "entry date", "date submitted"} and _has_contact(cols):
        return WPFORMS
    if "submission date" in s and (s & {"submission id", "submission ip"} or _has_contact(cols)):
        return JOTFORM
    if (
        "created_at" in s
        and s & {"id", "number"}
        and s & {"form_name", "form-name", "form_id", "site_url", "ip", "user_agent", "referrer"}
    ):
        return NETLIFY
    if any(c.startswith("your-") for c in cols) and s & set(CF7.ts_col):
        return CF7
    if cols and cols[0] == "timestamp" and (_has_contact(cols) or any(is_heard(c) for c in cols)):
        return GOOGLE
    return None


def _pick(cols: Sequence[str], names: Iterable[str]) -> str | None:
    return find_col(cols, names)


class FormsSource:
    name = "forms"
    description = (
        "website form submissions (Typeform, Gravity Forms, WPForms, Jotform, Netlify Forms, "
        "Contact Form 7 via CFDB7/Flamingo, Google Forms): questions -> outcomes, form touchpoints"
    )
    detection_rule = (
        "header signature of the form tool: Typeform '#' + 'Submit Date (UTC)'/'Network ID'; "
        "Gravity Forms 'Entry Id' + 'Entry Date' + 'Source Url'/'User IP'; WPForms 'Entry ID' + "
        "'Date'/'Date GMT'; Jotform 'Submission Date'; Netlify 'created_at' + 'id' + "
        "'form_name'/'site_url'/'ip'; CF7 'your-*' fields + a date; Google Forms 'Timestamp' first "
        "+ a contact or 'how did you hear' question"
    )

    def detect(self, path: Path, head: bytes) -> Detection | None:
        found = detect_header(path, head, which_tool)
        if not found:
            return None
        tool = found[1]
        conf = tool.confidence
        if tool is GOOGLE:
            low = path.name.lower()
            conf = 0.9 if ("responses" in low or "form" in low) else 0.8
        return Detection(self.name, conf, f"{tool.label} export header", None)

    def stage(self, ctx: StageContext) -> list[StagedTable]:
        con = ctx.con
        raw = f"{ctx.prefix}_forms_raw"
        loaded, tool = load_table(ctx, which_tool, raw, "a form tool's submissions export")
        cols = loaded.columns
        idc = _pick(cols, tool.id_col)
        tsc = _pick(cols, tool.ts_col)
        p = person_cols(cols)
        heard = next((c for c in cols if is_heard(c) and c not in (idc, tsc)), None)
        utm = utm_sql(cols, con)

        ts = ts_column(con, raw, tsc, utc=tool.utc)
        who = f"lower(trim(coalesce({q(p.email)}, {q(p.phone)}, {q(p.name)}, '')))"
        if idc:
            key = f"CASE WHEN {nz(q(idc))} IS NOT NULL THEN {lit(tool.key + ':')} || trim({q(idc)}) END"
        else:
            key = (
                f"CASE WHEN {nz(q(tsc))} IS NOT NULL THEN {lit(tool.key + ':')} || "
                f"left(md5(trim({q(tsc)}) || '|' || {who}), 16) END"
            )
        parts = [heard_sql(q(heard))] if heard else []
        if utm:
            parts.append(utm)
        channel = f"coalesce({', '.join(parts)})" if parts else "CAST(NULL AS VARCHAR)"

        base = f"{ctx.prefix}_forms_base"
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{base}" AS SELECT __row, {key} AS __key, {ts} AS ts, '
            f"{channel} AS __channel, {p.has_hint()} AS __known, {p.hint_sql()} "
            f'FROM "{raw}"'
        )
        id_label = lit(idc or tsc or "entry id")
        keyless = take_keyless(
            con,
            base,
            id_label,
            f"{id_label} || ': missing (it tells submissions apart)'",
        )
        out_rel = f"{ctx.prefix}_forms_outcomes"
        touch_rel = f"{ctx.prefix}_forms_touchpoints"
        hints = "__email, __phone, __name, __first_name, __last_name, __company, __title, __country"
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{out_rel}" AS SELECT __row, __key AS outcome_id, ts, '
            f"'question' AS type, __channel AS channel_id, {hints} FROM \"{base}\""
        )
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{touch_rel}" AS SELECT __row, __key AS touch_id, ts, '
            f"'website' AS channel_id, 'form' AS kind, {hints} FROM \"{base}\" WHERE __known"
        )
        anonymous = count(con, base, "NOT __known")
        con.execute(f'DROP TABLE IF EXISTS "{base}"')

        notes = [n for n in (f"{tool.label} export", loaded.note) if n]
        if tsc is None:
            notes.append("no submission date column: every row is rejected (ts is required)")
        if heard:
            unknown = unknown_answers(con, raw, heard)
            if unknown:
                notes.append(unknown)
        else:
            notes.append("no 'How did you hear about us?' column")
        if anonymous:
            notes.append(
                f"{anonymous} submission(s) without email or phone: kept as anonymous questions, "
                "no touchpoint"
            )
        con.execute(f'DROP TABLE IF EXISTS "{raw}"')
        note = "; ".join(notes)
        return [
            StagedTable(
                "touchpoints",
                touch_rel,
                count(con, touch_rel) + len(keyless),
                rejects=keyless,
                note=note,
                local_times=not tool.utc,
            ),
            StagedTable(
                "outcomes",
                out_rel,
                count(con, out_rel) + len(keyless) + len(loaded.rejects),
                rejects=loaded.rejects + keyless,
                note=note,
                local_times=not tool.utc,
            ),
        ]


register(FormsSource())
