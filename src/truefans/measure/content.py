"""Which posts pay: `truefans content`.

Each content item gets the outcomes and dollars credited to the touches that carried it (journeys as
in :mod:`truefans.measure.attribution`, credited by ``model``, linear by default), beside its likes,
shares, comments and impressions (platform metrics per content, else counted from touchpoints). Also:
the Spearman rank correlation of likes with dollars with a 95 % interval (Fisher z with the
Fieller-Hartley-Pearson standard error ``sqrt(1.06 / (n - 3))``), dollars per post and per hour of
making it (a channel's cost hours spread over its posts of the cost period, else a per-format
default the user can set), and the formats and topics that pay.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import credit
from ..errors import InvalidOption, NotEnoughData
from ..schema import NEGATIVE_MONEY_TYPES, OUTCOME_TYPES
from . import attribution as attr
from .picture import parse_day, parse_outcomes
from .result import Result

if TYPE_CHECKING:
    from ..workspace import Workspace

#: hours to make one item, by format, when costs say nothing (override with ``hours_per_format``)
DEFAULT_HOURS = {
    "post": 0.5,
    "short": 1.0,
    "article": 3.0,
    "blog": 3.0,
    "newsletter": 3.0,
    "video": 6.0,
    "podcast": 4.0,
    "talk": 8.0,
    "webinar": 6.0,
}
FALLBACK_HOURS = 1.0
ENGAGEMENT = ("likes", "shares", "comments", "impressions")
TOUCH_KIND_METRIC = {
    "like": "likes",
    "share": "shares",
    "comment": "comments",
    "view": "impressions",
}


def spearman_interval(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Spearman's rho with a 95 % interval (Fisher z, Fieller et al. 1957 standard error)."""
    n = len(x)
    if n < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return {"rho": None, "low": None, "high": None, "n": n}
    rx = pd.Series(x).rank().to_numpy()
    ry = pd.Series(y).rank().to_numpy()
    rho = float(np.corrcoef(rx, ry)[0, 1])
    z = math.atanh(max(min(rho, 0.999999), -0.999999))
    se = math.sqrt(1.06 / (n - 3))
    return {
        "rho": round(rho, 4),
        "low": round(math.tanh(z - 1.96 * se), 4),
        "high": round(math.tanh(z + 1.96 * se), 4),
        "n": n,
    }


def _engagement(ws: Workspace) -> pd.DataFrame:
    eng = ws.engine
    m = eng.table("metrics")
    m = m.filter(m.content_id.notnull() & m.metric.isin(list(ENGAGEMENT)))
    met = eng.execute(m.group_by(["content_id", "metric"]).agg(v=m.value.sum()))
    t = eng.table("touchpoints")
    t = t.filter(t.content_id.notnull() & t.kind.isin(list(TOUCH_KIND_METRIC)))
    tc = eng.execute(t.group_by(["content_id", "kind"]).agg(v=t.count()))
    tc["metric"] = tc["kind"].map(TOUCH_KIND_METRIC)
    wide_m = met.pivot_table(index="content_id", columns="metric", values="v", aggfunc="sum")
    wide_t = tc.pivot_table(index="content_id", columns="metric", values="v", aggfunc="sum")
    out = pd.DataFrame(index=wide_m.index.union(wide_t.index))
    for col in ENGAGEMENT:
        a = wide_m[col] if col in wide_m else pd.Series(dtype=float)
        b = wide_t[col] if col in wide_t else pd.Series(dtype=float)
        # platform metrics when a content has them, else what the touchpoints show
        out[col] = a.reindex(out.index).fillna(b.reindex(out.index)).fillna(0.0)
    return out.reset_index(names="content_id")


def _hours(ws: Workspace, contents: pd.DataFrame, per_format: dict[str, float]) -> pd.Series:
    eng = ws.engine
    costs = eng.execute(
        eng.table("costs").select("channel_id", "period_start", "period_end", "hours")
    )
    costs = costs[costs["hours"].notna() & (costs["hours"] > 0)]
    hours = pd.Series(np.nan, index=contents.index)
    pub = pd.to_datetime(contents["published_at"])
    for _, c in costs.iterrows():
        start = pd.Timestamp(c["period_start"])
        end = pd.Timestamp(c["period_end"]) if pd.notna(c["period_end"]) else start
        end = end + pd.Timedelta(days=1)
        mask = (contents["channel_id"] == c["channel_id"]) & (pub >= start) & (pub < end)
        if mask.any():
            hours[mask] = hours[mask].fillna(0.0) + float(c["hours"]) / int(mask.sum())
    default = contents["format"].map(lambda f: per_format.get(str(f).lower(), FALLBACK_HOURS))
    return hours.fillna(default).astype(float)


def content(
    ws: Workspace,
    since: date | str | None = None,
    until: date | str | None = None,
    outcome: Iterable[str] | str | None = None,
    model: str = "linear",
    lookback: int = attr.LOOKBACK_DAYS,
    hours_per_format: dict[str, float] | None = None,
    top: int | None = None,
) -> Result:
    """Content ranked by attributed outcomes and dollars, beside its likes."""
    since_d = parse_day(since, "--since")
    until_d = parse_day(until, "--until")
    if model not in (*credit.RULE_MODELS, "markov_1", "shapley", "data_driven"):
        raise InvalidOption(
            f"--model {model!r}: content credit uses a rule model, markov_1, shapley or data_driven"
        )
    per_format = {
        **DEFAULT_HOURS,
        **{k.lower(): float(v) for k, v in (hours_per_format or {}).items()},
    }
    bad = [k for k, v in per_format.items() if not v > 0]
    if bad:
        raise InvalidOption(f"hours per format must be positive: {', '.join(bad)}")
    types = parse_outcomes(outcome) or [t for t in OUTCOME_TYPES if t not in NEGATIVE_MONEY_TYPES]
    eng = ws.engine
    outcomes = attr._outcomes(eng, types, since_d, until_d)
    if not outcomes["type"].isin(types).any():
        raise NotEnoughData(f"no outcomes of type {', '.join(types)} to credit content with")
    currency = attr._main_currency(ws, outcomes)
    net, _ = attr._money(outcomes, types, currency)
    j, _, _ = attr.build(eng, types, since_d, until_d, lookback, "content", net, outcomes)
    if model in credit.RULE_MODELS:
        cr = credit.rule_credit(j, model)
    elif model == "markov_1":
        cr = credit.markov_credit(j, 1)
    elif model == "shapley":
        cr = credit.shapley_credit(j)
    else:
        cr = credit.data_driven_credit(j)
    got = pd.DataFrame({"content_id": cr.labels, "outcomes": cr.conversions, "dollars": cr.value})
    got = got[~got["content_id"].isin([attr.NO_CONTENT, credit.NONE])]
    contents = eng.execute(
        eng.table("contents").select(
            "content_id", "channel_id", "published_at", "format", "title", "topics"
        )
    )
    if since_d is not None or until_d is not None:
        pub = pd.to_datetime(contents["published_at"])
        keep = pd.Series(True, index=contents.index)
        if since_d is not None:
            keep &= pub.isna() | (pub >= pd.Timestamp(since_d))
        if until_d is not None:
            keep &= pub.isna() | (pub < pd.Timestamp(until_d) + pd.Timedelta(days=1))
        contents = contents[keep]
    if contents.empty:
        raise NotEnoughData("no contents: import posts, articles or newsletters first")
    df = contents.merge(got, on="content_id", how="left").merge(
        _engagement(ws), on="content_id", how="left"
    )
    for col in ("outcomes", "dollars", *ENGAGEMENT):
        df[col] = df[col].fillna(0.0).astype(float)
    df["hours"] = _hours(ws, df, per_format).round(2)
    df["dollars_per_hour"] = (df["dollars"] / df["hours"]).round(2)
    df["outcomes"] = df["outcomes"].round(4)
    df["dollars"] = df["dollars"].round(2)
    df = df.sort_values(["dollars", "outcomes", "content_id"], ascending=[False, False, True])
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    corr = spearman_interval(df["likes"].to_numpy(float), df["dollars"].to_numpy(float))
    formats = _groups(df, df["format"].fillna("(none)").astype(str), "format")
    topic_rows = df.assign(topic=df["topics"].fillna("").str.split(",")).explode("topic")
    topic_rows["topic"] = topic_rows["topic"].str.strip()
    topic_rows = topic_rows[topic_rows["topic"] != ""]
    topics = _groups(topic_rows, topic_rows["topic"], "topic")
    by_channel = df.groupby("channel_id")[["likes", "dollars"]].sum()
    lk, dl = by_channel["likes"].sum(), by_channel["dollars"].clip(lower=0).sum()
    vanity: list[dict[str, Any]] = [
        {
            "channel_id": str(ch),
            "share_of_likes": round(float(r["likes"]) / lk, 4) if lk else 0.0,
            "share_of_dollars": round(max(float(r["dollars"]), 0.0) / dl, 4) if dl else 0.0,
        }
        for ch, r in by_channel.iterrows()
    ]
    vanity.sort(key=lambda r: float(r["share_of_dollars"]) - float(r["share_of_likes"]))
    cols = [
        "rank", "content_id", "channel_id", "format", "title", "topics", "published_at",
        "outcomes", "dollars", "likes", "shares", "comments", "impressions", "hours",
        "dollars_per_hour",
    ]  # fmt: skip
    table = df[cols].reset_index(drop=True)
    if top is not None:
        table = table.head(top)
    assumptions = {
        "model": model,
        "lookback_days": lookback,
        "outcome_types": types,
        "currency": currency,
        "hours": "cost hours of the content's channel in the period of its publication, spread "
        "over the posts of that period; else the per-format default",
        "hours_per_format": per_format,
        "engagement": "platform metrics per content (summed over days); else counted touches",
        "spearman_interval": "Fisher z with standard error sqrt(1.06 / (n - 3)) (Fieller et al. 1957)",
    }
    extra = {
        "likes_dollars_spearman": corr,
        "formats": formats,
        "topics": topics,
        "likes_vs_dollars_by_channel": vanity,
        "contents": len(df),
        "contents_with_outcomes": int((df["outcomes"] > 0).sum()),
    }
    chart = {"type": "scatter", "x": "likes", "y": "dollars", "title": "Likes vs dollars per post"}
    return Result("content", table, assumptions, extra, chart)


def _groups(df: pd.DataFrame, key: pd.Series, name: str) -> list[dict[str, Any]]:
    g = df.groupby(key).agg(
        posts=("content_id", "nunique"),
        outcomes=("outcomes", "sum"),
        dollars=("dollars", "sum"),
        hours=("hours", "sum"),
        likes=("likes", "sum"),
    )
    g["dollars_per_post"] = g["dollars"] / g["posts"]
    g["dollars_per_hour"] = g["dollars"] / g["hours"].where(g["hours"] > 0)
    g = g.sort_values(["dollars_per_post", "dollars"], ascending=False)
    out = []
    for k, r in g.iterrows():
        out.append(
            {
                name: str(k),
                "posts": int(r["posts"]),
                "outcomes": round(float(r["outcomes"]), 2),
                "dollars": round(float(r["dollars"]), 2),
                "dollars_per_post": round(float(r["dollars_per_post"]), 2),
                "dollars_per_hour": None
                if pd.isna(r["dollars_per_hour"])
                else round(float(r["dollars_per_hour"]), 2),
                "likes": float(r["likes"]),
            }
        )
    return out
