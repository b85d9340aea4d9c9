"""The whole picture: one row per channel, from followers to dollars.

Each outcome belongs to one channel: the self-reported "how did you hear" channel when the outcome
has one, else the channel of the person's last touch in the 30 days up to the outcome, else it is
unattributed (shown as its own row so the totals add up). Heavy aggregation runs in the engine as
Ibis expressions; the per-channel assembly (a dozen rows) happens in pandas.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from ..engine import summaries
from ..errors import InvalidOption
from ..schema import (
    AUDIENCE_METRICS,
    ENGAGED_TOUCH_KINDS,
    NEGATIVE_MONEY_TYPES,
    OUTCOME_TYPES,
)
from ..schema import LOOKBACK_DAYS as LOOKBACK_DAYS  # the window, re-exported for the analyses
from .result import Result

if TYPE_CHECKING:
    from ..engine import Engine
    from ..workspace import Workspace

UNATTRIBUTED = "(unattributed)"
COUNTED = {
    "question": "questions",
    "call": "calls",
    "lead": "leads",
    "new_account": "new_accounts",
    "order": "orders",
    "renewal": "renewals",
}


def parse_day(value: date | str | None, option: str) -> date | None:
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    try:
        return date.fromisoformat(str(value))
    except ValueError as e:
        raise InvalidOption(f"{option} {value!r} is not a date (use YYYY-MM-DD)") from e


def parse_outcomes(outcome: Iterable[str] | str | None) -> list[str] | None:
    if outcome is None:
        return None
    items = outcome.split(",") if isinstance(outcome, str) else list(outcome)
    types = [t.strip().lower() for t in items if t.strip()]
    bad = [t for t in types if t not in OUTCOME_TYPES]
    if bad:
        raise InvalidOption(
            f"--outcome {', '.join(bad)}: unknown outcome type; known: {', '.join(OUTCOME_TYPES)}"
        )
    return types or None


def attributed_outcomes(
    engine: Engine,
    since: date | None,
    until: date | None,
    types: list[str] | None,
    lookback_days: int = LOOKBACK_DAYS,
) -> ir.Table:
    """Outcomes in the period with the channel each belongs to and the rule that decided it."""
    o = period_outcomes(engine, since, until, types)
    reported = o.filter(o.channel_id.notnull()).mutate(rule=ibis.literal("self_reported"))
    rest = o.filter(o.channel_id.isnull())
    if lookback_days == LOOKBACK_DAYS and summaries(engine):
        # each outcome's last touch in the window is kept by every write (derived.py)
        ot = engine.table("outcome_touches")
        last = ot.select(l_outcome="outcome_id", l_channel="last_channel")
        return ibis.union(reported, _credited(rest, last))
    return ibis.union(reported, _last_touch(engine, rest, since, until, lookback_days))


def in_period(t: ir.Table, since: date | None, until: date | None) -> ir.Table:
    """Rows of ``t`` whose ``ts`` falls on the days ``since`` to ``until`` (both included)."""
    if since is not None:
        t = t.filter(t.ts >= ibis.timestamp(datetime.combine(since, datetime.min.time())))
    if until is not None:
        end = datetime.combine(until + timedelta(days=1), datetime.min.time())
        t = t.filter(t.ts < ibis.timestamp(end))
    return t


def period_outcomes(
    engine: Engine, since: date | None, until: date | None, types: list[str] | None
) -> ir.Table:
    """The outcomes of the period (and types) with the columns the attribution rule reads."""
    o = in_period(engine.table("outcomes"), since, until)
    if types:
        o = o.filter(o.type.isin(types))
    return o.select("outcome_id", "person_id", "ts", "type", "value", "currency", "channel_id")


def _credited(rest: ir.Table, last: ir.Table) -> ir.Table:
    """``rest`` with the channel of its last touch (``last``: l_outcome, l_channel); an outcome
    without a touch in the window keeps a null channel and the rule "unattributed"."""
    j = rest.left_join(last, rest.outcome_id == last.l_outcome)
    rule = ibis.ifelse(j.l_outcome.isnull(), "unattributed", "last_touch")
    return j.select(
        "outcome_id",
        "person_id",
        "ts",
        "type",
        "value",
        "currency",
        channel_id=j.l_channel,
        rule=rule,
    )


def _last_touch(
    engine: Engine,
    rest: ir.Table,
    since: date | None,
    until: date | None,
    lookback_days: int,
) -> ir.Table:
    """``rest`` (outcomes without a self-report) with the channel of the person's last touch.

    The range join carries only (outcome, time, channel), the window ranks those narrow rows and
    the winner is joined back to the outcomes: an outcome without a touch in the window keeps a
    null channel and the rule "unattributed" (a left join, so no second pass to find them).
    """
    window = ibis.interval(days=lookback_days)
    keys = rest.filter(rest.person_id.notnull()).select(
        k_outcome="outcome_id", k_person="person_id", k_ts="ts"
    )
    t = engine.table("touchpoints")
    # only touches that can precede an outcome of the period (the engine prunes by time)
    if since is not None:
        start = datetime.combine(since, datetime.min.time()) - timedelta(days=lookback_days)
        t = t.filter(t.ts >= ibis.timestamp(start))
    if until is not None:
        t = t.filter(
            t.ts < ibis.timestamp(datetime.combine(until + timedelta(days=1), datetime.min.time()))
        )
    t = t.select(t_person="person_id", t_ts="ts", t_channel="channel_id")
    joined = keys.join(
        t,
        [keys.k_person == t.t_person, t.t_ts <= keys.k_ts, t.t_ts >= keys.k_ts - window],
    ).select("k_outcome", "t_ts", "t_channel")
    # the last touch: latest time first, then the smallest channel id (a total order)
    ranked = joined.mutate(
        _rn=ibis.row_number().over(
            group_by=joined.k_outcome,
            order_by=[joined.t_ts.desc(), joined.t_channel.asc()],
        )
    )
    last = ranked.filter(ranked._rn == 0).select(l_outcome="k_outcome", l_channel="t_channel")
    return _credited(rest, last)


def signed_money(t: ir.Table) -> ir.Value:
    """An outcome's value as money in: refunds and fees negative whatever their sign."""
    val = t.value.cast("float64")
    return ibis.cases((t.type.isin(NEGATIVE_MONEY_TYPES), -val.abs()), else_=val)


def picture(
    ws: Workspace,
    since: date | str | None = None,
    until: date | str | None = None,
    outcome: Iterable[str] | str | None = None,
) -> Result:
    since_d = parse_day(since, "--since")
    until_d = parse_day(until, "--until")
    if since_d and until_d and since_d > until_d:
        raise InvalidOption(f"--since {since_d} is after --until {until_d}")
    types = parse_outcomes(outcome)
    eng = ws.engine

    channels = eng.execute(eng.table("channels").order_by("channel_id"))
    channel_ids = [str(c) for c in channels["channel_id"]]
    att = attributed_outcomes(eng, since_d, until_d, types)
    # one pass over the attributed outcomes: counts and money per channel, type, currency and
    # rule (a few hundred rows); the three small tables the assembly needs are cut from it
    has_money = att.value.notnull() & att.currency.notnull()
    att = att.select(
        "type",
        "currency",
        "rule",
        channel_id=att.channel_id.fill_null(UNATTRIBUTED),
        money=ibis.ifelse(has_money, signed_money(att), ibis.null("float64")),
    )
    groups_expr = att.group_by(["channel_id", "type", "currency", "rule"]).agg(
        n=att.count(), amount=att.money.sum()
    )
    combos_expr = _people_expr(eng, since_d, until_d, channel_ids)
    metrics_expr, lists_expr = _audience_exprs(eng, until_d)
    groups = eng.execute(groups_expr)
    if combos_expr is not None:
        engaged_known, people_totals = _people_counts(eng.execute(combos_expr), channel_ids)
    else:
        engaged_known, people_totals = _people_by_pairs(eng, since_d, until_d)
    from_metrics, from_lists = eng.execute(metrics_expr), eng.execute(lists_expr)
    costs = eng.execute(_costs_expr(eng, since_d, until_d))
    audience = _audience_frame(from_metrics, from_lists)

    by_type = groups.groupby(["channel_id", "type"], as_index=False, dropna=False).agg(
        n=("n", "sum")
    )
    with_money = groups[groups["currency"].notna() & groups["amount"].notna()]
    money = with_money.groupby(["channel_id", "currency"], as_index=False).agg(
        amount=("amount", "sum")
    )
    rules = groups.groupby("rule", as_index=False).agg(n=("n", "sum"))

    currency = ws.setting("currency") or _main_currency(money, costs)
    df = _assemble(channels, by_type, money, engaged_known, audience, costs, currency)
    rule_counts = {r: 0 for r in ("self_reported", "last_touch", "unattributed")}
    rule_counts.update({str(k): int(v) for k, v in zip(rules["rule"], rules["n"], strict=True)})
    totals, platforms, gap = _summaries(df, currency)
    for col in ("engaged", "known"):  # distinct people: one person on two channels counts once
        value = people_totals[col].iloc[0] if len(people_totals) else 0
        totals[col] = int(0 if pd.isna(value) else value)
    period = {"since": since_d, "until": until_d}
    assumptions: dict[str, Any] = {
        "attribution": (
            "an outcome belongs to its self-reported 'how did you hear' channel; else to the "
            f"channel of the person's last touch in the {LOOKBACK_DAYS} days before it; else it "
            "is unattributed"
        ),
        "outcomes_by_rule": rule_counts,
        "lookback_days": LOOKBACK_DAYS,
        "currency": currency,
        "money": "refunds and fees are subtracted; other currencies are listed apart, never added",
        "audience": (
            "followers/subscribers/connections at the end of the period: the last "
            f"{'/'.join(AUDIENCE_METRICS)} metric on or before it, else the follower list"
        ),
        "engaged": "people with an active touch (" + ", ".join(ENGAGED_TOUCH_KINDS) + ")",
        "known": "people seen on the channel who can be reached by email or phone",
        "costs": "cost periods starting inside the period",
        "period": period,
        "outcome_types": types or "all",
    }
    chart = {
        "type": "bar",
        "x": "channel",
        "series": ["share_of_followers", "share_of_dollars"],
        "title": "Share of followers vs share of dollars",
    }
    return Result(
        "picture",
        df,
        assumptions,
        {"totals": totals, "platforms": platforms, "vanity_gap": gap},
        chart,
    )


def _touches(eng: Engine, since: date | None, until: date | None) -> ir.Table:
    return in_period(eng.table("touchpoints"), since, until)


def _kept_bits(eng: Engine, channel_ids: list[str]) -> dict[str, int] | None:
    """Each channel's bit in the kept masks (derived.py), when the summaries are up to date and
    every channel has one; else None (the analysis reads the touches)."""
    if not summaries(eng):
        return None
    cb = eng.execute(eng.table("channel_bits"))
    kept = {str(c): int(b) for c, b in zip(cb["channel_id"], cb["bit"], strict=True)}
    return kept if all(c in kept for c in channel_ids) else None


def _channel_touches(eng: Engine, since: date | None, until: date | None) -> ir.Table:
    """``person_id, channel_id, engaged``: the touches of the period, or for the whole history
    the kept (person, channel) summary (4.5 M rows instead of 20 M on the large demo)."""
    if since is None and until is None and summaries(eng):
        pc = eng.table("person_channels")
        return pc.select("person_id", "channel_id", engaged=pc.engaged_touches > 0)
    t = _touches(eng, since, until)
    return t.select("person_id", "channel_id", engaged=t.kind.isin(list(ENGAGED_TOUCH_KINDS)))


def _audience_people(eng: Engine) -> ir.Table:
    ident = eng.table("identities")
    aud = eng.table("audience")
    return aud.join(ident.select("identity_id", i_person="person_id"), "identity_id").select(
        channel_id="channel_id", person_id="i_person"
    )


def _reachable(eng: Engine) -> ir.Table:
    ident = eng.table("identities")
    reach = ident.filter(ident.kind.isin(["email", "phone"])).select("person_id").distinct()
    return reach.mutate(known=ibis.literal(True))


#: channels held as bits of one 64-bit integer per person, with one more bit for "reachable"
MAX_BITMASK_CHANNELS = 62


def _people(
    eng: Engine, since: date | None, until: date | None, channel_ids: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Engaged and known people per channel, and in all (a person counts once)."""
    expr = _people_expr(eng, since, until, channel_ids)
    if expr is None:
        return _people_by_pairs(eng, since, until)
    return _people_counts(eng.execute(expr), channel_ids)


def _people_expr(
    eng: Engine, since: date | None, until: date | None, channel_ids: list[str]
) -> ir.Table | None:
    """How many people have each combination of channel bits (None: too many channels).

    One pass groups touches, follower-list entries and reachable identities by person only,
    keeping as bits of two integers the channels a person was seen on (plus a bit for "can be
    reached by email or phone") and engaged on: 1 M groups instead of 4.5 M person-channel pairs
    on the large demo, and no join. The people are then counted per distinct combination of
    bits (a few thousand rows), which :func:`_people_counts` reads bit by bit.
    """
    n = len(channel_ids)
    if not channel_ids or n > MAX_BITMASK_CHANNELS:
        return None
    bits = {cid: 1 << i for i, cid in enumerate(channel_ids)}
    zero = ibis.literal(0, "int64")

    def bit(col: ir.StringValue) -> ir.IntegerValue:
        return ibis.cases(
            *[(col == cid, ibis.literal(b, "int64")) for cid, b in bits.items()], else_=zero
        )

    kept = _kept_bits(eng, channel_ids) if since is None and until is None else None
    if kept is not None:
        # the whole history: one kept row per person with the channels it was seen and engaged
        # on as bits of the kept numbering, turned into this numbering

        def renumber(mask: ir.IntegerValue) -> ir.IntegerValue:
            out: ir.IntegerValue = zero
            for cid, b in bits.items():
                on = (mask & ibis.literal(1 << kept[cid], "int64")) != 0
                out = out + ibis.ifelse(on, ibis.literal(b, "int64"), zero)
            return out

        pt = eng.table("person_touches")
        touches = pt.select(
            "person_id", seen=renumber(pt.seen_mask), engaged=renumber(pt.engaged_mask)
        )
    else:
        t = _channel_touches(eng, since, until)
        tb = bit(t.channel_id)
        touches = t.select("person_id", seen=tb, engaged=ibis.ifelse(t.engaged, tb, zero))
    a = _audience_people(eng)
    listed = a.select("person_id", seen=bit(a.channel_id), engaged=zero)
    ident = eng.table("identities")
    reach = ident.filter(ident.kind.isin(["email", "phone"]) & ident.person_id.notnull())
    reachable = reach.select("person_id", seen=ibis.literal(1 << n, "int64"), engaged=zero)
    both = ibis.union(touches, listed, reachable)
    per = both.group_by("person_id").agg(seen=both.seen.bit_or(), engaged=both.engaged.bit_or())
    return per.group_by(["seen", "engaged"]).agg(n=per.count())


def _people_counts(
    combos: pd.DataFrame, channel_ids: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-channel and overall engaged and known people from :func:`_people_expr`'s counts."""
    n = len(channel_ids)
    reach_bit = 1 << n
    engaged = [0] * n
    known = [0] * n
    engaged_all = known_all = 0
    for seen_v, engaged_v, count in zip(
        combos["seen"], combos["engaged"], combos["n"], strict=True
    ):
        seen_i, engaged_i, k = int(seen_v), int(engaged_v), int(count)
        reachable = bool(seen_i & reach_bit)
        seen_i &= reach_bit - 1
        if engaged_i:
            engaged_all += k
        if reachable and seen_i:
            known_all += k
        for i in range(n):
            if engaged_i >> i & 1:
                engaged[i] += k
            if reachable and seen_i >> i & 1:
                known[i] += k
    per_channel = pd.DataFrame({"channel_id": channel_ids, "engaged": engaged, "known": known})
    totals = pd.DataFrame({"engaged": [engaged_all], "known": [known_all]})
    return per_channel, totals


def _people_by_pairs(
    eng: Engine, since: date | None, until: date | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same counts through (channel, person) pairs: for workspaces with many channels."""
    t = _channel_touches(eng, since, until)
    pairs = t.group_by(["channel_id", "person_id"]).agg(engaged=t.engaged.any())
    aud_pairs = _audience_people(eng).mutate(engaged=ibis.literal(False))
    allpairs = ibis.union(pairs, aud_pairs.select("channel_id", "person_id", "engaged"))
    allpairs = allpairs.group_by(["channel_id", "person_id"]).agg(engaged=allpairs.engaged.any())
    reach = _reachable(eng)
    j = allpairs.left_join(reach, allpairs.person_id == reach.person_id)
    expr = j.select("channel_id", "person_id", "engaged", known=j.known.fill_null(False))
    with eng.materialized(expr) as p:
        per_channel = eng.execute(
            p.group_by("channel_id").agg(
                engaged=p.engaged.cast("int64").sum(), known=p.known.cast("int64").sum()
            )
        )
        per_person = p.group_by("person_id").agg(engaged=p.engaged.any(), known=p.known.any())
        totals = eng.execute(
            per_person.aggregate(
                engaged=per_person.engaged.cast("int64").sum(),
                known=per_person.known.cast("int64").sum(),
            )
        )
    return per_channel, totals


def _audience_exprs(eng: Engine, until: date | None) -> tuple[ir.Table, ir.Table]:
    """The last audience metric per channel, and the follower lists' counts."""
    m = eng.table("metrics")
    m = m.filter(m.metric.isin(list(AUDIENCE_METRICS)) & m.content_id.isnull())
    if until is not None:
        m = m.filter(m.date <= until)
    last = m.mutate(
        _rn=ibis.row_number().over(group_by=[m.channel_id, m.metric], order_by=m.date.desc())
    )
    last = last.filter(last._rn == 0)
    from_metrics = last.group_by("channel_id").agg(audience=last.value.max())
    a = eng.table("audience")
    if until is not None:
        end = datetime.combine(until + timedelta(days=1), datetime.min.time())
        a = a.filter(a.followed_at.isnull() | (a.followed_at < ibis.timestamp(end)))
        a = a.filter(a.unfollowed_at.isnull() | (a.unfollowed_at >= ibis.timestamp(end)))
    else:
        a = a.filter(a.unfollowed_at.isnull())
    return from_metrics, a.group_by("channel_id").agg(listed=a.count())


def _audience_frame(from_metrics: pd.DataFrame, from_lists: pd.DataFrame) -> pd.DataFrame:
    out = from_lists.merge(from_metrics, on="channel_id", how="outer")
    out["audience"] = out["audience"].fillna(out["listed"]).fillna(0)
    return out[["channel_id", "audience"]]


def _costs_expr(eng: Engine, since: date | None, until: date | None) -> ir.Table:
    c = eng.table("costs")
    if since is not None:
        c = c.filter(c.period_start >= since)
    if until is not None:
        c = c.filter(c.period_start <= until)
    return c.group_by(["channel_id", "currency"]).agg(
        cost_dollars=c.dollars.cast("float64").sum(), cost_hours=c.hours.sum()
    )


def _main_currency(money: pd.DataFrame, costs: pd.DataFrame) -> str:
    totals: dict[str, float] = {}
    for frame, col in ((money, "amount"), (costs, "cost_dollars")):
        for cur, amount in zip(frame["currency"], frame[col], strict=True):
            if isinstance(cur, str):
                totals[cur] = totals.get(cur, 0.0) + abs(float(amount or 0))
    return max(totals, key=lambda k: totals[k]) if totals else "USD"


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    den = den.astype(float)
    return (num.astype(float) / den.where(den > 0)).astype(float)


def _assemble(
    channels: pd.DataFrame,
    by_type: pd.DataFrame,
    money: pd.DataFrame,
    people: pd.DataFrame,
    audience: pd.DataFrame,
    costs: pd.DataFrame,
    currency: str,
) -> pd.DataFrame:
    df = channels.rename(columns={"name": "channel"})[
        ["channel_id", "channel", "platform", "kind", "owned"]
    ].copy()
    if (by_type["channel_id"] == UNATTRIBUTED).any() or (money["channel_id"] == UNATTRIBUTED).any():
        df = pd.concat(
            [
                df,
                pd.DataFrame(
                    [
                        {
                            "channel_id": UNATTRIBUTED,
                            "channel": "Unattributed",
                            "platform": None,
                            "kind": None,
                            "owned": None,
                        }
                    ]
                ),
            ],
            ignore_index=True,
        )
    df = df.merge(audience, on="channel_id", how="left")
    df = df.merge(people, on="channel_id", how="left")
    counts = by_type.pivot_table(index="channel_id", columns="type", values="n", aggfunc="sum")
    for otype, col in COUNTED.items():
        df[col] = df["channel_id"].map(counts.get(otype, {}))
    other_types = [c for c in counts.columns if c not in COUNTED]
    df["other_outcomes"] = (
        df["channel_id"].map(counts[other_types].sum(axis=1)) if other_types else 0
    )
    main = money[money["currency"] == currency].set_index("channel_id")["amount"]
    df["dollars"] = df["channel_id"].map(main)
    others = money[money["currency"] != currency]
    df["other_currencies"] = df["channel_id"].map(
        {
            ch: "; ".join(
                f"{cur} {amt:,.2f}" for cur, amt in zip(g["currency"], g["amount"], strict=True)
            )
            for ch, g in others.groupby("channel_id")
        }
    )
    df["currency"] = currency
    c_main = costs[(costs["currency"] == currency) | costs["currency"].isna()]
    c_by = c_main.groupby("channel_id")[["cost_dollars", "cost_hours"]].sum()
    hours_all = costs.groupby("channel_id")["cost_hours"].sum()
    df["cost_dollars"] = df["channel_id"].map(c_by["cost_dollars"])
    df["cost_hours"] = df["channel_id"].map(hours_all)
    ints = ["audience", "engaged", "known", *COUNTED.values(), "other_outcomes"]
    for col in ints:
        df[col] = df[col].fillna(0).astype("int64")
    for col in ("dollars", "cost_dollars", "cost_hours"):
        df[col] = df[col].astype(float).fillna(0.0).round(2)
    df["dollars_per_1k_followers"] = _ratio(df["dollars"] * 1000, df["audience"]).round(2)
    df["return_per_dollar"] = _ratio(df["dollars"], df["cost_dollars"]).round(4)
    df["return_per_hour"] = _ratio(df["dollars"], df["cost_hours"]).round(2)
    aud_total = float(df["audience"].sum())
    pos = df["dollars"].clip(lower=0)
    dol_total = float(pos.sum())
    df["share_of_followers"] = (df["audience"] / aud_total).round(4) if aud_total else 0.0
    df["share_of_dollars"] = (pos / dol_total).round(4) if dol_total else 0.0
    df["outcomes"] = df[[*COUNTED.values(), "other_outcomes"]].sum(axis=1).astype("int64")
    out_total = float(df["outcomes"].sum())
    df["share_of_outcomes"] = (df["outcomes"] / out_total).round(4) if out_total else 0.0
    df["owned"] = df["owned"].astype("boolean")
    cols = [
        "channel_id",
        "channel",
        "platform",
        "kind",
        "owned",
        "audience",
        "engaged",
        "known",
        "questions",
        "calls",
        "leads",
        "new_accounts",
        "orders",
        "renewals",
        "other_outcomes",
        "outcomes",
        "dollars",
        "currency",
        "other_currencies",
        "cost_dollars",
        "cost_hours",
        "dollars_per_1k_followers",
        "return_per_dollar",
        "return_per_hour",
        "share_of_followers",
        "share_of_dollars",
        "share_of_outcomes",
    ]
    df["_unatt"] = df["channel_id"] == UNATTRIBUTED
    df = df.sort_values(["_unatt", "dollars", "channel_id"], ascending=[True, False, True])
    return df[cols].reset_index(drop=True)


def _summaries(
    df: pd.DataFrame, currency: str
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    sums = ["audience", "questions", "calls", "leads", "new_accounts", "orders", "renewals"]
    money_cols = ["dollars", "cost_dollars", "cost_hours"]
    totals: dict[str, Any] = {c: int(df[c].sum()) for c in sums}
    totals.update({c: round(float(df[c].sum()), 2) for c in money_cols})
    totals["currency"] = currency
    totals["return_per_dollar"] = (
        round(totals["dollars"] / totals["cost_dollars"], 4) if totals["cost_dollars"] else None
    )
    totals["return_per_hour"] = (
        round(totals["dollars"] / totals["cost_hours"], 2) if totals["cost_hours"] else None
    )
    named = df[df["channel_id"] != "(unattributed)"]
    platforms = []
    for plat, g in named.groupby(named["platform"].fillna("(none)")):
        row: dict[str, Any] = {"platform": plat, "channels": len(g)}
        row.update({c: int(g[c].sum()) for c in sums})
        row.update({c: round(float(g[c].sum()), 2) for c in money_cols})
        row["owned"] = bool(g["owned"].fillna(False).all())
        platforms.append(row)
    platforms.sort(key=lambda r: -r["dollars"])

    # followers against money; when the period or filter has no money, against outcomes
    basis = "dollars" if float(df["dollars"].clip(lower=0).sum()) > 0 else "outcomes"
    share = f"share_of_{basis}"
    what = currency if basis == "dollars" else "outcomes"
    with_aud = named[named["audience"] > 0]
    gap_rows: list[dict[str, Any]] = [
        {
            "channel_id": str(ch),
            "share_of_followers": float(f),
            f"share_of_{basis}": float(d),
            "gap": round(float(f) - float(d), 4),
        }
        for ch, f, d in zip(df["channel_id"], df["share_of_followers"], df[share], strict=True)
    ]
    has_data = float(df["audience"].sum()) > 0 and float(df[share].sum()) > 0
    index = round(0.5 * sum(abs(float(r["gap"])) for r in gap_rows), 4) if has_data else None
    corr = None
    if len(with_aud) >= 3 and with_aud[basis].nunique() > 1:
        corr = round(float(with_aud["audience"].rank().corr(with_aud[basis].rank())), 4)
    statement = ""
    if has_data:
        b = named.sort_values(["audience", "channel_id"], ascending=[False, True]).iloc[0]
        m = named.sort_values([share, "channel_id"], ascending=[False, True]).iloc[0]
        statement = (
            f"{b['channel']} has {b['share_of_followers']:.0%} of followers and brings "
            f"{b[share]:.0%} of {what}; {m['channel']} brings {m[share]:.0%} of {what} with "
            f"{m['share_of_followers']:.0%} of followers"
        )
    gap = {
        "index": index,
        "basis": basis,
        "meaning": (
            f"half the sum over channels of |share of followers - share of {basis}|: 0 means "
            f"followers predict {basis} perfectly, 1 means they are unrelated"
        ),
        "rank_correlation_followers_dollars": corr if basis == "dollars" else None,
        "rank_correlation_followers_basis": corr,
        "by_channel": gap_rows,
        "statement": statement,
    }
    return totals, platforms, gap
