"""Claim: a 1M-row Stripe payments export and a 2M-row GA4 report import at >= 50% of the
throughput of the generic import of the same rows.

Each pair compares an export file with the generic import of what that export becomes:

* **Stripe**: a 1,000,000-row unified payments CSV (the header of the shared sample export).
  Generic: the ``people``, ``identities`` and ``outcomes`` rows its import wrote, as
  ``people.csv``, ``identities.csv`` and ``outcomes.csv`` (channels declared beforehand).
* **GA4, date x source / medium**: a 2,000,000-row free-form exploration (``#`` preamble, Date,
  Session source / medium, Sessions, Engaged sessions, Engagement rate, Active users, Key events,
  Total revenue). truefans sums the rows of the same channel and day, so its import writes far
  fewer ``metrics`` rows; generic: ``metrics.csv`` of those rows.
* **GA4, date x source / medium x landing page**: 2,000,000 rows whose every row is its own
  (channel, page, day) key. Generic: ``contents.csv`` and ``metrics.csv``.

The generic files are made anew on every run: the export is imported into a scratch workspace
(which also checks that detection picks the expected source) and its canonical tables are copied
out with DuckDB ``COPY``. Each contender then runs ``--repeat`` times in its own fresh process,
alternating which goes first: ``open_workspace`` on a fresh copy of a template workspace (empty for
the export; holding the channels for the generic run), ``import_files``, close. Throughput is the
export's input rows per second for both contenders of a pair.

Usage: ``.venv/bin/python benchmarks/import_exports.py [--stripe-rows N] [--ga4-rows N]
[--repeat 3] [--no-profile] [--max-wait 120] [--write]``
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import _common as c

NAME = "import_exports"
STRIPE_ROWS = 1_000_000
GA4_ROWS = 2_000_000
CUSTOMERS = 200_000
TARGET = 0.5
#: bump when the generated data change, so a cached CSV of an older shape is not reused
DATA_VERSION = 1

SHARED_STRIPE = c.ROOT.parent / "shared" / "data" / "exports" / "stripe" / "unified_payments.csv"

# -- data -----------------------------------------------------------------------------------------

_PRICES = [49.0, 99.0, 297.0, 1500.0, 2400.0, 19.99, 9.0, 149.0]
_PRODUCTS = [
    "Local SEO template pack",
    "Website audit",
    "Monthly retainer",
    "Workshop seat",
    "Strategy call",
    "Newsletter sponsorship",
    "Course: content that sells",
    "Brand refresh deposit",
]
_DECLINES = ["insufficient_funds", "card_declined", "expired_card", "do_not_honor"]

#: column of the Stripe payments export -> SQL over the generator's row ``b`` (NULL = empty cell)
STRIPE_COLUMNS: dict[str, str] = {
    "id": "'py_' || lpad(i::VARCHAR, 10, '0')",
    "Created date (UTC)": "strftime(created, '%Y-%m-%d %H:%M:%S')",
    "Amount": "printf('%.2f', amount)",
    "Amount Refunded": "printf('%.2f', refunded)",
    "Currency": "cur",
    "Captured": "CASE WHEN failed THEN 'false' ELSE 'true' END",
    "Converted Amount": "printf('%.2f', round(amount * fx, 2))",
    "Converted Amount Refunded": "printf('%.2f', round(refunded * fx, 2))",
    "Converted Currency": "'usd'",
    "Decline Reason": "CASE WHEN failed THEN decline END",
    "Description": "product",
    "Fee": "printf('%.2f', CASE WHEN failed THEN 0 ELSE round(amount * fx * 0.029 + 0.30, 2) END)",
    "Is Link": "'false'",
    "Link Funding": "NULL",
    "Mode": "'Live'",
    "PaymentIntent ID": "'pi_' || lpad(i::VARCHAR, 10, '0')",
    "Payment Source Type": "'card'",
    "Refunded date (UTC)": (
        "CASE WHEN refunded > 0 THEN strftime(created + to_seconds((86400 + "
        "hash(i, 'refund_at') % (20 * 86400))::BIGINT), '%Y-%m-%d %H:%M:%S') END"
    ),
    "Statement Descriptor": "'HARBORPINE'",
    "Status": "CASE WHEN failed THEN 'Failed' WHEN st < 45 THEN 'Refunded' ELSE 'Paid' END",
    "Seller Message": (
        "CASE WHEN failed THEN 'The bank returned the decline code `' || decline || '`.' "
        "ELSE 'Payment complete.' END"
    ),
    "Taxes On Fee": "'0.00'",
    "Card ID": "'card_' || lpad(cust::VARCHAR, 7, '0')",
    "Customer ID": "'cus_' || cust",
    "Customer Description": "'Customer ' || cust",
    "Customer Email": "'c' || cust || '@example.com'",
    "Invoice ID": "NULL",
    "Transfer": "NULL",
    "utm_source (metadata)": "['linkedin', 'newsletter', 'google', NULL][(1 + hash(i, 'utm') % 4)::BIGINT]",
    "order_ref (metadata)": "'HP-' || (1000000 + i)",
}

#: (source / medium, share of the head's traffic) of the GA4 files; the 'tail' of the
#: source / medium file adds long-tail referral and affiliate sites
GA4_HEAD = [
    ("google / organic", 30),
    ("(direct) / (none)", 22),
    ("newsletter / email", 10),
    ("linkedin.com / referral", 9),
    ("google / cpc", 8),
    ("youtube.com / referral", 4),
    ("chatgpt.com / referral", 3),
    ("t.co / referral", 2),
    ("bing / organic", 4),
    ("facebook.com / referral", 3),
    ("l.instagram.com / referral", 2),
    ("linkedin / paid_social", 3),
]
#: the landing-page file uses the first 8 head pairs: each lands in a channel of its own
GA4_PAGE_PAIRS = 8
GA4_DAYS_SM = 800  # days of the date x source / medium file
GA4_DAYS_PAGE = 400  # days of the date x source / medium x landing page file


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _stripe_sql(rows: int, header: list[str]) -> str:
    missing = [h for h in header if h not in STRIPE_COLUMNS]
    if missing:
        raise SystemExit(f"no generator for Stripe column(s) {missing}: update STRIPE_COLUMNS")
    items = ",\n      ".join(f"{STRIPE_COLUMNS[h]} AS {_ident(h)}" for h in header)
    return f"""
    WITH a AS (
      SELECT i,
        hash(i, 'customer') % {CUSTOMERS} AS cust,
        hash(i, 'status') % 1000 AS st,
        {_PRICES!r}[(1 + hash(i, 'price') % {len(_PRICES)})::BIGINT] AS amount,
        CASE WHEN hash(i, 'currency') % 10 = 0 THEN 'eur' ELSE 'usd' END AS cur,
        TIMESTAMP '2024-01-01' + to_seconds((hash(i, 'ts') % (366 * 86400))::BIGINT) AS created,
        {_PRODUCTS!r}[(1 + hash(i, 'product') % {len(_PRODUCTS)})::BIGINT] AS product,
        {_DECLINES!r}[(1 + hash(i, 'decline') % {len(_DECLINES)})::BIGINT] AS decline
      FROM range({rows}) r(i)
    ), b AS (
      SELECT *, st < 20 AS failed, CASE WHEN cur = 'eur' THEN 1.08 ELSE 1.0 END AS fx,
        CASE WHEN st < 20 THEN 0.0 WHEN st < 45 THEN amount WHEN st < 60 THEN round(amount / 3, 2)
             ELSE 0.0 END AS refunded
      FROM a
    )
    SELECT
      {items}
    FROM b ORDER BY i"""


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ga4_sql(rows: int, pages: bool) -> tuple[str, str, str]:
    """(SELECT of the rows, header comment of the date range, title) of a GA4 exploration."""
    if pages:
        pairs = GA4_HEAD[:GA4_PAGE_PAIRS]
        days = GA4_DAYS_PAGE
        n_pages = -(-rows // (days * len(pairs)))
        keys = f"""SELECT d, p, pg FROM range({days}) t(d), range({len(pairs)}) u(p),
                   range({n_pages}) v(pg)"""
        page_col = (
            ", CASE WHEN pg = 0 THEN '/' WHEN pg % 5 = 0 THEN '/services/service-' || pg "
            "ELSE '/blog/post-' || pg END AS \"Landing page\""
        )
        title = "Free form: landing pages by day and source / medium"
    else:
        pairs = GA4_HEAD
        days = GA4_DAYS_SM
        n_pairs = -(-rows // days)
        keys = f"SELECT d, p, 0 AS pg FROM range({days}) t(d), range({n_pairs}) u(p)"
        page_col = ""
        title = "Free form: daily source / medium"
    head = ", ".join(f"({k}, {_lit(sm)}, {w})" for k, (sm, w) in enumerate(pairs))
    tail = (
        "CASE WHEN k.p % 5 = 4 THEN 'partner' || k.p || '.example / affiliate' "
        "ELSE 'site' || k.p || '.example / referral' END"
    )
    first = "DATE '2023-01-01'"
    sql = f"""
    WITH k AS ({keys} ORDER BY d, p, pg LIMIT {rows}),
    head(p, sm, w) AS (VALUES {head}),
    s AS (
      SELECT k.d, k.p, k.pg, coalesce(head.sm, {tail}) AS sm,
        CASE WHEN head.w IS NULL THEN 1 + hash(k.d, k.p, k.pg, 's') % 4
             ELSE greatest(1, (head.w * (60 + hash(k.d, k.p, k.pg, 's') % 80))
                              // {100 if not pages else 400})
        END AS sessions
      FROM k LEFT JOIN head ON head.p = k.p
    ), m AS (
      SELECT *, (sessions * (40 + hash(d, p, pg, 'e') % 31)) // 100 AS engaged,
        greatest(1, (sessions * (75 + hash(d, p, pg, 'u') % 20)) // 100) AS users,
        (sessions * (hash(d, p, pg, 'k') % 5)) // 100 AS key_events
      FROM s
    )
    SELECT strftime({first} + d::INTEGER, '%Y%m%d') AS "Date",
      sm AS "Session source / medium"{page_col},
      sessions AS "Sessions", engaged AS "Engaged sessions",
      printf('%.6f', engaged::DOUBLE / sessions) AS "Engagement rate",
      users AS "Active users", key_events AS "Key events",
      CASE WHEN key_events > 0 AND hash(d, p, pg, 'r') % 3 = 0
           THEN printf('%.2f', key_events * (49.0 + hash(d, p, pg, 'v') % 200)) ELSE '0' END
        AS "Total revenue"
    FROM m ORDER BY d, p, pg"""
    last = (date(2023, 1, 1) + timedelta(days=days - 1)).strftime("%Y%m%d")
    return sql, f"20230101-{last}", title


def stripe_header() -> tuple[list[str], str]:
    """The payments export's header: the shared sample's when it is there, else ours."""
    if SHARED_STRIPE.exists():
        import csv

        with SHARED_STRIPE.open(newline="", encoding="utf-8-sig") as fh:
            header = next(csv.reader(fh))
        return header, f"the header of `{SHARED_STRIPE.relative_to(c.ROOT.parent)}`"
    return list(STRIPE_COLUMNS), "a built-in copy of the sample export's header"


def ensure_stripe(rows: int) -> tuple[Path, str]:
    import duckdb

    header, origin = stripe_header()
    path = c.data_dir() / f"exports_stripe_payments_v{DATA_VERSION}_{rows}.csv"
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            ok = fh.readline().rstrip("\r\n") == ",".join(header)
        if ok:
            c.log(f"reusing {path.relative_to(c.ROOT)} ({path.stat().st_size / c.MB:,.0f} MB)")
            return path, origin
        path.unlink()
    tmp = path.with_suffix(".csv.partial")
    with (
        c.step(f"generating {rows:,} Stripe payments into {path.relative_to(c.ROOT)}"),
        duckdb.connect() as con,
    ):
        con.execute("SET enable_progress_bar = false")
        con.execute(f"COPY ({_stripe_sql(rows, header)}) TO {_lit(str(tmp))} (HEADER)")
    with tmp.open(encoding="utf-8") as fh:
        if fh.readline().rstrip("\r\n") != ",".join(header):
            raise SystemExit("the generated Stripe header differs from the sample's")
    tmp.replace(path)
    return path, origin


def ensure_ga4(rows: int, pages: bool) -> Path:
    import duckdb

    kind = "daily_source_medium_page" if pages else "daily_source_medium"
    path = c.data_dir() / f"exports_ga4_{kind}_v{DATA_VERSION}_{rows}.csv"
    if path.exists():
        c.log(f"reusing {path.relative_to(c.ROOT)} ({path.stat().st_size / c.MB:,.0f} MB)")
        return path
    sql, span, title = _ga4_sql(rows, pages)
    body = path.with_suffix(".body.partial")
    tmp = path.with_suffix(".csv.partial")
    with c.step(f"generating {rows:,} GA4 rows into {path.relative_to(c.ROOT)}"):
        with duckdb.connect() as con:
            con.execute("SET enable_progress_bar = false")
            con.execute(f"COPY ({sql}) TO {_lit(str(body))} (HEADER)")
        # GA4's download: a '#' preamble with the report title and the date range, then the table
        rule = "# " + "-" * 40
        with tmp.open("wb") as out, body.open("rb") as src:
            out.write(f"{rule}\n# {title}\n{rule}\n#\n# {span}\n".encode())
            shutil.copyfileobj(src, out, 16 * c.MB)
        body.unlink()
    tmp.replace(path)
    return path


# -- the pairs ------------------------------------------------------------------------------------


@dataclass
class Profile:
    """One profiled import: total wall and CPU seconds, time by part of truefans, statements."""

    total: float
    cpu: float
    phases: list[tuple[float, float, str]]  # seconds, CPU seconds, part
    steps: list[tuple[float, float, int, str]]  # seconds, CPU seconds, peak RSS, statement


@dataclass
class Pair:
    key: str
    title: str
    source: str  # the source detection must pick
    export: Path
    input_rows: int
    generic_tables: list[str]  # tables the generic contender imports (channels come beforehand)
    describe: str = ""
    canonical: dict[str, int] = field(default_factory=dict)  # rows per table after the import
    export_added: int = 0
    generic_files: list[Path] = field(default_factory=list)
    export_template: Path | None = None
    generic_template: Path | None = None
    export_runs: list[c.ChildRun] = field(default_factory=list)
    generic_runs: list[c.ChildRun] = field(default_factory=list)
    profiles: dict[str, Profile] = field(default_factory=dict)

    def prepared(self) -> dict[str, Any]:
        """What :func:`prepare` found out, for the parent (JSON)."""
        return {
            "key": self.key,
            "title": self.title,
            "source": self.source,
            "export": str(self.export),
            "input_rows": self.input_rows,
            "generic_tables": self.generic_tables,
            "describe": self.describe,
            "canonical": self.canonical,
            "export_added": self.export_added,
            "generic_files": [str(f) for f in self.generic_files],
            "export_template": str(self.export_template),
            "generic_template": str(self.generic_template),
        }

    @classmethod
    def from_prepared(cls, d: dict[str, Any]) -> Pair:
        return cls(
            d["key"],
            d["title"],
            d["source"],
            Path(d["export"]),
            int(d["input_rows"]),
            list(d["generic_tables"]),
            describe=d["describe"],
            canonical={k: int(v) for k, v in d["canonical"].items()},
            export_added=int(d["export_added"]),
            generic_files=[Path(f) for f in d["generic_files"]],
            export_template=Path(d["export_template"]),
            generic_template=Path(d["generic_template"]),
        )


def empty_template() -> Path:
    """A migrated workspace with nothing in it, built through the public API."""
    import truefans

    path = c.data_dir() / "import_exports_empty.duckdb"
    c.remove_db(path)
    truefans.open_workspace(path).close()
    return path


def _fresh(template: Path, db: Path) -> None:
    c.remove_db(db)
    shutil.copyfile(template, db)


def prepare(pair: Pair, empty: Path) -> None:
    """Import the export once into a scratch workspace; copy its canonical rows out as the
    generic files; build the template with the channels declared for the generic run."""
    import duckdb

    import truefans
    from truefans.schema import CANONICAL

    d = c.data_dir()
    scratch = d / f"import_exports_{pair.key}_scratch.duckdb"
    _fresh(empty, scratch)
    with (
        c.step(f"{pair.key}: importing the export into a scratch workspace"),
        truefans.open_workspace(scratch) as ws,
    ):
        reports = ws.import_files([pair.export])
        for r in reports:
            if r.source != pair.source:
                raise SystemExit(f"{pair.export.name} detected as '{r.source}', not {pair.source}")
            if r.status != "ok" or r.rejected:
                raise SystemExit(f"{pair.export.name} did not import cleanly: {r}")
        pair.export_added = sum(r.added for r in reports)
        counts = {t: ws.count(t) for t in CANONICAL}
        pair.canonical = {t: n for t, n in counts.items() if n and t != "channels"}
        pair.canonical["channels"] = counts["channels"]
        pair.describe = "; ".join(f"{r.table}: {r.message}" for r in reports)
    c.log(f"{pair.key}: canonical rows {pair.canonical}; note: {pair.describe}")
    gdir = d / f"import_exports_generic_{pair.key}"
    if gdir.exists():
        shutil.rmtree(gdir)
    gdir.mkdir(parents=True)
    with duckdb.connect(str(scratch), read_only=True) as con:
        con.execute("SET enable_progress_bar = false")
        for t in ["channels", *pair.generic_tables]:
            cols = ", ".join(_ident(x) for x in CANONICAL[t].column_names)
            out = gdir / f"{t}.csv"
            con.execute(
                f"COPY (SELECT {cols} FROM {_ident(t)} ORDER BY rowid) TO {_lit(str(out))} (HEADER)"
            )
    c.remove_db(scratch)
    pair.generic_files = [gdir / f"{t}.csv" for t in pair.generic_tables]
    # the export's template: empty; the generic one: the channels declared, as a user must
    pair.export_template = empty
    pair.generic_template = d / f"import_exports_{pair.key}_channels.duckdb"
    _fresh(empty, pair.generic_template)
    with truefans.open_workspace(pair.generic_template) as ws:
        for r in ws.import_files([gdir / "channels.csv"]):
            if r.source != "generic" or r.status != "ok" or r.rejected:
                raise SystemExit(f"{pair.key}: channels.csv did not import cleanly: {r}")


def child_prepare(stripe_rows: int, ga4_rows: int) -> None:
    stripe, header_origin = ensure_stripe(stripe_rows)
    ga4_sm = ensure_ga4(ga4_rows, pages=False)
    ga4_page = ensure_ga4(ga4_rows, pages=True)
    pairs = [
        Pair(
            "stripe",
            "Stripe payments",
            "stripe",
            stripe,
            stripe_rows,
            ["people", "identities", "outcomes"],
        ),
        Pair("ga4_sm", "GA4 date x source / medium", "ga4", ga4_sm, ga4_rows, ["metrics"]),
        Pair(
            "ga4_page",
            "GA4 date x source / medium x landing page",
            "ga4",
            ga4_page,
            ga4_rows,
            ["contents", "metrics"],
        ),
    ]
    with c.step("building the empty template workspace"):
        empty = empty_template()
    for pair in pairs:
        prepare(pair, empty)
    c.child_result(
        header_origin=header_origin, empty=str(empty), pairs=[p.prepared() for p in pairs]
    )


# -- the contenders (each runs in its own child process) -----------------------------------------


def child_import(db: Path, files: list[Path]) -> None:
    import truefans

    t0 = time.perf_counter()
    ws = truefans.open_workspace(db)
    reports = ws.import_files(files)
    ws.close()
    seconds = time.perf_counter() - t0
    c.child_result(
        seconds=seconds,
        reports=[
            {
                "source": r.source,
                "table": r.table,
                "status": r.status,
                "rows": r.rows,
                "added": r.added,
                "rejected": r.rejected,
                "message": r.message,
            }
            for r in reports
        ],
    )


Step = tuple[float, float, int, str, str]  # seconds, CPU seconds, peak RSS, statement, phase

#: modules of truefans, most telling first: a statement issued (directly or through a helper)
#: from one of these is counted in that phase
_PHASES = [
    ("truefans.ingest.identity", "identity resolution (ingest/identity.py)"),
    ("truefans.ingest.load", "validate + store (ingest/load.py)"),
    ("truefans.ingest.channels", "channels (ingest/channels.py)"),
]


def _phase() -> str:
    """Which part of truefans issued the statement being executed (from the call stack)."""
    mods = []
    f = sys._getframe(2)
    while f is not None:
        mod = str(f.f_globals.get("__name__", ""))
        if mod.startswith("truefans"):
            mods.append(mod)
        f = f.f_back
    for prefix, phase in _PHASES:
        if prefix in mods:
            return phase
    for mod in mods:
        if mod.startswith("truefans.ingest.") and mod.rsplit(".", 1)[1] not in (
            "common",
            "registry",
        ):
            return f"staging (ingest/{mod.rsplit('.', 1)[1]}.py)"
    return "workspace (workspace.py)"


class _TimedConnection:
    """Wraps a DuckDB connection; records each ``execute`` (and ``executemany``): seconds, CPU,
    peak RSS, statement, and the part of truefans that issued it."""

    def __init__(self, con: Any, log: list[Step], rss: c.RssWatch) -> None:
        self._con = con
        self._log = log
        self._rss = rss

    def _timed(self, method: str, sql: str, *args: Any, **kw: Any) -> Any:
        phase = _phase()
        self._rss.mark()
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return getattr(self._con, method)(sql, *args, **kw)
        finally:
            secs, cpu = time.perf_counter() - t0, time.process_time() - c0
            statement = " ".join(sql.split())
            self._log.append((secs, cpu, self._rss.peak_since_mark(), statement, phase))

    def execute(self, sql: str, *args: Any, **kw: Any) -> Any:
        return self._timed("execute", sql, *args, **kw)

    def executemany(self, sql: str, *args: Any, **kw: Any) -> Any:
        return self._timed("executemany", sql, *args, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def child_profile(db: Path, files: list[Path]) -> None:
    """One import with each SQL statement timed (plus the file hash), for 'where the time goes'."""
    import truefans
    import truefans.workspace as w

    rss = c.RssWatch()
    steps: list[Step] = []
    real_sha = getattr(w, "_sha256", None)
    if real_sha is not None:

        def timed_sha(path: Path) -> str:
            rss.mark()
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return str(real_sha(path))
            finally:
                secs, cpu = time.perf_counter() - t0, time.process_time() - c0
                label = "sha256 of the file (hashlib)"
                steps.append((secs, cpu, rss.peak_since_mark(), label, "workspace (workspace.py)"))

        w._sha256 = timed_sha
    t0, c0 = time.perf_counter(), time.process_time()
    ws = truefans.open_workspace(db)
    opened, c1 = time.perf_counter(), time.process_time()
    ws_phase = "workspace (workspace.py)"
    steps.append((opened - t0, c1 - c0, rss.peak_since_mark(), "open_workspace", ws_phase))
    ws.con = _TimedConnection(ws.con, steps, rss)  # type: ignore[assignment]
    ws.import_files(files)
    imported, c2 = time.perf_counter(), time.process_time()
    rss.mark()
    ws.close()
    closed, c3 = time.perf_counter(), time.process_time()
    steps.append(
        (closed - imported, c3 - c2, rss.peak_since_mark(), "close (checkpoint)", ws_phase)
    )
    rss.stop()
    c.child_result(total=closed - t0, cpu=c3 - c0, steps=steps)


_TABLE_RX = re.compile(
    r"^(?:CREATE (?:OR REPLACE )?(?:TEMP |TEMPORARY )?TABLE|INSERT (?:OR \w+ )?INTO|UPDATE|"
    r'DELETE FROM)\s+"?([\w.]+)"?',
    re.I,
)


def describe_sql(sql: str) -> str:
    """A short label for a statement: what it creates or writes, and how (read_csv, GROUP BY)."""
    head = sql.lstrip("( ")
    m = _TABLE_RX.match(head)
    if m:
        verb = head.split()[0].upper()
        verb = {"CREATE": "create temp", "INSERT": "insert into", "DELETE": "delete from"}.get(
            verb, verb.lower()
        )
        how = []
        if "read_csv(" in sql:
            how.append("read_csv")
        if " UNION ALL " in sql:
            how.append("UNION ALL")
        if "GROUP BY" in sql:
            how.append("GROUP BY")
        return f"{verb} {m.group(1)}" + (f" ({', '.join(how)})" if how else "")
    if head.upper().startswith(("DROP TABLE", "DROP VIEW")):
        return "drop temp tables"
    if head.upper().startswith(("COMMIT", "BEGIN", "ROLLBACK")):
        return head.split()[0].lower()
    return head[:70] + ("..." if len(head) > 70 else "")


# -- the parent ----------------------------------------------------------------------------------


NOISE = c.OtherLoad()
#: how long to wait for a quiet machine before a run (``--max-wait``)
MAX_WAIT = [120.0]


def _wait_quiet(**kw: Any) -> None:
    wait = getattr(c, "wait_quiet", None)
    if wait is not None:
        wait(**kw)


def _run(kind: str, db: Path, files: list[Path], measured: bool = True) -> c.ChildRun:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--db", str(db)]
    _wait_quiet(max_wait=MAX_WAIT[0])  # the profile runs too: their wall times are reported
    if measured:
        NOISE.start()
    run = c.run_child([*cmd, "--files", *map(str, files)])
    if measured:
        NOISE.stop()
    if run.returncode != 0:
        raise SystemExit(f"{kind} run failed (exit {run.returncode}):\n{run.stdout}")
    return run


def _check(pair: Pair, contender: str, got: dict[str, Any]) -> None:
    reports = got["reports"]
    want_source = pair.source if contender == "export" else "generic"
    bad = [r for r in reports if r["status"] != "ok" or r["rejected"] or r["source"] != want_source]
    added = sum(int(r["added"]) for r in reports)
    want = (
        pair.export_added
        if contender == "export"
        else sum(pair.canonical[t] for t in pair.generic_tables)
    )
    if bad or added != want:
        raise SystemExit(
            f"{pair.key} {contender}: expected {want} rows added cleanly, got {reports}"
        )


def measure(pair: Pair, contender: str, i: int, repeat: int) -> None:
    assert pair.export_template is not None and pair.generic_template is not None
    db = c.data_dir() / "import_exports_run.duckdb"
    if contender == "export":
        _fresh(pair.export_template, db)
        run = _run("import", db, [pair.export])
        pair.export_runs.append(run)
    else:
        _fresh(pair.generic_template, db)
        run = _run("import", db, pair.generic_files)
        pair.generic_runs.append(run)
    got = run.payload()
    _check(pair, contender, got)
    c.log(
        f"run {i}/{repeat} {pair.key:14s} {contender:7s}: {got['seconds']:.2f} s, "
        f"peak {c.fmt_mb(run.peak_rss)}"
    )
    c.remove_db(db)


def profile(pair: Pair, contender: str) -> None:
    assert pair.export_template is not None and pair.generic_template is not None
    db = c.data_dir() / "import_exports_run.duckdb"
    if contender == "export":
        _fresh(pair.export_template, db)
        files = [pair.export]
    else:
        _fresh(pair.generic_template, db)
        files = pair.generic_files
    with c.step(f"profile run {pair.key} {contender} (each SQL statement timed)"):
        got = _run("profile", db, files, measured=False).payload()
    c.remove_db(db)
    merged: dict[str, tuple[float, float, int]] = {}
    phases: dict[str, tuple[float, float]] = {}
    accounted = 0.0
    for secs, cpu, peak, sql, phase in got["steps"]:
        label = f"[{phase.split(' (')[0]}] {describe_sql(sql)}"
        before = merged.get(label, (0.0, 0.0, 0))
        merged[label] = (before[0] + secs, before[1] + cpu, max(before[2], int(peak)))
        was = phases.get(phase, (0.0, 0.0))
        phases[phase] = (was[0] + secs, was[1] + cpu)
        accounted += secs
    outside = "outside execute() (Python, fetching results)"
    rest = float(got["total"]) - accounted
    merged[outside] = (rest, 0.0, 0)
    phases[outside] = (rest, 0.0)
    steps = sorted(((s, u, p, k) for k, (s, u, p) in merged.items()), key=lambda t: -t[0])
    by_phase = sorted(((s, u, k) for k, (s, u) in phases.items()), key=lambda t: -t[0])
    pair.profiles[contender] = Profile(float(got["total"]), float(got["cpu"]), by_phase, steps)
    for secs, cpu, phase in by_phase:
        c.log(f"  {secs:6.2f} s  {cpu:6.2f} CPU-s  {phase}")
    for secs, cpu, peak, label in steps[:12]:
        c.log(f"  {secs:6.2f} s  {cpu:6.2f} CPU-s  peak RSS {c.fmt_mb(peak):>9}  {label}")


def _secs(runs: list[c.ChildRun]) -> list[float]:
    return [float(r.payload()["seconds"]) for r in runs]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stripe-rows", type=int, default=STRIPE_ROWS, help="payments in the export")
    ap.add_argument("--ga4-rows", type=int, default=GA4_ROWS, help="rows of each GA4 file")
    ap.add_argument("--repeat", type=int, default=3, help="runs per contender")
    ap.add_argument("--no-profile", action="store_true", help="skip the per-statement profiles")
    ap.add_argument(
        "--max-wait",
        type=float,
        default=120.0,
        help="seconds to wait for a quiet machine before each run (the load is reported)",
    )
    ap.add_argument("--write", action="store_true", help="store the section in RESULTS.md")
    ap.add_argument("--child", choices=["prepare", "import", "profile"], help=argparse.SUPPRESS)
    ap.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--files", type=Path, nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "prepare":
        child_prepare(args.stripe_rows, args.ga4_rows)
        return 0
    if args.child:
        {"import": child_import, "profile": child_profile}[args.child](args.db, args.files)
        return 0

    # data and generic files are made in a child, so that this process stays small: a child's
    # ru_maxrss starts at its parent's RSS at fork time
    run = c.run_child(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            "prepare",
            "--stripe-rows",
            str(args.stripe_rows),
            "--ga4-rows",
            str(args.ga4_rows),
        ]
    )
    if run.returncode != 0:
        raise SystemExit(f"preparing the data failed (exit {run.returncode}):\n{run.stdout}")
    got = run.payload()
    header_origin = str(got["header_origin"])
    pairs = [Pair.from_prepared(d) for d in got["pairs"]]
    empty = Path(got["empty"])

    MAX_WAIT[0] = args.max_wait
    _wait_quiet(max_wait=args.max_wait)
    for i in range(1, args.repeat + 1):
        # alternate who goes first, so that neither always runs on a warmer page cache
        order = ["export", "generic"] if i % 2 else ["generic", "export"]
        for pair in pairs:
            for contender in order:
                measure(pair, contender, i, args.repeat)
    if not args.no_profile:
        for pair in pairs:
            for contender in ("export", "generic"):
                profile(pair, contender)
    for p in {pair.generic_template for pair in pairs} | {empty}:
        if p is not None:
            c.remove_db(p)

    table = [
        [
            "",
            "input rows",
            "canonical rows written",
            f"time, median (min) of {args.repeat}",
            "input rows per second (median)",
            "export / generic throughput",
            "CPU, median",
            "peak RSS (max over runs)",
        ]
    ]
    met: list[tuple[str, bool]] = []
    for pair in pairs:
        e_s, g_s = _secs(pair.export_runs), _secs(pair.generic_runs)
        e_med, g_med = c.median(e_s), c.median(g_s)
        ratio = (pair.input_rows / e_med) / (pair.input_rows / g_med)
        e_rows = "; ".join(f"{t} {n:,}" for t, n in pair.canonical.items() if n and t != "channels")
        g_rows = "; ".join(f"{t} {pair.canonical[t]:,}" for t in pair.generic_tables)
        files = ", ".join(f"`{f.name}`" for f in pair.generic_files)
        table.append(
            [
                f"{pair.title}: export (`{pair.export.name}`)",
                f"{pair.input_rows:,}",
                f"{e_rows}; channels created {pair.canonical['channels']}",
                f"{c.fmt_s(e_med)} ({c.fmt_s(min(e_s))})",
                f"{pair.input_rows / e_med:,.0f}",
                f"**{ratio:.2f}**",
                f"{c.median([r.cpu for r in pair.export_runs]):.2f} CPU-s",
                c.fmt_mb(max(r.peak_rss for r in pair.export_runs)),
            ]
        )
        table.append(
            [
                f"{pair.title}: generic import of the same rows ({files})",
                f"(counted as {pair.input_rows:,})",
                g_rows,
                f"{c.fmt_s(g_med)} ({c.fmt_s(min(g_s))})",
                f"{pair.input_rows / g_med:,.0f}",
                "",
                f"{c.median([r.cpu for r in pair.generic_runs]):.2f} CPU-s",
                c.fmt_mb(max(r.peak_rss for r in pair.generic_runs)),
            ]
        )
        met.append(
            (
                f"{pair.title}: export throughput >= {TARGET:.0%} of the generic import's "
                f"({ratio:.2f})",
                ratio >= TARGET,
            )
        )

    stripe_pair, sm_pair, page_pair = pairs
    stripe, ga4_sm, ga4_page = stripe_pair.export, sm_pair.export, page_pair.export
    notes = [
        f"Stripe data: {args.stripe_rows:,} payments ({stripe.stat().st_size / c.MB:,.0f} MB, "
        f"`{stripe.relative_to(c.ROOT)}`, made with DuckDB COPY from a deterministic generator) "
        f"with {header_origin}; customers drawn from {CUSTOMERS:,} (`c<n>@example.com`, "
        "`cus_<n>`, 'Customer <n>'), 2% Failed (not orders), 2.5% Refunded, 1.5% Paid with a "
        "partial refund, the rest Paid; 10% in EUR; a fee on every payment that took money; "
        "`utm_source (metadata)` linkedin / newsletter / google / empty. Detection picks "
        f"`stripe`; its import note: {stripe_pair.describe}",
        f"GA4 data: two {args.ga4_rows:,}-row free-form explorations with GA4's `#` preamble "
        "(title, `# YYYYMMDD-YYYYMMDD`) and columns Date (YYYYMMDD), Session source / medium, "
        "Sessions, Engaged sessions, Engagement rate (checked, not stored), Active users, Key "
        "events, Total revenue. Date x source / medium: "
        f"{GA4_DAYS_SM} days x {-(-args.ga4_rows // GA4_DAYS_SM):,} source / medium pairs "
        f"({len(GA4_HEAD)} common ones, the rest long-tail referral and affiliate sites), "
        f"{ga4_sm.stat().st_size / c.MB:,.0f} MB; every row is a distinct (day, source / "
        "medium), but truefans keys metrics by channel, so the rows of one channel and day are "
        f"summed: {args.ga4_rows:,} rows become {sm_pair.canonical.get('metrics', 0):,} metric "
        f"rows ({sm_pair.canonical['channels']} channels x days x 5 metrics). Date x source / "
        f"medium x landing page: {GA4_DAYS_PAGE} days x {GA4_PAGE_PAIRS} source / medium pairs "
        "that map to 8 different channels x "
        f"{-(-args.ga4_rows // (GA4_DAYS_PAGE * GA4_PAGE_PAIRS)):,} pages, "
        f"{ga4_page.stat().st_size / c.MB:,.0f} MB: each row is its own (channel, page, day) "
        f"key, so nothing is summed: {page_pair.canonical.get('metrics', 0):,} metric rows "
        f"and {page_pair.canonical.get('contents', 0):,} contents. Detection picks `ga4` for "
        "both.",
        "The same rows: each export is imported once into a scratch workspace and the "
        "canonical tables it wrote are copied out with DuckDB COPY (the table's generic columns) "
        "to the generic files: for Stripe people, identities (email and Stripe customer id) and "
        "outcomes (orders, fees, refunds), all three because the export's import writes all "
        "three; for GA4 metrics (and the pages as contents). The channels the export created "
        "are declared beforehand in the generic run's workspace (`channels.csv`, not timed), as "
        "a user of the generic format must. Both contenders' throughput is counted in the "
        "export's input rows, so the ratio is the generic time / the export time.",
        f"The date x source / medium pair is not like for like: the export reads, checks and "
        f"sums {sm_pair.input_rows:,} rows while its generic contender loads the "
        f"{sm_pair.canonical.get('metrics', 0):,} summed rows, so the ratio mostly says how "
        "much smaller the result is (a file that sums this much cannot reach 50% of a generic "
        "import that skips the summing). The landing-page pair, where every input row is its "
        "own key, compares the same rows.",
        "Times are measured inside each fresh child process: `open_workspace` on a fresh copy "
        "of a template workspace (schema already made: empty for the export, with the channels "
        "for the generic files), `import_files([...])`, close (checkpoint included). Interpreter "
        "start and imports are not included. Peak RSS: the larger of the RSS of the child "
        "sampled every 20 ms and its ru_maxrss; imports run under truefans' default 1 GB "
        "DuckDB memory cap.",
        NOISE.note(),
    ]
    for pair in pairs:
        for contender in ("export", "generic"):
            if contender not in pair.profiles:
                continue
            prof = pair.profiles[contender]
            parts = "; ".join(
                f"{phase} {secs:.2f} s / {cpu:.2f} CPU-s"
                for secs, cpu, phase in prof.phases
                if secs >= 0.01
            )
            top = "; ".join(
                f"{label} {secs:.2f} s / {cpu:.2f} CPU-s"
                for secs, cpu, _peak, label in prof.steps[:8]
                if secs >= 0.05
            )
            notes.append(
                f"Where the time goes, {pair.title}, {contender} (one extra profiled import: "
                f"{prof.total:.2f} s, {prof.cpu:.2f} CPU-s; wall time / CPU time of all threads). "
                f"By the part of truefans that issued the SQL: {parts}. Top statements: {top}."
            )
    body = c.section(
        NAME,
        f"Export imports: {args.stripe_rows:,} Stripe payments and {args.ga4_rows:,} GA4 rows "
        "vs the generic import of the same rows",
        f"a {args.stripe_rows:,}-row Stripe payments export and a {args.ga4_rows:,}-row GA4 / "
        "web events file import at >= 50% of the throughput of the generic import of the "
        "same rows (same run).",
        f"export throughput (input rows / median time of {args.repeat} fresh-process runs) >= "
        f"{TARGET:.0%} of the generic import's, counted in the same input rows, for each pair.",
        table,
        met,
        notes,
    )
    c.emit(NAME, body, args.write)
    return 0 if all(ok for _, ok in met) else 1


if __name__ == "__main__":
    sys.exit(main())
