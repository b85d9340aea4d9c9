"""Where people stall between following and paying: `truefans funnel`.

For each channel (or platform, or piece of content, or the business as a whole) the people seen
there — a touch, or a place on its follower/subscriber list — and how far each got:

``audience`` → ``engaged`` (an active touch there) → ``known`` (an email, phone or customer id) →
``lead`` (a lead, question or call) → ``customer`` (a purchase) → ``repeat`` (a second purchase day)

A person counts at every step up to the furthest they reached (a customer who never wrote first is
still past the lead step), so the counts never grow down the funnel. Step rates have Jeffreys
intervals (the Bayesian interval with the Beta(1/2, 1/2) prior; its coverage stays close to the
nominal level even for small counts). The time between steps is measured where both steps have a
date. Cohorts group people by the month they were first seen. The job-seeker preset reads the same
engine as connection → conversation → introduction → interview → offer.

Everything up to per-group counts and quantiles runs on the engine (Ibis); pandas only assembles
the few resulting rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy.stats import beta

from ..engine import summaries
from ..errors import InvalidOption, NotEnoughData
from ..schema import ENGAGED_TOUCH_KINDS
from . import rfm
from .fans import _followers, last_activity_day, listed_people
from .picture import _kept_bits, parse_day
from .result import Result

if TYPE_CHECKING:
    from ..engine import Engine
    from ..workspace import Workspace

BY = ("channel", "platform", "content", "all")
ALL = "(all)"
#: groups held as bits of one integer per person (exact in int64 up to 62)
MAX_BITS = 62


@dataclass(frozen=True)
class Preset:
    steps: tuple[str, ...]
    #: touch kinds that make the second step (engaged / conversation)
    engaged_kinds: tuple[str, ...]
    #: outcome types of the fourth step (lead / introduction)
    lead_types: tuple[str, ...]
    #: outcome types of the fifth (customer / interview) and sixth (repeat / offer) steps;
    #: None = purchases, and a second purchase day for the sixth
    customer_types: tuple[str, ...] | None
    repeat_types: tuple[str, ...] | None


PRESETS = {
    "business": Preset(
        ("audience", "engaged", "known", "lead", "customer", "repeat"),
        tuple(ENGAGED_TOUCH_KINDS),
        ("lead", "question", "call"),
        None,
        None,
    ),
    "jobseeker": Preset(
        ("connection", "conversation", "known", "introduction", "interview", "offer"),
        ("message", "reply", "meeting", "call", "comment"),
        ("introduction",),
        ("interview",),
        ("offer",),
    ),
}


def jeffreys(k: np.ndarray, n: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Jeffreys interval for k successes in n trials (0 and 1 at the edges, NaN where n = 0)."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    a = (1 - level) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(k > 0, beta.ppf(a, k + 0.5, n - k + 0.5), 0.0)
        hi = np.where(k < n, beta.ppf(1 - a, k + 0.5, n - k + 0.5), 1.0)
    empty = n <= 0
    return np.where(empty, np.nan, lo), np.where(empty, np.nan, hi)


def _key(t: ir.Table, by: str, ch_platform: dict[str, str]) -> ir.StringValue:
    if by == "content":
        return t.content_id
    return _key_of(t.channel_id, by, ch_platform)


def _key_of(channel: ir.StringValue, by: str, ch_platform: dict[str, str]) -> ir.StringValue:
    """The group a channel belongs to: itself, its platform, or everything."""
    if by == "channel":
        return channel
    if by == "platform" and ch_platform:
        return ibis.cases(
            *[(channel == c, ibis.literal(p)) for c, p in ch_platform.items()],
            else_=channel,
        )
    if by == "platform":
        return channel
    return ibis.literal(ALL)


def _person_steps(eng: Engine, preset: Preset, end: Any, currency: str | None) -> ir.Table:
    """Per person: known, and the first time of the lead, customer and repeat steps."""
    people = eng.table("people").select("person_id")
    ident = eng.table("identities")
    known = (
        ident.filter(ident.kind.isin(["email", "phone", "customer_id"]))
        .select("person_id")
        .distinct()
        .mutate(known=ibis.literal(True))
    )
    o = eng.table("outcomes")
    o = o.filter(o.person_id.notnull() & (o.ts < end))
    lead = o.filter(o.type.isin(list(preset.lead_types)))
    lead = lead.group_by("person_id").agg(lead_ts=lead.ts.min())
    if preset.customer_types is None:
        buys = rfm.purchases(o)
        if currency is not None:
            buys = buys.filter(buys.currency == currency)
        days = buys.group_by(["person_id", buys.ts.date().name("day")]).agg(ts=buys.ts.min())
        ranked = days.mutate(_rn=ibis.row_number().over(group_by="person_id", order_by="ts"))
        cust = ranked.filter(ranked._rn == 0).select("person_id", customer_ts="ts")
        rep = ranked.filter(ranked._rn == 1).select("person_id", repeat_ts="ts")
    else:
        c = o.filter(o.type.isin(list(preset.customer_types)))
        cust = c.group_by("person_id").agg(customer_ts=c.ts.min())
        r = o.filter(o.type.isin(list(preset.repeat_types or ())))
        rep = r.group_by("person_id").agg(repeat_ts=r.ts.min())
    out = people
    for t in (known, lead, cust, rep):
        out = out.left_join(t, "person_id").drop("person_id_right")
    return out.mutate(known=out.known.fill_null(False))


def funnel(
    ws: Workspace,
    by: str = "channel",
    persona: str = "business",
    until: date | str | None = None,
    currency: str | None = None,
) -> Result:
    if by not in BY:
        raise InvalidOption(f"--by {by!r}: choose one of {', '.join(BY)}")
    if persona not in PRESETS:
        raise InvalidOption(f"--persona {persona!r}: choose one of {', '.join(PRESETS)}")
    preset = PRESETS[persona]
    eng = ws.engine
    until_d = parse_day(until, "--until") or last_activity_day(eng) or date.today()
    end = ibis.timestamp(datetime.combine(until_d + timedelta(days=1), datetime.min.time()))
    currency, _ = rfm.main_currency(eng, currency or ws.setting("currency"))
    ch = eng.execute(eng.table("channels").select("channel_id", "name", "platform"))
    ch_platform = {
        str(c): str(p) if isinstance(p, str) else str(c)
        for c, p in zip(ch["channel_id"], ch["platform"], strict=True)
    }

    keys = sorted(set(ch_platform.values())) if by == "platform" else sorted(ch_platform)
    if by == "all":
        keys = [ALL]
    steps = _person_steps(eng, preset, end, currency)
    if by == "content" or len(keys) > MAX_BITS:
        counts, timing, cohorts = _by_pairs(eng, by, preset, end, ch_platform, steps)
    else:
        counts, timing, cohorts = _by_bits(eng, by, preset, end, ch_platform, keys, steps)
    if counts.empty:
        raise NotEnoughData(
            f"nobody was seen on or before {until_d}: choose a later --until or import touches"
        )
    table = _assemble(counts, timing, preset, by, ch, eng, until_d)
    extra = {
        "by": by,
        "persona": persona,
        "steps": list(preset.steps),
        "cohorts": _cohorts(cohorts, preset),
        "until": until_d,
        "currency": currency,
    }
    assumptions = {
        "steps": " → ".join(preset.steps),
        "counting": "a person counts at every step up to the furthest they reached",
        "engaged": "an active touch on the channel: " + ", ".join(preset.engaged_kinds),
        "known": "an email, phone or customer id",
        "intervals": "95% Jeffreys intervals of each step's rate",
        "time_between_steps": "days from the previous dated step, where both are dated",
        "until": until_d,
    }
    chart = {"type": "funnel", "x": "step", "series": ["people"], "title": "Funnel"}
    return Result("funnel", table, assumptions, extra, chart)


def _days(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.FloatingValue:
    d = later.delta(earlier, unit="second").cast("float64") / 86_400.0
    return ibis.ifelse(later.notnull() & earlier.notnull() & (d >= 0), d, ibis.null("float64"))


def _seen(eng: Engine, by: str, preset: Preset, end: Any, ch_platform: dict[str, str]) -> ir.Table:
    """Sightings of a person: ``person_id, key, ts, active_ts`` (touches and list entries; the
    first time and the first active time of each, ``active_ts`` null when not active).

    When every touch falls before ``end``, the preset's active kinds are the engaged kinds and
    the groups are channels or platforms, the kept (person, channel) summary gives the same first
    times from 4.5 M rows instead of 20 M touches (large demo)."""
    if _summarised(eng, by, preset, end):
        pc = eng.table("person_channels")
        pc = pc.filter(pc.person_id.notnull())
        touches = pc.select(
            "person_id",
            key=_key(pc, by, ch_platform),
            ts=pc.first_ts,
            active_ts=pc.first_engaged_ts,
        )
    else:
        t = eng.table("touchpoints")
        t = t.filter((t.ts < end) & t.person_id.notnull())
        touches = t.select(
            "person_id",
            key=_key(t, by, ch_platform),
            ts=t.ts,
            active_ts=ibis.ifelse(
                t.kind.isin(list(preset.engaged_kinds)), t.ts, ibis.null(t.ts.type())
            ),
        )
    parts = [touches]
    if by != "content":
        parts.append(_listed_seen(eng, by, end, ch_platform))
    seen = ibis.union(*parts) if len(parts) > 1 else parts[0]
    return seen.filter(seen.key.notnull())


def _listed_seen(eng: Engine, by: str, end: Any, ch_platform: dict[str, str]) -> ir.Table:
    """The follower lists' people as sightings (``person_id, key, ts, active_ts``)."""
    a = listed_people(eng)
    a = a.filter((a.followed_at.isnull() | (a.followed_at < end)) & a.person_id.notnull())
    seen = a.select(
        "person_id",
        key=_key(a, by, ch_platform),
        ts=a.followed_at,
        active_ts=ibis.null(a.followed_at.type()),
    )
    return seen.filter(seen.key.notnull())


def _summarised(eng: Engine, by: str, preset: Preset, end: Any) -> bool:
    """Whether the kept summaries answer this funnel exactly: groups of channels, the engaged
    kinds as active, and every touch before ``end``."""
    return (
        by in ("channel", "platform", "all")
        and set(preset.engaged_kinds) == set(ENGAGED_TOUCH_KINDS)
        and summaries(eng)
        and _all_before(eng, end)
    )


def _all_before(eng: Engine, end: Any) -> bool:
    pc = eng.table("person_channels")
    last = eng.execute(pc.aggregate(last=pc.last_ts.max(), inside=(pc.last_ts < end).all()))
    return bool(len(last)) and (pd.isna(last["last"].iloc[0]) or bool(last["inside"].iloc[0]))


def _furthest(j: ir.Table, engaged: ir.BooleanValue) -> ir.IntegerValue:
    return ibis.cases(
        (j.repeat_ts.notnull(), 5),
        (j.customer_ts.notnull(), 4),
        (j.lead_ts.notnull(), 3),
        (j.known, 2),
        (engaged, 1),
        else_=0,
    )


def _gaps(j: ir.Table, seen_ts: ir.TimestampValue, engaged_ts: ir.TimestampValue) -> dict[int, Any]:
    return {
        1: _days(engaged_ts, seen_ts),
        3: _days(j.lead_ts, seen_ts),
        4: _days(j.customer_ts, j.lead_ts.fill_null(seen_ts)),
        5: _days(j.repeat_ts, j.customer_ts),
    }


def _quantiles(g: ir.FloatingValue, k: int, where: ir.BooleanValue | None = None) -> dict[str, Any]:
    return {
        f"q1_{k}": g.quantile(0.25, where=where),
        f"med_{k}": g.quantile(0.5, where=where),
        f"q3_{k}": g.quantile(0.75, where=where),
    }


def _cohort_counts(eng: Engine, per_person: ir.Table) -> pd.DataFrame:
    """People by the month they were first seen (anywhere) and how far they got."""
    return eng.execute(
        per_person.group_by(
            per_person.first_ts.truncate("M").date().name("month"), per_person.cstep
        ).agg(n=per_person.count())
    ).rename(columns={"cstep": "step"})


def _by_bits(
    eng: Engine,
    by: str,
    preset: Preset,
    end: Any,
    ch_platform: dict[str, str],
    keys: list[str],
    steps: ir.Table,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One pass over the sightings grouped by person only; the groups a person was seen and
    active in are bits of two integers (1 M groups on the large demo instead of 4.5 M pairs).
    Times between steps are the person's (first seen anywhere, first active anywhere)."""
    codes = {k: i for i, k in enumerate(keys)}
    zero = ibis.literal(0, "int64")

    def bit(key: ir.StringValue) -> ir.IntegerValue:
        return ibis.cases(
            *[(key == k, ibis.literal(1 << i, "int64")) for k, i in codes.items()], else_=zero
        )

    kept = _kept_bits(eng, list(ch_platform)) if _summarised(eng, by, preset, end) else None
    if kept is not None:
        # one kept row per person with its channels as bits; the listed people added to it
        pt = eng.table("person_touches")
        pt = pt.filter(pt.person_id.notnull())
        group_mask: dict[str, int] = {k: 0 for k in codes}
        for c, p in ch_platform.items():
            group_mask[{"channel": c, "platform": p}.get(by, ALL)] |= 1 << kept[c]

        def bits(mask: ir.IntegerValue) -> ir.IntegerValue:
            # a group's bit when the mask holds any of its channels
            out: ir.IntegerValue = zero
            for k, i in codes.items():
                if group_mask[k]:
                    on = (mask & ibis.literal(group_mask[k], "int64")) != 0
                    out = out + ibis.ifelse(on, ibis.literal(1 << i, "int64"), zero)
            return out

        touched = pt.select(
            "person_id",
            b=bits(pt.seen_mask),
            ab=bits(pt.engaged_mask),
            ts=pt.first_ts,
            active_ts=pt.first_engaged_ts,
        )
        listed = _listed_seen(eng, by, end, ch_platform)
        listed = listed.select(
            "person_id", b=bit(listed.key), ab=zero, ts="ts", active_ts="active_ts"
        )
        seen = ibis.union(touched, listed)
    else:
        raw = _seen(eng, by, preset, end, ch_platform)
        b = bit(raw.key)
        seen = raw.select(
            "person_id",
            b=b,
            ab=ibis.ifelse(raw.active_ts.notnull(), b, zero),
            ts="ts",
            active_ts="active_ts",
        )
    per = seen.group_by("person_id").agg(
        seen_bits=seen.b.bit_or(),
        active_bits=seen.ab.bit_or(),
        first_ts=seen.ts.min(),
        active_ts=seen.active_ts.min(),
    )
    j = per.left_join(steps, "person_id")
    gaps = _gaps(j, j.first_ts, j.active_ts)
    pstep = _furthest(j, ibis.literal(False))
    j = j.select(
        "person_id",
        "seen_bits",
        "active_bits",
        "first_ts",
        pstep=pstep,
        cstep=_furthest(j, j.active_ts.notnull()),
        **{f"g{k}": v for k, v in gaps.items()},
    )
    with eng.materialized(j) as m:
        aggs: dict[str, Any] = {}
        for i in codes.values():
            b = 1 << i
            on = (m.seen_bits // b) % 2 == 1
            act = (m.active_bits // b) % 2 == 1
            aggs[f"s0_{i}"] = on.cast("int64").sum()
            aggs[f"s1_{i}"] = (on & (act | (m.pstep >= 2))).cast("int64").sum()
            for st in (2, 3, 4, 5):
                aggs[f"s{st}_{i}"] = (on & (m.pstep >= st)).cast("int64").sum()
        row = eng.execute(m.aggregate(**aggs)).iloc[0]
        # quantiles in NumPy: one partial sort per group and gap beats 4 x groups filtered
        # quantile aggregates on the engine by an order of magnitude here
        gaps_df = eng.execute(m.select("seen_bits", "g1", "g3", "g4", "g5"))
        cohorts = _cohort_counts(eng, m)
    bits_arr = gaps_df["seen_bits"].to_numpy(np.int64)
    gap_arrs = {g: gaps_df[f"g{g}"].to_numpy(np.float64, na_value=np.nan) for g in (1, 3, 4, 5)}
    counts = []
    timing = []
    for k, i in codes.items():
        # a sum over no people is NULL (NaN here), which is zero people
        at_least = [0 if pd.isna(row[f"s{st}_{i}"]) else int(row[f"s{st}_{i}"]) for st in range(6)]
        if not at_least[0]:
            continue
        # back from "at least this step" to "furthest step" counts
        for st in range(6):
            nxt = at_least[st + 1] if st < 5 else 0
            counts.append({"key": k, "step": st, "n": at_least[st] - nxt})
        on_k = (bits_arr >> i) & 1 == 1
        t: dict[str, Any] = {"key": k}
        for g, arr in gap_arrs.items():
            vals = arr[on_k]
            vals = vals[~np.isnan(vals)]
            if len(vals):
                q1, med, q3 = np.quantile(vals, [0.25, 0.5, 0.75])
                t.update({f"q1_{g}": q1, f"med_{g}": med, f"q3_{g}": q3})
        timing.append(t)
    return pd.DataFrame(counts), pd.DataFrame(timing), cohorts


def _by_pairs(
    eng: Engine,
    by: str,
    preset: Preset,
    end: Any,
    ch_platform: dict[str, str],
    steps: ir.Table,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per (person, group) pairs: for content and for more groups than bits allow."""
    seen = _seen(eng, by, preset, end, ch_platform)
    pairs = seen.group_by(["person_id", "key"]).agg(
        seen_ts=seen.ts.min(),
        engaged_ts=seen.active_ts.min(),
        engaged=seen.active_ts.notnull().any(),
    )
    j = pairs.left_join(steps, "person_id")
    gaps = _gaps(j, j.seen_ts, j.engaged_ts)
    j = j.select(
        "person_id",
        "key",
        "seen_ts",
        step=_furthest(j, j.engaged),
        pstep=_furthest(j, ibis.literal(False)),
        **{f"g{k}": v for k, v in gaps.items()},
    )
    with eng.materialized(j) as m:
        counts = eng.execute(m.group_by(["key", "step"]).agg(n=m.count()))
        aggs: dict[str, Any] = {}
        for k in gaps:
            aggs.update(_quantiles(m[f"g{k}"], k))
        timing = eng.execute(m.group_by("key").agg(**aggs))
        per_person = m.group_by("person_id").agg(first_ts=m.seen_ts.min(), cstep=m.step.max())
        cohorts = _cohort_counts(eng, per_person)
    return counts, timing, cohorts


def _assemble(
    counts: pd.DataFrame,
    timing: pd.DataFrame,
    preset: Preset,
    by: str,
    ch: pd.DataFrame,
    eng: Engine,
    until: date,
) -> pd.DataFrame:
    followers = _followers(eng, until)
    fol = dict(zip(followers["channel_id"], followers["followers"], strict=True))
    if by == "platform":
        plat: dict[str, float] = {}
        for c, p in zip(ch["channel_id"], ch["platform"], strict=True):
            key = p if isinstance(p, str) else c
            plat[key] = plat.get(key, 0.0) + float(fol.get(c, 0.0))
        fol = plat
    elif by == "all":
        fol = {ALL: float(sum(fol.values()))}
    elif by == "content":
        fol = {}
    names: dict[str, str] = {}
    if by == "channel":
        names = {str(c): str(n or c) for c, n in zip(ch["channel_id"], ch["name"], strict=True)}
    elif by == "content":
        cont = eng.execute(eng.table("contents").select("content_id", "title"))
        names = {
            str(c): str(t) if isinstance(t, str) else str(c)
            for c, t in zip(cont["content_id"], cont["title"], strict=True)
        }
    tim = timing.set_index("key") if not timing.empty else pd.DataFrame()
    rows = []
    n_steps = len(preset.steps)
    for key, grp in counts.groupby("key"):
        per_step = np.zeros(n_steps)
        for s, n in zip(grp["step"], grp["n"], strict=True):
            per_step[int(s)] += n
        at_least = per_step[::-1].cumsum()[::-1]
        prev = np.r_[at_least[0], at_least[:-1]]
        lo, hi = jeffreys(at_least, prev)
        f = fol.get(str(key))
        for i, step in enumerate(preset.steps):
            rate = at_least[i] / prev[i] if prev[i] else None
            gap_key = i if i in (1, 3, 4, 5) else None
            t = tim.loc[key] if gap_key is not None and key in tim.index else None
            rows.append(
                {
                    "key": str(key),
                    "name": names.get(str(key), str(key)),
                    "step": step,
                    "people": int(at_least[i]),
                    "rate": None if i == 0 else rate,
                    "rate_low": None if i == 0 else _num(lo[i]),
                    "rate_high": None if i == 0 else _num(hi[i]),
                    "share_of_first": at_least[i] / at_least[0] if at_least[0] else None,
                    "share_of_followers": at_least[i] / f if f else None,
                    "days_median": _num(t.get(f"med_{gap_key}")) if t is not None else None,
                    "days_q1": _num(t.get(f"q1_{gap_key}")) if t is not None else None,
                    "days_q3": _num(t.get(f"q3_{gap_key}")) if t is not None else None,
                }
            )
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(
            columns=["key", "name", "step", "people", "rate", "rate_low", "rate_high"]
        )
    first = out[out["step"] == preset.steps[0]].set_index("key")["people"]
    last = out[out["step"] == preset.steps[4]].set_index("key")["people"]
    order = (last.reindex(first.index).fillna(0) * 1e12 + first).sort_values(ascending=False)
    rank = {k: i for i, k in enumerate(order.index)}
    out["_rank"] = out["key"].map(rank)
    out["_step"] = out["step"].map({s: i for i, s in enumerate(preset.steps)})
    out = out.sort_values(["_rank", "_step"]).drop(columns=["_rank", "_step"])
    return out.rename(columns={"key": by if by != "all" else "scope"}).reset_index(drop=True)


def _num(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else f


def _cohorts(cohorts: pd.DataFrame, preset: Preset) -> list[dict[str, Any]]:
    out = []
    for month, grp in cohorts.groupby("month"):
        per_step = np.zeros(len(preset.steps))
        for s, n in zip(grp["step"], grp["n"], strict=True):
            per_step[int(s)] += n
        at_least = per_step[::-1].cumsum()[::-1]
        row: dict[str, Any] = {
            "month": pd.Timestamp(str(month)).strftime("%Y-%m"),
            "people": int(at_least[0]),
        }
        for i, step in enumerate(preset.steps[1:], start=1):
            row[step] = at_least[i] / at_least[0] if at_least[0] else None
        out.append(row)
    return out
