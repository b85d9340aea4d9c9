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
from .fans import _followers, last_activity_day
from .picture import LOOKBACK_DAYS, attributed_outcomes, parse_day, parse_outcomes
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
    ch_bits = {cid: codes[g] for cid, g in ch_group.items()}

    currency, _ = rfm.main_currency(eng, ws.setting("currency"))
    att = attributed_outcomes(eng, since_d, until_d, types, lookback_days)
    # the platforms each outcome's journey touched (bits), on the engine
    t = eng.table("touchpoints").select(t_person="person_id", t_ts="ts", t_channel="channel_id")
    o = att.filter(att.person_id.notnull())
    window = ibis.interval(days=lookback_days)
    j = o.join(t, [o.person_id == t.t_person, t.t_ts <= o.ts, t.t_ts >= o.ts - window])
    j = j.select("outcome_id", bit=_bits(j.t_channel, ch_bits))
    journeys = j.group_by("outcome_id").agg(journey=j.bit.bit_or())
    signed = ibis.cases(
        (att.type.isin(["refund", "fee"]), -att.value.cast("float64").abs()),
        else_=att.value.cast("float64"),
    )
    money = ibis.ifelse(
        att.value.notnull() & (att.currency == (currency or "")), signed, ibis.literal(0.0)
    )
    per_outcome = att.select(
        "outcome_id", "person_id", "ts", "type", "channel_id", money=money
    ).left_join(journeys, "outcome_id")
    df = eng.execute(per_outcome.drop("outcome_id_right"))
    df["group"] = df["channel_id"].map(ch_group).fillna("(unattributed)")
    df["journey"] = df["journey"].fillna(0).astype("int64")

    reach = _owned_reach(eng)
    as_of = until_d or last_activity_day(eng) or date.today()
    followers = _followers(eng, as_of)
    followers["group"] = followers["channel_id"].map(ch_group)
    fol_group = followers.groupby("group")["followers"].sum()

    total_out = len(df)
    total_usd = float(df["money"].sum())
    total_fol = float(fol_group.sum())
    rows = []
    reachable = set(reach.loc[reach["owned_reach"], "person_id"].astype(str))
    credited_bits = np.array(
        [np.int64(1) << codes[g] if g in codes else 0 for g in df["group"]], dtype=np.int64
    )
    all_bits = df["journey"].to_numpy(np.int64) | credited_bits
    n_platforms = np.array([int(b).bit_count() for b in all_bits], dtype=np.float64)
    money_arr = df["money"].to_numpy(np.float64)
    for g in groups:
        mine = df["group"] == g
        bit = np.int64(1) << codes[g]
        touched = (df["journey"].to_numpy() & bit) != 0
        alone = mine & ((df["journey"] & ~bit) == 0)
        assisted = touched & ~mine.to_numpy()
        assist_share = float((money_arr[assisted] / np.maximum(n_platforms[assisted], 1)).sum())
        high_mask = mine | touched
        rented = g != OWNED
        people_high = set(df.loc[high_mask & df["person_id"].notna(), "person_id"].astype(str))
        rows.append(
            {
                "platform": g,
                "owned": not rented,
                "channels": ", ".join(sorted(c for c, gg in ch_group.items() if gg == g)),
                "outcomes": int(mine.sum()),
                "share_of_outcomes": mine.sum() / total_out if total_out else 0.0,
                "dollars": float(df.loc[mine, "money"].sum()),
                "share_of_dollars": (
                    float(df.loc[mine, "money"].sum()) / total_usd if total_usd else 0.0
                ),
                "followers": float(fol_group.get(g, 0.0)),
                "share_of_audience": (
                    float(fol_group.get(g, 0.0)) / total_fol if total_fol else 0.0
                ),
                "dollars_at_risk_low": float(df.loc[alone, "money"].sum()) if rented else 0.0,
                "dollars_at_risk_high": (
                    float(df.loc[mine, "money"].sum()) + assist_share if rented else 0.0
                ),
                "people_at_risk": len(people_high) if rented else 0,
                "rescuable": (
                    len(people_high & reachable) / len(people_high)
                    if rented and people_high
                    else None
                ),
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
    table["verdict"] = [_verdict(r) for r in table.to_dict("records")]

    conc = {
        "by_platform": _concentration(table.set_index("platform")),
        "by_channel": _concentration(_by_channel(df, followers)),
    }
    monthly = _monthly(df, groups)
    owned_share, one_platform_share, known = _owned_vs_rented(eng, reach, codes, ch_bits)
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
    per = df.groupby("channel_id").agg(outcomes=("money", "size"), dollars=("money", "sum"))
    fol = followers.set_index("channel_id")["followers"]
    per = per.join(fol, how="outer").fillna(0.0)
    return per


def _monthly(df: pd.DataFrame, groups: list[str]) -> list[dict[str, Any]]:
    """HHI of dollars (and of outcomes) across platforms per month, with the linear trend."""
    if df.empty:
        return []
    d = df.assign(month=pd.to_datetime(df["ts"]).dt.to_period("M").astype(str))
    rows = []
    for month, m in d.groupby("month"):
        usd = m.groupby("group")["money"].sum().reindex(groups, fill_value=0.0)
        cnt = m.groupby("group").size().reindex(groups, fill_value=0)
        h_usd, h_cnt = hhi(usd.clip(lower=0).to_numpy()), hhi(cnt.to_numpy())
        top = usd.idxmax() if usd.sum() > 0 else None
        rows.append(
            {
                "month": month,
                "outcomes": len(m),
                "hhi_dollars": h_usd,
                "hhi_outcomes": h_cnt,
                "top_platform": top,
                "top_share": float(usd.max() / usd.clip(lower=0).sum()) if top else None,
            }
        )
    ys = [r["hhi_dollars"] for r in rows]
    ok = [i for i, y in enumerate(ys) if y is not None]
    if len(ok) >= 3:
        slope = float(np.polyfit(ok, [ys[i] for i in ok], 1)[0])
        for r in rows:
            r["trend_per_month"] = slope
    return rows


def _owned_reach(eng: Engine) -> pd.DataFrame:
    """Per person: reachable without any platform (owned list, phone, customer id, a purchase)."""
    ident = eng.table("identities")
    direct = ident.filter(ident.kind.isin(["phone", "customer_id"])).select("person_id")
    a = eng.table("audience")
    ch = eng.table("channels").select("channel_id", ch_owned="owned")
    a = a.join(ch, "channel_id").filter(lambda x: x.ch_owned.fill_null(False))
    a = a.filter(a.unfollowed_at.isnull())
    ids = eng.table("identities").select("identity_id", i_person="person_id")
    a = a.left_join(ids, "identity_id")
    listed = a.select(person_id=a.person_id.fill_null(a.i_person))
    buyers = rfm.purchases(eng.table("outcomes")).select("person_id")
    owned = ibis.union(direct, listed, buyers).distinct()
    owned = owned.filter(owned.person_id.notnull()).mutate(owned_reach=ibis.literal(True))
    people = eng.table("people").select("person_id")
    j = people.left_join(owned, "person_id")
    return eng.execute(j.select(j.person_id, owned_reach=j.owned_reach.fill_null(False)))


def _owned_vs_rented(
    eng: Engine, reach: pd.DataFrame, codes: dict[str, int], ch_bits: dict[str, int]
) -> tuple[float | None, float | None, int]:
    """Share of known people reachable without platforms, and known through one platform only."""
    owned_bit = codes.get(OWNED)
    rented_bits = {c: b for c, b in ch_bits.items() if b != owned_bit}
    t = eng.table("touchpoints").select("person_id", "channel_id")
    a = eng.table("audience")
    ids = eng.table("identities").select("identity_id", i_person="person_id")
    a = a.left_join(ids, "identity_id")
    a = a.select(person_id=a.person_id.fill_null(a.i_person), channel_id=a.channel_id)
    both = ibis.union(t, a)
    both = both.filter(both.person_id.notnull())
    both = both.mutate(b=_bits(both.channel_id, rented_bits))
    per = both.group_by("person_id").agg(bits=both.b.bit_or())
    bits = eng.execute(per)
    known = len(reach)
    if not known:
        return None, None, 0
    m = reach.merge(bits, on="person_id", how="left")
    m["bits"] = m["bits"].fillna(0).astype("int64")
    one = m["bits"].map(lambda b: b != 0 and (b & (b - 1)) == 0)
    owned_share = float(m["owned_reach"].mean())
    one_only = float((one & ~m["owned_reach"]).mean())
    return owned_share, one_only, known
