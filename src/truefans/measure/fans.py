"""Who the true fans are and what they bring: `truefans fans`.

Every person gets the highest of these tiers whose test they pass (each criterion is a column of
``--list`` and each threshold an option):

``audience``      known to the business at all: follows, views, is on a list (the base tier)
``engaged``       >= ``min_kinds`` distinct active touch kinds in the last ``window_days`` days
                  (or, with ``engaged_by="score"``, a decayed engagement score >= ``min_score``:
                  each active touch counts 0.5 ** (age in days / ``half_life_days``))
``reachable``     a direct relationship the business owns: subscribed to an owned email list and
                  not unsubscribed, a phone number, or a customer id (Kevin Kelly's test)
``customer``      at least one purchase (a valued outcome)
``repeat_buyer``  purchases on >= ``min_purchase_days`` days and P(alive) >= ``min_p_alive``
``true_fan``      reachable, a repeat buyer, expected value over the next year >= V, and active
                  through >= ``fan_channels`` channels in the last year; V is ``fan_value`` (a
                  yearly profit such as Kelly's $100, compared with predicted revenue x
                  ``margin``) or, without it, the top decile of customers' predicted value
``superfan``      a true fan who advocates: shared, reviewed or referred in the last year, or was
                  named by someone as who told them about the business (``referred_by``)

P(alive) and the predicted value come from BG/NBD and Gamma-Gamma fitted on all purchases up to
``as_of`` (weeks), as :mod:`truefans.measure.clv` does. Per-person features are computed on the
engine as one Ibis expression; the tiers are assigned on the per-person rows.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ..errors import InvalidOption, TruefansError
from ..schema import AUDIENCE_METRICS, ENGAGED_TOUCH_KINDS
from . import clv as clv_mod
from . import rfm
from .picture import parse_day, signed_money
from .result import Result

if TYPE_CHECKING:
    from ..engine import Engine
    from ..workspace import Workspace

TIERS = ("audience", "engaged", "reachable", "customer", "repeat_buyer", "true_fan", "superfan")
ADVOCACY_KINDS = ("share", "review", "referral")
KELLY_FAN = 1_000
YEAR_DAYS = 365


def _day_start(d: date) -> ibis.expr.types.TimestampScalar:
    return ibis.timestamp(datetime.combine(d, datetime.min.time()))


def last_activity_day(eng: Engine) -> date | None:
    """The last day with a touch or an outcome: the default 'as of' date."""
    t, o = eng.table("touchpoints"), eng.table("outcomes")
    row = eng.execute(
        ibis.union(t.select(ts=t.ts), o.select(ts=o.ts)).aggregate(last=lambda x: x.ts.max())
    )
    v = row["last"].iloc[0] if len(row) else None
    return None if v is None or pd.isna(v) else pd.Timestamp(v).date()


def person_features(
    eng: Engine,
    as_of: date,
    window_days: int,
    half_life_days: float,
    fan_window_days: int,
    currency: str | None,
) -> ir.Table:
    """One row per person: engagement, reach, money and advocacy features as of a date."""
    end = _day_start(as_of + timedelta(days=1))
    people = eng.table("people").select("person_id", "display_name")
    t = eng.table("touchpoints")
    t = t.filter((t.ts < end) & t.person_id.notnull())
    active = t.filter(t.kind.isin(list(ENGAGED_TOUCH_KINDS)))
    age_days = end.delta(active.ts, unit="second").cast("float64") / 86_400.0
    recent = active.filter(active.ts >= _day_start(as_of - timedelta(days=window_days - 1)))
    year = active.filter(active.ts >= _day_start(as_of - timedelta(days=fan_window_days - 1)))
    decay = active.mutate(w=(age_days * (-math.log(2) / half_life_days)).exp())
    f_kinds = recent.group_by("person_id").agg(active_kinds=recent.kind.nunique())
    f_score = decay.group_by("person_id").agg(engagement_score=decay.w.sum())
    f_year = year.group_by("person_id").agg(
        active_channels=year.channel_id.nunique(),
        advocacy_touches=year.kind.isin(list(ADVOCACY_KINDS)).cast("int64").sum(),
    )
    # where each person first showed up: earliest touch or list entry
    aud = _audience_people(eng, as_of)
    first_src = ibis.union(
        t.select("person_id", "channel_id", "ts"),
        aud.filter(aud.followed_at.notnull()).select("person_id", "channel_id", ts=aud.followed_at),
    )
    f_first = first_src.group_by("person_id").agg(
        first_channel=first_src.channel_id.argmin(first_src.ts)
    )
    f_follow = aud.group_by("person_id").agg(
        follows=aud.count(),
        email_subscriber=aud.owned_email.any(),
    )
    ident = eng.table("identities")
    f_direct = (
        ident.filter(ident.kind.isin(["phone", "customer_id"]))
        .group_by("person_id")
        .agg(
            has_phone=lambda x: (x.kind == "phone").any(),
            has_customer_id=lambda x: (x.kind == "customer_id").any(),
        )
    )
    o = eng.table("outcomes")
    o = o.filter(o.ts < end)
    money = o.filter(o.person_id.notnull() & o.value.notnull())
    if currency is not None:
        money = money.filter(money.currency == currency)
    money = money.mutate(signed=signed_money(money))
    buys = rfm.purchases(o)
    if currency is not None:
        buys = buys.filter(buys.currency == currency)
    f_money = money.group_by("person_id").agg(dollars=money.signed.sum())
    f_buys = buys.group_by("person_id").agg(
        purchase_days=buys.ts.date().nunique(), purchases=buys.count()
    )
    named = o.filter(o.referred_by.notnull())
    f_named = named.group_by(person_id=named.referred_by).agg(named_by_others=named.count())

    out = people
    for f in (f_kinds, f_score, f_year, f_first, f_follow, f_direct, f_money, f_buys, f_named):
        out = out.left_join(f, "person_id").drop("person_id_right")
    return out


def listed_people(eng: Engine) -> ir.Table:
    """The audience lists' rows with the person each stands for: the row's own ``person_id``,
    else its identity's (``person_id, channel_id, followed_at, unfollowed_at``; the person is
    null only where neither is known)."""
    a = eng.table("audience")
    ident = eng.table("identities").select("identity_id", i_person="person_id")
    a = a.left_join(ident, "identity_id")
    return a.select(
        person_id=a.person_id.fill_null(a.i_person),
        channel_id=a.channel_id,
        followed_at=a.followed_at,
        unfollowed_at=a.unfollowed_at,
    )


def _audience_people(eng: Engine, as_of: date) -> ir.Table:
    """People on a channel's list as of the date, with whether the list is an owned email list."""
    end = _day_start(as_of + timedelta(days=1))
    a = listed_people(eng)
    a = a.filter(
        (a.followed_at.isnull() | (a.followed_at < end))
        & (a.unfollowed_at.isnull() | (a.unfollowed_at >= end))
    )
    ch = eng.table("channels").select(c_id="channel_id", ch_kind="kind", ch_owned="owned")
    a = a.left_join(ch, a.channel_id == ch.c_id)
    return a.select(
        person_id=a.person_id,
        channel_id=a.channel_id,
        followed_at=a.followed_at,
        owned_email=(a.ch_kind == "email") & a.ch_owned.fill_null(False),
    ).filter(lambda x: x.person_id.notnull())


def _followers(eng: Engine, as_of: date) -> pd.DataFrame:
    """Followers per channel as of the date: the last audience metric, else the list size."""
    m = eng.table("metrics")
    m = m.filter(m.metric.isin(list(AUDIENCE_METRICS)) & m.content_id.isnull() & (m.date <= as_of))
    last = m.mutate(
        _rn=ibis.row_number().over(group_by=[m.channel_id, m.metric], order_by=m.date.desc())
    )
    last = last.filter(last._rn == 0)
    from_metrics = eng.execute(last.group_by("channel_id").agg(followers=last.value.max()))
    a = _audience_people(eng, as_of)
    listed = eng.execute(a.group_by("channel_id").agg(listed=a.count()))
    out = listed.merge(from_metrics, on="channel_id", how="outer")
    out["followers"] = out["followers"].fillna(out["listed"]).fillna(0).astype(float)
    return out[["channel_id", "followers"]]


def _value_model(
    eng: Engine, as_of: date, currency: str | None, margin: float
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """P(alive) and predicted value over the next 52 weeks per customer (BG/NBD + Gamma-Gamma);
    when the data cannot carry a model, a plain fallback that says so."""
    try:
        s = rfm.summarise(eng, observation_end=as_of, time_unit="week", currency=currency)
    except TruefansError as e:
        return pd.DataFrame(columns=["person_id", "p_alive", "predicted_value"]), {
            "method": f"no model: {e}"
        }
    people = s.people
    x, t_x, T = (people[k].to_numpy(np.float64) for k in ("x", "t_x", "T"))
    try:
        fitted = clv_mod.fit_frequency("bgnbd", s)
        spend = clv_mod.fit_spend(people)
        p_alive = fitted.p_alive(x, t_x, T)
        value = fitted.conditional_expected_purchases(52.0, x, t_x, T) * spend.per_person
        info: dict[str, Any] = {
            "method": f"BG/NBD + {spend.method} on purchases to {as_of} (weeks)",
            "params": dict(fitted.params),
            "converged": fitted.report.converged,
        }
    except TruefansError as e:
        # no model can be fitted (e.g. nobody bought twice): last year's spend stands in for
        # next year's, and everyone who bought is taken as still around
        first = people["first_spend"].to_numpy(np.float64)
        spent = first + x * people["mean_spend"].to_numpy(np.float64)
        years = np.maximum(T * 7 / YEAR_DAYS, 1.0)
        p_alive = np.ones(len(people))
        value = spent / years
        info = {"method": f"observed yearly spend (no model could be fitted: {e})"}
    df = pd.DataFrame(
        {
            "person_id": people["person_id"].astype(str),
            "p_alive": p_alive,
            "predicted_value": value * margin,
        }
    )
    return df, info


def fans(
    ws: Workspace,
    as_of: date | str | None = None,
    min_kinds: int = 2,
    window_days: int = 90,
    engaged_by: str = "kinds",
    half_life_days: float = 30.0,
    min_score: float = 2.0,
    min_purchase_days: int = 2,
    min_p_alive: float = 0.5,
    fan_value: float | None = None,
    margin: float = 1.0,
    fan_channels: int = 2,
    fan_window_days: int = YEAR_DAYS,
    list_tier: str | None = None,
    currency: str | None = None,
) -> Result:
    """Engagement tiers per person as of a date; with ``list_tier`` the people of that tier
    (and above) instead of the summary."""
    if engaged_by not in ("kinds", "score"):
        raise InvalidOption(f"--engaged-by {engaged_by!r}: choose kinds or score")
    if list_tier is not None and list_tier not in TIERS:
        raise InvalidOption(f"--list {list_tier!r}: choose one of {', '.join(TIERS)}")
    for name, v in (("--min-kinds", min_kinds), ("--window", window_days)):
        if v < 1:
            raise InvalidOption(f"{name} {v}: must be at least 1")
    if half_life_days <= 0 or fan_window_days < 1 or min_purchase_days < 1:
        raise InvalidOption("--half-life, --fan-window and --min-purchase-days must be positive")
    if not 0 < margin <= 1:
        raise InvalidOption(f"--margin {margin}: a share of revenue in (0, 1], e.g. 0.3")
    if fan_value is not None and fan_value < 0:
        raise InvalidOption(f"--fan-value {fan_value}: must not be negative")
    eng = ws.engine
    as_of_d = parse_day(as_of, "--as-of") or last_activity_day(eng)
    if as_of_d is None:
        raise InvalidOption("the workspace has no touches or outcomes yet: import some first")
    currency, other_currencies = rfm.main_currency(eng, currency or ws.setting("currency"))
    feats = eng.execute(
        person_features(eng, as_of_d, window_days, half_life_days, fan_window_days, currency)
    )
    value, value_info = _value_model(eng, as_of_d, currency, margin)
    df = feats.merge(value, on="person_id", how="left")
    df = _fill(df)
    threshold, threshold_rule = _threshold(df, fan_value)
    df = assign_tiers(
        df,
        engaged_by=engaged_by,
        min_kinds=min_kinds,
        min_score=min_score,
        min_purchase_days=min_purchase_days,
        min_p_alive=min_p_alive,
        fan_value=threshold,
        fan_channels=fan_channels,
    )
    followers = _followers(eng, as_of_d)
    assumptions: dict[str, Any] = {
        "as_of": as_of_d,
        "engaged": (
            f">= {min_kinds} distinct active touch kinds in the last {window_days} days"
            if engaged_by == "kinds"
            else f"decayed engagement score >= {min_score:g} (half-life {half_life_days:g} days)"
        ),
        "active_kinds": list(ENGAGED_TOUCH_KINDS),
        "reachable": "on an owned email list and not unsubscribed, a phone number, or a "
        "customer id",
        "customer": f"a purchase (positive value in {currency}) on or before {as_of_d}",
        "repeat_buyer": f"purchases on >= {min_purchase_days} days and P(alive) >= {min_p_alive}",
        "true_fan": (
            f"reachable, repeat buyer, predicted value over the next year >= {threshold:,.2f} "
            f"{currency or ''} ({threshold_rule}), active through >= {fan_channels} channels "
            f"in the last {fan_window_days} days"
        ),
        "superfan": "a true fan who shared, reviewed or referred in that year, or whom "
        "someone named as who told them (referred_by)",
        "value_model": value_info,
        "margin": margin,
        "dollars": f"net {currency} (refunds and fees subtracted) up to {as_of_d} of outcomes "
        "that have a person (shares are of those dollars); other currencies are left out",
        "left_out_other_currencies": other_currencies,
    }
    if list_tier is not None:
        return _listing(df, list_tier, assumptions)
    return _summary(df, followers, assumptions, threshold, currency, as_of_d, eng)


COUNTS = (
    "active_kinds",
    "active_channels",
    "advocacy_touches",
    "follows",
    "purchase_days",
    "purchases",
    "named_by_others",
)


def _fill(df: pd.DataFrame) -> pd.DataFrame:
    zeros = [
        "active_kinds",
        "engagement_score",
        "active_channels",
        "advocacy_touches",
        "follows",
        "dollars",
        "purchase_days",
        "purchases",
        "named_by_others",
        "p_alive",
        "predicted_value",
    ]
    for c in zeros:
        df[c] = pd.to_numeric(df[c], errors="coerce").fillna(0.0)
    for c in COUNTS:
        df[c] = df[c].astype("int64")
    for c in ("email_subscriber", "has_phone", "has_customer_id"):
        df[c] = df[c].astype("boolean").fillna(False).astype(bool)
    return df


def _threshold(df: pd.DataFrame, fan_value: float | None) -> tuple[float, str]:
    if fan_value is not None:
        return float(fan_value), "--fan-value"
    customers = df.loc[df["purchases"] > 0, "predicted_value"]
    if customers.empty:
        return math.inf, "no customers"
    return float(np.quantile(customers, 0.9)), "top decile of customers' predicted value"


def assign_tiers(
    df: pd.DataFrame,
    *,
    engaged_by: str,
    min_kinds: int,
    min_score: float,
    min_purchase_days: int,
    min_p_alive: float,
    fan_value: float,
    fan_channels: int,
) -> pd.DataFrame:
    """Add a boolean column per criterion and the highest tier reached."""
    df = df.copy()
    df["engaged"] = (
        df["active_kinds"] >= min_kinds
        if engaged_by == "kinds"
        else df["engagement_score"] >= min_score
    )
    df["reachable"] = df["email_subscriber"] | df["has_phone"] | df["has_customer_id"]
    df["customer"] = df["purchases"] > 0
    df["repeat_buyer"] = (df["purchase_days"] >= min_purchase_days) & (df["p_alive"] >= min_p_alive)
    df["true_fan"] = (
        df["reachable"]
        & df["repeat_buyer"]
        & (df["predicted_value"] >= fan_value)
        & (df["active_channels"] >= fan_channels)
    )
    df["superfan"] = df["true_fan"] & ((df["advocacy_touches"] > 0) | (df["named_by_others"] > 0))
    tier = pd.Series("audience", index=df.index)
    for name in TIERS[1:]:
        tier = tier.mask(df[name], name)
    df["tier"] = tier
    df["tier_rank"] = df["tier"].map({t: i for i, t in enumerate(TIERS)})
    return df


LIST_COLUMNS = [
    "person_id",
    "tier",
    "display_name",
    "active_kinds",
    "engagement_score",
    "active_channels",
    "email_subscriber",
    "has_phone",
    "has_customer_id",
    "purchases",
    "purchase_days",
    "dollars",
    "p_alive",
    "predicted_value",
    "advocacy_touches",
    "named_by_others",
    "first_channel",
    "follows",
]


def _listing(df: pd.DataFrame, tier: str, assumptions: dict[str, Any]) -> Result:
    rank = TIERS.index(tier)
    sel = df[df["tier_rank"] >= rank].copy()
    cols = [c for c in LIST_COLUMNS if c in sel.columns]
    sel = sel.sort_values(
        ["tier_rank", "predicted_value", "person_id"], ascending=[False, False, True]
    )
    return Result(
        "fans",
        sel[cols].reset_index(drop=True),
        {**assumptions, "listed": f"people in the {tier} tier or above"},
        {"tier": tier, "people": len(sel)},
    )


def _summary(
    df: pd.DataFrame,
    followers: pd.DataFrame,
    assumptions: dict[str, Any],
    threshold: float,
    currency: str | None,
    as_of: date,
    eng: Engine,
) -> Result:
    n_people = len(df)
    total_dollars = float(df["dollars"].sum())
    total_followers = float(followers["followers"].sum())
    rows = []
    for rank, tier in enumerate(TIERS):
        here = df["tier_rank"] == rank
        above = df["tier_rank"] >= rank
        dollars = float(df.loc[here, "dollars"].sum())
        rows.append(
            {
                "tier": tier,
                "people": int(here.sum()),
                "people_at_or_above": int(above.sum()),
                "share_of_people": here.sum() / n_people if n_people else 0.0,
                "dollars": dollars,
                "share_of_dollars": dollars / total_dollars if total_dollars else 0.0,
                "dollars_at_or_above": float(df.loc[above, "dollars"].sum()),
                "share_of_dollars_at_or_above": (
                    float(df.loc[above, "dollars"].sum()) / total_dollars if total_dollars else 0.0
                ),
                "following": int((df.loc[here, "follows"] > 0).sum()),
                "currency": currency,
            }
        )
    table = pd.DataFrame(rows)
    fans_mask = df["tier_rank"] >= TIERS.index("true_fan")
    true_fans = int(fans_mask.sum())
    fan_dollars = float(df.loc[fans_mask, "dollars"].sum())
    headline = {
        "true_fans": true_fans,
        "against_1000": true_fans / KELLY_FAN,
        "share_of_people": true_fans / n_people if n_people else 0.0,
        "share_of_followers": true_fans / total_followers if total_followers else None,
        "share_of_dollars": fan_dollars / total_dollars if total_dollars else 0.0,
        "dollars": fan_dollars,
        "fan_value_threshold": threshold,
        "people": n_people,
    }
    by_channel = _by_channel(eng, df, followers, as_of)
    first = (
        df.loc[fans_mask, "first_channel"]
        .fillna("(unknown)")
        .value_counts()
        .rename_axis("channel_id")
    )
    first_arrived = [{"channel_id": str(k), "true_fans": int(v)} for k, v in first.items()]
    extra = {
        "true_fans": true_fans,
        "followers": total_followers,
        "as_of": as_of,
        "people": n_people,
        "dollars": total_dollars,
        "currency": currency,
        "headline": headline,
        "by_channel": by_channel,
        "first_arrived": first_arrived,
        "email_lists": email_health(eng, df, as_of),
        "caption": _caption(headline, total_followers, currency),
    }
    chart = {
        "type": "bar",
        "x": "tier",
        "series": ["share_of_people", "share_of_dollars"],
        "title": "Share of people vs share of dollars, by tier",
    }
    return Result("fans", table, assumptions, extra, chart)


def _pct(x: float) -> str:
    """A share with two significant digits (0.049%, 1.2%, 18%)."""
    if x <= 0:
        return "0%"
    digits = max(0, 1 - math.floor(math.log10(x * 100)))
    return f"{x * 100:.{digits}f}%"


def _caption(h: dict[str, Any], followers: float, currency: str | None) -> str:
    fol = f" of your {followers:,.0f} followers and" if followers else ""
    text = (
        f"{h['true_fans']:,} true fans —{fol} {_pct(h['share_of_people'])} of the "
        f"{h['people']:,} people you know — brought {_pct(h['share_of_dollars'])} of the "
        f"{currency or ''} revenue ({h['true_fans'] / KELLY_FAN:.1%} of the way to Kelly's 1,000)."
    )
    if followers:
        text = text.replace(
            f"— of your {followers:,.0f} followers and",
            f"— {_pct(h['true_fans'] / followers)} of your {followers:,.0f} followers and",
        )
    return text.replace("  ", " ")


def _by_channel(
    eng: Engine, df: pd.DataFrame, followers: pd.DataFrame, as_of: date
) -> list[dict[str, Any]]:
    """Per channel: followers, true fans active or listed there, and fans per 1,000 followers."""
    end = _day_start(as_of + timedelta(days=1))
    start = _day_start(as_of - timedelta(days=YEAR_DAYS - 1))
    t = eng.table("touchpoints")
    t = t.filter((t.ts < end) & (t.ts >= start) & t.kind.isin(list(ENGAGED_TOUCH_KINDS)))
    a = _audience_people(eng, as_of)
    pairs = ibis.union(
        t.select("person_id", "channel_id"), a.select("person_id", "channel_id")
    ).distinct()
    pairs_df = eng.execute(pairs)
    tier = df.set_index("person_id")["tier_rank"]
    pairs_df["rank"] = pairs_df["person_id"].map(tier)
    fan_rank = TIERS.index("true_fan")
    counts = (
        pairs_df.assign(fan=pairs_df["rank"] >= fan_rank, engaged=pairs_df["rank"] >= 1)
        .groupby("channel_id")[["fan", "engaged"]]
        .sum()
    )
    channels = eng.execute(
        eng.table("channels").select("channel_id", "name").order_by("channel_id")
    )
    out = []
    fol = followers.set_index("channel_id")["followers"]
    first = df.loc[df["tier_rank"] >= fan_rank, "first_channel"].value_counts()
    for cid, name in zip(channels["channel_id"], channels["name"], strict=True):
        f = float(fol.get(cid, 0.0))
        n_fans = int(counts["fan"].get(cid, 0)) if cid in counts.index else 0
        out.append(
            {
                "channel_id": cid,
                "channel": name or cid,
                "followers": round(f),
                "true_fans": n_fans,
                "fans_per_1k_followers": n_fans / f * 1000 if f else None,
                "first_arrived": int(first.get(cid, 0)),
            }
        )
    return out


def email_health(eng: Engine, df: pd.DataFrame, as_of: date) -> list[dict[str, Any]]:
    """Each owned email list over the last year: size, growth, churn, engaged share and revenue
    per subscriber."""
    ch = eng.execute(eng.table("channels"))
    lists = ch[(ch["kind"] == "email") & ch["owned"].fillna(False).astype(bool)]
    if lists.empty:
        return []
    start = as_of - timedelta(days=YEAR_DAYS)
    out = []
    a_all = listed_people(eng)
    money = df.set_index("person_id")
    for cid, name in zip(lists["channel_id"], lists["name"], strict=True):
        a = a_all.filter(a_all.channel_id == cid)
        rows = eng.execute(a.select("person_id", "followed_at", "unfollowed_at"))
        if rows.empty:
            continue
        f = pd.to_datetime(rows["followed_at"])
        u = pd.to_datetime(rows["unfollowed_at"])
        t_end = pd.Timestamp(as_of + timedelta(days=1))
        t_start = pd.Timestamp(start + timedelta(days=1))

        def on_list(ts: pd.Timestamp, f: pd.Series = f, u: pd.Series = u) -> pd.Series:
            return (f.isna() | (f < ts)) & (u.isna() | (u >= ts))

        now = on_list(t_end)
        before = on_list(t_start)
        joined = int(((f >= t_start) & (f < t_end)).sum())
        left = int(((u >= t_start) & (u < t_end)).sum())
        subs = rows.loc[now, "person_id"].dropna().astype(str)
        size, size_before = int(now.sum()), int(before.sum())
        t = eng.table("touchpoints")
        recent = t.filter(
            (t.channel_id == cid)
            & t.kind.isin(list(ENGAGED_TOUCH_KINDS))
            & (t.ts >= _day_start(as_of - timedelta(days=89)))
            & (t.ts < _day_start(as_of + timedelta(days=1)))
        )
        active = set(eng.execute(recent.select("person_id").distinct())["person_id"].astype(str))
        engaged = int(subs.isin(active).sum())
        revenue = float(money["dollars"].reindex(subs).fillna(0.0).sum())
        average = (size + size_before) / 2
        out.append(
            {
                "channel_id": cid,
                "channel": name or cid,
                "subscribers": size,
                "subscribers_a_year_before": size_before,
                "joined": joined,
                "left": left,
                "growth": (size - size_before) / size_before if size_before else None,
                "churn_yearly": left / average if average else None,
                "churn_monthly": (
                    1 - (1 - left / average) ** (1 / 12) if 0 < left < average else None
                ),
                "engaged_share": engaged / size if size else None,
                "revenue_per_subscriber": revenue / size if size else None,
                "revenue": revenue,
            }
        )
    return out
