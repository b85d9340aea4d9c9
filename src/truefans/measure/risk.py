"""Platform independence: `truefans risk`.

How much of the business hangs on platforms it does not own. Outcomes belong to channels by the
picture's rule (self-report, else the last touch in 30 days); a channel's platform is its
``platform`` column, and a channel the business owns (email list, website, phone, client service,
events) is never "at risk": the business keeps it if a platform goes away.

For each rented platform P:

* concentration: P's share of outcomes, dollars and audience; over all platforms the
  Herfindahl-Hirschman index (sum of squared shares) and the effective number (1 / HHI), also per
  month with the trend;
* dollars at risk if P disappeared tomorrow, as a range. *Low* (the optimistic view): outcomes
  credited to P whose journey (every touch of the person in the lookback window before the
  outcome) touched no other platform or owned channel: they depended on P alone. *High* (the
  conservative view): every outcome credited to P, plus P's even share (one over the number of
  platforms in the journey) of the outcomes credited elsewhere that P also touched;
* rescuable: the share of the people behind the dollars at risk the business can reach without P
  (on its email list, by phone, as a customer with an id);
* a plain-language verdict.

Owned vs rented: of the people the business knows, the share it can reach without any platform
(on an owned list, by phone, a customer id, or having bought) and the share it knows through one
rented platform only.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ..errors import InvalidOption
from . import rfm
from .fans import _followers, last_activity_day, listed_people
from .picture import (
    LOOKBACK_DAYS,
    _kept_bits,
    parse_day,
    parse_outcomes,
    period_outcomes,
    signed_money,
)
from .result import Result

if TYPE_CHECKING:
    from ..engine import Engine
    from ..workspace import Workspace

OWNED = "(owned)"
#: platforms are held as bits of one integer per outcome / person
MAX_PLATFORMS = 62


def _platforms(eng: Engine) -> pd.DataFrame:
    """channel_id -> platform group: the channel's platform when rented, '(owned)' when owned."""
    ch = eng.execute(eng.table("channels").select("channel_id", "name", "platform", "owned"))
    owned = ch["owned"].fillna(False).astype(bool)
    plat = ch["platform"].fillna(ch["channel_id"]).astype(str)
    ch["group"] = np.where(owned, OWNED, plat)
    return ch


def _bits(col: ir.StringValue, codes: dict[str, int]) -> ir.IntegerValue:
    if not codes:
        return ibis.literal(0, "int64")
    return ibis.cases(
        *[(col == k, ibis.literal(1 << b, "int64")) for k, b in codes.items()],
        else_=ibis.literal(0, "int64"),
    )


def hhi(shares: np.ndarray) -> float | None:
    s = np.asarray(shares, dtype=float)
    total = s.sum()
    if total <= 0:
        return None
    s = s / total
    return float((s**2).sum())


def risk(
    ws: Workspace,
    since: date | str | None = None,
    until: date | str | None = None,
    outcome: str | None = None,
    lookback_days: int = LOOKBACK_DAYS,
) -> Result:
    since_d = parse_day(since, "--since")
    until_d = parse_day(until, "--until")
    if since_d and until_d and since_d > until_d:
        raise InvalidOption(f"--since {since_d} is after --until {until_d}")
    if lookback_days < 1:
        raise InvalidOption(f"--lookback {lookback_days}: at least one day")
    types = parse_outcomes(outcome)
    eng = ws.engine
    ch = _platforms(eng)
    groups = sorted(set(ch["group"]))
    if len(groups) > MAX_PLATFORMS:
        raise InvalidOption(f"more than {MAX_PLATFORMS} platforms: group channels first")
    codes = {g: i for i, g in enumerate(groups)}
    ch_group = dict(zip(ch["channel_id"], ch["group"], strict=True))

    currency, _ = rfm.main_currency(eng, ws.setting("currency"))
    # the audience lists' people and who can be reached without a platform, computed once for
    # the per-outcome table and the owned-vs-rented shares
    with (
        eng.materialized(listed_people(eng)) as listed,
        eng.materialized(_owned_reach_expr(eng, listed)) as reach,
    ):
        df = _outcomes(
            eng, since_d, until_d, types, lookback_days, ch_group, codes, currency, reach
        )
        owned_share, one_platform_share, known = _owned_vs_rented(
            eng, codes, ch_group, listed, reach
        )
    code = df["code"].to_numpy(np.int64)
    journey = df["journey"].to_numpy(np.int64)
    money_arr = df["money"].to_numpy(np.float64)
    owned_arr = df["owned_reach"].to_numpy(bool)
    person_codes, uniques = pd.factorize(df["person_id"], use_na_sentinel=True)
    n_codes = len(uniques)

    as_of = until_d or last_activity_day(eng) or date.today()
    followers = _followers(eng, as_of)
    followers["group"] = followers["channel_id"].map(ch_group)
    fol_group = followers.groupby("group")["followers"].sum()

    total_out = len(df)
    total_usd = float(money_arr.sum())
    total_fol = float(fol_group.sum())
    rows = []
    credited_bits = np.where(code >= 0, np.left_shift(np.int64(1), np.maximum(code, 0)), 0)
    n_platforms = np.bitwise_count(journey | credited_bits).astype(np.float64)
    for g in groups:
        bit = np.int64(1) << codes[g]
        mine = code == codes[g]
        touched = (journey & bit) != 0
        alone = mine & ((journey & ~bit) == 0)
        assisted = touched & ~mine
        assist_share = float((money_arr[assisted] / np.maximum(n_platforms[assisted], 1)).sum())
        high_mask = (mine | touched) & (person_codes >= 0)
        n_people = _distinct(person_codes[high_mask], n_codes)
        n_rescued = _distinct(person_codes[high_mask & owned_arr], n_codes)
        rented = g != OWNED
        dollars = float(money_arr[mine].sum())
        rows.append(
            {
                "platform": g,
                "owned": not rented,
                "channels": ", ".join(sorted(c for c, gg in ch_group.items() if gg == g)),
                "outcomes": int(mine.sum()),
                "share_of_outcomes": mine.sum() / total_out if total_out else 0.0,
                "dollars": dollars,
                "share_of_dollars": dollars / total_usd if total_usd else 0.0,
                "followers": float(fol_group.get(g, 0.0)),
                "share_of_audience": (
                    float(fol_group.get(g, 0.0)) / total_fol if total_fol else 0.0
                ),
                "dollars_at_risk_low": float(money_arr[alone].sum()) if rented else 0.0,
                "dollars_at_risk_high": dollars + assist_share if rented else 0.0,
                "people_at_risk": n_people if rented else 0,
                "rescuable": n_rescued / n_people if rented and n_people else None,
                "currency": currency,
            }
        )
    columns = [
        "platform",
        "owned",
        "channels",
        "outcomes",
        "share_of_outcomes",
        "dollars",
        "share_of_dollars",
        "followers",
        "share_of_audience",
        "dollars_at_risk_low",
        "dollars_at_risk_high",
        "people_at_risk",
        "rescuable",
        "currency",
    ]
    table = pd.DataFrame(rows, columns=columns)
    table = table.sort_values(
        ["owned", "share_of_dollars", "share_of_outcomes", "platform"],
        ascending=[True, False, False, True],
        ignore_index=True,
    )
    table["verdict"] = [
        _verdict({str(k): v for k, v in r.items()}) for r in table.to_dict("records")
    ]

    conc = {
        "by_platform": _concentration(table.set_index("platform")),
        "by_channel": _concentration(_by_channel(df, followers)),
    }
    names = {i: g for g, i in codes.items()}
    df["group"] = df["code"].map(names).fillna("(unattributed)")
    monthly = _monthly(df, groups)
    extra = {
        "hhi": conc["by_platform"]["dollars"]["hhi"],
        "effective_channels": conc["by_channel"]["dollars"]["effective"],
        "effective_platforms": conc["by_platform"]["dollars"]["effective"],
        "owned_share": owned_share,
        "one_platform_share": one_platform_share,
        "known_people": known,
        "concentration": conc,
        "monthly": monthly,
        "currency": currency,
        "total_dollars": total_usd,
        "total_outcomes": total_out,
    }
    assumptions = {
        "attribution": (
            "an outcome belongs to its self-reported channel, else to the last touch in the "
            f"{lookback_days} days before it (the picture's rule)"
        ),
        "platform": "a channel's platform column; channels the business owns are grouped "
        "as '(owned)' and are never at risk",
        "dollars_at_risk_low": "outcomes credited to the platform whose journey touched no "
        "other channel",
        "dollars_at_risk_high": "outcomes credited to the platform, plus its even share of the "
        "outcomes credited elsewhere whose journey it touched",
        "rescuable": "share of the people behind the high figure the business can reach "
        "without the platform (owned list, phone, customer id, or a purchase)",
        "hhi": "sum of squared shares of dollars (1 = one platform brings everything)",
        "period": {"since": since_d, "until": until_d},
        "outcome_types": types or "all",
        "currency": currency,
    }
    chart = {
        "type": "bar",
        "x": "platform",
        "series": ["share_of_audience", "share_of_dollars"],
        "title": "Share of audience vs share of dollars, by platform",
    }
    return Result("risk", table, assumptions, extra, chart)


def _outcomes(
    eng: Engine,
    since: date | None,
    until: date | None,
    types: list[str] | None,
    lookback_days: int,
    ch_group: dict[str, str],
    codes: dict[str, int],
    currency: str | None,
    reach: ir.Table,
) -> pd.DataFrame:
    """Per outcome, in one join of outcomes to the touches before them: the platform group it
    is credited to (the picture's rule: self-report, else the last touch in the window, latest
    first then the smallest channel id), the platforms its journey touched (bits), its money in
    the main currency, and whether its person can be reached without any platform."""
    o = period_outcomes(eng, since, until, types)
    ch_bits = {c: codes[g] for c, g in ch_group.items()}
    journeys = _journeys(eng, o, lookback_days, ch_bits)
    per = o.left_join(journeys, o.outcome_id == journeys.j_outcome)
    credited = per.channel_id.fill_null(per.last_channel)
    code = (
        ibis.cases(
            *[(credited == c, ibis.literal(codes[g], "int64")) for c, g in ch_group.items()],
            else_=ibis.literal(-1, "int64"),
        )
        if ch_group
        else ibis.literal(-1, "int64")
    )
    signed = signed_money(per)
    money = ibis.ifelse(
        per.value.notnull() & (per.currency == (currency or "")), signed, ibis.literal(0.0)
    )
    per = per.select(
        "person_id",
        "ts",
        channel=credited,
        code=code,
        journey=per.journey.fill_null(0),
        money=money,
    )
    per = per.left_join(reach, per.person_id == reach.r_person)
    per = per.select(
        "person_id",
        "ts",
        "channel",
        "code",
        "journey",
        "money",
        owned_reach=per.owned.fill_null(False),
    )
    return eng.execute(per)


def _journeys(eng: Engine, o: ir.Table, lookback_days: int, ch_bits: dict[str, int]) -> ir.Table:
    """Per outcome of a known person (``j_outcome``): the platform bits its journey touched and
    its last touch's channel. In the picture's window these are kept by every write
    (``outcome_touches``, derived.py); another window joins the touches."""
    kept = _kept_bits(eng, list(ch_bits)) if lookback_days == LOOKBACK_DAYS else None
    if kept is not None:
        ot = eng.table("outcome_touches")
        group_mask: dict[int, int] = {}
        for c, b in ch_bits.items():
            group_mask[b] = group_mask.get(b, 0) | 1 << kept[c]
        journey: ir.IntegerValue = ibis.literal(0, "int64")
        for b, gm in group_mask.items():
            # a platform's bit when the journey touched any of its channels
            on = (ot.channel_mask & ibis.literal(gm, "int64")) != 0
            journey = journey + ibis.ifelse(on, ibis.literal(1 << b, "int64"), 0)
        return ot.select(j_outcome=ot.outcome_id, journey=journey, last_channel=ot.last_channel)
    t = eng.table("touchpoints").select(t_person="person_id", t_ts="ts", t_channel="channel_id")
    withp = o.filter(o.person_id.notnull())
    window = ibis.interval(days=lookback_days)
    j = withp.join(
        t, [withp.person_id == t.t_person, t.t_ts <= withp.ts, t.t_ts >= withp.ts - window]
    )
    j = j.mutate(bit=_bits(j.t_channel, ch_bits))
    return j.group_by(j.outcome_id.name("j_outcome")).agg(
        journey=j.bit.bit_or(),
        last_channel=j.t_channel.first(order_by=[j.t_ts.desc(), j.t_channel.asc()]),
    )


def _distinct(codes: np.ndarray, n: int) -> int:
    """How many distinct codes in 0..n-1 (a marker array: linear, no sort or hash)."""
    seen = np.zeros(n, dtype=bool)
    seen[codes] = True
    return int(seen.sum())


def _verdict(r: dict[str, Any]) -> str:
    name = r["platform"]
    if r["owned"]:
        return (
            f"Channels you own ({r['channels']}) bring {r['share_of_dollars']:.0%} of the "
            f"dollars and {r['share_of_outcomes']:.0%} of the outcomes; no platform can take "
            "them away."
        )
    text = (
        f"{name} brings {r['share_of_dollars']:.0%} of the dollars and "
        f"{r['share_of_outcomes']:.0%} of the outcomes with {r['share_of_audience']:.0%} of "
        "your followers"
    )
    if r["people_at_risk"]:
        text += (
            f"; if it disappeared, {r['dollars_at_risk_low']:,.0f} to "
            f"{r['dollars_at_risk_high']:,.0f} {r['currency'] or ''} would be at risk, and "
            f"{r['rescuable']:.0%} of those {r['people_at_risk']:,} people can be reached "
            "without it"
        )
    return text.replace("  ", " ") + "."


def _concentration(t: pd.DataFrame) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for what, col in (("outcomes", "outcomes"), ("dollars", "dollars"), ("audience", "followers")):
        values = t[col].clip(lower=0).to_numpy(float) if col in t else np.zeros(0)
        h = hhi(values)
        top = None
        if h is not None:
            i = int(np.argmax(values))
            top = {"name": str(t.index[i]), "share": float(values[i] / values.sum())}
        out[what] = {"hhi": h, "effective": 1 / h if h else None, "top": top}
    return out


def _by_channel(df: pd.DataFrame, followers: pd.DataFrame) -> pd.DataFrame:
    """Outcomes and dollars per channel (the picture's credit), with followers."""
    per = df.groupby("channel").agg(outcomes=("money", "size"), dollars=("money", "sum"))
    fol = followers.set_index("channel_id")["followers"]
    return per.join(fol, how="outer").fillna(0.0)


def _monthly(df: pd.DataFrame, groups: list[str]) -> list[dict[str, Any]]:
    """HHI of dollars (and of outcomes) across platforms per month, with the linear trend."""
    if df.empty:
        return []
    months = df["ts"].to_numpy().astype("datetime64[M]")
    # one group-by for every (month, platform) cell instead of one per month
    cells = (
        pd.DataFrame({"month": months, "group": df["group"].to_numpy(), "money": df["money"]})
        .groupby(["month", "group"], sort=True)["money"]
        .agg(["sum", "size"])
    )
    usd_all = cells["sum"].unstack("group").reindex(columns=groups).fillna(0.0)
    cnt_all = cells["size"].unstack("group").reindex(columns=groups).fillna(0).astype(np.int64)
    per_month = cells["size"].groupby(level="month").sum()
    rows: list[dict[str, Any]] = []
    for month in usd_all.index:
        usd = usd_all.loc[month]
        h_usd, h_cnt = hhi(usd.clip(lower=0).to_numpy()), hhi(cnt_all.loc[month].to_numpy())
        top = usd.idxmax() if usd.sum() > 0 else None
        rows.append(
            {
                "month": str(np.datetime64(month, "M")),
                "outcomes": int(per_month.loc[month]),
                "hhi_dollars": h_usd,
                "hhi_outcomes": h_cnt,
                "top_platform": top,
                "top_share": float(usd.max() / usd.clip(lower=0).sum()) if top else None,
            }
        )
    ys: list[float | None] = [r["hhi_dollars"] for r in rows]
    ok = [i for i, y in enumerate(ys) if y is not None]
    if len(ok) >= 3:
        slope = float(np.polyfit(np.array(ok, float), np.array([ys[i] for i in ok], float), 1)[0])
        for r in rows:
            r["trend_per_month"] = slope
    return rows


def _owned_reach_expr(eng: Engine, listed: ir.Table) -> ir.Table:
    """People reachable without any platform: on an owned list, a phone, a customer id, or a
    purchase (``r_person``, ``owned``); ``listed`` is :func:`~.fans.listed_people`."""
    ident = eng.table("identities")
    direct = ident.filter(ident.kind.isin(["phone", "customer_id"])).select("person_id")
    a = listed
    ch = eng.table("channels").select("channel_id", ch_owned="owned")
    a = a.join(ch, "channel_id")
    a = a.filter(a.ch_owned.fill_null(False) & a.unfollowed_at.isnull())
    listed = a.select("person_id")
    buyers = rfm.purchases(eng.table("outcomes")).select("person_id")
    owned = ibis.union(direct, listed, buyers).distinct()
    owned = owned.filter(owned.person_id.notnull())
    return owned.select(r_person=owned.person_id, owned=ibis.literal(True))


def _owned_vs_rented(
    eng: Engine,
    codes: dict[str, int],
    ch_group: dict[str, str],
    listed: ir.Table,
    reach: ir.Table,
) -> tuple[float | None, float | None, int]:
    """Of the people the business knows: the share it can reach without any platform, and the
    share it knows through one rented platform only (its identities and list places there)."""
    rented = {g: i for g, i in codes.items() if g != OWNED}
    ident = eng.table("identities")
    ident = ident.filter(ident.platform.notnull()).select("person_id", key=ident.platform)
    a = listed.select("person_id", key=listed.channel_id)
    a = a.mutate(
        key=ibis.cases(*[(a.key == c, ibis.literal(g)) for c, g in ch_group.items()], else_=a.key)
        if ch_group
        else a.key
    )
    both = ibis.union(ident, a)
    both = both.filter(both.person_id.notnull())
    both = both.mutate(b=_bits(both.key, rented))
    per = both.group_by("person_id").agg(bits=both.b.bit_or())
    people = eng.table("people").select("person_id")
    j = people.left_join(per, "person_id").drop("person_id_right")
    j = j.left_join(reach, j.person_id == reach.r_person)
    bits = j.bits.fill_null(0)
    owned = j.owned.fill_null(False)
    # exactly one rented platform: a single bit set (b & (b - 1) clears the lowest one)
    one = (bits != 0) & ((bits & (bits - 1)) == 0)
    row = eng.execute(
        j.aggregate(
            known=j.count(),
            owned=owned.cast("int64").sum(),
            one=(one & ~owned).cast("int64").sum(),
        )
    ).iloc[0]
    known = int(row["known"])
    if not known:
        return None, None, 0
    return float(row["owned"]) / known, float(row["one"]) / known, known
