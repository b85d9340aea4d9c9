"""The analyses the report and the web app show: name → function → options → chart builders.

One :class:`Analysis` per command. Its options are the CLI command's options (same names, same
defaults; a test holds them equal to ``truefans <command> --help``), so the web API's query
parameters are the CLI's options by construction. An analysis whose module is not installed yet is
simply left out; a later analysis adds its page by adding one entry here (and, if its chart spec is
not enough, a chart builder in :mod:`truefans.report.charts`). Options that only shape the terminal
table (``--format``, ``--top`` of clv, funnel and content) change nothing in the JSON and are left
out.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import InvalidOption

if TYPE_CHECKING:
    from ..measure.result import Result
    from ..workspace import Workspace

#: the filters every page shares through its URL (dates, outcome types, channels)
SHARED_FILTERS = ("since", "until", "outcome", "channel")
#: dates outside these are refused (day arithmetic near year 1 or 9999 overflows)
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
#: the longest span in days any option may name (a hundred years)
MAX_DAYS = 36_500
#: how a query string spells a flag (``--list``) on or off
_BOOLS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}


@dataclass(frozen=True)
class Option:
    """One CLI option of an analysis command (``--flag``) and the keyword it feeds."""

    flag: str  # the CLI flag without the dashes, e.g. "half-life"
    param: str  # the analysis function's keyword, e.g. "half_life_days"
    kind: type = str  # str, int, float or date
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    #: the shared URL filter that feeds this option on a page ("until" feeds fans' --as-of)
    filter: str | None = None
    #: the CLI has no default: the command fails without it (plan's --budget)
    required: bool = False
    #: the option names a file (a profile): on the web it is the name of a file uploaded to the
    #: workspace's upload folder, never a path (see :mod:`truefans.web.files`)
    file: bool = False

    def convert(self, value: Any) -> Any:
        """A query-string value as the analysis function wants it (checked like the CLI does)."""
        if value is None or value == "":
            if self.required:
                raise InvalidOption(f"--{self.flag} is required: {self.help}")
            return self.default
        try:
            if self.kind is bool:
                if isinstance(value, bool):
                    return value
                text = str(value).strip().lower()
                if text not in _BOOLS:
                    raise ValueError(value)
                return _BOOLS[text]
            if self.kind is date:
                day = date.fromisoformat(str(value))
                if not FIRST_DAY <= day <= LAST_DAY:
                    raise InvalidOption(f"--{self.flag} {day}: outside {FIRST_DAY} to {LAST_DAY}")
                return day.isoformat()
            if self.kind is int:
                v: Any = int(value)
            elif self.kind is float:
                v = float(value)
                if not math.isfinite(v):
                    raise ValueError(value)
            else:
                v = str(value)
        except ValueError as e:
            raise InvalidOption(f"--{self.flag} {value!r}: not a valid {self.kind.__name__}") from e
        if self.choices is not None and v not in self.choices:
            raise InvalidOption(f"--{self.flag} {v!r}: choose one of {', '.join(self.choices)}")
        if isinstance(v, int | float) and (
            (self.ge is not None and v < self.ge)
            or (self.gt is not None and v <= self.gt)
            or (self.le is not None and v > self.le)
            or (self.lt is not None and v >= self.lt)
        ):
            raise InvalidOption(f"--{self.flag} {v!r}: out of range")
        return v


def _since() -> Option:
    return Option("since", "since", date, help="first day, YYYY-MM-DD", filter="since")


def _until(filter_: str = "until") -> Option:
    return Option("until", "until", date, help="last day, YYYY-MM-DD", filter=filter_)


def _outcome() -> Option:
    return Option(
        "outcome", "outcome", help="outcome types to count, e.g. call,order", filter="outcome"
    )


def _as_of() -> Option:
    return Option(
        "as-of", "as_of", date, help="the day to judge on (default: last activity)", filter="until"
    )


def _margin() -> Option:
    return Option(
        "margin",
        "margin",
        float,
        1.0,
        "share of revenue that is profit (1 = count revenue)",
        gt=0.0,
        le=1.0,
    )


ChartBuilder = Callable[["Result", "Workspace"], list[Any]]


@dataclass(frozen=True)
class Analysis:
    name: str
    title: str
    question: str  # what the page answers, in one line
    module: str  # "truefans.measure.picture"
    function: str  # "picture"
    options: tuple[Option, ...] = ()
    #: options the report (and the page, when the URL sets none) uses beyond the CLI defaults,
    #: e.g. a calibration end for clv so the holdout tracking plot can be drawn
    report_options: Callable[[Workspace], dict[str, Any]] | None = None
    charts: tuple[str, ...] = field(default_factory=tuple)  # names in charts.BUILDERS
    #: takes tens of seconds (model fits): the web app runs it as a background job and polls
    slow: bool = False
    #: options only the report sets, to keep one file quick to build (fewer bootstrap draws);
    #: the section's command line shows them
    report_overrides: Mapping[str, str] = field(default_factory=dict)
    #: why the report leaves the section out when a required option has no value (career has
    #: no profile; plan has no costs to take a budget from)
    absent: Callable[[Workspace], str] | None = None

    def load(self) -> Callable[..., Result] | None:
        """The analysis function, or None when its module is not part of this installation."""
        try:
            mod = importlib.import_module(self.module)
        except ImportError:
            return None
        fn = getattr(mod, self.function, None)
        return fn if callable(fn) else None

    @property
    def option(self) -> dict[str, Option]:
        return {o.flag: o for o in self.options}

    def kwargs(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The function's keywords from CLI-named parameters (defaults for the missing ones)."""
        unknown = sorted(set(params) - set(self.option))
        if unknown:
            raise InvalidOption(f"{self.name}: unknown option(s) {', '.join(unknown)}")
        return {o.param: o.convert(params.get(o.flag)) for o in self.options}

    def normalised(self, params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
        """The parameters as a hashable key: every option, converted, in a fixed order."""
        kw = self.kwargs(params)
        return tuple((o.flag, kw[o.param]) for o in self.options)

    def run(self, ws: Workspace, params: Mapping[str, Any] | None = None) -> Result:
        fn = self.load()
        if fn is None:
            raise InvalidOption(f"the {self.name} analysis is not available in this installation")
        return fn(ws, **self.kwargs(params or {}))


def _clv_report_options(ws: Workspace) -> dict[str, Any]:
    """Hold out the last third of the purchase history (at most a year) so the report can show
    how the model tracked purchases it did not see."""
    row = ws.con.execute(
        "SELECT min(ts)::DATE, max(ts)::DATE FROM outcomes "
        "WHERE person_id IS NOT NULL AND value IS NOT NULL AND type IN ('order', 'renewal')"
    ).fetchone()
    if not row or row[0] is None or row[1] is None:
        return {}
    first, last = row
    span = (last - first).days
    if span < 90:
        return {}
    held = min(365, span // 3)
    return {"calibration-end": (last - timedelta(days=held)).isoformat()}


ANALYSES: dict[str, Analysis] = {}


def register(a: Analysis) -> Analysis:
    ANALYSES[a.name] = a
    return a


register(
    Analysis(
        "picture",
        "The whole picture",
        "What each channel brings: followers, people, outcomes, dollars, cost and return.",
        "truefans.measure.picture",
        "picture",
        (_since(), _until(), _outcome()),
        charts=("picture_shares", "picture_dollars"),
    )
)
register(
    Analysis(
        "fans",
        "True fans",
        "True fans vs followers: people per engagement tier and the dollars they bring.",
        "truefans.measure.fans",
        "fans",
        (
            _as_of(),
            Option(
                "min-kinds",
                "min_kinds",
                int,
                2,
                "engaged: distinct active touch kinds",
                ge=1,
                le=1000,
            ),
            Option(
                "window", "window_days", int, 90, "engaged: days looked back", ge=1, le=MAX_DAYS
            ),
            Option(
                "engaged-by",
                "engaged_by",
                str,
                "kinds",
                "kinds (default) or a decayed score",
                choices=("kinds", "score"),
            ),
            Option(
                "half-life",
                "half_life_days",
                float,
                30.0,
                "score: days to count half",
                gt=0,
                le=MAX_DAYS,
            ),
            Option("min-score", "min_score", float, 2.0, "score: engaged from", ge=0, le=1e9),
            Option(
                "min-purchase-days",
                "min_purchase_days",
                int,
                2,
                "repeat buyer: days with a purchase",
                ge=1,
                le=MAX_DAYS,
            ),
            Option(
                "min-p-alive",
                "min_p_alive",
                float,
                0.5,
                "repeat buyer: probability still buying",
                ge=0,
                le=1,
            ),
            Option(
                "fan-value",
                "fan_value",
                float,
                None,
                "true fan: yearly value from; default the top decile",
                ge=0,
                le=1e15,
            ),
            _margin(),
            Option(
                "fan-channels",
                "fan_channels",
                int,
                2,
                "true fan: channels active on",
                ge=1,
                le=1000,
            ),
            Option(
                "list",
                "list_tier",
                str,
                None,
                "list the people of this tier and above",
                choices=(
                    "audience",
                    "engaged",
                    "reachable",
                    "customer",
                    "repeat_buyer",
                    "true_fan",
                    "superfan",
                ),
            ),
        ),
        charts=("fans_tiers", "fans_channels"),
    )
)
register(
    Analysis(
        "clv",
        "Customer value",
        "What each customer is likely to be worth: P(alive), expected purchases, CLV.",
        "truefans.measure.clv",
        "clv",
        (
            Option(
                "model",
                "model",
                str,
                "bgnbd",
                "bgnbd (default), pareto, bgbb (one chance per period) or sbg (subscriptions)",
                choices=("bgnbd", "pareto", "bgbb", "sbg"),
            ),
            Option(
                "period",
                "period",
                str,
                "year",
                "bgbb / sbg: the period of one opportunity or payment",
                choices=("year", "quarter", "month", "week"),
            ),
            Option(
                "calibration-end",
                "calibration_end",
                date,
                None,
                "fit on purchases to this day, check on the rest",
            ),
            Option("time-unit", "time_unit", str, "week", "week or day", choices=("week", "day")),
            Option(
                "horizon",
                "horizon",
                float,
                None,
                "periods ahead (default: one year)",
                gt=0,
                le=10_000,
            ),
            Option(
                "discount-rate",
                "discount_rate",
                float,
                0.10,
                "yearly discount rate of future value",
                ge=0,
                le=10,
            ),
            _margin(),
            _as_of(),
        ),
        report_options=_clv_report_options,
        charts=("clv_matrix", "clv_tracking"),
    )
)
register(
    Analysis(
        "risk",
        "Platform risk",
        "How dependent the business is on each platform, and what it would lose without it.",
        "truefans.measure.risk",
        "risk",
        (
            _since(),
            _until(),
            _outcome(),
            Option(
                "lookback",
                "lookback_days",
                int,
                30,
                "days of touches before an outcome (journey)",
                ge=1,
                le=MAX_DAYS,
            ),
        ),
        charts=("risk_concentration", "risk_platforms"),
    )
)
register(
    Analysis(
        "funnel",
        "Funnel",
        "Audience → engaged → known → lead → customer → repeat, with rates and intervals.",
        "truefans.measure.funnel",
        "funnel",
        (
            Option(
                "by",
                "by",
                str,
                "channel",
                "channel (default), platform, content or all",
                choices=("channel", "platform", "content", "all"),
            ),
            Option(
                "persona",
                "persona",
                str,
                "business",
                "business or jobseeker steps",
                choices=("business", "jobseeker"),
            ),
            _until(),
        ),
        charts=("funnel_steps",),
    )
)
register(
    Analysis(
        "attribution",
        "Attribution",
        "Credit per channel under every model, side by side, with intervals.",
        "truefans.measure.attribution",
        "attribution",
        (
            _since(),
            _until(),
            _outcome(),
            Option("model", "model", str, None, "models, comma-separated (default: all)"),
            Option(
                "lookback",
                "lookback",
                int,
                30,
                "days of touches before an outcome",
                ge=1,
                le=MAX_DAYS,
            ),
            Option(
                "by",
                "by",
                str,
                "channel",
                "channel (default), content, campaign, platform",
                choices=("channel", "content", "campaign", "platform"),
            ),
            Option(
                "half-life",
                "half_life",
                float,
                7.0,
                "time decay: days for a touch to count half",
                gt=0,
                le=MAX_DAYS,
            ),
            Option("draws", "draws", int, 30, "bootstrap draws for intervals", ge=0, le=1000),
            Option("seed", "seed", int, 0, "random seed of the resampling", ge=0, le=2**31 - 1),
        ),
        charts=("attribution_models",),
    )
)
register(
    Analysis(
        "content",
        "Content",
        "Which posts pay: outcomes and dollars per content item beside its likes.",
        "truefans.measure.content",
        "content",
        (
            _since(),
            _until(),
            _outcome(),
            Option("model", "model", str, "linear", "credit model (a rule model, markov_1, ...)"),
            Option(
                "lookback",
                "lookback",
                int,
                30,
                "days of touches before an outcome",
                ge=1,
                le=MAX_DAYS,
            ),
        ),
        charts=("content_scatter",),
    )
)


def _profile_option(required: bool, help_: str) -> Option:
    return Option("profile", "profile", str, None, help_, required=required, file=True)


def _plan_report_options(ws: Workspace) -> dict[str, Any]:
    """Re-split what the last 13 weeks cost: their average weekly dollars and hours times the
    plan's weeks (13), so the report's plan compares like with like."""
    import numpy as np

    from ..errors import TruefansError
    from ..measure.mix import weekly

    try:
        w = weekly(ws.engine, "dollars", None, currency=ws.setting("currency"))
    except TruefansError:
        return {}
    total = {"dollars": 0.0, "hours": 0.0}
    for i in w.inputs:
        last = np.asarray(i.values, dtype=float)[-13:]
        total[i.unit] += float(last.mean()) * 13 if last.size else 0.0
    if total["dollars"] <= 0 and total["hours"] <= 0:
        return {}
    return {"budget": f"{round(total['dollars'])}", "hours": f"{round(total['hours'])}"}


def _plan_absent(ws: Workspace) -> str:
    return (
        "plan needs --budget; the report re-splits what the last 13 weeks cost, and the costs "
        "table has no dollars or hours to take it from: import costs per channel and week, or "
        "run `truefans plan --budget DOLLARS`"
    )


def _career_absent(ws: Workspace) -> str:
    return (
        "career needs a profile of target companies and roles, which the report has no option "
        "for: run `truefans career --profile FILE`, or upload the profile on the app's Career page"
    )


def _mix_target() -> Option:
    return Option(
        "target",
        "target",
        str,
        "dollars",
        "dollars (default) or a count of outcomes",
        choices=("dollars", "outcomes"),
    )


register(
    Analysis(
        "credibility",
        "Credibility",
        "Who is connecting: likely fake or ghost followers, relevance, and the real audience.",
        "truefans.measure.credibility",
        "credibility",
        (
            _profile_option(False, "YAML/TOML file describing who you want to reach"),
            Option(
                "list",
                "list_people",
                bool,
                False,
                "one row per follower with its score and reasons",
            ),
            Option("platform", "platform", str, None, "only this platform"),
            _as_of(),
            Option(
                "scorer",
                "scorer",
                str,
                "rules",
                "rules (default) or the trained model",
                choices=("rules", "model"),
            ),
        ),
        charts=("credibility_audience", "credibility_bands"),
    )
)
register(
    Analysis(
        "career",
        "Career",
        "The job seeker's view: connections at target companies and roles, and what led to "
        "interviews.",
        "truefans.measure.credibility",
        "career",
        (
            _profile_option(True, "YAML/TOML file with target companies and roles"),
            _as_of(),
            Option(
                "lookback",
                "lookback_days",
                int,
                90,
                "days of activity before an introduction",
                ge=1,
                le=MAX_DAYS,
            ),
        ),
        charts=("career_growth", "career_activity"),
        absent=_career_absent,
    )
)
register(
    Analysis(
        "mix",
        "Marketing mix",
        "What each channel's dollars and hours contributed, and the return of the next one.",
        "truefans.measure.mix",
        "mix",
        (
            _mix_target(),
            _outcome(),
            _since(),
            _until(),
            Option("draws", "draws", int, 100, "bootstrap refits for intervals", ge=0, le=1000),
            Option("seed", "seed", int, 0, "random seed of the bootstrap", ge=0, le=2**31 - 1),
        ),
        charts=("mix_contributions", "mix_curves", "mix_weekly"),
        report_overrides={"draws": "20"},
        slow=True,
    )
)
register(
    Analysis(
        "plan",
        "Plan",
        "How to split a budget of dollars and hours across channels for the most outcome.",
        "truefans.measure.mix",
        "plan",
        (
            Option(
                "budget",
                "budget",
                float,
                None,
                "dollars to spend over the weeks",
                ge=0,
                le=1e15,
                required=True,
            ),
            Option("hours", "hours", float, 0.0, "hours to spend over the weeks", ge=0, le=1e9),
            Option(
                "max-share",
                "max_share",
                float,
                1.0,
                "no channel above this share (0-1)",
                gt=0,
                le=1,
            ),
            Option("weeks", "weeks", int, 13, "weeks the budget covers", ge=1, le=520),
            _mix_target(),
            _outcome(),
            Option("draws", "draws", int, 50, "bootstrap refits for intervals", ge=0, le=1000),
            Option(
                "risk-quantile",
                "risk_quantile",
                float,
                None,
                "plan for this lower quantile (e.g. 0.1), not the mean",
                gt=0,
                lt=0.5,
            ),
        ),
        report_options=_plan_report_options,
        report_overrides={"draws": "20"},
        charts=("plan_allocation", "plan_weeks"),
        absent=_plan_absent,
        slow=True,
    )
)


def available() -> list[Analysis]:
    """The registered analyses whose module is installed, in registry order."""
    return [a for a in ANALYSES.values() if a.load() is not None]


def get(name: str) -> Analysis:
    a = ANALYSES.get(name)
    if a is None or a.load() is None:
        raise InvalidOption(f"unknown analysis {name!r}")
    return a
