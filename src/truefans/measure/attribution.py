"""Which channels (posts, platforms) earn the outcomes: `truefans attribution`.

Journeys are cut on the engine as Ibis expressions: per person, touches and outcomes in one stream
ordered by time (a touch at the very time of an outcome comes first), a running count of outcomes
numbers the journeys, so a journey starts after the person's previous outcome; each touch is joined
to the outcome that ends its journey and kept when it lies in the ``lookback`` days before it. The
touches after a person's last outcome, within ``lookback`` days of the last of them, form a journey
that ended without one. Only narrow per-touch rows come back; every model runs on them in
:mod:`truefans.credit` (NumPy/SciPy).

Money: each outcome's value in the main currency; a refund or fee (a negative amount) is taken off
the value of the same person's latest outcome before it (else counted apart as unmatched).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from .. import credit
from ..credit.journeys import BASELINE, NONE, Credit, Journeys
from ..errors import InvalidOption, NotEnoughData
from ..schema import NEGATIVE_MONEY_TYPES, OUTCOME_TYPES
from .picture import parse_day, parse_outcomes
from .result import Result

if TYPE_CHECKING:
    from ..engine import Engine
    from ..workspace import Workspace

LOOKBACK_DAYS = 30
BY = ("channel", "content", "campaign", "platform")
#: touch kinds at which a person raises a hand: the lead stage of W-shaped credit
LEAD_KINDS = ("form", "call", "meeting", "message", "reply")
NO_CONTENT = "(no content)"
DEFAULT_ORDERS = (1, 2, 3)
DAY_S = 86_400.0


def _start(d: date) -> datetime:
    return datetime.combine(d, datetime.min.time())


def journey_touches(
    eng: Engine,
    types: list[str],
    since: date | None,
    until: date | None,
    lookback_days: int,
) -> ir.Table:
    """One row per touch in a journey: ``journey`` (outcome id, or ``open:<person>``), person,
    time, channel, content, kind, and the journey's end.

    Portable Ibis (a cumulative window and equi-joins), so the Spark engine runs it unchanged.
    """
    window = ibis.interval(days=lookback_days)
    o = eng.table("outcomes")
    o = o.filter(o.type.isin(types) & o.person_id.notnull())
    t = eng.table("touchpoints")
    t = t.filter(t.person_id.notnull())
    if until is not None:
        end = ibis.timestamp(_start(until + timedelta(days=1)))
        o = o.filter(o.ts < end)
        t = t.filter(t.ts < end)
    if since is not None:
        t = t.filter(t.ts >= ibis.timestamp(_start(since) - timedelta(days=lookback_days)))
    null_s = ibis.null("string")
    touches = t.select(
        person_id="person_id",
        ts="ts",
        flag=ibis.literal(0, "int64"),
        row_id=t.touch_id.cast("string"),
        channel_id=t.channel_id.cast("string"),
        content_id=t.content_id.cast("string"),
        kind=t.kind.cast("string"),
    )
    outs = o.select(
        person_id="person_id",
        ts="ts",
        flag=ibis.literal(1, "int64"),
        row_id=o.outcome_id.cast("string"),
        channel_id=null_s,
        content_id=null_s,
        kind=null_s,
    )
    stream = ibis.union(touches, outs)
    w = ibis.cumulative_window(
        group_by=stream.person_id, order_by=[stream.ts, stream.flag, stream.row_id]
    )
    stream = stream.mutate(before=stream.flag.sum().over(w) - stream.flag)
    tt = stream.filter(stream.flag == 0)
    oo = stream.filter(stream.flag == 1).select(
        o_person="person_id", o_before="before", o_ts="ts", o_id="row_id"
    )
    j = tt.left_join(oo, [tt.person_id == oo.o_person, tt.before == oo.o_before])
    j = j.select("person_id", "ts", "row_id", "channel_id", "content_id", "kind", "o_ts", "o_id")
    conv = j.filter(j.o_id.notnull() & (j.ts >= j.o_ts - window))
    conv = conv.select(
        journey=conv.o_id,
        person_id=conv.person_id,
        ts=conv.ts,
        touch_id=conv.row_id,
        channel_id=conv.channel_id,
        content_id=conv.content_id,
        kind=conv.kind,
        end_ts=conv.o_ts,
        converted=ibis.literal(True),
    )
    open_ = j.filter(j.o_id.isnull())
    last = open_.group_by("person_id").agg(l_ts=open_.ts.max())
    last = last.select(l_person="person_id", l_ts="l_ts")
    oj = open_.join(last, open_.person_id == last.l_person)
    oj = oj.filter(oj.ts >= oj.l_ts - window)
    oj = oj.select(
        journey=ibis.literal("open:") + oj.person_id,
        person_id=oj.person_id,
        ts=oj.ts,
        touch_id=oj.row_id,
        channel_id=oj.channel_id,
        content_id=oj.content_id,
        kind=oj.kind,
        end_ts=oj.l_ts,
        converted=ibis.literal(False),
    )
    if since is not None:
        conv = conv.filter(conv.end_ts >= ibis.timestamp(_start(since)))
        oj = oj.filter(oj.end_ts >= ibis.timestamp(_start(since)))
    return ibis.union(conv, oj)


def _outcomes(
    eng: Engine, types: list[str], since: date | None, until: date | None
) -> pd.DataFrame:
    o = eng.table("outcomes")
    o = o.filter(o.type.isin([*types, *NEGATIVE_MONEY_TYPES]))
    if since is not None:
        o = o.filter(o.ts >= ibis.timestamp(_start(since)))
    if until is not None:
        o = o.filter(o.ts < ibis.timestamp(_start(until + timedelta(days=1))))
    return eng.execute(
        o.select(
            "outcome_id",
            "person_id",
            "ts",
            "type",
            value=o.value.cast("float64"),
            currency="currency",
        ).order_by("outcome_id")  # a total order: the same journeys and draws on every engine
    )


def _money(out: pd.DataFrame, types: list[str], currency: str) -> tuple[pd.Series, dict[str, Any]]:
    """Net value of each counted outcome in ``currency``: refunds/fees off the latest one before."""
    val = out["value"].where(out["currency"] == currency).fillna(0.0).astype(float)
    neg = out["type"].isin(NEGATIVE_MONEY_TYPES)
    counted = out[out["type"].isin(types)]
    net = val[counted.index].copy()
    unmatched = 0.0
    other_cur = int(((out["currency"] != currency) & out["currency"].notna()).sum())
    if neg.any():
        pos = counted.sort_values(["person_id", "ts"])
        by_person = {p: g for p, g in pos.groupby("person_id")}
        for i, row in out[neg].iterrows():
            amount = -abs(float(val.loc[i]))  # type: ignore[call-overload]
            who = row["person_id"]
            g = by_person.get(str(who)) if isinstance(who, str) else None
            if g is not None:
                prev = g[g["ts"] <= row["ts"]]
                if len(prev):
                    net[prev.index[-1]] += amount
                    continue
            unmatched += amount
    return net, {
        "currency": currency,
        "unmatched_refunds_and_fees": round(unmatched, 2),
        "outcomes_in_other_currencies": other_cur,
    }


def _main_currency(ws: Workspace, out: pd.DataFrame) -> str:
    setting = ws.setting("currency")
    if setting:
        return str(setting)
    counts = out["currency"].dropna().value_counts()
    return str(counts.index[0]) if len(counts) else "USD"


def _labels(eng: Engine, by: str, touches: pd.DataFrame) -> tuple[pd.Series, list[str]]:
    """The label each touch is credited to, and the direct labels (for last non-direct)."""
    ch = eng.execute(eng.table("channels").select("channel_id", "kind", "platform"))
    direct = [str(c) for c in ch.loc[ch["kind"] == "direct", "channel_id"]]
    if by == "channel":
        return touches["channel_id"].astype(str), direct
    if by == "platform":
        plat = dict(zip(ch["channel_id"], ch["platform"].fillna(ch["channel_id"]), strict=True))
        dplat = sorted({str(plat[c]) for c in direct})
        return touches["channel_id"].map(plat).fillna(touches["channel_id"]).astype(str), dplat
    if by == "content":
        return touches["content_id"].fillna(NO_CONTENT).astype(str), []
    raise InvalidOption(
        "--by campaign: touchpoints and contents carry no campaign today (the schema has no "
        "campaign column; see docs/DESIGN.md, attribution); use --by channel, content or platform"
    )


def _to_days(ts: pd.Series, origin: pd.Timestamp) -> np.ndarray:
    return ((pd.to_datetime(ts) - origin).dt.total_seconds() / DAY_S).to_numpy(float)


def build(
    eng: Engine,
    types: list[str],
    since: date | None,
    until: date | None,
    lookback_days: int,
    by: str,
    net_value: pd.Series,
    outcomes: pd.DataFrame,
) -> tuple[Journeys, pd.DataFrame, list[str]]:
    """Journeys (arrays) from the engine's journey rows, plus the touch rows and direct labels."""
    expr = journey_touches(eng, types, since, until, lookback_days)
    rows = eng.execute(expr.order_by(["journey", "ts", "touch_id"]))
    labels, direct = _labels(eng, by, rows)
    names = sorted(labels.unique().tolist())
    code = {n: i for i, n in enumerate(names)}
    counted = outcomes[outcomes["type"].isin(types)]
    conv_ids = counted["outcome_id"].astype(str).tolist()
    open_ids = sorted(rows.loc[~rows["converted"].astype(bool), "journey"].unique().tolist())
    order = {jid: i for i, jid in enumerate([*conv_ids, *open_ids])}
    jrow = rows["journey"].map(order)
    if jrow.isna().any():  # a touch of an outcome outside the period: not ours
        keep = jrow.notna()
        rows, labels, jrow = rows[keep], labels[keep], jrow[keep]
    jrow_a = jrow.to_numpy(np.int64)
    srt = np.argsort(jrow_a, kind="stable")  # rows come sorted by journey id; keep time order
    n = len(order)
    lengths = np.bincount(jrow_a, minlength=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    rows = rows.iloc[srt].reset_index(drop=True)
    labels = labels.iloc[srt].reset_index(drop=True)
    age = (
        (pd.to_datetime(rows["end_ts"]) - pd.to_datetime(rows["ts"])).dt.total_seconds() / DAY_S
    ).to_numpy(float)
    jidx = np.repeat(np.arange(n), lengths)
    pos = np.arange(len(jidx)) - offsets[jidx]
    lead = np.full(n, -1, dtype=np.int64)
    is_lead = rows["kind"].isin(LEAD_KINDS).to_numpy()
    idx = np.flatnonzero(is_lead)[::-1]
    lead[jidx[idx]] = pos[idx]
    people = pd.concat(
        [counted["person_id"].fillna("").astype(str), pd.Series([o[5:] for o in open_ids])],
        ignore_index=True,
    )
    anon = people == ""
    people = people.where(~anon, "anon:" + pd.Series(range(len(people))).astype(str))
    person_code = pd.factorize(people)[0].astype(np.int64)
    conv = np.r_[np.ones(len(conv_ids)), np.zeros(len(open_ids))]
    value = np.r_[net_value[counted.index].to_numpy(float), np.zeros(len(open_ids))]
    j = Journeys(
        tuple(names),
        offsets,
        labels.map(code).to_numpy(np.int64),
        np.maximum(age, 0.0),
        conv,
        1.0 - conv,
        value,
        person_code,
        lead,
    )
    return j, rows, [d for d in direct if d in code]


def _timing_data(
    eng: Engine,
    by: str,
    outcomes: pd.DataFrame,
    types: list[str],
    net_value: pd.Series,
    since: date | None,
    until: date | None,
    window_days: float,
) -> tuple[credit.TimingData, list[str]]:
    t = eng.table("touchpoints")
    t = t.filter(t.person_id.notnull())
    if since is not None:
        t = t.filter(t.ts >= ibis.timestamp(_start(since) - timedelta(days=window_days)))
    if until is not None:
        t = t.filter(t.ts < ibis.timestamp(_start(until + timedelta(days=1))))
    touches = eng.execute(
        t.select("person_id", "ts", "channel_id", "content_id", "touch_id").order_by(
            ["person_id", "ts", "touch_id"]  # a total order, the same on every engine
        )
    )
    labels, _ = _labels(eng, by, touches)
    names = sorted(labels.unique().tolist())
    counted = outcomes[outcomes["type"].isin(types)]
    all_ts = pd.concat([pd.to_datetime(touches["ts"]), pd.to_datetime(counted["ts"])])
    if not len(all_ts):
        raise NotEnoughData("no touches or outcomes to fit the timing-aware model")
    origin = all_ts.min().floor("D")
    people = pd.concat([touches["person_id"], counted["person_id"]]).dropna().unique()
    pcode = {p: i for i, p in enumerate(people)}
    data = credit.TimingData(
        tuple(names),
        touches["person_id"].map(pcode).to_numpy(np.int64),
        _to_days(touches["ts"], origin),
        labels.map({n: i for i, n in enumerate(names)}).to_numpy(np.int64),
        counted["person_id"].map(pcode).fillna(-1).to_numpy(np.int64),
        _to_days(counted["ts"], origin),
        net_value[counted.index].to_numpy(float),
        0.0 if since is None else float((pd.Timestamp(since) - origin).days),
        float(_to_days(pd.Series([all_ts.max()]), origin)[0]) + 1e-6,
    )
    return data, names


ALL_MODELS = (
    *credit.RULE_MODELS,
    "markov",
    "shapley",
    "data_driven",
    "timing",
)


def _parse_models(model: Iterable[str] | str | None) -> list[str]:
    if model is None:
        return list(ALL_MODELS)
    items = model.split(",") if isinstance(model, str) else list(model)
    names = [m.strip().lower() for m in items if m.strip()]
    bad = [m for m in names if m not in ALL_MODELS and not m.startswith("markov_")]
    if bad:
        raise InvalidOption(f"--model {', '.join(bad)}: unknown; known: {', '.join(ALL_MODELS)}")
    return names


def attribution(
    ws: Workspace,
    since: date | str | None = None,
    until: date | str | None = None,
    outcome: Iterable[str] | str | None = None,
    model: Iterable[str] | str | None = None,
    order: int | Iterable[int] | None = None,
    lookback: int = LOOKBACK_DAYS,
    by: str = "channel",
    half_life: float = 7.0,
    position: tuple[float, float] = (0.4, 0.4),
    lag_hours: float = 24.0,
    draws: int = 30,
    timing_draws: int = 10,
    seed: int = 0,
) -> Result:
    """Credit per channel (content, platform) under every model, with intervals and a verdict."""
    since_d = parse_day(since, "--since")
    until_d = parse_day(until, "--until")
    if since_d and until_d and since_d > until_d:
        raise InvalidOption(f"--since {since_d} is after --until {until_d}")
    if not isinstance(lookback, int) or lookback < 1:
        raise InvalidOption(f"--lookback {lookback!r}: a whole number of days >= 1")
    if by not in BY:
        raise InvalidOption(f"--by {by!r}: use one of {', '.join(BY)}")
    if not half_life > 0:
        raise InvalidOption(f"--half-life {half_life!r}: must be a positive number of days")
    if lag_hours < 0:
        raise InvalidOption(f"--lag-hours {lag_hours!r}: must be >= 0")
    orders = (
        list(DEFAULT_ORDERS)
        if order is None
        else ([order] if isinstance(order, int) else list(order))
    )
    if any(not 1 <= k <= 4 for k in orders):
        raise InvalidOption(f"--order {orders}: Markov orders are 1 to 4")
    models = _parse_models(model)
    types = parse_outcomes(outcome) or [t for t in OUTCOME_TYPES if t not in NEGATIVE_MONEY_TYPES]
    counted_types = [t for t in types if t not in NEGATIVE_MONEY_TYPES]
    if not counted_types:
        raise InvalidOption("--outcome: refunds and fees are money taken off, not outcomes")
    eng = ws.engine
    if by == "campaign":
        _labels(eng, by, pd.DataFrame())
    outcomes = _outcomes(eng, counted_types, since_d, until_d)
    currency = _main_currency(ws, outcomes)
    net_value, money_note = _money(outcomes, counted_types, currency)
    n_outcomes = int(outcomes["type"].isin(counted_types).sum())
    if n_outcomes == 0:
        raise NotEnoughData(
            f"no outcomes of type {', '.join(counted_types)} in the period: import orders, "
            "calls or leads (or widen --since/--until, --outcome)"
        )
    j, _rows_df, direct = build(
        eng, counted_types, since_d, until_d, lookback, by, net_value, outcomes
    )
    fns: dict[str, Any] = {}
    for m in models:
        if m in credit.RULE_MODELS:
            fns[m] = lambda x, m=m: credit.rule_credit(x, m, half_life, position, 0.3, direct)
        elif m == "markov" or m.startswith("markov_"):
            ks = orders if m == "markov" else [int(m.split("_")[1])]
            for k in ks:
                fns[f"markov_{k}"] = lambda x, k=k: credit.markov_credit(x, k)
        elif m == "shapley":
            fns[m] = lambda x: credit.shapley_credit(x, seed=seed)
        elif m == "data_driven":
            fns[m] = lambda x: credit.data_driven_credit(x, seed=seed)
    credits: dict[str, Credit] = {}
    intervals: dict[str, credit.Interval] = {}
    groups = j.person if j.person is not None else np.arange(j.n)
    weights = credit.person_draws(groups, draws, seed)
    for name, fn in fns.items():
        point = fn(j)
        credits[name] = point
        intervals[name] = credit.summarise(point, [fn(j.reweighted(w)) for w in weights])
    holdout_dd = credit.holdout_check(j, seed=seed) if "data_driven" in fns else None
    holdout_t = None
    timing_info: dict[str, Any] = {}
    if "timing" in models and by != "content":
        tdata, _ = _timing_data(
            eng, by, outcomes, counted_types, net_value, since_d, until_d, 120.0
        )
        lag = lag_hours / 24.0
        fit, des = credit.fit_timing(tdata, seed=seed, lag_days=lag)
        point = credit.timing_credit(tdata, fit, des)
        credits["timing"] = point
        person = np.where(
            tdata.outcome_person >= 0,
            tdata.outcome_person,
            -1 - np.arange(len(tdata.outcome_person)),
        )
        reps = []
        for w in credit.person_draws(person, timing_draws, seed):
            f_b, _ = credit.fit_timing(
                tdata, weights=w, seed=seed, _design_cache=des, shapes=fit, sweeps=0, lag_days=lag
            )
            reps.append(credit.timing_credit(tdata, f_b, des, w))
        intervals["timing"] = credit.summarise(point, reps)
        holdout_t = credit.timing_holdout(tdata, seed=seed, lag_days=lag)
        timing_info = {k: v for k, v in point.extra.items()}
    elif "timing" in models:
        timing_info = {"skipped": "the timing-aware model credits channels and platforms only"}
    stability = {m: round(iv.stability, 4) for m, iv in intervals.items()}
    recommended, reason = credit.recommend(stability, holdout_dd, holdout_t)
    if recommended not in credits:
        recommended = next(iter(credits))
    table = _rows(credits, intervals, by)
    n_conv = int((j.conversions > 0).sum())
    no_touch = int(((j.lengths == 0) & (j.conversions > 0)).sum())
    anonymous = int(outcomes.loc[outcomes["type"].isin(counted_types), "person_id"].isna().sum())
    label_col = {"channel": "channel", "content": "content_id", "platform": "platform"}[by]
    assumptions: dict[str, Any] = {
        "journeys": (
            f"per person, the touches in the {lookback} days up to each outcome, starting after "
            "the person's previous outcome; touches after the last outcome (within "
            f"{lookback} days of the last of them) are a journey that ended without one"
        ),
        "outcome_types": counted_types,
        "by": by,
        "money": (
            f"outcome values in {currency}; refunds and fees are taken off the person's latest "
            "outcome before them; other currencies are left out"
        ),
        **money_note,
        "half_life_days": half_life,
        "position_weights": [position[0], round(1 - position[0] - position[1], 6), position[1]],
        "w_shaped": "30/30/30 to first, lead and last touch, 10 % to the others",
        "lead_touch_kinds": list(LEAD_KINDS),
        "direct": direct,
        "markov_orders": [k for k in orders if f"markov_{k}" in credits],
        "bootstrap_draws": draws,
        "timing_lag_hours": lag_hours,
        "trust": (
            "every credit here is observational: it shows what came before outcomes, not what "
            "caused them. Rule and path models (last touch, Markov, Shapley) reward whatever sits "
            "next to a purchase, such as navigational touches. The timing-aware model removes "
            "selection between people by comparing each person with themselves, but not "
            "targeting aimed at the moment someone is about to buy; only an experiment (a holdout "
            "group, a paused channel) measures what a channel causes."
        ),
    }
    extra: dict[str, Any] = {
        "recommended_model": recommended,
        "recommendation": reason,
        "lookback_days": lookback,
        "journeys": int(j.n),
        "converting_journeys": n_conv,
        "outcomes": n_outcomes,
        "no_touch_share": round(no_touch / n_conv, 4) if n_conv else None,
        "outcomes_without_person": anonymous,
        "label": label_col,
        "stability": stability,
        "holdout": {"data_driven": holdout_dd, "timing": holdout_t},
        "timing": timing_info,
        "disagreement": _disagreement(credits),
    }
    chart = {
        "type": "bar",
        "x": label_col,
        "series": ["share"],
        "group": "model",
        "title": "Share of credit by model",
    }
    return Result("attribution", table, assumptions, extra, chart)


def _rows(
    credits: dict[str, Credit], intervals: dict[str, credit.Interval], by: str
) -> pd.DataFrame:
    label_col = {"channel": "channel", "content": "content_id", "platform": "platform"}[by]
    frames = []
    for name, c in credits.items():
        iv = intervals.get(name)
        f = pd.DataFrame(
            {
                "model": name,
                label_col: list(c.labels),
                "conversions": np.round(c.conversions, 4),
                "conversions_low": np.round(iv.conv_low, 4) if iv else np.nan,
                "conversions_high": np.round(iv.conv_high, 4) if iv else np.nan,
                "value": np.round(c.value, 2),
                "value_low": np.round(iv.value_low, 2) if iv else np.nan,
                "value_high": np.round(iv.value_high, 2) if iv else np.nan,
                "share": np.round(c.share, 4),
            }
        )
        f = f[
            (f["conversions"].abs() > 0)
            | (f["value"].abs() > 0)
            | (~f[label_col].isin([NONE, BASELINE]))
        ]
        frames.append(f.sort_values(["conversions", label_col], ascending=[False, True]))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _disagreement(credits: dict[str, Credit]) -> dict[str, Any]:
    """How far the models' channel shares lie apart (total variation distance, 0 to 1)."""
    names = list(credits)
    shares = {n: credits[n].channel_share() for n in names}
    labels = sorted({k for s in shares.values() for k in s})
    vec = {n: np.array([shares[n].get(k, 0.0) for k in labels]) for n in names}
    pairs = [
        (a, b, 0.5 * float(np.abs(vec[a] - vec[b]).sum()))
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    ]
    if not pairs:
        return {"max": 0.0, "pair": None}
    a, b, d = max(pairs, key=lambda p: p[2])
    return {"max": round(d, 4), "pair": [a, b]}
