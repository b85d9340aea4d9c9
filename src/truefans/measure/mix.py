"""Where the next dollar and the next hour should go: `truefans mix` and `truefans plan`.

The workspace side of :mod:`truefans.mix`: weekly aggregates on the engine — the target (dollars
of purchases net of refunds, or a count of outcomes of the chosen types) and, per channel, the
dollars and hours of the `costs` table spread evenly over the days of each cost period — then the
marketing-mix model fitted in NumPy/SciPy, and the planner on its response curves. When the
history is too short or the model's review blocks, `plan` falls back to each channel's average
return with an honest interval and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd

from ..errors import InvalidOption, NotEnoughData
from ..mix import Input, MixData, MixError, MixSpec, ResponseCurve, analyse
from ..mix import plan as plan_curves
from ..schema import NEGATIVE_MONEY_TYPES
from . import rfm
from .picture import attributed_outcomes, parse_day, parse_outcomes, signed_money
from .result import Result

if TYPE_CHECKING:
    from ..engine import Engine
    from ..mix import MixResult
    from ..workspace import Workspace

TARGETS = ("dollars", "outcomes")
_MONDAY = date(1970, 1, 5)


@dataclass
class Weekly:
    weeks: list[date]
    y: np.ndarray
    inputs: list[Input]
    target: str
    currency: str | None
    types: list[str] | None


def _week(d: date) -> date:
    return d - timedelta(days=(d - _MONDAY).days % 7)


def weekly(
    eng: Engine,
    target: str = "dollars",
    outcome: list[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    currency: str | None = None,
) -> Weekly:
    """The target and the inputs per week (Monday to Sunday), on the engine."""
    if target not in TARGETS:
        raise InvalidOption(f"--target {target!r}: choose one of {', '.join(TARGETS)}")
    currency, _ = rfm.main_currency(eng, currency)
    if currency is None:  # no purchases with a person (a day's takings): any money will do
        money = eng.table("outcomes")
        money = money.filter(money.currency.notnull())
        found = eng.execute(
            money.group_by("currency").agg(n=money.count()).order_by(ibis.desc("n")).limit(1)
        )
        currency = str(found["currency"].iloc[0]) if len(found) else None
    o = eng.table("outcomes")
    if outcome:
        o = o.filter(o.type.isin(outcome))
    if target == "dollars":
        o = o.filter(o.value.notnull() & (o.currency == (currency or "")))
        o = o.mutate(v=signed_money(o))
    else:
        o = o.filter(~o.type.isin(list(NEGATIVE_MONEY_TYPES))).mutate(v=ibis.literal(1.0))
    day = o.ts.date()
    per_day = eng.execute(o.group_by(day.name("day")).agg(v=o.v.sum()))
    c = eng.table("costs")
    costs = eng.execute(
        c.select(
            "channel_id",
            "period_start",
            end=c.period_end.fill_null(c.period_start),
            dollars=c.dollars.cast("float64").fill_null(0.0),
            hours=c.hours.fill_null(0.0),
            cur=c.currency,
        )
    )
    if per_day.empty and costs.empty:
        raise NotEnoughData("no outcomes and no costs: import both to fit a mix model")
    days = [pd.Timestamp(d).date() for d in per_day["day"]]
    starts = [pd.Timestamp(d).date() for d in costs["period_start"]]
    ends = [pd.Timestamp(d).date() for d in costs["end"]]
    first = min([*days, *starts]) if (days or starts) else None
    last = max([*days, *ends]) if (days or ends) else None
    if since is not None:
        first = since
    if until is not None:
        last = until
    if first is None or last is None or last < first:
        raise NotEnoughData("no weeks with data in the period")
    w0, w1 = _week(first), _week(last)
    n = (w1 - w0).days // 7 + 1
    weeks = [w0 + timedelta(days=7 * i) for i in range(n)]
    y = np.zeros(n)
    for d, v in zip(days, per_day["v"], strict=True):
        i = (_week(d) - w0).days // 7
        if 0 <= i < n and (since is None or d >= since) and (until is None or d <= until):
            y[i] += float(v)
    spend: dict[tuple[str, str], np.ndarray] = {}
    for cid, s, e, dollars, hours, cur in zip(
        costs["channel_id"],
        starts,
        ends,
        costs["dollars"],
        costs["hours"],
        costs["cur"],
        strict=True,
    ):
        span = max(1, (e - s).days + 1)
        for unit, amount in (("dollars", dollars), ("hours", hours)):
            if not amount or (unit == "dollars" and cur not in (None, currency)):
                continue
            arr = spend.setdefault((str(cid), unit), np.zeros(n))
            per_day_amount = float(amount) / span
            for k in range(span):
                d = s + timedelta(days=k)
                i = (_week(d) - w0).days // 7
                if 0 <= i < n and (since is None or d >= since) and (until is None or d <= until):
                    arr[i] += per_day_amount
    inputs = [
        Input(channel=cid, unit=unit, values=arr)  # type: ignore[arg-type]
        for (cid, unit), arr in sorted(spend.items())
        if np.any(arr > 0)
    ]
    return Weekly(weeks, y, inputs, target, currency, outcome)


def _spec(w: Weekly, n_boot: int, seed: int, max_lag: int) -> MixSpec:
    counts = w.target == "outcomes"
    return MixSpec(
        likelihood="negbin" if counts else "gaussian",
        n_boot=n_boot,
        seed=seed,
        max_lag=max_lag,
    )


def mix(
    ws: Workspace,
    target: str = "dollars",
    outcome: str | None = None,
    since: date | str | None = None,
    until: date | str | None = None,
    draws: int = 100,
    seed: int = 0,
    max_lag: int = 8,
) -> Result:
    """Fit the marketing-mix model of the weekly target on dollars and hours per channel."""
    types = parse_outcomes(outcome)
    w = weekly(
        ws.engine,
        target,
        types,
        parse_day(since, "--since"),
        parse_day(until, "--until"),
        ws.setting("currency"),
    )
    if not w.inputs:
        raise NotEnoughData("no dollars or hours in `costs`: import costs per channel and week")
    res = analyse(
        MixData(y=w.y, inputs=w.inputs, dates=np.array(w.weeks, dtype="datetime64[D]")),
        _spec(w, draws, seed, max_lag),
    )
    return _mix_result(res, w, draws)


def _mix_result(res: MixResult, w: Weekly, draws: int) -> Result:
    rows = []
    for r in res.inputs:
        rows.append(
            {
                "channel_id": r.channel,
                "unit": r.unit,
                "amount": r.amount,
                "contribution": r.total.value,
                "contribution_low": r.total.low,
                "contribution_high": r.total.high,
                "share": r.share.value,
                "share_low": r.share.low,
                "share_high": r.share.high,
                "roi": r.roi.value,
                "roi_low": r.roi.low,
                "roi_high": r.roi.high,
                "mroi": r.marginal_roi.value,
                "mroi_low": r.marginal_roi.low,
                "mroi_high": r.marginal_roi.high,
                "separable": r.separable,
            }
        )
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.sort_values("contribution", ascending=False, ignore_index=True)
    review = [{"check": c.name, "severity": c.severity, "message": c.message} for c in res.checks]
    extra = {
        "fit": {
            "metrics": res.metrics,
            "baseline_share": {
                "value": res.baseline_share.value,
                "low": res.baseline_share.low,
                "high": res.baseline_share.high,
            },
            "weeks": len(w.weeks),
            "inputs": [i.name for i in w.inputs],
            "ok": res.ok,
        },
        "review": review,
        "groups": [
            {
                "inputs": g.names,
                "contribution": g.total.value,
                "low": g.total.low,
                "high": g.total.high,
            }
            for g in res.groups
        ],
        "notes": list(res.notes),
        "target": w.target,
        "currency": w.currency,
        "weekly": {
            "weeks": w.weeks,
            "actual": w.y.tolist(),
            "inputs": {r.name: r.weekly.tolist() for r in res.inputs},
        },
        "curves": _curves(res, w),
    }
    unit = f"{w.currency} of purchases" if w.target == "dollars" else "outcomes"
    assumptions = {
        "target": f"weekly {unit}" + (f" ({', '.join(w.types)})" if w.types else ""),
        "inputs": "dollars and hours per channel and week from costs (periods spread evenly "
        "over their days)",
        "model": "geometric adstock and saturation per input, trend, yearly seasonality, "
        "non-negative effects; intervals from bootstrap refits",
        "intervals": f"{res.level:.0%} from {draws} bootstrap refits",
        "roi": f"contribution per dollar or per hour of the input, in {unit}",
    }
    chart = {"type": "bar", "x": "channel_id", "series": ["contribution"], "title": "Contribution"}
    return Result("mix", table, assumptions, extra, chart)


def _curves(res: MixResult, w: Weekly, points: int = 11) -> dict[str, Any]:
    """Response curves (weekly outcome at steady weekly amounts, from zero to twice the most
    spent in a week) and adstock curves (share of a week's effect felt in later weeks), each
    with its interval; only for a model its review lets through."""
    if not res.ok:
        return {}
    out: dict[str, Any] = {}
    amounts = {i.name: np.asarray(i.values, dtype=float) for i in w.inputs}
    for r in res.inputs:
        top = float(amounts[r.name].max()) if r.name in amounts else 0.0
        if top <= 0:
            continue
        grid = np.linspace(0.0, 2.0 * top, points)
        point, low, high = res.response_curve(r.name, grid)
        a_point, a_low, a_high = res.adstock_curve(r.name)
        out[r.name] = {
            "weekly_amount": grid.tolist(),
            "weekly_outcome": np.asarray(point).tolist(),
            "low": np.asarray(low).tolist(),
            "high": np.asarray(high).tolist(),
            "adstock": np.asarray(a_point).tolist(),
            "adstock_low": np.asarray(a_low).tolist(),
            "adstock_high": np.asarray(a_high).tolist(),
        }
    return out


def plan(
    ws: Workspace,
    budget: float,
    hours: float = 0.0,
    max_share: float = 1.0,
    weeks: int = 13,
    target: str = "dollars",
    outcome: str | None = None,
    draws: int = 100,
    seed: int = 0,
    risk_quantile: float | None = None,
) -> Result:
    """Split ``budget`` dollars and ``hours`` (totals over ``weeks``) across channels."""
    if not (math.isfinite(budget) and budget >= 0):
        raise InvalidOption(f"--budget {budget}: a number of dollars >= 0")
    if not (math.isfinite(hours) and hours >= 0):
        raise InvalidOption(f"--hours {hours}: a number of hours >= 0")
    if not 0 < max_share <= 1:
        raise InvalidOption(f"--max-share {max_share}: a share in (0, 1]")
    if weeks < 1:
        raise InvalidOption(f"--weeks {weeks}: at least 1")
    types = parse_outcomes(outcome)
    w = weekly(ws.engine, target, types, currency=ws.setting("currency"))
    if not w.inputs:
        raise NotEnoughData("no dollars or hours in `costs`: import costs per channel and week")
    source = "mix model"
    reason = ""
    data = MixData(y=w.y, inputs=w.inputs, dates=np.array(w.weeks, dtype="datetime64[D]"))
    try:
        # the point fit and its review first: the bootstrap only when the model can be used
        res = analyse(data, _spec(w, 0, seed, 8))
        if res.ok and draws > 0:
            res = analyse(data, _spec(w, draws, seed, 8))
        curves = res.curves() if res.ok else []
        if not res.ok:
            reason = "; ".join(c.message for c in res.checks if c.severity == "blocking")
    except MixError as e:
        curves, reason = [], str(e)
    if not curves:
        source = (
            "each channel's return in the picture (no usable mix model: "
            + (reason or "see the mix review")
            + ")"
        )
        curves = _average_curves(ws.engine, w)
    current = {i.name: float(np.mean(np.asarray(i.values)[-13:])) for i in w.inputs}
    p = plan_curves(
        curves,
        budget_dollars=budget,
        budget_hours=hours,
        weeks=weeks,
        max_share=max_share,
        risk_quantile=risk_quantile,
        current=current,
    )
    rows = [
        {
            "channel_id": pi.channel,
            "unit": pi.unit,
            "dollars": pi.total if pi.unit == "dollars" else 0.0,
            "hours": pi.total if pi.unit == "hours" else 0.0,
            "weekly": pi.weekly,
            "share": pi.share,
            "expected_outcome": pi.expected.value,
            "expected_low": pi.expected.low,
            "expected_high": pi.expected.high,
            "marginal": pi.marginal.value,
            "at_cap": pi.at_cap,
            "outside_observed": pi.outside_observed,
            "current_weekly": current.get(pi.name, 0.0),
        }
        for pi in p.inputs
    ]
    table = pd.DataFrame(rows)
    extra = {
        "expected_total": p.expected.value,
        "expected_low": p.expected.low,
        "expected_high": p.expected.high,
        "current_expected": None if p.current_expected is None else p.current_expected.value,
        "budget": p.budget,
        "spent": p.spent,
        "max_share": p.max_share,
        "weeks": p.weeks,
        "source": source,
        "notes": list(p.notes),
        "target": w.target,
        "currency": w.currency,
        "risk_quantile": risk_quantile,
        "allocation": {
            "weeks": list(range(1, p.weeks + 1)),
            "inputs": [pi.name for pi in p.inputs],
            "amounts": np.asarray(p.allocation).tolist(),
        },
    }
    assumptions = {
        "curves": source,
        "objective": p.objective,
        "max_share": "no channel above this share of the dollars (and of the hours)",
        "bounds": "each channel between zero and the most it ever spent in a week; a plan "
        "outside that range is flagged",
        "current": "the average weekly dollars and hours of the last 13 weeks",
    }
    return Result("plan", table, assumptions, extra, {"type": "bar", "x": "channel_id"})


def _credited_weekly(eng: Engine, w: Weekly) -> dict[str, np.ndarray]:
    """The target per channel and week, credited by the picture's rule (self-report, else the
    last touch in 30 days)."""
    att = attributed_outcomes(eng, None, None, w.types)
    if w.target == "dollars":
        att = att.filter(att.value.notnull() & (att.currency == (w.currency or "")))
        v = signed_money(att)
    else:
        att = att.filter(~att.type.isin(list(NEGATIVE_MONEY_TYPES)))
        v = ibis.literal(1.0)
    att = att.filter(att.channel_id.notnull()).mutate(v=v, day=att.ts.date())
    df = eng.execute(att.group_by(["channel_id", "day"]).agg(v=att.v.sum()))
    out: dict[str, np.ndarray] = {}
    w0, n = w.weeks[0], len(w.weeks)
    for cid, d, val in zip(df["channel_id"], df["day"], df["v"], strict=True):
        i = (_week(pd.Timestamp(d).date()) - w0).days // 7
        if 0 <= i < n:
            out.setdefault(str(cid), np.zeros(n))[i] += float(val)
    return out


def _average_curves(eng: Engine, w: Weekly) -> list[ResponseCurve]:
    """The fallback when no mix model can be trusted: straight lines through each channel's
    return in the picture (what it was credited per dollar or per hour), with an interval from
    resampling weeks. A channel with both dollars and hours has its credit split evenly between
    them (nothing in the data says how to split it)."""
    credited = _credited_weekly(eng, w)
    rng = np.random.default_rng(0)
    units: dict[str, int] = {}
    for i in w.inputs:
        units[i.channel] = units.get(i.channel, 0) + 1
    n = len(w.weeks)
    idx = rng.integers(0, n, (200, n))
    out = []
    for i in w.inputs:
        a = np.asarray(i.values, dtype=float)
        c = credited.get(i.channel, np.zeros(n)) / units[i.channel]
        roi = float(c.sum() / a.sum()) if a.sum() else 0.0
        sums_a = a[idx].sum(axis=1)
        boot = np.where(sums_a > 0, c[idx].sum(axis=1) / np.where(sums_a > 0, sums_a, 1), 0.0)
        lo, hi = np.quantile(boot, [0.03, 0.97])
        out.append(
            ResponseCurve.linear(
                i.name,
                i.channel,
                i.unit,
                roi,
                float(min(lo, roi)),
                float(max(hi, roi)),
                observed=(float(a.min()), float(a.max())),
            )
        )
    return out
