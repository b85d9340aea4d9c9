"""Sections (one analysis: its result, charts, table and assumptions) and the self-contained HTML
report built from them. The web app renders the same sections with the same templates."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from .. import __version__
from ..errors import TruefansError
from ..measure.result import Result, plain
from .charts import Chart, charts_for
from .registry import Analysis, available

if TYPE_CHECKING:
    from ..workspace import Workspace

TEMPLATES = Path(__file__).with_name("templates")
#: rows of an analysis table shown on a page (the API and the CSV carry them all)
MAX_TABLE_ROWS = 200


@dataclass
class Section:
    analysis: Analysis
    params: dict[str, Any]  # the CLI-named options used (only those set)
    result: Result | None = None
    charts: list[Chart] = field(default_factory=list)
    error: str | None = None
    channels: list[str] | None = None
    #: why the section has no numbers although nothing went wrong (a required option has no
    #: value here, or the web app has not computed a slow analysis yet)
    absent: str | None = None

    @property
    def name(self) -> str:
        return self.analysis.name

    @property
    def cli(self) -> str:
        """The CLI command that prints the same numbers."""
        parts = [f"truefans {self.name}"]
        for k, v in self.params.items():
            parts.append(f"--{k} {v}")
        return " ".join(parts) + " --format json"

    def table(self) -> tuple[list[str], list[list[Any]]]:
        if self.result is None or self.result.table.empty:
            return [], []
        rows = self.result.rows[:MAX_TABLE_ROWS]
        cols = list(rows[0]) if rows else []
        return cols, [[_cell(r.get(c)) for c in cols] for r in rows]

    def assumptions(self) -> list[tuple[str, str]]:
        if self.result is None:
            return []
        out = []
        for k, v in plain(self.result.assumptions).items():
            text = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
            out.append((k.replace("_", " "), text))
        return out


def _cell(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1 else f"{v:,.2f}"
    return str(v)


def page_params(
    analysis: Analysis, filters: Mapping[str, Any], options: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The CLI-named options of one analysis from the shared filters and its own options."""
    params: dict[str, Any] = {}
    for o in analysis.options:
        if o.filter and filters.get(o.filter) not in (None, ""):
            params[o.flag] = filters[o.filter]
    for k, v in (options or {}).items():
        if k in analysis.option and v not in (None, ""):
            params[k] = v
    return params


def restrict(res: Result, channels: Sequence[str] | None) -> Result:
    """The result with only the rows of these channels (when its rows are per channel)."""
    if not channels:
        return res
    for col in ("channel_id", "channel"):
        if col in res.table.columns:
            keep = res.table[col].astype(str).isin(list(channels))
            return replace(res, table=res.table[keep].reset_index(drop=True))
    return res


class NotComputed(TruefansError):
    """A section its caller chose not to compute now (the web app's report leaves out a slow
    analysis it has not computed yet); the message says how to get it."""


Runner = Callable[[Analysis, dict[str, Any]], Result]


def build_section(
    ws: Workspace,
    analysis: Analysis,
    params: Mapping[str, Any],
    channels: Sequence[str] | None = None,
    result: Result | None = None,
    run: Runner | None = None,
) -> Section:
    sec = Section(analysis, dict(params), channels=list(channels) if channels else None)
    missing = [o for o in analysis.options if o.required and params.get(o.flag) in (None, "")]
    if result is None and missing:
        sec.absent = (
            analysis.absent(ws)
            if analysis.absent
            else "; ".join(f"--{o.flag} is needed: {o.help}" for o in missing)
        )
        return sec
    try:
        if result is not None:
            res = result
        elif run is not None:
            res = run(analysis, dict(params))
        else:
            res = analysis.run(ws, params)
    except NotComputed as e:
        sec.absent = str(e)
        return sec
    except TruefansError as e:
        sec.error = str(e)
        return sec
    shown = restrict(res, channels)
    sec.result = shown
    sec.charts = charts_for(shown, analysis.charts)
    return sec


@cache
def plotly_js() -> str:
    """The plotly.js bundled with the installed plotly package (nothing fetched)."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def environment(*extra: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*[str(p) for p in extra], str(TEMPLATES)]),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["figure_json"] = figure_json
    return env


def figure_json(chart: Chart) -> str:
    """A chart's figure as JSON safe inside a <script> element."""
    text = json.dumps(chart.figure(), separators=(",", ":"), sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def css() -> str:
    return (TEMPLATES / "style.css").read_text()


def charts_js() -> str:
    return (TEMPLATES / "charts.js").read_text()


def render_report(
    ws: Workspace,
    *,
    since: str | None = None,
    until: str | None = None,
    outcome: str | None = None,
    channel: str | Sequence[str] | None = None,
    analyses: Sequence[str] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    run: Runner | None = None,
) -> str:
    """The whole report as one HTML string: every available analysis with the shared filters.

    ``options``: per analysis, CLI-named options over the report's own (e.g. ``{"mix":
    {"draws": "5"}}``). ``run``: computes a section's result instead of the analysis itself
    (the web app answers from its memory; raising :class:`NotComputed` leaves a section out with
    its message)."""
    filters = {"since": since, "until": until, "outcome": outcome}
    channels = [channel] if isinstance(channel, str) else list(channel or [])
    channels = [c.strip() for ch in channels for c in ch.split(",") if c.strip()]
    sections = []
    for a in available():
        if analyses is not None and a.name not in analyses:
            continue
        extra = {
            **(a.report_options(ws) if a.report_options else {}),
            **a.report_overrides,
            **((options or {}).get(a.name) or {}),
        }
        sections.append(build_section(ws, a, page_params(a, filters, extra), channels, run=run))
    tpl = environment().get_template("report.html")
    return tpl.render(
        sections=sections,
        filters={**filters, "channel": ",".join(channels) or None},
        workspace=os.path.basename(str(ws.path)),
        version=__version__,
        css=css(),
        plotly_js=plotly_js(),
        charts_js=charts_js(),
    )


def write_report(ws: Workspace, path: str | os.PathLike[str] | None = None, **filters: Any) -> Path:
    """Write the self-contained HTML report (default ``truefans-report.html``) and return its path.

    ``filters``: ``since``, ``until`` (YYYY-MM-DD), ``outcome`` ("order,call"), ``channel``
    (channel ids), ``analyses`` (names to include; default all that are installed).
    """
    out = Path(path if path is not None else "truefans-report.html")
    html = render_report(ws, **filters)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out)
    return out
