"""Charts drawn from the analyses' results: Plotly figures as plain dicts, each with a title, axis
titles with units, a plain-language caption stating the finding in numbers, and its data as a
table (for screen readers, print and anyone who wants the numbers).

Builders read a :class:`~truefans.measure.result.Result` only (never the database), so the page,
the report and the API show the same numbers. :func:`from_spec` draws any analysis from its own
chart spec, so a new analysis gets a chart before it gets a hand-made builder.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..measure.result import Result, plain

#: colour-blind-safe palette (Okabe-Ito)
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


@dataclass
class Chart:
    key: str
    title: str
    caption: str
    x_title: str
    y_title: str
    data: list[dict[str, Any]]
    columns: list[str]
    rows: list[list[Any]]
    layout: dict[str, Any] = field(default_factory=dict)

    def figure(self) -> dict[str, Any]:
        layout: dict[str, Any] = {
            "title": {"text": self.title},
            "xaxis": {"title": {"text": self.x_title}, "automargin": True},
            "yaxis": {"title": {"text": self.y_title}, "automargin": True},
            "colorway": list(PALETTE),
            "margin": {"t": 50, "r": 20, "b": 60, "l": 60},
            "legend": {
                "orientation": "h",
                "x": 1,
                "xanchor": "right",
                "y": 1.0,
                "yanchor": "bottom",
            },
            "font": {"family": "system-ui, sans-serif", "size": 13},
            "paper_bgcolor": "white",
            "plot_bgcolor": "white",
        }
        for k, v in self.layout.items():
            if isinstance(v, dict) and isinstance(layout.get(k), dict):
                layout[k] = {**layout[k], **v}
            else:
                layout[k] = v
        return plain({"data": self.data, "layout": layout})


def pct(v: Any, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{float(v):.{digits}%}"


def num(v: Any, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{float(v):,.{digits}f}"


def _label(r: dict[str, Any], *keys: str) -> str:
    for k in keys:
        if r.get(k) not in (None, ""):
            return str(r[k])
    return "?"


def _bars(x: Sequence[Any], series: list[tuple[str, Sequence[Any]]], **extra: Any) -> list[dict]:
    return [
        {"type": "bar", "name": name, "x": list(x), "y": list(ys), **extra} for name, ys in series
    ]


# -- picture ----------------------------------------------------------------------------------
def picture_shares(res: Result) -> list[Chart]:
    rows = [r for r in res.rows if r.get("channel_id") != "(unattributed)"]
    if not rows:
        return []
    cur = res.assumptions.get("currency") or ""
    names = [_label(r, "channel", "channel_id") for r in rows]
    fol = [r.get("share_of_followers") or 0.0 for r in rows]
    usd = [r.get("share_of_dollars") or 0.0 for r in rows]
    gap = res.extra.get("vanity_gap") or {}
    most_fol = max(rows, key=lambda r: r.get("share_of_followers") or 0)
    most_usd = max(rows, key=lambda r: r.get("share_of_dollars") or 0)
    caption = (
        f"{_label(most_fol, 'channel', 'channel_id')} has {pct(most_fol.get('share_of_followers'))}"
        f" of the followers and brings {pct(most_fol.get('share_of_dollars'))} of the {cur}; "
        f"{_label(most_usd, 'channel', 'channel_id')} brings "
        f"{pct(most_usd.get('share_of_dollars'))} of the {cur} with "
        f"{pct(most_usd.get('share_of_followers'))} of the followers."
    )
    if gap.get("index") is not None:
        caption += (
            f" Vanity gap {num(gap['index'], 2)} (0 = followers predict {gap.get('basis')}, "
            "1 = unrelated)."
        )
    return [
        Chart(
            "picture-shares",
            "Share of followers vs share of dollars, per channel",
            caption,
            "channel",
            "share of the total (%)",
            _bars(names, [("followers", fol), (f"dollars ({cur})", usd)]),
            ["channel", "share of followers", f"share of {cur}"],
            [[n, pct(f, 1), pct(u, 1)] for n, f, u in zip(names, fol, usd, strict=True)],
            {"barmode": "group", "yaxis": {"tickformat": ".0%"}},
        )
    ]


def picture_dollars(res: Result) -> list[Chart]:
    rows = [r for r in res.rows if (r.get("dollars") or r.get("audience"))]
    if not rows:
        return []
    cur = res.assumptions.get("currency") or ""
    rows = sorted(rows, key=lambda r: -(r.get("dollars") or 0))
    names = [_label(r, "channel", "channel_id") for r in rows]
    top = rows[0]
    total = sum(r.get("dollars") or 0 for r in rows)
    caption = (
        f"{_label(top, 'channel', 'channel_id')} brought the most: {num(top.get('dollars'))} {cur}"
        f" of {num(total)} {cur} in all, from {num(top.get('audience'))} followers."
    )
    return [
        Chart(
            "picture-dollars",
            "Followers and dollars per channel",
            caption,
            "channel",
            f"{cur} brought (bars) · followers (line)",
            [
                {
                    "type": "bar",
                    "name": f"{cur} brought",
                    "x": names,
                    "y": [r.get("dollars") or 0 for r in rows],
                },
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": "followers",
                    "x": names,
                    "y": [r.get("audience") or 0 for r in rows],
                    "yaxis": "y2",
                },
            ],
            ["channel", "followers", cur, f"return per {cur} of cost"],
            [
                [
                    n,
                    num(r.get("audience")),
                    num(r.get("dollars")),
                    num(r.get("return_per_dollar"), 2),
                ]
                for n, r in zip(names, rows, strict=True)
            ],
            {
                "yaxis2": {
                    "title": {"text": "followers (people)"},
                    "overlaying": "y",
                    "side": "right",
                    "showgrid": False,
                }
            },
        )
    ]


# -- fans -------------------------------------------------------------------------------------
def fans_tiers(res: Result) -> list[Chart]:
    if "tier" in res.extra or res.table.empty or "share_of_people" not in res.table:
        return []
    rows = res.rows
    tiers = [r["tier"] for r in rows]
    cur = res.extra.get("currency") or ""
    return [
        Chart(
            "fans-tiers",
            "Share of people vs share of dollars, by tier",
            str(res.extra.get("caption") or ""),
            "engagement tier (highest reached)",
            "share of the total (%)",
            _bars(
                tiers,
                [
                    ("people", [r["share_of_people"] for r in rows]),
                    (f"dollars ({cur})", [r["share_of_dollars"] for r in rows]),
                ],
            ),
            ["tier", "people", "share of people", cur, f"share of {cur}"],
            [
                [
                    r["tier"],
                    num(r["people"]),
                    pct(r["share_of_people"], 1),
                    num(r["dollars"]),
                    pct(r["share_of_dollars"], 1),
                ]
                for r in rows
            ],
            {"barmode": "group", "yaxis": {"tickformat": ".0%"}},
        )
    ]


def fans_channels(res: Result) -> list[Chart]:
    by = plain(res.extra.get("by_channel") or [])
    by = [r for r in by if r.get("followers") or r.get("true_fans")]
    if not by:
        return []
    names = [_label(r, "channel", "channel_id") for r in by]
    best = max(by, key=lambda r: r.get("fans_per_1k_followers") or 0)
    biggest = max(by, key=lambda r: r.get("followers") or 0)
    caption = (
        f"{_label(biggest, 'channel', 'channel_id')} has the most followers "
        f"({num(biggest.get('followers'))}) and {num(biggest.get('true_fans'))} true fans among "
        f"them; {_label(best, 'channel', 'channel_id')} has the most true fans per 1,000 followers "
        f"({num(best.get('fans_per_1k_followers'), 1)})."
    )
    return [
        Chart(
            "fans-channels",
            "True fans vs followers, per channel",
            caption,
            "channel",
            "people (log scale)",
            _bars(
                names,
                [
                    ("followers", [r.get("followers") or 0 for r in by]),
                    ("true fans", [r.get("true_fans") or 0 for r in by]),
                ],
            ),
            ["channel", "followers", "true fans", "true fans per 1k followers"],
            [
                [
                    n,
                    num(r.get("followers")),
                    num(r.get("true_fans")),
                    num(r.get("fans_per_1k_followers"), 1),
                ]
                for n, r in zip(names, by, strict=True)
            ],
            {"barmode": "group", "yaxis": {"type": "log"}},
        )
    ]


# -- clv --------------------------------------------------------------------------------------
def clv_matrix(res: Result) -> list[Chart]:
    m = plain(res.extra.get("matrices"))
    if not m:
        return []
    cols = [num(g, 1) for g in m["since_last_purchase"]]
    z = m["p_alive"]
    freq = m["frequency"]
    # the finding: P(alive) of a frequent buyer who just bought vs one silent the longest
    x_hi = len(freq) - 1
    fresh, stale = z[x_hi][0], z[x_hi][-1]
    caption = (
        f"A customer with {freq[x_hi]} repeat purchases whose last purchase was just now has "
        f"P(alive) {pct(fresh)}; the same customer silent for {cols[-1]} "
        f"{m['columns'].split(' since')[0]} has {pct(stale)}."
    )
    return [
        Chart(
            "clv-matrix",
            "P(alive) by repeat purchases and time since the last one",
            caption,
            str(m["columns"]),
            "repeat purchases (frequency)",
            [
                {
                    "type": "heatmap",
                    "x": cols,
                    "y": [str(f) for f in freq],
                    "z": z,
                    "zmin": 0,
                    "zmax": 1,
                    "colorscale": "Viridis",
                    "colorbar": {"title": {"text": "P(alive)"}, "tickformat": ".0%"},
                    "hovertemplate": "%{y} purchases, %{x} since last: %{z:.0%}<extra></extra>",
                }
            ],
            ["repeat purchases", *cols],
            [[str(f), *[pct(v) for v in row]] for f, row in zip(freq, z, strict=True)],
            {"xaxis": {"type": "category"}, "yaxis": {"type": "category"}},
        )
    ]


def clv_tracking(res: Result) -> list[Chart]:
    hold = plain(res.extra.get("holdout"))
    if not hold or not hold.get("tracking"):
        return []
    tr = hold["tracking"]
    cal = plain(res.extra.get("calibration_end"))
    err = hold.get("cumulative_error_at_end")
    caption = (
        f"Fitted on purchases to {cal}, the model expected {num(hold['model_total'])} repeat "
        f"purchases afterwards; there were {num(hold['actual_total'])}"
        + (f" (cumulative total {err:+.1%} off at the end)." if err is not None else ".")
    )
    dates = [r["date"] for r in tr]
    return [
        Chart(
            "clv-tracking",
            "Cumulative repeat purchases: actual vs model",
            caption,
            "date",
            "repeat purchases (cumulative count)",
            [
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": "actual",
                    "x": dates,
                    "y": [r["actual"] for r in tr],
                },
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": "model",
                    "line": {"dash": "dash"},
                    "x": dates,
                    "y": [r["model"] for r in tr],
                },
            ],
            ["date", "actual", "model"],
            [[r["date"], num(r["actual"]), num(r["model"], 1)] for r in tr],
            {"shapes": [_vline(cal)] if cal else []},
        )
    ]


def _vline(x: Any) -> dict[str, Any]:
    return {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": x,
        "x1": x,
        "y0": 0,
        "y1": 1,
        "line": {"dash": "dot", "color": "#555"},
    }


# -- risk -------------------------------------------------------------------------------------
def risk_concentration(res: Result) -> list[Chart]:
    monthly = plain(res.extra.get("monthly") or [])
    monthly = [r for r in monthly if r.get("hhi_dollars") is not None]
    if not monthly:
        return []
    first, last = monthly[0], monthly[-1]
    trend = monthly[-1].get("trend_per_month")
    caption = (
        f"Concentration of dollars across platforms (HHI) went from {num(first['hhi_dollars'], 2)} "
        f"in {first['month']} to {num(last['hhi_dollars'], 2)} in {last['month']}"
        + (f" (trend {trend:+.3f} a month)" if trend is not None else "")
        + f"; 1 means one platform brings everything. In {last['month']} the top platform "
        f"({last.get('top_platform')}) brought {pct(last.get('top_share'))} of the dollars."
    )
    months = [r["month"] for r in monthly]
    return [
        Chart(
            "risk-concentration",
            "Concentration over time (HHI across platforms)",
            caption,
            "month",
            "HHI (0–1, 1 = one platform)",
            [
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": "dollars",
                    "x": months,
                    "y": [r["hhi_dollars"] for r in monthly],
                },
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": "outcomes",
                    "x": months,
                    "y": [r.get("hhi_outcomes") for r in monthly],
                },
            ],
            ["month", "HHI of dollars", "HHI of outcomes", "top platform", "its share"],
            [
                [
                    r["month"],
                    num(r["hhi_dollars"], 3),
                    num(r.get("hhi_outcomes"), 3),
                    r.get("top_platform") or "–",
                    pct(r.get("top_share")),
                ]
                for r in monthly
            ],
            {"yaxis": {"range": [0, 1]}},
        )
    ]


def risk_platforms(res: Result) -> list[Chart]:
    rows = res.rows
    if not rows:
        return []
    cur = res.extra.get("currency") or ""
    names = [str(r["platform"]) for r in rows]
    rented = [r for r in rows if not r.get("owned")]
    caption = ""
    if rented:
        top = max(rented, key=lambda r: r.get("dollars_at_risk_high") or 0)
        caption = (
            f"If {top['platform']} disappeared, {num(top.get('dollars_at_risk_low'))} to "
            f"{num(top.get('dollars_at_risk_high'))} {cur} would be at risk; it holds "
            f"{pct(top.get('share_of_audience'))} of the followers and brings "
            f"{pct(top.get('share_of_dollars'))} of the dollars."
        )
    return [
        Chart(
            "risk-platforms",
            "Share of audience vs share of dollars, by platform",
            caption,
            "platform",
            "share of the total (%)",
            _bars(
                names,
                [
                    ("followers", [r.get("share_of_audience") or 0 for r in rows]),
                    (f"dollars ({cur})", [r.get("share_of_dollars") or 0 for r in rows]),
                ],
            ),
            ["platform", "share of followers", f"share of {cur}", f"{cur} at risk (low–high)"],
            [
                [
                    r["platform"],
                    pct(r.get("share_of_audience"), 1),
                    pct(r.get("share_of_dollars"), 1),
                    f"{num(r.get('dollars_at_risk_low'))}–{num(r.get('dollars_at_risk_high'))}",
                ]
                for r in rows
            ],
            {"barmode": "group", "yaxis": {"tickformat": ".0%"}},
        )
    ]


# -- funnel -----------------------------------------------------------------------------------
def funnel_steps(res: Result, groups: int = 6) -> list[Chart]:
    rows = res.rows
    if not rows:
        return []
    steps: list[str] = list(res.extra.get("steps") or [])
    key = "scope" if res.extra.get("by") == "all" else str(res.extra.get("by") or "channel")
    by_group: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_group.setdefault(str(r.get(key, r.get("name"))), []).append(r)
    ranked = sorted(by_group.values(), key=lambda rs: -max(r["people"] for r in rs))[:groups]
    data = []
    table = []
    for rs in ranked:
        name = _label(rs[0], "name", key)
        data.append(
            {
                "type": "funnel",
                "name": name,
                "y": [r["step"] for r in rs],
                "x": [r["people"] for r in rs],
                "textinfo": "value",
            }
        )
        for r in rs:
            table.append(
                [
                    name,
                    r["step"],
                    num(r["people"]),
                    pct(r.get("rate")),
                    f"{pct(r.get('rate_low'))}–{pct(r.get('rate_high'))}",
                ]
            )
    first = ranked[0]
    worst = min(
        (r for r in first if r.get("rate") is not None), key=lambda r: r["rate"], default=None
    )
    name = _label(first[0], "name", key)
    caption = f"Of {num(first[0]['people'])} people in the audience of {name}, {num(first[-1]['people'])} reached the last step ({first[-1]['step']}, {pct(first[-1].get('share_of_first'), 1)})"
    if worst is not None:
        caption += f"; the steepest drop is into {worst['step']}: {pct(worst['rate'])} of the previous step (95% interval {pct(worst.get('rate_low'))}–{pct(worst.get('rate_high'))})"
    caption += "."
    return [
        Chart(
            "funnel-steps",
            f"Funnel: people at each step ({', '.join(steps)})" if steps else "Funnel",
            caption,
            "people",
            "step",
            data,
            [key, "step", "people", "step rate", "95% interval"],
            table,
            {"funnelmode": "group", "yaxis": {"type": "category"}},
        )
    ]


# -- attribution and content ------------------------------------------------------------------
def attribution_models(res: Result) -> list[Chart]:
    rows = res.rows
    if not rows:
        return []
    label = str(res.extra.get("label") or "channel")
    models: list[str] = []
    labels: list[str] = []
    for r in rows:
        if r["model"] not in models:
            models.append(r["model"])
        if str(r[label]) not in labels:
            labels.append(str(r[label]))
    share = {(r["model"], str(r[label])): r.get("share") or 0.0 for r in rows}
    data = _bars(labels, [(m, [share.get((m, lb), 0.0) for lb in labels]) for m in models])
    rec = res.extra.get("recommended_model") or models[0]
    rec_rows = sorted((r for r in rows if r["model"] == rec), key=lambda r: -(r.get("share") or 0))
    caption = ""
    if rec_rows:
        top = rec_rows[0]
        spread = [share.get((m, str(top[label])), 0.0) for m in models]
        caption = (
            f"Under the recommended model ({rec}) {top[label]} gets {pct(top.get('share'))} of the "
            f"credit; across the {len(models)} models its share ranges from {pct(min(spread))} to "
            f"{pct(max(spread))}."
        )
    return [
        Chart(
            "attribution-models",
            "Share of credit by model, side by side",
            caption,
            label,
            "share of the credit (%)",
            data,
            [label, *models],
            [[lb, *[pct(share.get((m, lb), 0.0), 1) for m in models]] for lb in labels],
            {"barmode": "group", "yaxis": {"tickformat": ".0%"}},
        )
    ]


def content_scatter(res: Result) -> list[Chart]:
    rows = res.rows
    if not rows:
        return []
    corr = plain(res.extra.get("likes_dollars_spearman") or {})
    caption = f"{len(rows):,} content items; "
    if corr.get("rho") is not None:
        caption += (
            f"the rank correlation of likes with dollars is {num(corr['rho'], 2)} (95% interval "
            f"{num(corr['low'], 2)} to {num(corr['high'], 2)})"
        )
    best = max(rows, key=lambda r: r.get("dollars") or 0)
    caption += f"; the best item ({best.get('title') or best.get('content_id')}) brought {num(best.get('dollars'))} with {num(best.get('likes'))} likes."
    cur = res.assumptions.get("currency") or ""
    by_ch: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_ch.setdefault(str(r.get("channel_id")), []).append(r)
    data = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": ch,
            "x": [r.get("likes") or 0 for r in rs],
            "y": [r.get("dollars") or 0 for r in rs],
            "text": [str(r.get("title") or r.get("content_id")) for r in rs],
        }
        for ch, rs in sorted(by_ch.items())
    ]
    top = sorted(rows, key=lambda r: -(r.get("dollars") or 0))[:50]
    return [
        Chart(
            "content-scatter",
            "Likes vs dollars per content item",
            caption,
            "likes (count)",
            f"dollars credited ({cur})",
            data,
            ["content", "channel", "likes", cur],
            [
                [
                    str(r.get("title") or r.get("content_id")),
                    r.get("channel_id"),
                    num(r.get("likes")),
                    num(r.get("dollars")),
                ]
                for r in top
            ],
        )
    ]


# -- credibility and career -------------------------------------------------------------------
def credibility_audience(res: Result) -> list[Chart]:
    rows = res.rows
    if not rows or "real_audience" not in rows[0]:
        return []  # --list: one row per follower (the bands chart shows them)
    plats = [str(r["platform"]) for r in rows]
    fol = sum(r.get("followers") or 0 for r in rows)
    real = sum(r.get("real_audience") or 0 for r in rows)
    worst = min(rows, key=lambda r: r.get("quality_index") or 0)
    caption = (
        f"Of {num(fol)} followers on {len(rows)} platform(s), an estimated {num(real)} "
        f"({pct(real / fol if fol else None)}) are a real audience: likely real, relevant and "
        f"reachable or engaged. Lowest quality: {worst['platform']}, "
        f"{num(worst.get('real_audience'))} of {num(worst.get('followers'))} "
        f"(quality index {pct(worst.get('quality_index'))})."
    )
    low = [r.get("real_audience_low") for r in rows]
    high = [r.get("real_audience_high") for r in rows]
    point = [r.get("real_audience") or 0 for r in rows]
    return [
        Chart(
            "credibility-audience",
            "Followers vs real audience, by platform",
            caption,
            "platform",
            "people (log scale)",
            [
                {
                    "type": "bar",
                    "name": "followers",
                    "x": plats,
                    "y": [r.get("followers") or 0 for r in rows],
                },
                {
                    "type": "bar",
                    "name": "real audience (95% interval)",
                    "x": plats,
                    "y": point,
                    "error_y": {
                        "type": "data",
                        "symmetric": False,
                        "array": [
                            (h - p) if h is not None else 0
                            for h, p in zip(high, point, strict=True)
                        ],
                        "arrayminus": [
                            (p - lo) if lo is not None else 0
                            for lo, p in zip(low, point, strict=True)
                        ],
                    },
                },
            ],
            [
                "platform",
                "followers",
                "real audience",
                "interval",
                "quality index",
                "likely fake",
                "never engaged",
            ],
            [
                [
                    r["platform"],
                    num(r.get("followers")),
                    num(r.get("real_audience")),
                    f"{num(r.get('real_audience_low'))}–{num(r.get('real_audience_high'))}",
                    pct(r.get("quality_index"), 1),
                    num(r.get("likely_fake")),
                    num(r.get("ghost")),
                ]
                for r in rows
            ],
            {"barmode": "group", "yaxis": {"type": "log"}},
        )
    ]


def credibility_bands(res: Result) -> list[Chart]:
    """How the listed followers were judged, per platform (the summary or the --list rows)."""
    rows = res.rows
    if not rows:
        return []
    bands = ("likely fake", "suspicious", "insufficient data", "likely real")
    counts: dict[str, dict[str, int]] = {}
    if "listed" in rows[0]:
        for r in rows:
            fake, sus, ins = (
                int(r.get(k) or 0) for k in ("likely_fake", "suspicious", "insufficient_data")
            )
            counts[str(r["platform"])] = dict(
                zip(bands, (fake, sus, ins, int(r["listed"]) - fake - sus - ins), strict=True)
            )
    elif "likely_fake" in rows[0]:
        for r in rows:
            c = counts.setdefault(str(r["platform"]), dict.fromkeys(bands, 0))
            band = str(r.get("likely_fake") or "").replace("_", " ")
            c[band if band in c else "likely real"] += 1
    if not counts:
        return []
    plats = sorted(counts)
    listed = sum(sum(c.values()) for c in counts.values())
    fake = sum(c["likely fake"] for c in counts.values())
    sus = sum(c["suspicious"] for c in counts.values())
    caption = (
        f"Of {num(listed)} followers on the lists, {num(fake)} ({pct(fake / listed if listed else None, 1)}) "
        f"look likely fake and {num(sus)} suspicious by the rule score; the rest could not be judged "
        "or look real."
    )
    return [
        Chart(
            "credibility-bands",
            "Followers on the lists by likely-fake band, per platform",
            caption,
            "platform",
            "followers on the list (count)",
            _bars(plats, [(b, [counts[p][b] for p in plats]) for b in bands]),
            ["platform", *bands],
            [[p, *[num(counts[p][b]) for b in bands]] for p in plats],
            {"barmode": "stack"},
        )
    ]


def career_growth(res: Result) -> list[Chart]:
    growth = plain(res.extra.get("growth") or [])
    if not growth:
        return []
    months = [g["month"] for g in growth]
    last = growth[-1]
    caption = (
        f"{num(last['connections'])} connections by {last['month']}: "
        f"{num(last['at_target_companies'])} at target companies and "
        f"{num(last['in_target_roles'])} in target roles."
    )
    series = [
        ("connections", "all connections"),
        ("at_target_companies", "at target companies"),
        ("in_target_roles", "in target roles"),
    ]
    return [
        Chart(
            "career-growth",
            "LinkedIn connections over time (cumulative)",
            caption,
            "month",
            "connections (cumulative count)",
            [
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": label,
                    "x": months,
                    "y": [g[k] for g in growth],
                }
                for k, label in series
            ],
            ["month", *[label for _, label in series]],
            [[g["month"], *[num(g[k]) for k, _ in series]] for g in growth],
        )
    ]


def career_activity(res: Result) -> list[Chart]:
    acts = plain(res.extra.get("activity_before_outcomes") or [])
    if not acts:
        return []
    labels = [f"{a['channel_id']} {a['activity']}" for a in acts]
    outcomes = list(dict.fromkeys(a["outcome"] for a in acts))
    order = list(dict.fromkeys(labels))
    share = {(a["outcome"], lb): a["share"] for a, lb in zip(acts, labels, strict=True)}
    top = max(acts, key=lambda a: a["share"])
    caption = (
        f"{top['channel_id']} {top['activity']} came before {num(top['outcomes_preceded'])} of "
        f"{num(top['outcomes'])} {top['outcome']}s ({pct(top['share'])})."
    )
    return [
        Chart(
            "career-activity",
            "Activity in the days before introductions, interviews and offers",
            caption,
            "channel and activity",
            "share of outcomes preceded (%)",
            _bars(order, [(o, [share.get((o, lb), 0.0) for lb in order]) for o in outcomes]),
            ["outcome", "channel and activity", "outcomes preceded", "of", "share"],
            [
                [
                    a["outcome"],
                    lb,
                    num(a["outcomes_preceded"]),
                    num(a["outcomes"]),
                    pct(a["share"], 1),
                ]
                for a, lb in zip(acts, labels, strict=True)
            ],
            {"barmode": "group", "yaxis": {"tickformat": ".0%"}},
        )
    ]


# -- mix and plan -----------------------------------------------------------------------------
def _unit_name(res: Result) -> str:
    cur = res.extra.get("currency") or ""
    return f"{cur} of purchases" if res.extra.get("target") == "dollars" else "outcomes"


def _review_note(res: Result) -> str:
    fit = res.extra.get("fit") or {}
    if fit.get("ok", True):
        return ""
    blocking = [c["message"] for c in res.extra.get("review") or [] if c["severity"] == "blocking"]
    return (
        "The model's review blocks it (" + "; ".join(blocking) + "): these numbers are not "
        "findings, and `truefans plan` uses each channel's return in the picture instead. "
    )


def _interval(low: Any, high: Any) -> str:
    if low is None or high is None or low == high:
        return "no interval: no bootstrap refits (--draws 0)"
    return f"interval {num(low)}–{num(high)}"


def mix_contributions(res: Result) -> list[Chart]:
    rows = res.rows
    if not rows:
        return []
    unit = _unit_name(res)
    names = [f"{r['channel_id']} ({r['unit']})" for r in rows]
    top = rows[0]
    base = plain((res.extra.get("fit") or {}).get("baseline_share") or {})
    caption = _review_note(res) + (
        f"{top['channel_id']} {top['unit']} contributed the most: {num(top['contribution'])} "
        f"{unit} ({_interval(top['contribution_low'], top['contribution_high'])}), "
        f"{pct(top['share'])} of the total, {num(top['roi'], 2)} per {top['unit'].rstrip('s')}"
        f"; the baseline (no marketing) is {pct(base.get('value'))} of the total."
    )
    point = [r["contribution"] for r in rows]
    return [
        Chart(
            "mix-contributions",
            "Contribution of each input, with intervals",
            caption,
            "channel (input)",
            f"contribution ({unit})",
            [
                {
                    "type": "bar",
                    "name": "contribution",
                    "x": names,
                    "y": point,
                    "error_y": {
                        "type": "data",
                        "symmetric": False,
                        "array": [
                            r["contribution_high"] - p for r, p in zip(rows, point, strict=True)
                        ],
                        "arrayminus": [
                            p - r["contribution_low"] for r, p in zip(rows, point, strict=True)
                        ],
                    },
                }
            ],
            [
                "input",
                "amount",
                f"contribution ({unit})",
                "interval",
                "share",
                "return per unit",
                "marginal return",
            ],
            [
                [
                    n,
                    num(r["amount"]),
                    num(r["contribution"]),
                    f"{num(r['contribution_low'])}–{num(r['contribution_high'])}",
                    pct(r["share"], 1),
                    f"{num(r['roi'], 2)} ({num(r['roi_low'], 2)}–{num(r['roi_high'], 2)})",
                    num(r["mroi"], 2),
                ]
                for n, r in zip(names, rows, strict=True)
            ],
        )
    ]


def mix_curves(res: Result) -> list[Chart]:
    curves = plain(res.extra.get("curves") or {})
    if not curves:
        return []
    unit = _unit_name(res)
    data: list[dict[str, Any]] = []
    table: list[list[Any]] = []
    best_name, best_gain = "", -math.inf
    for i, (name, c) in enumerate(sorted(curves.items())):
        colour = PALETTE[i % len(PALETTE)]
        x = c["weekly_amount"]
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{name} (interval)",
                "x": [*x, *x[::-1]],
                "y": [*c["high"], *c["low"][::-1]],
                "fill": "toself",
                "line": {"width": 0},
                "fillcolor": colour,
                "opacity": 0.2,
                "showlegend": False,
                "hoverinfo": "skip",
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "x": x,
                "y": c["weekly_outcome"],
                "line": {"color": colour},
            }
        )
        mid = len(x) // 2
        gain = c["weekly_outcome"][mid] - c["weekly_outcome"][0]
        if gain > best_gain:
            best_name, best_gain = name, gain
        table.append(
            [
                name,
                num(x[mid]),
                num(c["weekly_outcome"][mid]),
                f"{num(c['low'][mid])}–{num(c['high'][mid])}",
                num(x[-1]),
                num(c["weekly_outcome"][-1]),
            ]
        )
    caption = (
        f"At the most it ever spent in a week, {best_name} brings the most: "
        f"{num(best_gain)} {unit} a week more than at zero. Curves flatten where more spend "
        "brings less."
    )
    return [
        Chart(
            "mix-curves",
            "Response curves: weekly outcome at steady weekly amounts",
            caption,
            f"per week ({res.extra.get('currency') or 'dollars'} or hours, as named)",
            f"weekly outcome ({unit})",
            data,
            [
                "input",
                "amount/week (the most spent)",
                "outcome/week",
                "interval",
                "amount/week (twice that)",
                "outcome/week",
            ],
            table,
        )
    ]


def mix_weekly(res: Result) -> list[Chart]:
    wk = plain(res.extra.get("weekly") or {})
    weeks, actual = wk.get("weeks") or [], wk.get("actual") or []
    if not weeks:
        return []
    unit = _unit_name(res)
    total = sum(actual)
    best = max(range(len(actual)), key=lambda i: actual[i])
    caption = (
        f"{len(weeks)} weeks modelled, {num(total)} {unit} in all; the best week "
        f"({weeks[best]}) had {num(actual[best])}."
    )
    return [
        Chart(
            "mix-weekly",
            "The weekly target the model explains",
            caption,
            "week (starting Monday)",
            f"{unit} per week",
            [
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": "actual",
                    "x": weeks,
                    "y": actual,
                }
            ],
            ["week", unit],
            [[w, num(a)] for w, a in zip(weeks, actual, strict=True)],
        )
    ]


def plan_allocation(res: Result) -> list[Chart]:
    rows = res.rows
    if not rows:
        return []
    ex = res.extra
    unit = _unit_name(res)
    names = [f"{r['channel_id']} ({r['unit']})" for r in rows]
    top = max(rows, key=lambda r: r.get("share") or 0)
    now = ex.get("current_expected")
    caption = (
        f"Over {ex['weeks']} weeks this split is expected to bring {num(ex['expected_total'])} "
        f"{unit} ({num(ex['expected_low'])}–{num(ex['expected_high'])})"
        + (f"; carrying on as now: {num(now)}" if now is not None else "")
        + f". The largest share goes to {top['channel_id']} {top['unit']} "
        f"({pct(top['share'])}, {num(top['weekly'])} a week vs {num(top['current_weekly'])} now). "
        f"Curves: {ex['source']}."
    )
    return [
        Chart(
            "plan-allocation",
            "Planned vs current amount per week, per input",
            caption,
            "channel (input)",
            f"per week ({res.extra.get('currency') or 'dollars'} or hours)",
            _bars(
                names,
                [
                    ("planned per week", [r["weekly"] for r in rows]),
                    ("now per week (last 13 weeks)", [r["current_weekly"] for r in rows]),
                ],
            ),
            [
                "input",
                "planned per week",
                "now per week",
                "share",
                f"expected ({unit})",
                "interval",
            ],
            [
                [
                    n,
                    num(r["weekly"], 1),
                    num(r["current_weekly"], 1),
                    pct(r["share"], 1),
                    num(r["expected_outcome"]),
                    f"{num(r['expected_low'])}–{num(r['expected_high'])}",
                ]
                for n, r in zip(names, rows, strict=True)
            ],
            {"barmode": "group"},
        )
    ]


def plan_weeks(res: Result) -> list[Chart]:
    alloc = plain(res.extra.get("allocation") or {})
    weeks, inputs, amounts = alloc.get("weeks"), alloc.get("inputs"), alloc.get("amounts")
    if not weeks or not inputs or not amounts:
        return []
    dollars = [i for i, name in enumerate(inputs) if name.endswith(" dollars")]
    if not dollars:
        return []
    used = [i for i in dollars if any(row[i] for row in amounts)]
    if not used:
        return []
    totals = [sum(row[i] for i in used) for row in amounts]
    cur = res.extra.get("currency") or ""
    caption = (
        f"The plan spends {num(sum(totals))} {cur} over {len(weeks)} weeks on {len(used)} "
        f"channel(s): {num(min(totals))} to {num(max(totals))} {cur} a week."
    )
    return [
        Chart(
            "plan-weeks",
            "Planned dollars per week, by channel",
            caption,
            "week of the plan",
            f"dollars per week ({cur})",
            _bars(weeks, [(inputs[i], [row[i] for row in amounts]) for i in used]),
            ["week", *[inputs[i] for i in used]],
            [[w, *[num(row[i]) for i in used]] for w, row in zip(weeks, amounts, strict=True)],
            {"barmode": "stack"},
        )
    ]


# -- any analysis, from its own chart spec ----------------------------------------------------
def from_spec(res: Result) -> list[Chart]:
    """Draw a result from its chart spec (type bar/line/scatter/funnel, x, series, group)."""
    spec = res.chart or {}
    rows = res.rows
    x = spec.get("x")
    if not rows or not x or x not in rows[0]:
        return []
    series = [
        s for s in spec.get("series") or ([spec["y"]] if spec.get("y") else []) if s in rows[0]
    ]
    if not series:
        return []
    kind_of = str(spec.get("type") or "bar")
    kind = {"line": "scatter", "scatter": "scatter", "funnel": "funnel"}.get(kind_of, "bar")
    mode = {"line": "lines+markers", "scatter": "markers"}.get(kind_of)
    group = str(spec.get("group") or "")
    data: list[dict[str, Any]] = []
    groups: list[str | None] = (
        [*sorted({str(r.get(group)) for r in rows})] if group and group in rows[0] else [None]
    )
    for g in groups:
        sel = [r for r in rows if g is None or str(r.get(group)) == g]
        for s in series:
            tr: dict[str, Any] = {
                "type": kind,
                "name": s if g is None else f"{g}: {s}" if len(series) > 1 else g,
            }
            tr["x"] = [r.get(x) for r in sel]
            tr["y"] = [r.get(s) for r in sel]
            if mode:
                tr["mode"] = mode
            data.append(tr)
    s0 = series[0]

    def value(r: dict[str, Any]) -> float:
        v = r.get(s0)
        return float(v) if isinstance(v, int | float) else -math.inf

    best = max(rows, key=value)
    caption = f"Highest {s0.replace('_', ' ')}: {best.get(x)} at {best.get(s0)}."
    return [
        Chart(
            f"{res.analysis}-spec",
            str(spec.get("title") or res.analysis),
            caption,
            x.replace("_", " "),
            ", ".join(s.replace("_", " ") for s in series),
            data,
            [x, *([group] if group and group in rows[0] else []), *series],
            [
                [
                    r.get(x),
                    *([r.get(group)] if group and group in rows[0] else []),
                    *[r.get(s) for s in series],
                ]
                for r in rows[:200]
            ],
            {"barmode": "group"},
        )
    ]


BUILDERS: dict[str, Callable[[Result], list[Chart]]] = {
    "picture_shares": picture_shares,
    "picture_dollars": picture_dollars,
    "fans_tiers": fans_tiers,
    "fans_channels": fans_channels,
    "clv_matrix": clv_matrix,
    "clv_tracking": clv_tracking,
    "risk_concentration": risk_concentration,
    "risk_platforms": risk_platforms,
    "funnel_steps": funnel_steps,
    "attribution_models": attribution_models,
    "content_scatter": content_scatter,
    "credibility_audience": credibility_audience,
    "credibility_bands": credibility_bands,
    "career_growth": career_growth,
    "career_activity": career_activity,
    "mix_contributions": mix_contributions,
    "mix_curves": mix_curves,
    "mix_weekly": mix_weekly,
    "plan_allocation": plan_allocation,
    "plan_weeks": plan_weeks,
}


def charts_for(res: Result, names: Sequence[str]) -> list[Chart]:
    """The charts of a result: its named builders, else one from its own chart spec."""
    out: list[Chart] = []
    for n in names:
        out.extend(BUILDERS[n](res))
    if not names:
        out.extend(from_spec(res))
    return out
