"""The command line: parses options, calls the Python API, renders results. No analysis here."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from contextlib import nullcontext
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from . import __version__
from .errors import TruefansError
from .measure.result import Result, plain
from .workspace import ImportReport, Workspace, open_workspace

app = typer.Typer(
    help="truefans: measure marketing by what pays, not by who follows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# a pipe or a file gets wide lines rather than wrapped cells
console = Console(width=None if sys.stdout.isatty() else 150)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 150)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class Size(StrEnum):
    small = "small"
    medium = "medium"
    large = "large"


# -- shared options ---------------------------------------------------------------------------
FormatOpt = Annotated[
    Format, typer.Option("--format", "-f", help="table (default), json or csv on stdout")
]
SinceOpt = Annotated[str | None, typer.Option("--since", help="first day, YYYY-MM-DD")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="last day, YYYY-MM-DD")]
OutcomeOpt = Annotated[
    str | None, typer.Option("--outcome", help="outcome types to count, e.g. call,order")
]

_state: dict[str, Any] = {"workspace": None}


@app.callback()
def _main(
    workspace: Annotated[
        str | None,
        typer.Option(
            "--workspace",
            "-w",
            help="workspace file (default ./truefans.duckdb or $TRUEFANS_WORKSPACE)",
        ),
    ] = None,
    version: Annotated[bool, typer.Option("--version", help="print the version")] = False,
) -> None:
    if version:
        console.print(__version__)
        raise typer.Exit()
    _state["workspace"] = workspace


def _open(create: bool = True) -> Workspace:
    return open_workspace(_state["workspace"], create=create)


def _fail(e: TruefansError) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {escape(str(e))}", highlight=False, soft_wrap=True)
    return typer.Exit(code=e.exit_code)


def _analysis(fn: Callable[..., Result], **options: Any) -> Result:
    """Run an analysis on the workspace; a user's mistake becomes one line and an exit code."""
    try:
        with _open_analysis(fn.__name__) as ws:
            return fn(ws, **options)
    except TruefansError as e:
        raise _fail(e) from e


def _open_analysis(name: str) -> Any:
    """The workspace an analysis runs on: a Spark workspace for the analyses with a Spark path."""
    from .engine.spark import is_spark, open_for_analysis

    if is_spark(_state["workspace"]):
        return open_for_analysis(_state["workspace"], name)
    return _open(create=False)


def _machine_readable(res: Result, fmt: Format) -> bool:
    """Print ``--format json`` / ``csv`` (the rows, or the whole result as JSON); False for
    the table format, which each command renders its own way."""
    if fmt is Format.table:
        return False
    print_rows(res.rows, fmt, payload=res.to_dict())
    return True


# -- rendering ------------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    value = plain(value)
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return escape(str(value))


def print_rows(
    rows: list[dict[str, Any]], fmt: Format, title: str = "", payload: Any = None
) -> None:
    if fmt is Format.json:
        sys.stdout.write(json.dumps(payload if payload is not None else rows, indent=2) + "\n")
        return
    if fmt is Format.csv:
        buf = io.StringIO()
        if rows:
            w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
            w.writeheader()
            for r in rows:
                w.writerow({k: "" if v is None else v for k, v in r.items()})
        sys.stdout.write(buf.getvalue())
        return
    table = RichTable(title=title or None, show_lines=False, header_style="bold")
    if not rows:
        console.print(f"{title}: nothing to show")
        return
    for key in rows[0]:
        table.add_column(key, overflow="fold")
    for r in rows:
        table.add_row(*[_fmt(v) for v in r.values()])
    console.print(table)


def _table(title: str, cols: list[tuple[str, str]], rows: list[dict[str, Any]]) -> RichTable:
    t = RichTable(title=title, header_style="bold", title_justify="left")
    for i, (_, label) in enumerate(cols):
        t.add_column(label, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for r in rows:
        t.add_row(*[_fmt(r.get(k)) for k, _ in cols])
    return t


def render_picture(res: Result, fmt: Format) -> None:
    if _machine_readable(res, fmt):
        return
    cur = res.assumptions.get("currency", "USD")
    rows = res.rows
    tot = {"channel": "total", **res.extra["totals"]}
    who = [
        ("channel", "channel"),
        ("audience", "followers"),
        ("engaged", "engaged"),
        ("known", "known"),
        ("questions", "questions"),
        ("calls", "calls"),
        ("leads", "leads"),
        ("new_accounts", "new accts"),
        ("orders", "orders"),
        ("renewals", "renewals"),
    ]
    t = _table("What each channel brings", who, rows)
    t.add_section()
    t.add_row(*[_fmt(tot.get(k)) for k, _ in who], style="bold")
    console.print(t)
    money = [
        ("channel", "channel"),
        ("share_of_followers", "% followers"),
        ("share_of_outcomes", "% outcomes"),
        ("share_of_dollars", f"% {cur}"),
        ("dollars", cur),
        ("cost_dollars", f"cost {cur}"),
        ("cost_hours", "hours"),
        ("return_per_dollar", f"{cur} per {cur}"),
        ("return_per_hour", f"{cur} per hour"),
        ("dollars_per_1k_followers", f"{cur} per 1k fol."),
    ]
    shown = [
        {
            **r,
            "share_of_followers": f"{r['share_of_followers'] or 0:.0%}",
            "share_of_dollars": f"{r['share_of_dollars'] or 0:.0%}",
            "share_of_outcomes": f"{r['share_of_outcomes'] or 0:.0%}",
        }
        for r in rows
    ]
    m = _table("What it costs and returns", money, shown)
    m.add_section()
    m.add_row(*[_fmt(tot.get(k)) if k in tot else "" for k, _ in money], style="bold")
    console.print(m)
    gap = res.extra["vanity_gap"]
    what = cur if gap["basis"] == "dollars" else "outcomes"
    if gap["index"] is not None:
        console.print(
            f"[bold]Vanity gap[/bold] {gap['index']:.2f} (0 = followers predict {what}, "
            f"1 = unrelated); rank correlation of followers with {what}: "
            f"{_fmt(gap['rank_correlation_followers_basis'])}",
            soft_wrap=True,
        )
    if gap["statement"]:
        console.print(escape(gap["statement"]) + ".", soft_wrap=True)
    rules = res.assumptions["outcomes_by_rule"]
    console.print(
        f"[dim]Which channel an outcome belongs to: its self-reported 'how did you hear' "
        f"({rules['self_reported']:,}), else the last touch within "
        f"{res.assumptions['lookback_days']} days ({rules['last_touch']:,}); "
        f"unattributed: {rules['unattributed']:,}.[/dim]",
        soft_wrap=True,
    )
    for r in rows:
        if r.get("other_currencies"):
            console.print(
                f"[dim]{escape(str(r['channel']))}: also {r['other_currencies']} "
                f"(not added to {cur})[/dim]",
                soft_wrap=True,
            )


def render_imports(reports: list[ImportReport], fmt: Format) -> None:
    rows = [
        {
            "file": r.file,
            "source": r.source,
            "table": r.table,
            "rows": r.rows,
            "added": r.added,
            "updated": r.updated,
            "skipped": r.skipped,
            "rejected": r.rejected,
            "status": r.status,
            "message": r.message,
        }
        for r in reports
    ]
    if fmt is Format.json:
        for row in rows:
            sys.stdout.write(json.dumps(row) + "\n")
        return
    if fmt is Format.csv:
        print_rows(rows, fmt)
        return
    for r in reports:
        dry = " (dry run: nothing stored)" if r.dry_run else ""
        if r.status == "ignored":
            console.print(
                f"[dim]– {escape(r.file)}: ignored ({escape(r.message)})[/dim]",
                highlight=False,
                soft_wrap=True,
            )
            continue
        if r.status == "unusable":
            err_console.print(
                f"[red]✗[/red] {escape(r.file)}: {escape(r.message)}",
                highlight=False,
                soft_wrap=True,
            )
            continue
        colour = "yellow" if r.rejected else "green"
        console.print(
            f"[{colour}]✓[/{colour}] {escape(r.file)} → {r.table} {escape('[' + r.source + ']')}: "
            f"{r.rows:,} rows, "
            f"{r.added:,} added, {r.updated:,} updated, {r.skipped:,} skipped as already there, "
            f"{r.rejected:,} rejected{dry}",
            highlight=False,
            soft_wrap=True,
        )
        if r.message:
            console.print(f"  [dim]{escape(r.message)}[/dim]", highlight=False, soft_wrap=True)
        if r.rejected and r.source_id is not None:
            console.print(
                f"  [dim]see them with: truefans rejects --source-id {r.source_id}[/dim]",
                highlight=False,
            )


# -- commands -------------------------------------------------------------------------------
@app.command()
def init(
    tz: Annotated[
        str | None,
        typer.Option("--tz", help="your time zone, for exports that write local times"),
    ] = None,
    country: Annotated[
        str | None,
        typer.Option("--country", help="ISO country code for national phone numbers, e.g. US"),
    ] = None,
    currency: Annotated[
        str | None, typer.Option("--currency", help="main currency of the analyses, e.g. USD")
    ] = None,
    hash_pii: Annotated[
        bool, typer.Option("--hash-pii", help="store emails and phones as hashes only")
    ] = False,
) -> None:
    """Create an empty workspace (or bring an old one to the current schema) and its settings."""
    try:
        with _open() as ws:
            if tz:
                ws.set_setting("timezone", tz)
            if country:
                ws.set_setting("country", country.upper())
            if currency:
                ws.set_setting("currency", currency.upper())
            if hash_pii:
                ws.set_setting("hash_pii", "true")
            settings = dict(ws.con.execute("SELECT key, value FROM settings ORDER BY 1").fetchall())
            console.print(f"workspace {ws.path} ready (schema version {ws.schema_version})")
            shown = {k: v for k, v in settings.items() if not k.startswith("demo")}
            if shown:
                console.print(
                    "settings: " + ", ".join(f"{k}={v}" for k, v in shown.items()),
                    highlight=False,
                )
    except TruefansError as e:
        raise _fail(e) from e


@app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="files or folders to import")],
    source: Annotated[
        str | None, typer.Option("--source", help="force a source (see `truefans sources`)")
    ] = None,
    table: Annotated[
        str | None, typer.Option("--table", help="the canonical table (generic source)")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="validate and count, store nothing")
    ] = False,
    tz: Annotated[
        str | None,
        typer.Option("--tz", help="time zone of times without an offset, e.g. Europe/Paris"),
    ] = None,
    currency: Annotated[
        str | None, typer.Option("--currency", help="currency of amounts without one, e.g. USD")
    ] = None,
    hash_pii: Annotated[
        bool, typer.Option("--hash-pii", help="store emails and phones as hashes only")
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Detect, validate and load files. Exit 0: all good; 3: some rows rejected; 2: a file unusable."""
    try:
        show = fmt is Format.table and console.is_terminal
        with _open() as ws, console.status("importing…") if show else nullcontext():
            reports = ws.import_files(
                files,
                source=source,
                table=table,
                dry_run=dry_run,
                tz=tz,
                currency=currency,
                hash_pii=hash_pii,
            )
    except TruefansError as e:
        raise _fail(e) from e
    render_imports(reports, fmt)
    code = max((r.exit_code for r in reports), default=0)
    if code:
        raise typer.Exit(code=code)


@app.command()
def imports(fmt: FormatOpt = Format.table) -> None:
    """What was loaded, from which file, when, with its counts."""
    try:
        with _open(create=False) as ws:
            df = ws.imports()
    except TruefansError as e:
        raise _fail(e) from e
    rows = [{str(k): plain(v) for k, v in r.items()} for r in df.to_dict(orient="records")]
    print_rows(rows, fmt, "Imports")


@app.command("export-parquet")
def export_parquet_cmd(
    out: Annotated[Path, typer.Argument(help="folder to write (new, or --replace)")],
    replace: Annotated[
        bool, typer.Option("--replace", help="overwrite the folder if it holds an export")
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Write the canonical tables as Parquet datasets (for `--workspace local-spark:DIR`)."""
    from .engine.parquet import export_parquet

    try:
        with _open(create=False) as ws:
            manifest = export_parquet(ws, out, replace=replace)
    except TruefansError as e:
        raise _fail(e) from e
    rows = [
        {"table": t.name, "rows": t.rows, "partitioned_by": t.partition or ""}
        for t in manifest.tables.values()
    ]
    print_rows(rows, fmt, f"Exported to {manifest.path}")


@app.command()
def rejects(
    source_id: Annotated[
        int | None, typer.Option("--source-id", help="only this import (see `truefans imports`)")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="at most this many rows")] = 200,
    fmt: FormatOpt = Format.table,
) -> None:
    """Show the rows that were rejected and why (file, row, column, reason)."""
    try:
        with _open(create=False) as ws:
            df = ws.rejects(source_id, limit=limit)
    except TruefansError as e:
        raise _fail(e) from e
    rows = [{str(k): plain(v) for k, v in r.items()} for r in df.to_dict(orient="records")]
    print_rows(rows, fmt, "Rejected rows")


@app.command()
def sources(fmt: FormatOpt = Format.table) -> None:
    """List the export formats truefans reads, with how each is detected."""
    from .ingest.registry import load_sources, origin_of

    rows = [
        {
            "source": s.name,
            "origin": origin_of(s.name),
            "reads": s.description,
            "detected_by": s.detection_rule,
        }
        for s in sorted(load_sources().values(), key=lambda s: s.name)
    ]
    print_rows(rows, fmt, "Sources")


@app.command()
def person(
    person_id: Annotated[str, typer.Argument(help="a person id (see outcomes, fans, ...)")],
    fmt: FormatOpt = Format.table,
) -> None:
    """One person's identities and why they were joined; the merges behind them."""
    from .ingest.identity import explain_person

    try:
        with _open(create=False) as ws:
            info = explain_person(ws.con, person_id)
    except TruefansError as e:
        raise _fail(e) from e
    idents = [
        {str(k): plain(v) for k, v in r.items()} for r in info["identities"].to_dict("records")
    ]
    merges = [{str(k): plain(v) for k, v in r.items()} for r in info["merges"].to_dict("records")]
    if fmt is Format.json:
        payload = {
            "person": {k: plain(v) for k, v in info["person"].items()},
            "identities": idents,
            "merges": merges,
            "facts": info["facts"],
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    if fmt is Format.csv:
        print_rows(idents, fmt)
        return
    p = info["person"]
    console.print(
        f"[bold]{escape(str(p['person_id']))}[/bold] {escape(str(p.get('display_name') or ''))} "
        f"{escape(str(p.get('company') or ''))}; facts: "
        + ", ".join(f"{v:,} {k}" for k, v in info["facts"].items()),
        highlight=False,
    )
    print_rows(idents, fmt, "Identities and why they belong here")
    if merges:
        print_rows(merges, fmt, "Merges (undo with `truefans split PERSON IDENTITY...`)")


@app.command()
def split(
    person_id: Annotated[str, typer.Argument(help="the person a wrong merge went into")],
    identity_ids: Annotated[
        list[str], typer.Argument(help="identities to move to a new person (with their facts)")
    ],
) -> None:
    """Undo a wrong merge: move identities (and what was seen under them) to a new person."""
    from .ingest.identity import split_person

    try:
        with _open(create=False) as ws:
            new = split_person(ws.con, person_id, identity_ids)
    except TruefansError as e:
        raise _fail(e) from e
    console.print(
        f"moved {len(identity_ids)} identit{'y' if len(identity_ids) == 1 else 'ies'} to new "
        f"person {new}; {person_id} and {new} will not be merged again",
        highlight=False,
    )


@app.command("picture")
def picture_cmd(
    since: SinceOpt = None,
    until: UntilOpt = None,
    outcome: OutcomeOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """One row per channel: followers, engaged and known people, outcomes, dollars, cost, return."""
    try:
        with _open(create=False) as ws:
            res = ws.picture(since=since, until=until, outcome=outcome)
    except TruefansError as e:
        raise _fail(e) from e
    render_picture(res, fmt)


class Tier(StrEnum):
    audience = "audience"
    engaged = "engaged"
    reachable = "reachable"
    customer = "customer"
    repeat_buyer = "repeat_buyer"
    true_fan = "true_fan"
    superfan = "superfan"


class EngagedBy(StrEnum):
    kinds = "kinds"
    score = "score"


AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="the day to judge on (default: last activity)")
]
MarginOpt = Annotated[
    float, typer.Option("--margin", help="share of revenue that is profit (1 = count revenue)")
]


@app.command("fans")
def fans_cmd(
    as_of: AsOfOpt = None,
    min_kinds: Annotated[
        int, typer.Option("--min-kinds", help="engaged: distinct active touch kinds")
    ] = 2,
    window: Annotated[int, typer.Option("--window", help="engaged: days looked back")] = 90,
    engaged_by: Annotated[
        EngagedBy, typer.Option("--engaged-by", help="kinds (default) or a decayed score")
    ] = EngagedBy.kinds,
    half_life: Annotated[
        float, typer.Option("--half-life", help="score: days for a touch to count half")
    ] = 30.0,
    min_score: Annotated[float, typer.Option("--min-score", help="score: engaged from")] = 2.0,
    min_purchase_days: Annotated[
        int, typer.Option("--min-purchase-days", help="repeat buyer: days with a purchase")
    ] = 2,
    min_p_alive: Annotated[
        float, typer.Option("--min-p-alive", help="repeat buyer: probability still buying")
    ] = 0.5,
    fan_value: Annotated[
        float | None,
        typer.Option(
            "--fan-value",
            help="true fan: yearly value (profit with --margin) from; default the top decile",
        ),
    ] = None,
    margin: MarginOpt = 1.0,
    fan_channels: Annotated[
        int, typer.Option("--fan-channels", help="true fan: channels active on in a year")
    ] = 2,
    list_tier: Annotated[
        Tier | None, typer.Option("--list", help="list the people of this tier and above")
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """True fans vs followers: people per engagement tier and the share of dollars they bring."""
    from .measure.fans import fans

    res = _analysis(
        fans,
        as_of=as_of,
        min_kinds=min_kinds,
        window_days=window,
        engaged_by=engaged_by.value,
        half_life_days=half_life,
        min_score=min_score,
        min_purchase_days=min_purchase_days,
        min_p_alive=min_p_alive,
        fan_value=fan_value,
        margin=margin,
        fan_channels=fan_channels,
        list_tier=list_tier.value if list_tier else None,
    )
    render_fans(res, fmt)


def render_fans(res: Result, fmt: Format) -> None:
    if _machine_readable(res, fmt):
        return
    if "tier" in res.extra:  # a listing
        print_rows(res.rows, fmt, title=f"People in the {res.extra['tier']} tier or above")
        return
    cur = res.extra.get("currency") or ""
    shown = [
        {
            **r,
            "share_of_people": f"{r['share_of_people']:.1%}",
            "share_of_dollars": f"{r['share_of_dollars']:.1%}",
            "share_of_dollars_at_or_above": f"{r['share_of_dollars_at_or_above']:.1%}",
        }
        for r in res.rows
    ]
    cols = [
        ("tier", "tier"),
        ("people", "people"),
        ("people_at_or_above", "at or above"),
        ("share_of_people", "% people"),
        ("dollars", cur),
        ("share_of_dollars", f"% {cur}"),
        ("share_of_dollars_at_or_above", f"% {cur} at or above"),
        ("following", "following"),
    ]
    console.print(_table(f"Tiers as of {plain(res.extra['as_of'])}", cols, shown))
    console.print("[bold]" + escape(res.extra["caption"]) + "[/bold]", soft_wrap=True)
    ch_cols = [
        ("channel", "channel"),
        ("followers", "followers"),
        ("true_fans", "true fans"),
        ("fans_per_1k_followers", "fans per 1k followers"),
        ("first_arrived", "fans who arrived here first"),
    ]
    console.print(_table("True fans by channel", ch_cols, plain(res.extra["by_channel"])))
    lists = plain(res.extra["email_lists"])
    if lists:
        shown_l = [
            {
                **r,
                **{
                    k: "-" if r[k] is None else f"{r[k]:.1%}"
                    for k in ("growth", "churn_yearly", "engaged_share")
                },
            }
            for r in lists
        ]
        l_cols = [
            ("channel", "email list"),
            ("subscribers", "subscribers"),
            ("joined", "joined in a year"),
            ("left", "left"),
            ("growth", "growth"),
            ("churn_yearly", "churn / year"),
            ("engaged_share", "engaged (90 d)"),
            ("revenue_per_subscriber", f"{cur} per subscriber"),
        ]
        console.print(_table("Email list health", l_cols, shown_l))
    console.print(
        f"[dim]True fan: {escape(str(res.assumptions['true_fan']))}.[/dim]", soft_wrap=True
    )


class ModelName(StrEnum):
    bgnbd = "bgnbd"
    pareto = "pareto"
    bgbb = "bgbb"
    sbg = "sbg"


class Period(StrEnum):
    year = "year"
    quarter = "quarter"
    month = "month"
    week = "week"


class TimeUnit(StrEnum):
    week = "week"
    day = "day"


@app.command("clv")
def clv_cmd(
    model: Annotated[
        ModelName,
        typer.Option(
            "--model",
            help="bgnbd (default), pareto, bgbb (one chance per period) or sbg (subscriptions)",
        ),
    ] = ModelName.bgnbd,
    period: Annotated[
        Period,
        typer.Option("--period", help="bgbb / sbg: the period of one opportunity or payment"),
    ] = Period.year,
    calibration_end: Annotated[
        str | None,
        typer.Option("--calibration-end", help="fit on purchases to this day, check on the rest"),
    ] = None,
    time_unit: Annotated[TimeUnit, typer.Option("--time-unit", help="week or day")] = TimeUnit.week,
    horizon: Annotated[
        float | None, typer.Option("--horizon", help="periods ahead (default: one year)")
    ] = None,
    discount_rate: Annotated[
        float, typer.Option("--discount-rate", help="yearly discount rate of future value")
    ] = 0.10,
    margin: MarginOpt = 1.0,
    as_of: AsOfOpt = None,
    top: Annotated[int, typer.Option("--top", help="rows shown in the table format")] = 20,
    fmt: FormatOpt = Format.table,
) -> None:
    """What each customer is likely to be worth: P(alive), expected purchases and spend, CLV."""
    from .measure.clv import clv

    res = _analysis(
        clv,
        model=model.value,
        calibration_end=calibration_end,
        time_unit=time_unit.value,
        horizon=horizon,
        discount_rate=discount_rate,
        margin=margin,
        as_of=as_of,
        period=period.value,
    )
    render_clv(res, fmt, top)


def render_clv(res: Result, fmt: Format, top: int) -> None:
    if _machine_readable(res, fmt):
        return
    ex = res.extra
    params = ", ".join(f"{k} = {v:.4g}" for k, v in ex["params"].items())
    console.print(
        f"[bold]{escape(str(res.assumptions['frequency_model']))}[/bold] {params}; "
        f"log-likelihood {ex['log_likelihood']:.2f}; "
        f"{'converged' if ex['converged'] else '[red]not converged[/red]'}",
        soft_wrap=True,
    )
    first = ("renewals", "renewals") if ex["model"] == "sbg" else ("frequency", "repeat purchases")
    cols = [
        ("person_id", "person"),
        first,
        ("p_alive", "P(alive)"),
        ("expected_purchases", "expected purchases"),
        ("expected_spend", "spend per purchase"),
        ("clv", "discounted value"),
    ]
    rows = res.rows[: max(0, top)]
    console.print(
        _table(f"Most valuable customers (top {len(rows)} of {len(res.rows):,})", cols, rows)
    )
    hold = ex.get("holdout")
    if hold:
        h_cols = [
            ("frequency", "calibration purchases"),
            ("customers", "customers"),
            ("actual", "actual (holdout)"),
            ("model", "model"),
            ("naive", "naive: past rate"),
        ]
        console.print(
            _table(
                "Holdout: purchases per customer by calibration frequency",
                h_cols,
                plain(hold["by_calibration_frequency"]),
            )
        )
    mats = ex.get("matrices")
    if mats:
        console.print(_matrix_table(mats, "p_alive", "P(alive)"))
    for line in ex["captions"]:
        console.print(escape(line), soft_wrap=True)


def _matrix_table(m: dict[str, Any], key: str, what: str, max_rows: int = 11) -> RichTable:
    """A heat-map as a table: rows purchases, columns time since the last purchase."""
    gaps = m["since_last_purchase"]
    t = RichTable(
        title=f"{what} by repeat purchases (rows) and {m['columns']} (columns)",
        header_style="bold",
        title_justify="left",
    )
    t.add_column("purchases", justify="right")
    for g in gaps:
        t.add_column(f"{g:.0f}", justify="right")
    for x, row in list(zip(m["frequency"], m[key], strict=True))[:max_rows]:
        cells = []
        for v in row:
            if v is None:
                cells.append("")
            else:
                shade = "green" if v >= 0.7 else "yellow" if v >= 0.3 else "red"
                cells.append(f"[{shade}]{v:.0%}[/{shade}]")
        t.add_row(str(x), *cells)
    return t


class AttributionBy(StrEnum):
    channel = "channel"
    content = "content"
    campaign = "campaign"
    platform = "platform"


@app.command("attribution")
def attribution_cmd(
    since: SinceOpt = None,
    until: UntilOpt = None,
    outcome: OutcomeOpt = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="models to compute, comma separated (default: all)"),
    ] = None,
    by: Annotated[
        AttributionBy, typer.Option("--by", help="channel (default), content, campaign, platform")
    ] = AttributionBy.channel,
    lookback: Annotated[
        int, typer.Option("--lookback", help="days of touches before an outcome")
    ] = 30,
    half_life: Annotated[
        float, typer.Option("--half-life", help="time decay: days for a touch to count half")
    ] = 7.0,
    draws: Annotated[int, typer.Option("--draws", help="bootstrap draws for intervals")] = 30,
    seed: Annotated[int, typer.Option("--seed", help="random seed of the resampling")] = 0,
    fmt: FormatOpt = Format.table,
) -> None:
    """Credit for outcomes and dollars by channel under every attribution model, side by side."""
    from .measure.attribution import attribution

    res = _analysis(
        attribution,
        since=since,
        until=until,
        outcome=outcome,
        model=model,
        lookback=lookback,
        by=by.value,
        half_life=half_life,
        draws=draws,
        seed=seed,
    )
    if _machine_readable(res, fmt):
        return
    key = res.extra.get("label") or by.value
    models: list[str] = []
    shares: dict[str, dict[str, float]] = {}
    for r in res.rows:
        m = str(r["model"])
        if m not in models:
            models.append(m)
        shares.setdefault(str(r[key]), {})[m] = r["share"]
    rec = res.extra.get("recommended_model")
    order = sorted(shares, key=lambda k: -(shares[k].get(rec or models[0]) or 0))
    cols = [("name", key)] + [(m, f"{m} *" if m == rec else m) for m in models]
    rows = [
        {"name": k, **{m: "-" if v.get(m) is None else f"{v[m]:.0%}" for m in models}}
        for k, v in ((k, shares[k]) for k in order)
    ]
    console.print(_table("Share of credit by model (* = recommended)", cols, rows))
    console.print(
        f"Journeys: {res.extra.get('journeys', 0):,}, of which converting "
        f"{res.extra.get('converting_journeys', 0):,}; outcomes with no touch in the "
        f"{res.extra.get('lookback_days')} days before: {res.extra.get('no_touch_share', 0):.0%}.",
        soft_wrap=True,
    )
    if rec:
        console.print(
            f"[bold]Recommended: {escape(str(rec))}[/bold] — "
            + escape(str(res.extra.get("recommendation", ""))),
            soft_wrap=True,
        )
    caution = res.assumptions.get("trust") or res.extra.get("trust")
    if caution:
        console.print(f"[dim]{escape(str(caution))}[/dim]", soft_wrap=True)


@app.command("content")
def content_cmd(
    since: SinceOpt = None,
    until: UntilOpt = None,
    outcome: OutcomeOpt = None,
    model: Annotated[str, typer.Option("--model", help="credit model for content")] = "linear",
    lookback: Annotated[
        int, typer.Option("--lookback", help="days of touches before an outcome")
    ] = 30,
    top: Annotated[int, typer.Option("--top", help="rows shown")] = 20,
    fmt: FormatOpt = Format.table,
) -> None:
    """Content ranked by the outcomes and dollars it earns, beside its likes."""
    from .measure.content import content

    res = _analysis(
        content, since=since, until=until, outcome=outcome, model=model, lookback=lookback
    )
    if _machine_readable(res, fmt):
        return
    cols = [
        ("rank", "#"),
        ("title", "content"),
        ("channel_id", "channel"),
        ("format", "format"),
        ("outcomes", "outcomes"),
        ("dollars", "dollars"),
        ("likes", "likes"),
        ("shares", "shares"),
        ("dollars_per_hour", "dollars per hour"),
    ]
    console.print(_table("Content that pays", cols, res.rows[: max(0, top)]))
    rho = res.extra.get("likes_dollars_spearman")
    if isinstance(rho, dict) and rho.get("rho") is not None:
        console.print(
            f"Rank correlation of likes with dollars: {rho['rho']:.2f} "
            f"(95% interval {_fmt(rho.get('low'))} to {_fmt(rho.get('high'))}).",
            soft_wrap=True,
        )


class Scorer(StrEnum):
    rules = "rules"
    model = "model"


@app.command("credibility")
def credibility_cmd(
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="YAML/TOML file describing who you want to reach"),
    ] = None,
    list_people: Annotated[
        bool, typer.Option("--list", help="one row per follower with its score and reasons")
    ] = False,
    platform: Annotated[str | None, typer.Option("--platform", help="only this platform")] = None,
    as_of: AsOfOpt = None,
    scorer: Annotated[
        Scorer, typer.Option("--scorer", help="rules (default) or the trained model")
    ] = Scorer.rules,
    fmt: FormatOpt = Format.table,
) -> None:
    """Who is connecting: likely fake or ghost followers, relevance, and the real audience."""
    from .measure.credibility import credibility

    res = _analysis(
        credibility,
        profile=profile,
        list_people=list_people,
        platform=platform,
        as_of=as_of,
        scorer=scorer.value,
    )
    if _machine_readable(res, fmt):
        return
    if list_people:
        print_rows(
            res.rows[:200],
            fmt,
            title="Followers and connections (first 200; use --format csv for all)",
        )
        return
    rows = [
        {
            **r,
            "fake_share": "-" if r.get("fake_share") is None else f"{r['fake_share']:.0%}",
            "quality_index": "-" if r.get("quality_index") is None else f"{r['quality_index']:.0%}",
            "share_of_followers": f"{r['share_of_followers']:.0%}",
        }
        for r in res.rows
    ]
    cols = [
        ("platform", "platform"),
        ("followers", "followers"),
        ("listed", "on the list"),
        ("likely_fake", "likely fake"),
        ("fake_share", "fake share (est.)"),
        ("ghost", "never engaged"),
        ("engaged", "engaged"),
        ("relevant", "relevant"),
        ("real_audience", "real audience"),
        ("quality_index", "quality index"),
        ("share_of_followers", "% of followers"),
    ]
    console.print(_table("Audience quality by platform", cols, rows))
    if res.extra.get("caption"):
        console.print(escape(str(res.extra["caption"])), soft_wrap=True)


@app.command("career")
def career_cmd(
    profile: Annotated[
        str, typer.Option("--profile", help="YAML/TOML file with target companies and roles")
    ],
    as_of: AsOfOpt = None,
    lookback: Annotated[
        int, typer.Option("--lookback", help="days of activity before an introduction")
    ] = 90,
    fmt: FormatOpt = Format.table,
) -> None:
    """The job seeker's view: connections at target companies and roles, and what led to interviews."""
    from .measure.credibility import career

    res = _analysis(career, profile=profile, as_of=as_of, lookback_days=lookback)
    if _machine_readable(res, fmt):
        return
    print_rows(res.rows, fmt, title="Connections at target companies and in target roles")
    ex = res.extra
    console.print(
        f"{ex.get('connections', 0):,} connections; {ex.get('at_target_companies', 0):,} at target "
        f"companies, {ex.get('in_target_roles', 0):,} in target roles.",
        soft_wrap=True,
    )
    acts = ex.get("activity_before_outcomes") or []
    if acts:
        print_rows(plain(acts), fmt, title="Activity before introductions, interviews and offers")


class MixTarget(StrEnum):
    dollars = "dollars"
    outcomes = "outcomes"


@app.command("mix")
def mix_cmd(
    target: Annotated[
        MixTarget, typer.Option("--target", help="dollars (default) or a count of outcomes")
    ] = MixTarget.dollars,
    outcome: OutcomeOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    draws: Annotated[int, typer.Option("--draws", help="bootstrap refits for intervals")] = 100,
    seed: Annotated[int, typer.Option("--seed", help="random seed of the bootstrap")] = 0,
    fmt: FormatOpt = Format.table,
) -> None:
    """Marketing-mix model: contribution, return and marginal return per dollar and per hour."""
    from .measure.mix import mix

    res = _analysis(
        mix, target=target.value, outcome=outcome, since=since, until=until, draws=draws, seed=seed
    )
    if _machine_readable(res, fmt):
        return
    for c in res.extra["review"]:
        if c["severity"] != "ok":
            style = "red" if c["severity"] == "blocking" else "yellow"
            console.print(
                f"[{style}]{c['severity']}[/{style}]: {escape(c['message'])}", soft_wrap=True
            )
    if not res.extra["fit"]["ok"]:
        console.print(
            "[red]The review blocks this model: its numbers are not shown as findings.[/red] "
            "`truefans plan` will use each channel's return in the picture instead.",
            soft_wrap=True,
        )
    rows = [
        {
            **r,
            "contribution": f"{r['contribution']:,.0f} ({r['contribution_low']:,.0f}–{r['contribution_high']:,.0f})",
            "roi": f"{r['roi']:,.2f} ({r['roi_low']:,.2f}–{r['roi_high']:,.2f})",
            "mroi": f"{r['mroi']:,.2f}",
            "share": f"{r['share']:.0%}",
        }
        for r in res.rows
    ]
    cols = [
        ("channel_id", "channel"),
        ("unit", "input"),
        ("amount", "amount"),
        ("contribution", "contribution (interval)"),
        ("share", "share"),
        ("roi", "return per unit (interval)"),
        ("mroi", "marginal return"),
    ]
    console.print(_table("Mix model: what each input contributed", cols, rows))


@app.command("plan")
def plan_cmd(
    budget: Annotated[float, typer.Option("--budget", help="dollars to spend over the weeks")],
    hours: Annotated[float, typer.Option("--hours", help="hours to spend over the weeks")] = 0.0,
    max_share: Annotated[
        float, typer.Option("--max-share", help="no channel above this share (0-1)")
    ] = 1.0,
    weeks: Annotated[int, typer.Option("--weeks", help="weeks the budget covers")] = 13,
    target: Annotated[
        MixTarget, typer.Option("--target", help="dollars (default) or a count of outcomes")
    ] = MixTarget.dollars,
    outcome: OutcomeOpt = None,
    draws: Annotated[int, typer.Option("--draws", help="bootstrap refits for intervals")] = 50,
    risk_quantile: Annotated[
        float | None,
        typer.Option(
            "--risk-quantile", help="plan for this lower quantile (e.g. 0.1), not the mean"
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Split a budget of dollars and hours across channels for the most expected outcome."""
    from .measure.mix import plan

    res = _analysis(
        plan,
        budget=budget,
        hours=hours,
        max_share=max_share,
        weeks=weeks,
        target=target.value,
        outcome=outcome,
        draws=draws,
        risk_quantile=risk_quantile,
    )
    if _machine_readable(res, fmt):
        return
    rows = [
        {
            **r,
            "amount": r["dollars"] if r["unit"] == "dollars" else r["hours"],
            "share": f"{r['share']:.0%}",
            "change": f"{r['weekly'] - r['current_weekly']:+,.1f}",
        }
        for r in res.rows
    ]
    cols = [
        ("channel_id", "channel"),
        ("unit", "input"),
        ("amount", f"over {res.extra['weeks']} weeks"),
        ("share", "share"),
        ("weekly", "per week"),
        ("change", "vs now, per week"),
        ("expected_outcome", "expected outcome"),
    ]
    console.print(_table("Plan", cols, rows))
    ex = res.extra
    console.print(
        f"Expected {ex['target']}: {ex['expected_total']:,.0f} ({ex['expected_low']:,.0f}–"
        f"{ex['expected_high']:,.0f}); carrying on as now: {_fmt(ex['current_expected'])}. "
        f"Curves: {escape(ex['source'])}.",
        soft_wrap=True,
    )
    for note in ex["notes"]:
        console.print(f"[dim]- {escape(note)}[/dim]", soft_wrap=True)


@app.command("risk")
def risk_cmd(
    since: SinceOpt = None,
    until: UntilOpt = None,
    outcome: OutcomeOpt = None,
    lookback: Annotated[
        int, typer.Option("--lookback", help="days of touches before an outcome (journey)")
    ] = 30,
    fmt: FormatOpt = Format.table,
) -> None:
    """How dependent the business is on each platform, and what it would lose without it."""
    from .measure.risk import risk

    res = _analysis(risk, since=since, until=until, outcome=outcome, lookback_days=lookback)
    if _machine_readable(res, fmt):
        return
    cur = res.extra.get("currency") or ""
    shown = [
        {
            **r,
            **{
                k: "-" if r[k] is None else f"{r[k]:.0%}"
                for k in ("share_of_outcomes", "share_of_dollars", "share_of_audience", "rescuable")
            },
        }
        for r in res.rows
    ]
    cols = [
        ("platform", "platform"),
        ("share_of_outcomes", "% outcomes"),
        ("share_of_dollars", f"% {cur}"),
        ("share_of_audience", "% followers"),
        ("dollars_at_risk_low", f"{cur} at risk, low"),
        ("dollars_at_risk_high", f"{cur} at risk, high"),
        ("people_at_risk", "people"),
        ("rescuable", "reachable without it"),
    ]
    console.print(_table("Dependence on each platform", cols, shown))
    ex = res.extra
    conc = ex["concentration"]["by_platform"]["dollars"]
    owned = ex["owned_share"]
    one = ex["one_platform_share"]
    console.print(
        f"HHI of dollars across platforms {_fmt(ex['hhi'])} (effective platforms "
        f"{_fmt(conc['effective'])}; effective channels {_fmt(ex['effective_channels'])}). "
        + (
            f"You can reach {owned:.0%} of the {ex['known_people']:,} people you know without any "
            f"platform; {one:.0%} you know through one platform only."
            if owned is not None and one is not None
            else ""
        ),
        soft_wrap=True,
    )
    for r in res.rows:
        console.print("- " + escape(r["verdict"]), soft_wrap=True)


class FunnelBy(StrEnum):
    channel = "channel"
    platform = "platform"
    content = "content"
    all = "all"


class Persona(StrEnum):
    business = "business"
    jobseeker = "jobseeker"


@app.command("funnel")
def funnel_cmd(
    by: Annotated[
        FunnelBy, typer.Option("--by", help="channel (default), platform, content or all")
    ] = FunnelBy.channel,
    persona: Annotated[
        Persona, typer.Option("--persona", help="business or jobseeker steps")
    ] = Persona.business,
    until: UntilOpt = None,
    top: Annotated[int, typer.Option("--top", help="groups shown in the table format")] = 12,
    fmt: FormatOpt = Format.table,
) -> None:
    """Audience → engaged → known → lead → customer → repeat, with rates and intervals."""
    from .measure.funnel import funnel

    res = _analysis(funnel, by=by.value, persona=persona.value, until=until)
    if _machine_readable(res, fmt):
        return
    steps = res.extra["steps"]
    key = by.value if by is not FunnelBy.all else "scope"
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in res.rows:
        groups.setdefault(r[key], []).append(r)
    cols = [("name", by.value)] + [(s, s) for s in steps]
    rows = []
    for _key, rs in list(groups.items())[: max(0, top)]:
        row: dict[str, Any] = {"name": rs[0]["name"]}
        for r in rs:
            cell = f"{r['people']:,}"
            if r["rate"] is not None:
                cell += f" ({r['rate']:.0%}, {r['rate_low']:.0%}–{r['rate_high']:.0%})"
            row[r["step"]] = cell
        rows.append(row)
    console.print(_table("Funnel: people at each step (step rate, 95% interval)", cols, rows))
    tcols = [("name", by.value)] + [(s, f"days to {s}") for s in steps[1:] if s != "known"]
    trows = []
    for _key, rs in list(groups.items())[: max(0, top)]:
        row = {"name": rs[0]["name"]}
        for r in rs:
            if r["days_median"] is not None:
                row[r["step"]] = f"{r['days_median']:.0f} ({r['days_q1']:.0f}–{r['days_q3']:.0f})"
        trows.append(row)
    console.print(_table("Median days from the previous dated step (quartiles)", tcols, trows))


@app.command("backup")
def backup_cmd(
    folder: Annotated[Path, typer.Argument(help="a new (or empty) folder to write the backup in")],
) -> None:
    """Copy every table to Parquet files in FOLDER, with a manifest of row counts and checksums."""
    from .backup import backup

    try:
        with _open(create=False) as ws:
            manifest = backup(ws, folder)
    except TruefansError as e:
        raise _fail(e) from e
    rows = sum(t["rows"] for t in manifest["tables"].values())
    console.print(
        f"backup written to {escape(str(folder))}: {len(manifest['tables'])} tables, {rows:,} "
        f"rows, schema version {manifest['schema_version']} (restore with `truefans restore`)",
        highlight=False,
        soft_wrap=True,
    )


@app.command("restore")
def restore_cmd(
    folder: Annotated[Path, typer.Argument(help="a folder written by `truefans backup`")],
    replace: Annotated[
        bool, typer.Option("--replace", help="overwrite the workspace if it exists")
    ] = False,
) -> None:
    """Check a backup's checksums and restore it as the workspace (a new file, then a rename)."""
    from .backup import restore
    from .workspace import resolve_path

    target = resolve_path(_state["workspace"])
    try:
        manifest = restore(folder, target, replace=replace)
    except TruefansError as e:
        raise _fail(e) from e
    rows = sum(t["rows"] for t in manifest["tables"].values())
    console.print(
        f"restored {escape(str(target))} from {escape(str(folder))}: "
        f"{len(manifest['tables'])} tables, {rows:,} rows, checksums verified",
        highlight=False,
        soft_wrap=True,
    )


@app.command("forget")
def forget_cmd(
    who: Annotated[
        str, typer.Argument(help="a person id, or one of their emails, phones or handles")
    ],
    fmt: FormatOpt = Format.table,
) -> None:
    """Remove a person from every table and rewrite the workspace file (right to erasure)."""
    from .privacy import forget
    from .workspace import resolve_path

    try:
        rep = forget(resolve_path(_state["workspace"]), who)
    except TruefansError as e:
        raise _fail(e) from e
    if fmt is not Format.table:
        rows = [{"table": t, "rows_deleted": n} for t, n in sorted(rep.deleted.items())]
        print_rows(rows, fmt, payload=rep.to_dict())
        return
    if not rep.person_ids:
        console.print("finished the file rewrite of an earlier forget; no person matched")
        return
    deleted = sum(rep.deleted.values())
    console.print(
        f"forgot {', '.join(rep.person_ids)}: {deleted:,} rows deleted in "
        f"{len(rep.deleted)} tables, {sum(rep.nulled.values()):,} references cleared, "
        f"{sum(rep.redacted.values()):,} texts redacted; the workspace file was rewritten",
        highlight=False,
        soft_wrap=True,
    )
    if rep.files:
        console.print(
            "the files they came from still hold them (delete or edit them): "
            + ", ".join(escape(f) for f in rep.files),
            highlight=False,
            soft_wrap=True,
        )


@app.command("report")
def report_cmd(
    output: Annotated[
        str, typer.Option("--output", "-o", help="the HTML file to write")
    ] = "truefans-report.html",
    since: SinceOpt = None,
    until: UntilOpt = None,
    outcome: OutcomeOpt = None,
) -> None:
    """Write one self-contained HTML report (opens offline, prints cleanly)."""
    from .report.render import write_report

    try:
        with _open(create=False) as ws:
            filters = {
                k: v for k, v in (("since", since), ("until", until), ("outcome", outcome)) if v
            }
            path = write_report(ws, output, **filters)
    except TruefansError as e:
        raise _fail(e) from e
    console.print(f"Report written to {escape(str(path))}", highlight=False)


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="port to listen on")] = 8000,
) -> None:
    """Start the local web app: drop export files, browse every analysis (Ctrl-C stops it)."""
    from .web.app import serve

    try:
        serve(_state["workspace"] or None, host=host, port=port)
    except TruefansError as e:
        raise _fail(e) from e


@app.command()
def demo(
    seed: Annotated[int, typer.Option("--seed", help="random seed of the synthetic world")] = 7,
    size: Annotated[
        Size,
        typer.Option(
            "--size",
            help="small ≈ 2k people, large ≈ 1M (jobseeker: 600, 5,000, 30,000 connections)",
        ),
    ] = Size.small,
    report: Annotated[
        bool | None,
        typer.Option(
            "--report/--no-report",
            help="also write truefans-report.html (default: small business demo)",
        ),
    ] = None,
    persona: Annotated[
        Persona,
        typer.Option("--persona", help="business (default) or jobseeker: one person's job search"),
    ] = Persona.business,
    fmt: FormatOpt = Format.table,
) -> None:
    """Build a demo workspace from a synthetic small business (or, with --persona jobseeker,
    one person's job search) and show the whole picture."""
    from .demo import build_demo

    if persona is Persona.jobseeker:
        _jobseeker_demo(seed, size, bool(report), fmt)
        return
    if report is None:
        report = size is Size.small

    try:
        with _open() as ws:
            if fmt is Format.table:
                console.print(
                    f"Building the {size.value} demo world (seed {seed}) into {ws.path} …"
                )
            summary = build_demo(ws, seed=seed, size=size.value)
            if fmt is Format.table:
                console.print(
                    f"Loaded {summary['people']:,} people, {summary['touchpoints']:,} touchpoints, "
                    f"{summary['outcomes']:,} outcomes through the import path "
                    f"({summary['seconds']:.1f} s).\n"
                )
            res = ws.picture()
            render_picture(res, fmt)
            if fmt is Format.table:
                from .measure.fans import fans

                console.print(
                    "\n[bold]" + escape(fans(ws).extra["caption"]) + "[/bold] "
                    "(truefans fans: who they are; truefans clv: what each customer is worth)",
                    soft_wrap=True,
                )
            if report:
                from .report.render import write_report

                path = write_report(ws, "truefans-report.html")
                if fmt is Format.table:
                    console.print(
                        f"The whole report: {escape(str(path))} (open it in a browser; "
                        "`truefans serve` for the interactive app)",
                        soft_wrap=True,
                    )
    except TruefansError as e:
        raise _fail(e) from e


def _jobseeker_demo(seed: int, size: Size, report: bool, fmt: Format) -> None:
    """`demo --persona jobseeker`: build the job search, then show `career` and the jobseeker
    `funnel` on it (json: one object with both results; csv: the career rows)."""
    from .demo import build_demo
    from .measure.credibility import career
    from .measure.funnel import funnel

    try:
        with _open() as ws:
            if fmt is Format.table:
                console.print(
                    f"Building the {size.value} job-seeker demo (seed {seed}) into {ws.path} …"
                )
            summary = build_demo(ws, seed=seed, size=size.value, persona="jobseeker")
            profile = str(summary["profile"])
            if fmt is not Format.table:
                res = career(ws, profile)
                if fmt is Format.csv:
                    print_rows(res.rows, fmt)
                    return
                payload = {
                    "demo": {k: plain(v) for k, v in summary.items() if k != "files"},
                    "career": res.to_dict(),
                    "funnel": funnel(ws, by="channel", persona="jobseeker").to_dict(),
                }
                sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
                return
            console.print(
                f"Loaded {summary['connections']:,} LinkedIn connections and messages (LinkedIn's "
                f"own Connections.csv and messages.csv), {summary['touchpoints']:,} touchpoints "
                f"and {summary['outcomes']:,} introductions, interviews and offers through the "
                f"import path ({summary['seconds']:.1f} s).\nCareer profile (target companies "
                f"and roles): {escape(profile)}\n",
                soft_wrap=True,
            )
            if report:
                from .report.render import write_report

                path = write_report(ws, "truefans-report.html")
                console.print(f"The report: {escape(str(path))}", soft_wrap=True)
    except TruefansError as e:
        raise _fail(e) from e
    career_cmd(profile=profile, as_of=None, lookback=90, fmt=fmt)
    with _open(create=False) as ws:
        from .demo.jobseeker import truth_caption

        console.print("[bold]" + escape(truth_caption(ws)) + "[/bold]", soft_wrap=True)
    console.print()
    funnel_cmd(by=FunnelBy.channel, persona=Persona.jobseeker, until=None, top=12, fmt=fmt)
    where = f"--workspace {_state['workspace']} " if _state["workspace"] else ""
    console.print(
        f"\nAgain, or with your own export: truefans {where}career --profile {escape(profile)} "
        f"· truefans {where}funnel --persona jobseeker",
        soft_wrap=True,
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
