"""Purchases per person and their recency-frequency summary, computed on the engine.

The summary is the input of every "buy till you die" model (BG/NBD, Pareto/NBD, Gamma-Gamma):
per customer ``x`` (repeat purchases), ``t_x`` (time of the last purchase since the first) and ``T``
(time from the first purchase to the end of the calibration period), with the mean spend of the
repeat purchases. Conventions follow Fader, Hardie & Lee (2005):

* a *purchase* is an outcome with a person, a value (zero included: a free order is still an
  order) in the chosen currency and a purchase type (:data:`PURCHASE_TYPES`; refunds, fees, leads
  and calls are not purchases);
* purchases of one person on one calendar day are merged into one transaction (their values add);
* the first transaction is excluded from ``x`` and from the mean spend (it only starts the clock);
* times are whole days divided by the unit (7 for weeks), so ``t_x`` and ``T`` are exact.

Everything up to the per-person rows is an Ibis expression (it runs on DuckDB or Spark alike);
the rows are then collapsed on the engine into weighted distinct ``(x, t_x, T)`` triples, which is
what the models are fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pandas as pd

from ..errors import InvalidOption, NotEnoughData
from ..schema import OUTCOME_TYPES

if TYPE_CHECKING:
    from ..engine import Engine

#: days per time unit
UNITS = {"day": 1.0, "week": 7.0}
#: outcome types that are purchases: money a customer chose to pay
PURCHASE_TYPES = (
    "new_account",
    "order",
    "renewal",
    "subscription",
    "enrollment",
    "book_sale",
    "donation",
)
assert set(PURCHASE_TYPES) <= set(OUTCOME_TYPES)


def purchases(o: ir.Table) -> ir.Table:
    """The rows of an outcomes table that are purchases (any currency)."""
    return o.filter(
        o.person_id.notnull()
        & o.value.notnull()
        & (o.value >= 0)
        & o.type.isin(list(PURCHASE_TYPES))
        & o.currency.notnull()
    )


def unit_days(time_unit: str) -> float:
    if time_unit not in UNITS:
        raise InvalidOption(f"--time-unit {time_unit!r}: choose one of {', '.join(UNITS)}")
    return UNITS[time_unit]


def main_currency(eng: Engine, preferred: str | None = None) -> tuple[str | None, dict[str, int]]:
    """The currency purchases are counted in (the workspace's, else the most used), and how
    many purchases each other currency has (they are left out, never converted)."""
    o = purchases(eng.table("outcomes"))
    counts = eng.execute(o.group_by("currency").agg(n=o.count()).order_by([ibis.desc("n")]))
    per = {str(c): int(n) for c, n in zip(counts["currency"], counts["n"], strict=True)}
    if preferred is None and per:
        preferred = next(iter(per))
    return preferred, {c: n for c, n in per.items() if c != preferred}


def purchase_days(eng: Engine, currency: str | None, until: date | None = None) -> ir.Table:
    """One row per person and day with a purchase: ``person_id, day, value`` (values added)."""
    o = purchases(eng.table("outcomes"))
    if currency is not None:
        o = o.filter(o.currency == currency)
    if until is not None:
        end = datetime.combine(until + timedelta(days=1), datetime.min.time())
        o = o.filter(o.ts < ibis.timestamp(end))
    o = o.mutate(day=o.ts.date(), value=o.value.cast("float64"))
    return o.group_by(["person_id", "day"]).agg(value=o.value.sum())


def summary_expr(
    days: ir.Table, calibration_end: date, unit: float, holdout_end: date | None = None
) -> ir.Table:
    """Per person with a purchase on or before ``calibration_end``: x, t_x, T, mean repeat spend,
    first spend, and (with ``holdout_end``) repeat purchases and spend in the holdout period."""
    cal = days.filter(days.day <= ibis.literal(calibration_end))
    per = cal.group_by("person_id").agg(
        first_day=cal.day.min(),
        last_day=cal.day.max(),
        n=cal.count(),
        total=cal.value.sum(),
        first_spend=cal.value.argmin(cal.day),
    )
    end = ibis.literal(calibration_end)
    x = per.n - 1
    out = per.select(
        "person_id",
        "first_day",
        x=x,
        t_x=per.last_day.delta(per.first_day, unit="day").cast("float64") / unit,
        T=end.delta(per.first_day, unit="day").cast("float64") / unit,
        mean_spend=ibis.ifelse(x > 0, (per.total - per.first_spend) / x.cast("float64"), 0.0),
        first_spend=per.first_spend,
    )
    if holdout_end is None:
        return out
    hold = days.filter(
        (days.day > ibis.literal(calibration_end)) & (days.day <= ibis.literal(holdout_end))
    )
    h = hold.group_by(hold.person_id.name("h_person")).agg(
        x_holdout=hold.count(), spend_holdout=hold.value.sum()
    )
    j = out.left_join(h, out.person_id == h.h_person)
    return j.select(
        *out.columns,
        x_holdout=j.x_holdout.fill_null(0),
        spend_holdout=j.spend_holdout.fill_null(0.0),
    )


def collapse_expr(per: ir.Table) -> ir.Table:
    """Weighted distinct ``(x, t_x, T)`` rows: what the frequency models are fitted on."""
    return per.group_by(["x", "t_x", "T"]).agg(weight=per.count())


@dataclass
class Summary:
    """A recency-frequency summary pulled from the engine."""

    people: pd.DataFrame
    collapsed: pd.DataFrame
    time_unit: str
    unit_days: float
    calibration_end: date
    observation_end: date
    currency: str | None
    #: purchases in other currencies (left out), by currency
    other_currencies: dict[str, int] = field(default_factory=dict)

    @property
    def has_holdout(self) -> bool:
        return self.observation_end > self.calibration_end

    @property
    def holdout_length(self) -> float:
        return (self.observation_end - self.calibration_end).days / self.unit_days


def last_purchase_day(eng: Engine, currency: str | None) -> date | None:
    d = purchase_days(eng, currency)
    row = eng.execute(d.aggregate(last=d.day.max()))
    value = row["last"].iloc[0] if len(row) else None
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def summarise(
    eng: Engine,
    calibration_end: date | None = None,
    observation_end: date | None = None,
    time_unit: str = "week",
    currency: str | None = None,
) -> Summary:
    """The recency-frequency summary of the workspace's purchases.

    ``observation_end`` defaults to the day of the last purchase; ``calibration_end`` to the
    observation end (no holdout). Purchases after ``observation_end`` are ignored.
    """
    unit = unit_days(time_unit)
    currency, others = main_currency(eng, currency)
    if observation_end is None:
        observation_end = last_purchase_day(eng, currency)
        if observation_end is None:
            raise NotEnoughData(
                "no purchases to model: import outcomes with a person, a positive value and "
                "a currency (orders, new accounts, renewals ...)"
            )
    if calibration_end is None:
        calibration_end = observation_end
    if calibration_end > observation_end:
        raise InvalidOption(
            f"--calibration-end {calibration_end} is after the end of the data {observation_end}"
        )
    days = purchase_days(eng, currency, observation_end)
    holdout = observation_end if observation_end > calibration_end else None
    per_expr = summary_expr(days, calibration_end, unit, holdout)
    with eng.materialized(per_expr) as per:
        people = eng.execute(per.order_by("person_id"))
        collapsed = eng.execute(collapse_expr(per).order_by(["x", "t_x", "T"]))
    if people.empty:
        raise NotEnoughData(
            f"no customer made a purchase on or before {calibration_end}; choose a later "
            "--calibration-end"
        )
    return Summary(
        people, collapsed, time_unit, unit, calibration_end, observation_end, currency, others
    )


#: discrete periods (opportunities) for BG/BB and sBG
PERIODS = ("year", "quarter", "month", "week")
#: a Monday: weeks are counted from it
_MONDAY = date(1970, 1, 5)


def period_index(day: ir.DateValue, period: str) -> ir.IntegerValue:
    """A whole number per calendar period: consecutive periods get consecutive numbers."""
    if period == "year":
        return day.year().cast("int64")
    if period == "quarter":
        return day.year().cast("int64") * 4 + day.quarter().cast("int64") - 1
    if period == "month":
        return day.year().cast("int64") * 12 + day.month().cast("int64") - 1
    if period == "week":
        return (day.delta(ibis.literal(_MONDAY), unit="day") // 7).cast("int64")
    raise InvalidOption(f"--period {period!r}: choose one of {', '.join(PERIODS)}")


def period_of(d: date, period: str) -> int:
    if period == "year":
        return d.year
    if period == "quarter":
        return d.year * 4 + (d.month - 1) // 3
    if period == "month":
        return d.year * 12 + d.month - 1
    if period == "week":
        return (d - _MONDAY).days // 7
    raise InvalidOption(f"--period {period!r}: choose one of {', '.join(PERIODS)}")


def discrete_summary_expr(
    days: ir.Table, calibration_end: date, period: str, holdout_end: date | None = None
) -> ir.Table:
    """Per person, in whole periods (each period after the first purchase's is one opportunity;
    the period holding the calibration end counts): ``n`` opportunities, ``x`` periods with a
    purchase among them, ``t_x`` the last such period (0 if none), mean spend of those periods."""
    cal_p = period_of(calibration_end, period)
    p = days.mutate(p=period_index(days.day, period))
    per_period = p.group_by(["person_id", "p"]).agg(value=p.value.sum())
    cal = per_period.filter(per_period.p <= cal_p)
    per = cal.group_by("person_id").agg(
        first_p=cal.p.min(),
        last_p=cal.p.max(),
        k=cal.count(),
        total=cal.value.sum(),
        first_spend=cal.value.argmin(cal.p),
    )
    x = per.k - 1
    out = per.select(
        "person_id",
        x=x,
        t_x=per.last_p - per.first_p,
        n=ibis.literal(cal_p, "int64") - per.first_p,
        mean_spend=ibis.ifelse(x > 0, (per.total - per.first_spend) / x.cast("float64"), 0.0),
        first_spend=per.first_spend,
    )
    if holdout_end is None:
        return out
    hold = per_period.filter(
        (per_period.p > cal_p) & (per_period.p <= period_of(holdout_end, period))
    )
    h = hold.group_by(hold.person_id.name("h_person")).agg(x_holdout=hold.count())
    j = out.left_join(h, out.person_id == h.h_person)
    return j.select(*out.columns, x_holdout=j.x_holdout.fill_null(0))
