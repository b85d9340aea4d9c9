"""The canonical tables, their columns, keys and enums: the one place that knows the data model.

Nothing else in the package writes DDL. :func:`migrate` brings any workspace forward to
:data:`SCHEMA_VERSION`; each step in :data:`MIGRATIONS` runs in its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

SCHEMA_VERSION = 4

CHANNEL_KINDS = (
    "social",
    "email",
    "web",
    "search",
    "paid",
    "phone",
    "event",
    "referral",
    "direct",
    "client_service",
    "press",
    "other",
)
IDENTITY_KINDS = ("email", "phone", "handle", "profile_url", "crm_id", "customer_id", "cookie")
TOUCH_KINDS = (
    "view",
    "follow",
    "unfollow",
    "like",
    "comment",
    "share",
    "save",
    "click",
    "visit",
    "open",
    "reply",
    "message",
    "subscribe",
    "unsubscribe",
    "form",
    "call",
    "meeting",
    "booth_visit",
    "download",
    "attend",
    "review",
    "referral",
)
#: Touches that show a person acting, not merely being shown something.
ENGAGED_TOUCH_KINDS = tuple(k for k in TOUCH_KINDS if k not in ("view", "follow", "unfollow"))
#: The picture's attribution window: an outcome belongs to the person's last touch this many days
#: before it (the summary table ``outcome_touches`` is kept for this window).
LOOKBACK_DAYS = 30
OUTCOME_TYPES = (
    "call",
    "question",
    "lead",
    "new_account",
    "order",
    "renewal",
    "refund",
    "fee",
    "subscription",
    "enrollment",
    "book_sale",
    "donation",
    "introduction",
    "interview",
    "offer",
)
#: Outcome types whose value is money leaving the business (subtracted whatever their sign).
NEGATIVE_MONEY_TYPES = ("refund", "fee")
#: Metrics that are running totals of an audience (the rest are per-period counts).
AUDIENCE_METRICS = ("followers", "subscribers", "connections", "members")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # str, int, float, money, bool, timestamp, date, enum, currency
    required: bool = False
    enum: tuple[str, ...] = ()
    references: str | None = None  # "table.column"
    doc: str = ""
    since: int = 1  # the schema version that added the column

    @property
    def sql_type(self) -> str:
        return _SQL_TYPES[self.type]


_SQL_TYPES = {
    "str": "VARCHAR",
    "enum": "VARCHAR",
    "currency": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "money": "DECIMAL(18,4)",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
}


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    doc: str
    load_order: int
    #: columns compared to decide whether a re-imported row with a known key changed
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _c(name: str, type_: str, required: bool = False, **kw: object) -> Column:
    return Column(name, type_, required, **kw)  # type: ignore[arg-type]


CANONICAL: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "channels",
            ("channel_id",),
            (
                _c("channel_id", "str", True, doc="your short id, e.g. linkedin, newsletter"),
                _c("name", "str", doc="display name; defaults to channel_id"),
                _c("kind", "enum", True, enum=CHANNEL_KINDS),
                _c("platform", "str", doc="who runs it: linkedin, google, mailchimp, self ..."),
                _c("owned", "bool", doc="true if you control the audience (list, site, phone)"),
            ),
            "one row per channel",
            0,
        ),
        Table(
            "people",
            ("person_id",),
            (
                _c("person_id", "str", True),
                _c("display_name", "str"),
                _c("company", "str"),
                _c("title", "str"),
                _c("industry", "str"),
                _c("location", "str"),
                _c("first_seen", "timestamp"),
            ),
            "resolved people (and accounts via company)",
            1,
        ),
        Table(
            "contents",
            ("content_id",),
            (
                _c("content_id", "str", True),
                _c("channel_id", "str", True, references="channels.channel_id"),
                _c("published_at", "timestamp"),
                _c("format", "str", doc="post, article, newsletter, video, talk ..."),
                _c("title", "str"),
                _c("url", "str"),
                _c("text", "str"),
                _c("topics", "str", doc="comma-separated"),
            ),
            "posts, articles, newsletters, videos, talks",
            2,
        ),
        Table(
            "identities",
            ("identity_id",),
            (
                _c("identity_id", "str", True),
                _c("person_id", "str", True, references="people.person_id"),
                _c("kind", "enum", True, enum=IDENTITY_KINDS),
                _c("platform", "str"),
                _c("value", "str", doc="normalised value (may be empty with --hash-pii)"),
                _c("value_hash", "str"),
            ),
            "every way a person appears; many per person",
            3,
        ),
        Table(
            "audience",
            ("channel_id", "identity_id"),
            (
                _c("channel_id", "str", True, references="channels.channel_id"),
                _c("identity_id", "str", True, doc="unknown ids are created as handles"),
                _c("person_id", "str", doc="the person behind an identity not yet known"),
                _c("followed_at", "timestamp"),
                _c("unfollowed_at", "timestamp"),
                _c("followers_count", "int"),
                _c("following_count", "int"),
                _c("posts_count", "int"),
                _c("has_photo", "bool"),
                _c("bio_length", "int"),
                _c("has_url", "bool"),
                _c("account_created", "timestamp"),
                _c("verified", "bool"),
            ),
            "follower / connection / subscriber lists",
            4,
        ),
        Table(
            "touchpoints",
            ("touch_id",),
            (
                _c("touch_id", "str", True),
                _c("person_id", "str", True, references="people.person_id"),
                _c("ts", "timestamp", True),
                _c("channel_id", "str", True, references="channels.channel_id"),
                _c("content_id", "str", references="contents.content_id"),
                _c("kind", "enum", True, enum=TOUCH_KINDS),
                _c("value", "float"),
                _c("identity_id", "str", doc="the identity the row was seen under", since=2),
            ),
            "person-level interactions",
            5,
        ),
        Table(
            "outcomes",
            ("outcome_id",),
            (
                _c("outcome_id", "str", True),
                _c("person_id", "str", references="people.person_id", doc="empty = anonymous"),
                _c("ts", "timestamp", True),
                _c("type", "enum", True, enum=OUTCOME_TYPES),
                _c("value", "money"),
                _c("currency", "currency", doc="ISO 4217; required when value is set"),
                _c("channel_id", "str", references="channels.channel_id", doc="how did you hear"),
                _c("order_ref", "str"),
                _c("identity_id", "str", doc="the identity the row was seen under", since=2),
                _c(
                    "referred_by",
                    "str",
                    references="people.person_id",
                    doc="the person named as 'how did you hear'",
                    since=3,
                ),
            ),
            "the business results",
            6,
        ),
        Table(
            "costs",
            ("channel_id", "period_start"),
            (
                _c("channel_id", "str", True, references="channels.channel_id"),
                _c("period_start", "date", True),
                _c("period_end", "date"),
                _c("dollars", "money"),
                _c("hours", "float"),
                _c("currency", "currency"),
            ),
            "money and time spent per channel and period",
            7,
        ),
        Table(
            "metrics",
            ("channel_id", "content_id", "date", "metric"),
            (
                _c("channel_id", "str", True, references="channels.channel_id"),
                _c("content_id", "str", references="contents.content_id"),
                _c("date", "date", True),
                _c("metric", "str", True, doc="followers, impressions, likes, opens ..."),
                _c("value", "float", True),
            ),
            "platform aggregates per day (audience metrics are running totals)",
            8,
        ),
    )
}

#: Tables the generic import loads, in dependency order.
IMPORT_ORDER = sorted(CANONICAL, key=lambda n: CANONICAL[n].load_order)


def _canonical_ddl(t: Table) -> str:
    cols = [f'"{c.name}" {c.sql_type}' for c in t.columns if c.since == 1]
    cols.append('"source_id" BIGINT')
    return f'CREATE TABLE IF NOT EXISTS "{t.name}" ({", ".join(cols)})'


_V1 = [
    "CREATE TABLE IF NOT EXISTS _meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE TABLE IF NOT EXISTS settings (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE SEQUENCE IF NOT EXISTS import_seq START 1",
    """CREATE TABLE IF NOT EXISTS imports (
        source_id BIGINT PRIMARY KEY, path VARCHAR, sha256 VARCHAR, format VARCHAR,
        "table" VARCHAR, imported_at TIMESTAMP, rows BIGINT, added BIGINT, updated BIGINT,
        skipped BIGINT, rejected BIGINT, note VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS rejects (
        source_id BIGINT, "row" BIGINT, "column" VARCHAR, reason VARCHAR, raw VARCHAR)""",
    # the demo world's ground truth: which channel truly caused each outcome
    """CREATE TABLE IF NOT EXISTS truth (
        outcome_id VARCHAR, channel_id VARCHAR, source_id BIGINT)""",
    *[_canonical_ddl(CANONICAL[n]) for n in IMPORT_ORDER],
]

# v2: identity resolution — why identities joined a person, merges, pairs kept apart, and the
# identity each fact was seen under (so a wrong merge can be split with its facts)
_V2 = [
    *[
        f'ALTER TABLE "{t.name}" ADD COLUMN IF NOT EXISTS "{c.name}" {c.sql_type}'
        for t in CANONICAL.values()
        for c in t.columns
        if c.since == 2
    ],
    """CREATE TABLE IF NOT EXISTS identity_links (
        identity_id VARCHAR, person_id VARCHAR, rule VARCHAR, score DOUBLE, evidence VARCHAR,
        source_id BIGINT, linked_at TIMESTAMP)""",
    "CREATE SEQUENCE IF NOT EXISTS merge_seq START 1",
    """CREATE TABLE IF NOT EXISTS merges (
        merge_id BIGINT, kept_person VARCHAR, merged_person VARCHAR, rule VARCHAR, score DOUBLE,
        evidence VARCHAR, source_id BIGINT, merged_at TIMESTAMP, undone_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS kept_apart (
        person_a VARCHAR, person_b VARCHAR, created_at TIMESTAMP)""",
]

# v3: who referred an outcome's person (an advocacy signal for `fans`), and the demo world's truth
# about people (its planted true fans)
_V3 = [
    *[
        f'ALTER TABLE "{t.name}" ADD COLUMN IF NOT EXISTS "{c.name}" {c.sql_type}'
        for t in CANONICAL.values()
        for c in t.columns
        if c.since == 3
    ],
    """CREATE TABLE IF NOT EXISTS truth_people (
        person_id VARCHAR, label VARCHAR, source_id BIGINT)""",
]

#: v4: summaries kept in step with the facts by every write (``derived.py``): per person and
#: channel, and per person, the touches; per outcome, its journey in the picture's window. Whole-history analyses
#: read these (a few million rows) instead of joining every touch (20 million on the large demo).
DERIVED_DDL = [
    """CREATE TABLE IF NOT EXISTS person_channels (
        person_id VARCHAR, channel_id VARCHAR, touches BIGINT, engaged_touches BIGINT,
        first_ts TIMESTAMP, last_ts TIMESTAMP, first_engaged_ts TIMESTAMP)""",
    # channel sets as bits of one integer: each channel's bit (the first 63 channels have one)
    """CREATE TABLE IF NOT EXISTS channel_bits (channel_id VARCHAR, bit INTEGER)""",
    """CREATE TABLE IF NOT EXISTS person_touches (
        person_id VARCHAR, touches BIGINT, first_ts TIMESTAMP, last_ts TIMESTAMP,
        first_engaged_ts TIMESTAMP, seen_mask BIGINT, engaged_mask BIGINT)""",
    """CREATE TABLE IF NOT EXISTS outcome_touches (
        outcome_id VARCHAR, person_id VARCHAR, last_channel VARCHAR, last_ts TIMESTAMP,
        channel_mask BIGINT)""",
    # what the summaries have not taken in yet: an import's rows (source_id) or a person
    """CREATE TABLE IF NOT EXISTS derived_pending (source_id BIGINT, person_id VARCHAR)""",
]
DERIVED_TABLES = ("channel_bits", "person_channels", "person_touches", "outcome_touches")


def _v4(con: duckdb.DuckDBPyConnection) -> None:
    from . import derived

    for stmt in DERIVED_DDL:
        con.execute(stmt)
    derived.rebuild(con)


#: MIGRATIONS[i] brings a workspace from version i to i + 1.
MIGRATIONS: list[list[str] | Callable[[duckdb.DuckDBPyConnection], None]] = [_V1, _V2, _V3, _v4]


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = '_meta'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT value FROM _meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring the workspace to :data:`SCHEMA_VERSION`; returns the version it started at."""
    start = current_version(con)
    if start > SCHEMA_VERSION:
        from .errors import WorkspaceError

        raise WorkspaceError(
            f"this workspace has schema version {start}, newer than this truefans "
            f"({SCHEMA_VERSION}); upgrade truefans to open it"
        )
    for version in range(start, SCHEMA_VERSION):
        step = MIGRATIONS[version]
        con.execute("BEGIN TRANSACTION")
        try:
            if callable(step):
                step(con)
            else:
                for stmt in step:
                    con.execute(stmt)
            con.execute(
                "INSERT OR REPLACE INTO _meta VALUES ('schema_version', ?)", [str(version + 1)]
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return start


def clear_all(con: duckdb.DuckDBPyConnection) -> None:
    """Empty every data table (used by `demo` to rebuild a workspace from scratch)."""
    for name in [
        *IMPORT_ORDER,
        "imports",
        "rejects",
        "truth",
        "truth_people",
        "identity_links",
        "merges",
        "kept_apart",
        *DERIVED_TABLES,
        "derived_pending",
    ]:
        con.execute(f'DELETE FROM "{name}"')


#: ISO 4217 active alphabetic codes (list of the ISO 4217 maintenance agency, 2024), plus XAU/XAG.
ISO_4217 = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN
    BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN
    ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD
    JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT
    MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
    QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS
    TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU
    XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL""".split()
)


_TYPE_DOC = {
    "str": "text",
    "enum": "one of the listed values",
    "currency": "ISO 4217 code (USD, EUR ...)",
    "int": "whole number",
    "float": "number",
    "money": "exact amount, e.g. 1234.50",
    "bool": "true/false (also yes/no, 1/0)",
    "timestamp": "ISO 8601 date-time",
    "date": "YYYY-MM-DD",
}


def format_reference() -> str:
    """The generic import format as Markdown (pasted into the README; a test keeps them equal)."""
    out = []
    for name in IMPORT_ORDER:
        t = CANONICAL[name]
        out.append(f"#### `{name}.csv` — {t.doc}\n")
        out.append(f"Key: {', '.join(t.key)}.\n")
        out.append("| column | required | type | notes |")
        out.append("|---|---|---|---|")
        for c in t.columns:
            notes = []
            if c.enum:
                notes.append(", ".join(c.enum))
            if c.references:
                notes.append(f"refers to {c.references}")
            if c.doc:
                notes.append(c.doc)
            req = "yes" if c.required else ""
            out.append(f"| `{c.name}` | {req} | {_TYPE_DOC[c.type]} | {'; '.join(notes)} |")
        out.append("")
    return "\n".join(out)
