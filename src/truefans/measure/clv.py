"""What each customer is likely to be worth: `truefans clv`.

The recency-frequency summary is computed on the engine (:mod:`truefans.measure.rfm`), collapsed
into weighted distinct rows there, and the models of :mod:`truefans.models` are fitted on those
rows: BG/NBD (default) or Pareto/NBD for how often people buy and whether they are still around,
Gamma-Gamma for how much they spend per purchase. Per person: P(alive), expected purchases and
spend over the horizon, and discounted value.

With ``calibration_end`` before the end of the data the models are fitted on the calibration
period and checked on the rest (the holdout), the way Fader, Hardie & Lee (2005) check BG/NBD:
cumulative repeat purchases tracked week by week, the conditional expectation of holdout purchases
by calibration frequency, the correlation of individual predictions with what people did, and a
naive baseline (each customer keeps buying at their own past rate) beside the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import ibis
import numpy as np
import numpy.typing as npt
import pandas as pd

from ..errors import InvalidOption, TruefansError
from . import rfm
from .picture import parse_day
from .result import Result

if TYPE_CHECKING:
    from ..engine import Engine
    from ..workspace import Workspace

MODELS = ("bgnbd", "pareto", "bgbb", "sbg")
MODEL_NAMES = {"bgnbd": "BG/NBD", "pareto": "Pareto/NBD", "bgbb": "BG/BB", "sbg": "sBG"}
DAYS_PER_MONTH = 365.25 / 12
#: calibration frequencies shown one by one in the conditional-expectation check
FREQUENCY_BINS = 7


class FrequencyModel(Protocol):
    @property
    def params(self) -> dict[str, float]: ...

    def p_alive(self, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> np.ndarray: ...

    def conditional_expected_purchases(
        self, t: float, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
    ) -> np.ndarray: ...

    def expected_purchases(self, t: npt.ArrayLike) -> np.ndarray: ...

    def discounted_expected_purchases(
        self,
        x: npt.ArrayLike,
        t_x: npt.ArrayLike,
        T: npt.ArrayLike,
        horizon: int,
        discount_rate_per_period: float,
        period_length: float = 1.0,
    ) -> np.ndarray: ...


@dataclass
class Spend:
    """Expected spend per future purchase for every customer, and how it was obtained."""

    per_person: np.ndarray
    method: str
    params: dict[str, float] | None
    report: dict[str, Any] | None
    correlation: float | None


def fit_frequency(model: str, s: rfm.Summary) -> Any:
    from ..models import fit_bgnbd, fit_pareto_nbd  # SciPy loads only when a model is fitted

    c = s.collapsed
    x, t_x, T, w = (c[k].to_numpy(np.float64) for k in ("x", "t_x", "T", "weight"))
    if model == "bgnbd":
        return fit_bgnbd(x, t_x, T, weights=w)
    if model == "pareto":
        return fit_pareto_nbd(x, t_x, T, weights=w)
    raise InvalidOption(f"--model {model!r}: choose one of {', '.join(MODELS)}")


def fit_spend(people: pd.DataFrame) -> Spend:
    """Gamma-Gamma on the repeat buyers with a positive mean repeat spend; the average
    purchase value when that is impossible (no or too few repeat buyers), said so."""
    from ..models import fit_gamma_gamma

    x = people["x"].to_numpy(np.float64)
    m = people["mean_spend"].to_numpy(np.float64)
    rep = (x > 0) & (m > 0)
    corr = None
    if rep.sum() >= 3 and np.std(x[rep]) > 0 and np.std(m[rep]) > 0:
        corr = float(np.corrcoef(x[rep], m[rep])[0, 1])
    if rep.sum() >= 2:
        try:
            gg = fit_gamma_gamma(x[rep], m[rep])
            expected = gg.conditional_expected_spend(x, np.where(rep, m, 0.0))
            if np.all(np.isfinite(expected)):
                return Spend(
                    np.asarray(expected, dtype=np.float64),
                    "Gamma-Gamma",
                    dict(gg.params),
                    _report(gg.report),
                    corr,
                )
        except TruefansError:
            pass
    first = people["first_spend"].to_numpy(np.float64)
    total = first + x * m
    avg = float(total.sum() / max(1.0, (x + 1).sum()))
    return Spend(np.full(len(people), avg), "average purchase value", None, None, corr)


def _report(rep: Any) -> dict[str, Any]:
    return {
        "model": rep.model,
        "params": dict(rep.params),
        "log_likelihood": rep.log_likelihood,
        "converged": rep.converged,
        "gradient_norm": rep.gradient_norm,
        "customers": rep.n_customers,
        "rows_fitted": rep.n_rows,
        "iterations": rep.iterations,
        "starts_tried": rep.starts_tried,
        "message": rep.message,
    }


def clv(
    ws: Workspace,
    model: str = "bgnbd",
    calibration_end: date | str | None = None,
    time_unit: str = "week",
    horizon: float | None = None,
    discount_rate: float = 0.10,
    margin: float = 1.0,
    as_of: date | str | None = None,
    currency: str | None = None,
    period: str = "year",
) -> Result:
    """Fit the customer-value models and predict per person.

    ``horizon`` is in ``time_unit`` (default one year: 52 weeks or 365 days); ``discount_rate``
    is yearly; ``margin`` turns spend into profit (1 = revenue); ``as_of`` ends the data.
    ``model="bgbb"`` counts whole ``period``s instead (one opportunity to buy each) and takes
    ``horizon`` in periods (default 5).
    """
    if model not in MODELS:
        raise InvalidOption(f"--model {model!r}: choose one of {', '.join(MODELS)}")
    if model == "sbg":
        return clv_subscriptions(
            ws,
            period=period,
            discount_rate=discount_rate,
            margin=margin,
            as_of=as_of,
            currency=currency,
        )
    if model == "bgbb":
        return clv_discrete(
            ws,
            period=period,
            calibration_end=calibration_end,
            horizon=horizon,
            discount_rate=discount_rate,
            margin=margin,
            as_of=as_of,
            currency=currency,
        )
    unit = rfm.unit_days(time_unit)
    if horizon is None:
        horizon = 52.0 if time_unit == "week" else 365.0
    if not (horizon > 0 and math.isfinite(horizon)):
        raise InvalidOption(f"--horizon {horizon}: must be a positive number of {time_unit}s")
    if not (-1 < discount_rate < 10):
        raise InvalidOption(f"--discount-rate {discount_rate}: a yearly rate such as 0.1")
    if not (0 < margin <= 1):
        raise InvalidOption(f"--margin {margin}: a share of revenue in (0, 1], e.g. 0.3")
    s = rfm.summarise(
        ws.engine,
        calibration_end=parse_day(calibration_end, "--calibration-end"),
        observation_end=parse_day(as_of, "--as-of"),
        time_unit=time_unit,
        currency=currency or ws.setting("currency"),
    )
    fitted = fit_frequency(model, s)
    people = s.people
    x, t_x, T = (people[k].to_numpy(np.float64) for k in ("x", "t_x", "T"))
    spend = fit_spend(people)
    p_alive = fitted.p_alive(x, t_x, T)
    expected = fitted.conditional_expected_purchases(horizon, x, t_x, T)
    months = max(1, round(horizon * unit / DAYS_PER_MONTH))
    monthly_rate = (1.0 + discount_rate) ** (1 / 12) - 1.0
    discounted = fitted.discounted_expected_purchases(
        x, t_x, T, months, monthly_rate, period_length=DAYS_PER_MONTH / unit
    )
    table = pd.DataFrame(
        {
            "person_id": people["person_id"].astype(str),
            "frequency": people["x"].astype("int64"),
            "recency": t_x,
            "T": T,
            "mean_spend": people["mean_spend"].astype(float),
            "p_alive": p_alive,
            "expected_purchases": expected,
            "expected_spend": spend.per_person,
            "expected_value": expected * spend.per_person * margin,
            "clv": discounted * spend.per_person * margin,
        }
    )
    extra: dict[str, Any] = {
        "model": model,
        "time_unit": time_unit,
        "params": dict(fitted.params),
        "log_likelihood": fitted.report.log_likelihood,
        "converged": fitted.report.converged,
        "fit": _report(fitted.report),
        "spend": {
            "method": spend.method,
            "params": spend.params,
            "fit": spend.report,
            "correlation_frequency_spend": spend.correlation,
        },
        "customers": len(people),
        "repeat_buyers": int((x > 0).sum()),
        "calibration_end": s.calibration_end,
        "observation_end": s.observation_end,
    }
    if s.has_holdout:
        hold = holdout_checks(ws.engine, s, fitted)
        table["predicted_holdout"] = hold.pop("per_person")
        table["actual_holdout"] = people["x_holdout"].astype("int64")
        extra["holdout"] = hold
    extra["matrices"] = matrices(fitted, s, horizon)
    extra["captions"] = captions(table, extra, s, horizon)
    table = table.sort_values(["clv", "person_id"], ascending=[False, True], ignore_index=True)
    assumptions = {
        "purchase": (
            "an outcome of a purchase type ("
            + ", ".join(rfm.PURCHASE_TYPES)
            + ") with a person and a value (refunds and "
            "fees are not purchases); purchases of one person on one day are one transaction"
        ),
        "repeat": "the first transaction only starts the clock: frequency and mean spend count "
        "the repeat transactions",
        "currency": s.currency,
        "left_out_other_currencies": s.other_currencies,
        "time_unit": f"{time_unit} ({unit:g} days); recency and T count from the first purchase",
        "horizon": f"{horizon:g} {time_unit}s",
        "discount_rate_yearly": discount_rate,
        "margin": margin,
        "clv": (
            f"expected spend per purchase x purchases expected in each of {months} months, "
            f"discounted at {discount_rate:.0%} a year, x margin {margin:g}"
        ),
        "frequency_model": MODEL_NAMES[model],
        "spend_model": spend.method,
    }
    chart = {
        "type": "heatmap",
        "title": "P(alive) by purchases and weeks since the last one",
        "matrix": "p_alive",
    }
    return Result("clv", table, assumptions, extra, chart)


def holdout_checks(eng: Engine, s: rfm.Summary, fitted: Any) -> dict[str, Any]:
    """Fader-Hardie-Lee checks of the calibration fit on the holdout period."""
    people = s.people
    x, t_x, T = (people[k].to_numpy(np.float64) for k in ("x", "t_x", "T"))
    actual = people["x_holdout"].to_numpy(np.float64)
    length = s.holdout_length
    predicted = fitted.conditional_expected_purchases(length, x, t_x, T)
    naive = np.where(T > 0, x / np.where(T > 0, T, 1.0) * length, 0.0)
    bins = np.minimum(x, FREQUENCY_BINS).astype(int)
    by_freq = []
    for b in range(FREQUENCY_BINS + 1):
        sel = bins == b
        if not sel.any():
            continue
        by_freq.append(
            {
                "frequency": f"{b}+" if b == FREQUENCY_BINS else str(b),
                "customers": int(sel.sum()),
                "actual": float(actual[sel].mean()),
                "model": float(predicted[sel].mean()),
                "naive": float(naive[sel].mean()),
            }
        )
    tracking = _tracking(eng, s, fitted)
    end = tracking[-1] if tracking else None
    out: dict[str, Any] = {
        "length": length,
        "actual_total": float(actual.sum()),
        "model_total": float(predicted.sum()),
        "naive_total": float(naive.sum()),
        "correlation_model": _corr(predicted, actual),
        "correlation_naive": _corr(naive, actual),
        "mae_model": float(np.abs(predicted - actual).mean()),
        "mae_naive": float(np.abs(naive - actual).mean()),
        "by_calibration_frequency": by_freq,
        "tracking": tracking,
        "cumulative_error_at_end": (
            (end["model"] - end["actual"]) / end["actual"] if end and end["actual"] else None
        ),
        "per_person": predicted,
    }
    return out


def _corr(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def _tracking(eng: Engine, s: rfm.Summary, fitted: Any) -> list[dict[str, Any]]:
    """Cumulative repeat transactions of the calibration customers, actual and expected, at the
    end of every period (week or day) from the first purchase to the end of the data."""
    days = rfm.purchase_days(eng, s.currency, s.observation_end)
    first = days.group_by("person_id").agg(first_day=days.day.min())
    first = first.filter(first.first_day <= ibis.literal(s.calibration_end))
    j = days.join(first, "person_id")
    repeats = j.filter(j.day > j.first_day)
    per_day = eng.execute(repeats.group_by("day").agg(n=repeats.count()))
    cohorts = eng.execute(first.group_by("first_day").agg(n=first.count()))
    if cohorts.empty:
        return []
    start = min(pd.Timestamp(d).date() for d in cohorts["first_day"])
    step = 7 if s.time_unit == "week" or (s.observation_end - start).days > 400 else 1
    total_days = (s.observation_end - start).days + 1
    ends = np.arange(step, total_days + step, step)  # days since start, end of each period
    ends = np.minimum(ends, total_days)
    day_index = np.array([(pd.Timestamp(d).date() - start).days for d in per_day["day"]], int)
    counts = np.zeros(total_days + 1)
    np.add.at(counts, day_index, per_day["n"].to_numpy(np.float64))
    cum_actual = np.cumsum(counts)[ends - 1]
    c_off = np.array([(pd.Timestamp(d).date() - start).days for d in cohorts["first_day"]], float)
    c_n = cohorts["n"].to_numpy(np.float64)
    # a customer who first bought at day c has been around (end - c) days at each period end
    ages = np.clip(ends[None, :] - 1 - c_off[:, None], 0, None) / s.unit_days
    expected = fitted.expected_purchases(ages.ravel()).reshape(ages.shape)
    cum_model = (c_n[:, None] * expected).sum(axis=0)
    return [
        {
            "period": int(i + 1),
            "date": start + timedelta(days=int(e) - 1),
            "actual": float(a),
            "model": float(m),
        }
        for i, (e, a, m) in enumerate(zip(ends, cum_actual, cum_model, strict=True))
    ]


def matrices(fitted: Any, s: rfm.Summary, horizon: float, size: int = 12) -> dict[str, Any]:
    """P(alive) and expected purchases over a grid of frequency x time since the last purchase,
    for a customer observed as long as the longest-observed one (the usual BTYD heat maps)."""
    people = s.people
    T_max = float(people["T"].max())
    x_max = int(min(max(1, people["x"].max()), 30))
    xs = np.arange(0, x_max + 1, dtype=np.float64)
    gaps = np.unique(np.round(np.linspace(0.0, T_max, size), 6))
    xx, gg = np.meshgrid(xs, gaps, indexing="ij")
    t_x = np.clip(T_max - gg, 0.0, T_max)
    valid = (xx > 0) | (t_x == 0)
    tx_safe = np.where(valid, t_x, 0.0)
    TT = np.full(xx.shape, T_max)
    alive = fitted.p_alive(xx.ravel(), tx_safe.ravel(), TT.ravel()).reshape(xx.shape)
    purchases = fitted.conditional_expected_purchases(
        horizon, xx.ravel(), tx_safe.ravel(), TT.ravel()
    ).reshape(xx.shape)

    def grid(a: np.ndarray) -> list[list[float | None]]:
        return [
            [float(v) if ok else None for v, ok in zip(row, vrow, strict=True)]
            for row, vrow in zip(a, valid, strict=True)
        ]

    unit = f"{s.time_unit}s"
    return {
        "rows": "purchases after the first (frequency)",
        "columns": f"{unit} since last purchase",
        "frequency": [int(v) for v in xs],
        "since_last_purchase": [float(g) for g in gaps],
        "observed_for": T_max,
        "p_alive": grid(alive),
        "expected_purchases": grid(purchases),
        "horizon": horizon,
    }


def captions(
    table: pd.DataFrame, extra: dict[str, Any], s: rfm.Summary, horizon: float
) -> list[str]:
    """Plain-language sentences about the fit, the customers and the holdout check."""
    unit = s.time_unit
    out = []
    n = len(table)
    alive = int((table["p_alive"] >= 0.5).sum())
    out.append(
        f"{n:,} customers bought on or before {s.calibration_end}; {alive:,} "
        f"({alive / n:.0%}) are more likely than not still buying (P(alive) >= 0.5)."
    )
    top = table.sort_values("clv", ascending=False)
    k = max(1, n // 10)
    total = float(top["clv"].sum())
    if total > 0:
        out.append(
            f"The top 10% of customers by value ({k:,}) hold {top['clv'].head(k).sum() / total:.0%} "
            f"of the value expected over the next {horizon:g} {unit}s."
        )
    fit = extra["fit"]
    out.append(
        f"{MODEL_NAMES[extra['model']]} {'converged' if fit['converged'] else 'did NOT converge'} "
        f"(log-likelihood {fit['log_likelihood']:.1f}, gradient norm {fit['gradient_norm']:.1e})."
    )
    corr = extra["spend"]["correlation_frequency_spend"]
    if corr is not None:
        verdict = "weak enough" if abs(corr) < 0.3 else "too strong"
        out.append(
            f"How often repeat buyers buy and how much they spend correlate at {corr:.2f}: "
            f"{verdict} for the Gamma-Gamma assumption that they are independent."
        )
    hold = extra.get("holdout")
    if hold:
        err = hold["cumulative_error_at_end"]
        out.append(
            f"Fitted on purchases to {s.calibration_end}, the model expected "
            f"{hold['model_total']:,.0f} repeat purchases in the next {hold['length']:.1f} "
            f"{unit}s; there were {hold['actual_total']:,.0f}"
            + (
                f" (cumulative repeat purchases since the first sale: {err:+.1%} off)"
                if err is not None
                else ""
            )
            + f". Each customer keeping their past rate would have expected "
            f"{hold['naive_total']:,.0f}."
        )
    return out


def clv_discrete(
    ws: Workspace,
    period: str = "year",
    calibration_end: date | str | None = None,
    horizon: float | None = None,
    discount_rate: float = 0.10,
    margin: float = 1.0,
    as_of: date | str | None = None,
    currency: str | None = None,
) -> Result:
    """BG/BB (Fader, Hardie & Shang 2010): one opportunity to buy per period (a yearly donation,
    a seasonal order), per person P(alive), purchases expected in the next periods and value."""
    from ..models import fit_bgbb

    if period not in rfm.PERIODS:
        raise InvalidOption(f"--period {period!r}: choose one of {', '.join(rfm.PERIODS)}")
    n_star = 5 if horizon is None else horizon
    if n_star < 1 or n_star != int(n_star):
        raise InvalidOption(f"--horizon {horizon}: a whole number of {period}s, at least 1")
    if not (-1 < discount_rate < 10) or not (0 < margin <= 1):
        raise InvalidOption("--discount-rate must be a yearly rate and --margin in (0, 1]")
    eng = ws.engine
    cur, others = rfm.main_currency(eng, currency or ws.setting("currency"))
    end = parse_day(as_of, "--as-of") or rfm.last_purchase_day(eng, cur)
    if end is None:
        raise rfm.NotEnoughData("no purchases to model: import outcomes with a person and a value")
    cal = parse_day(calibration_end, "--calibration-end") or end
    if cal > end:
        raise InvalidOption(f"--calibration-end {cal} is after the end of the data {end}")
    days = rfm.purchase_days(eng, cur, end)
    holdout = end if rfm.period_of(end, period) > rfm.period_of(cal, period) else None
    people = eng.execute(
        rfm.discrete_summary_expr(days, cal, period, holdout).order_by("person_id")
    )
    people = people[people["n"] > 0].reset_index(drop=True)
    if people.empty:
        raise rfm.NotEnoughData(
            f"every customer's first purchase is in the last {period} of the calibration: "
            f"no opportunity to buy again was observed; use a shorter --period"
        )
    x, t_x, n = (people[k].to_numpy(np.float64) for k in ("x", "t_x", "n"))
    fitted = fit_bgbb(x, t_x, n)
    spend = fit_spend(people)
    per_year = {"year": 1, "quarter": 4, "month": 12, "week": 52}[period]
    d = (1.0 + discount_rate) ** (1 / per_year) - 1.0
    k = int(n_star)
    cum = np.column_stack([fitted.expected_transactions(j, x, t_x, n) for j in range(k + 1)])
    per_period = np.diff(cum, axis=1)
    discounted = per_period @ ((1.0 + d) ** -np.arange(1, k + 1, dtype=np.float64))
    table = pd.DataFrame(
        {
            "person_id": people["person_id"].astype(str),
            "frequency": people["x"].astype("int64"),
            "recency": t_x,
            "opportunities": n.astype("int64"),
            "mean_spend": people["mean_spend"].astype(float),
            "p_alive": fitted.p_alive(x, t_x, n),
            "expected_purchases": cum[:, -1],
            "expected_spend": spend.per_person,
            "expected_value": cum[:, -1] * spend.per_person * margin,
            "clv": discounted * spend.per_person * margin,
        }
    )
    extra: dict[str, Any] = {
        "model": "bgbb",
        "time_unit": period,
        "params": dict(fitted.params),
        "log_likelihood": fitted.report.log_likelihood,
        "converged": fitted.report.converged,
        "fit": _report(fitted.report),
        "spend": {
            "method": spend.method,
            "params": spend.params,
            "fit": spend.report,
            "correlation_frequency_spend": spend.correlation,
        },
        "customers": len(people),
        "repeat_buyers": int((x > 0).sum()),
        "calibration_end": cal,
        "observation_end": end,
    }
    if holdout is not None:
        h_len = rfm.period_of(end, period) - rfm.period_of(cal, period)
        pred = fitted.expected_transactions(h_len, x, t_x, n)
        actual = people["x_holdout"].to_numpy(np.float64)
        table["predicted_holdout"] = pred
        table["actual_holdout"] = actual.astype("int64")
        extra["holdout"] = {
            "length": h_len,
            "actual_total": float(actual.sum()),
            "model_total": float(pred.sum()),
            "correlation_model": _corr(pred, actual),
            "mae_model": float(np.abs(pred - actual).mean()),
            "by_calibration_frequency": [
                {
                    "frequency": str(int(v)),
                    "customers": int((x == v).sum()),
                    "actual": float(actual[x == v].mean()),
                    "model": float(pred[x == v].mean()),
                }
                for v in np.unique(x)
            ],
        }
    fit = extra["fit"]
    extra["captions"] = [
        f"{len(people):,} customers with at least one {period} after their first purchase; "
        f"{int((table['p_alive'] >= 0.5).sum()):,} are more likely than not still buying.",
        f"BG/BB {'converged' if fit['converged'] else 'did NOT converge'} (log-likelihood "
        f"{fit['log_likelihood']:.1f}).",
    ]
    table = table.sort_values(["clv", "person_id"], ascending=[False, True], ignore_index=True)
    assumptions = {
        "purchase": "an outcome of a purchase type with a person and a value",
        "opportunity": (
            f"each {period} after the one of the first purchase is one opportunity to buy; "
            f"several purchases in one {period} count once; the {period} holding the "
            "calibration end counts"
        ),
        "currency": cur,
        "left_out_other_currencies": others,
        "horizon": f"{k} {period}s",
        "discount_rate_yearly": discount_rate,
        "margin": margin,
        "frequency_model": "BG/BB",
        "spend_model": spend.method,
    }
    return Result("clv", table, assumptions, extra, {"type": "bar", "x": "frequency"})


#: outcome types that are subscription payments (a start and its renewals)
SUBSCRIPTION_TYPES = ("subscription", "renewal", "new_account")


def clv_subscriptions(
    ws: Workspace,
    period: str = "month",
    discount_rate: float = 0.10,
    margin: float = 1.0,
    as_of: date | str | None = None,
    currency: str | None = None,
) -> Result:
    """Shifted-beta-geometric (Fader & Hardie 2007) on subscription payments: each subscriber
    pays once per ``period`` from their first payment until they stop; cohorts by the period they
    started, each observed up to the last complete period. Per subscriber still paying: the
    discounted expected residual lifetime (DERL, Fader & Hardie 2010) in payments, times their
    average payment."""
    from ..models import fit_sbg_cohorts

    if period not in rfm.PERIODS:
        raise InvalidOption(f"--period {period!r}: choose one of {', '.join(rfm.PERIODS)}")
    if not (0 < discount_rate < 10) or not (0 < margin <= 1):
        raise InvalidOption("--discount-rate must be a positive yearly rate, --margin in (0, 1]")
    eng = ws.engine
    cur, others = rfm.main_currency(eng, currency or ws.setting("currency"))
    end = parse_day(as_of, "--as-of") or rfm.last_purchase_day(eng, cur)
    if end is None:
        raise rfm.NotEnoughData("no purchases: import subscription payments or renewals")
    o = rfm.purchases(eng.table("outcomes"))
    o = o.filter(o.type.isin(list(SUBSCRIPTION_TYPES)) & (o.currency == (cur or "")))
    o = o.filter(o.ts.date() <= ibis.literal(end))
    o = o.mutate(p=rfm.period_index(o.ts.date(), period), v=o.value.cast("float64"))
    per = eng.execute(o.group_by(["person_id", "p"]).agg(v=o.v.sum()).order_by(["person_id", "p"]))
    if per.empty:
        raise rfm.NotEnoughData(
            "no subscription payments (types " + ", ".join(SUBSCRIPTION_TYPES) + ") to model"
        )
    # the period holding the as-of day may still be running: the last complete one counts
    last_full = rfm.period_of(end + timedelta(days=1), period) - 1
    rows = []
    for pid, g in per.groupby("person_id", sort=True):
        ps = g["p"].to_numpy(np.int64)
        start = int(ps.min())
        if start > last_full:
            continue
        # paid every period from the start (a gap ends the subscription)
        paid = set(ps.tolist())
        k = 0
        while start + k + 1 <= last_full and start + k + 1 in paid:
            k += 1
        still = start + k == last_full
        rows.append(
            {
                "person_id": str(pid),
                "start": start,
                "renewals": k,
                "active": still,
                "payment": float(g["v"].mean()),
            }
        )
    subs = pd.DataFrame(rows)
    if subs.empty:
        raise rfm.NotEnoughData(f"no subscriber has completed a {period} yet")
    cohorts = []
    for first_period, g in subs.groupby("start"):
        observed = last_full - int(str(first_period))
        # still paying after t periods; an active subscriber has paid every period so far
        alive = [int((g["renewals"] >= t).sum()) for t in range(observed + 1)]
        cohorts.append(np.array(alive, dtype=float))
    fitted = fit_sbg_cohorts(cohorts)
    per_year = {"year": 1, "quarter": 4, "month": 12, "week": 52}[period]
    d = (1.0 + discount_rate) ** (1 / per_year) - 1.0
    renewals = subs["renewals"].to_numpy(np.float64)
    derl = fitted.derl(d, renewals)
    active = subs["active"].to_numpy(bool)
    alive_p = active.astype(float)
    table = pd.DataFrame(
        {
            "person_id": subs["person_id"],
            "renewals": subs["renewals"].astype("int64"),
            "active": active,
            "p_alive": alive_p,
            "expected_purchases": np.where(active, derl, 0.0),
            "expected_spend": subs["payment"],
            "clv": np.where(active, derl, 0.0) * subs["payment"].to_numpy(float) * margin,
        }
    ).sort_values(["clv", "person_id"], ascending=[False, True], ignore_index=True)
    horizon = int(max(len(c) for c in cohorts) + 12)
    t = np.arange(0, horizon)
    pooled = _pooled_survival(cohorts, horizon)
    extra: dict[str, Any] = {
        "model": "sbg",
        "time_unit": period,
        "params": dict(fitted.params),
        "log_likelihood": fitted.report.log_likelihood,
        "converged": fitted.report.converged,
        "fit": _report(fitted.report),
        "subscribers": len(subs),
        "active": int(active.sum()),
        "cohorts": len(cohorts),
        "expected_lifetime": fitted.expected_lifetime(),
        "survival": [
            {"period": int(i), "model": float(m), "actual": a}
            for i, m, a in zip(t, fitted.survival(t), pooled, strict=True)
        ],
        "observation_end": end,
    }
    extra["captions"] = [
        f"{int(active.sum()):,} of {len(subs):,} subscribers are still paying; a new subscriber "
        f"stays {fitted.expected_lifetime():.1f} {period}s on average "
        f"(retention grows with tenure: {fitted.retention(1)[0]:.0%} renew after the first "
        f"{period}, {fitted.retention(min(12, horizon - 1))[0]:.0%} after "
        f"{min(12, horizon - 1)}).",
    ]
    assumptions = {
        "subscription": (
            f"payments of types {', '.join(SUBSCRIPTION_TYPES)}; one per {period}; the first "
            f"{period} without one ends the subscription; the {period} holding the as-of day "
            "is not yet complete"
        ),
        "clv": f"discounted expected remaining payments (DERL) x average payment x margin "
        f"{margin:g}, {discount_rate:.0%} a year",
        "currency": cur,
        "left_out_other_currencies": others,
        "frequency_model": "sBG",
    }
    return Result("clv", table, assumptions, extra, {"type": "line", "x": "period"})


def _pooled_survival(cohorts: list[np.ndarray], horizon: int) -> list[float | None]:
    """Share of subscribers still paying after t periods, over the cohorts observed that long."""
    out: list[float | None] = []
    for t in range(horizon):
        num = sum(float(c[t]) for c in cohorts if len(c) > t)
        den = sum(float(c[0]) for c in cohorts if len(c) > t)
        out.append(num / den if den else None)
    return out
