"""The small aggregates the path models are fitted on, computed on the engine (DuckDB or Spark).

Journeys are cut by the attribution's own portable expression
(:func:`truefans.measure.attribution.journey_touches`); here each journey becomes its ordered
channel path (structs collected, the array sorted by time and touch id, mapped to the channel:
ordered aggregation through Ibis is not portable to Spark) and the journeys are counted per
distinct path: conversions, journeys that ended without one, and money. Only the distinct paths
come back to the driver, so what is collected is bounded by the number of distinct paths, not by
people or touches. Markov chains of any order and Shapley over channel sets are exact on this
table (they only see a journey's channel sequence and its counts).

Money follows the attribution command: each outcome's value in the main currency, a refund or fee
taken off the same person's latest counted outcome at or before it (ties in time broken by outcome
id), refunds with no such outcome left out.

The recency-frequency summary the CLV models need is :func:`truefans.measure.rfm.summarise`
itself (one Ibis definition; it collapses to weighted distinct ``(x, t_x, T)`` on the engine).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ..credit.journeys import Credit, Journeys, from_lists
from ..credit.markov import markov_credit
from ..errors import InvalidOption, NotEnoughData
from ..measure import rfm
from ..measure.attribution import LOOKBACK_DAYS, journey_touches
from ..schema import NEGATIVE_MONEY_TYPES, OUTCOME_TYPES

if TYPE_CHECKING:
    from . import Engine

#: the outcome types counted by default (as `truefans attribution`): everything but money taken off
DEFAULT_TYPES = tuple(t for t in OUTCOME_TYPES if t not in NEGATIVE_MONEY_TYPES)


def _start(d: date) -> datetime:
    return datetime.combine(d, datetime.min.time())


def _in_period(o: ir.Table, since: date | None, until: date | None) -> ir.Table:
    if since is not None:
        o = o.filter(o.ts >= ibis.timestamp(_start(since)))
    if until is not None:
        o = o.filter(o.ts < ibis.timestamp(_start(until + timedelta(days=1))))
    return o


def main_currency(eng: Engine, types: list[str], setting: str | None = None) -> str:
    """The workspace's currency setting, else the most used currency of the outcomes."""
    if setting:
        return setting
    o = eng.table("outcomes")
    o = o.filter(o.type.isin([*types, *NEGATIVE_MONEY_TYPES]) & o.currency.notnull())
    counts = eng.execute(
        o.group_by("currency").agg(n=o.count()).order_by([ibis.desc("n"), "currency"]).limit(1)
    )
    return str(counts["currency"].iloc[0]) if len(counts) else "USD"


def net_values_expr(
    eng: Engine, types: list[str], currency: str, since: date | None, until: date | None
) -> ir.Table:
    """Per counted outcome: ``outcome_id`` and its ``value`` in ``currency`` net of the refunds
    and fees taken off it (0 for another currency)."""
    o = _in_period(eng.table("outcomes"), since, until)
    money = ibis.ifelse(o.currency == currency, o.value.cast("float64"), 0.0).fill_null(0.0)
    o = o.mutate(money=money)
    counted = o.filter(o.type.isin(types))
    negs = o.filter(o.type.isin(list(NEGATIVE_MONEY_TYPES)) & o.person_id.notnull())
    stream = ibis.union(
        counted.filter(counted.person_id.notnull()).select(
            "person_id", "ts", flag=ibis.literal(0, "int64"), id="outcome_id", money="money"
        ),
        negs.select(
            "person_id", "ts", flag=ibis.literal(1, "int64"), id="outcome_id", money="money"
        ),
    )
    w = ibis.cumulative_window(
        group_by=stream.person_id, order_by=[stream.ts, stream.flag, stream.id]
    )
    # k = how many counted outcomes of the person up to this row (counted before refunds on a tie)
    stream = stream.mutate(k=(1 - stream.flag).sum().over(w))
    targets = stream.filter(stream.flag == 0).select(t_person="person_id", t_k="k", t_id="id")
    refunds = stream.filter((stream.flag == 1) & (stream.k > 0))
    j = refunds.join(targets, [refunds.person_id == targets.t_person, refunds.k == targets.t_k])
    taken = j.group_by(j.t_id.name("r_id")).agg(off=(-j.money.abs()).sum())
    v = counted.left_join(taken, counted.outcome_id == taken.r_id)
    return v.select("outcome_id", value=v.money + v.off.fill_null(0.0))


def path_counts_expr(
    eng: Engine,
    types: list[str],
    since: date | None,
    until: date | None,
    lookback_days: int,
    values: ir.Table,
) -> ir.Table:
    """Per distinct (channel path, converted): ``journeys``, ``conversions``, ``nulls``, ``value``.

    ``values`` holds ``outcome_id, value`` for the counted outcomes (a converting journey's id is
    its outcome's id)."""
    jt = journey_touches(eng, types, since, until, lookback_days)
    step = ibis.struct({"ts": jt.ts, "touch_id": jt.touch_id, "channel_id": jt.channel_id})
    per = jt.group_by(["journey", "converted"]).agg(steps=step.collect())
    # sort the structs (by time, then touch id: a total order) and keep the channel
    per = per.mutate(path=per.steps.sort().map(lambda s: s.channel_id))
    per = per.left_join(values, per.journey == values.outcome_id)
    per = per.select(
        "path",
        "converted",
        conv=per.converted.cast("int64"),
        value=ibis.ifelse(per.converted, per.value.fill_null(0.0), 0.0),
    )
    return per.group_by(["path", "converted"]).agg(
        journeys=per.count(),
        conversions=per.conv.sum(),
        nulls=(1 - per.conv).sum(),
        value=per.value.sum(),
    )


@dataclass
class PathCounts:
    """Distinct channel paths with their counts, collected from the engine."""

    #: one row per distinct (path, converted): path (tuple of channel ids), journeys,
    #: conversions, nulls, value; plus one row with the empty path for the outcomes with no touch
    table: pd.DataFrame
    currency: str
    lookback_days: int
    outcome_types: list[str]

    @property
    def channels(self) -> list[str]:
        return sorted({c for p in self.table["path"] for c in p})

    def journeys(self) -> Journeys:
        """The paths as :class:`~truefans.credit.journeys.Journeys` (one row per distinct path)."""
        t = self.table
        return from_lists(
            list(t["path"]),
            t["conversions"].to_numpy(np.float64),
            t["nulls"].to_numpy(np.float64),
            t["value"].to_numpy(np.float64),
            channels=self.channels,
        )

    def markov(self, order: int = 1) -> Credit:
        """Markov credit (exact removal effects) fitted locally on the path counts."""
        return markov_credit(self.journeys(), order)


def path_counts(
    eng: Engine,
    types: list[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    lookback_days: int = LOOKBACK_DAYS,
    currency: str | None = None,
) -> PathCounts:
    """Journeys cut on the engine and counted per distinct channel path (``by`` channel)."""
    types = list(types or DEFAULT_TYPES)
    bad = sorted(set(types) - set(DEFAULT_TYPES))
    if bad:
        raise InvalidOption(f"outcome types {', '.join(bad)}: not counted outcomes")
    if not isinstance(lookback_days, int) or lookback_days < 1:
        raise InvalidOption(f"--lookback {lookback_days!r}: a whole number of days >= 1")
    cur = main_currency(eng, types, currency)
    values = net_values_expr(eng, types, cur, since, until)
    with eng.materialized(values) as v:
        totals = eng.execute(v.aggregate(n=v.count(), value=v.value.sum()))
        n_out = int(totals["n"].iloc[0])
        if n_out == 0:
            raise NotEnoughData(
                f"no outcomes of type {', '.join(types)} in the period: nothing to count"
            )
        total_value = float(totals["value"].iloc[0] or 0.0)
        expr = path_counts_expr(eng, types, since, until, lookback_days, v)
        rows = eng.execute(expr)
    table = _tidy(rows)
    touched_conv = float(table["conversions"].sum())
    touched_value = float(table.loc[table["converted"], "value"].sum())
    empty = pd.DataFrame(
        {
            "path": [()],
            "converted": [True],
            "journeys": [n_out - int(touched_conv)],
            "conversions": [n_out - touched_conv],
            "nulls": [0.0],
            "value": [total_value - touched_value],
        }
    )
    if n_out - touched_conv > 0:
        table = pd.concat([table, empty], ignore_index=True)
    table = table.sort_values(["converted", "path"], key=_sort_key, ignore_index=True)
    return PathCounts(table, cur, lookback_days, types)


def rfm_collapsed(
    eng: Engine,
    calibration_end: date | None = None,
    observation_end: date | None = None,
    time_unit: str = "week",
    currency: str | None = None,
) -> pd.DataFrame:
    """Only the weighted distinct ``(x, t_x, T)`` rows the frequency models are fitted on.

    The expressions of :mod:`truefans.measure.rfm` (the same as ``clv``), without fetching the
    per-customer rows: what reaches the driver is bounded by distinct triples, not by people.
    """
    unit = rfm.unit_days(time_unit)
    cur, _ = rfm.main_currency(eng, currency)
    if observation_end is None:
        observation_end = rfm.last_purchase_day(eng, cur)
        if observation_end is None:
            raise NotEnoughData("no purchases to summarise")
    cal = calibration_end or observation_end
    days = rfm.purchase_days(eng, cur, observation_end)
    per = rfm.summary_expr(days, cal, unit)
    out = eng.execute(rfm.collapse_expr(per).order_by(["x", "t_x", "T"]))
    return out.astype({"x": np.int64, "t_x": np.float64, "T": np.float64, "weight": np.int64})


def _tidy(rows: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "path": [tuple(str(c) for c in p) for p in rows["path"]],
            "converted": rows["converted"].astype(bool).to_numpy(),
            "journeys": rows["journeys"].astype(np.int64).to_numpy(),
            "conversions": rows["conversions"].astype(np.float64).to_numpy(),
            "nulls": rows["nulls"].astype(np.float64).to_numpy(),
            "value": rows["value"].astype(np.float64).to_numpy(),
        }
    )
    return out


def _sort_key(col: pd.Series) -> Any:
    if col.name == "path":
        return col.map(lambda p: (len(p), p))
    return col
