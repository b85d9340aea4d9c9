"""Who is following: `truefans credibility` and the job seeker's `truefans career`.

``credibility`` scores every follower/connection in the ``audience`` table with the transparent
rule score (:mod:`truefans.credibility.rules`; reasons per follower) from whatever is there:
profile counts when a follower-profile file was imported, the username (platforms where people
choose it; not LinkedIn's generated slugs), follow-time bursts and whether they ever engaged. Per
platform it reports the followers, the likely fakes, the fake share corrected for the flag's error
rates (Rogan–Gladen, bootstrap interval), ghosts, engaged, reachable and relevant people, and the
audience-quality index: the share of listed followers who are likely real AND relevant (to
``profile``; everyone when no profile is given) AND reachable or engaged, with a Wilson interval.

``career`` answers a job seeker: LinkedIn connections at target companies and in target roles,
their growth by month, and which activities came before introductions, interviews and offers.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..credibility.behaviour import follow_bursts, never_engaged
from ..credibility.features import prepare_features
from ..credibility.model import FakeModel
from ..credibility.prevalence import ErrorRates, estimate_prevalence, estimate_prevalence_sweep
from ..credibility.relevance import Profile, match_people, normalise_company
from ..credibility.rules import BANDS, RuleScore
from ..errors import InvalidOption, NotEnoughData
from ..schema import ENGAGED_TOUCH_KINDS
from .fans import last_activity_day
from .picture import parse_day
from .result import Result

if TYPE_CHECKING:
    from ..workspace import Workspace

#: platforms whose handles are chosen by the person (username rules apply)
CHOSEN_HANDLES = (
    "meta",
    "instagram",
    "facebook",
    "x",
    "twitter",
    "tiktok",
    "threads",
    "bluesky",
    "youtube",
)
PROFILE_FIELDS = (
    "followers_count",
    "following_count",
    "posts_count",
    "has_photo",
    "bio_length",
    "has_url",
    "account_created",
    "verified",
)
OUTCOME_STEPS = ("introduction", "interview", "offer")


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float | None, float | None]:
    if n == 0:
        return None, None
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return float(max(0.0, c - h)), float(min(1.0, c + h))


def _profile(profile: Profile | str | None) -> Profile | None:
    if profile is None or isinstance(profile, Profile):
        return profile
    return Profile.load(profile)


def followers_frame(ws: Workspace, as_of: date) -> pd.DataFrame:
    """One row per current follower/connection with its profile fields, person, platform,
    username (where chosen by the person), and whether the person ever engaged or is reachable."""
    eng = ws.engine
    a = eng.table("audience")
    end = pd.Timestamp(as_of + timedelta(days=1))
    a = a.filter(
        (a.unfollowed_at.isnull() | (a.unfollowed_at >= end))
        & (a.followed_at.isnull() | (a.followed_at < end))
    )
    ident = eng.table("identities").select(
        "identity_id", i_person="person_id", i_kind="kind", i_value="value"
    )
    ch = eng.table("channels").select("channel_id", "platform", ch_kind="kind", owned="owned")
    j = a.left_join(ident, "identity_id").drop("identity_id_right")
    j = j.left_join(ch, "channel_id").drop("channel_id_right")
    j = j.mutate(person_id=j.person_id.fill_null(j.i_person))
    df = eng.execute(j)
    if df.empty:
        return df
    df["platform"] = df["platform"].fillna(df["channel_id"]).astype(str).str.lower()
    t = eng.table("touchpoints")
    t = t.filter(t.kind.isin(list(ENGAGED_TOUCH_KINDS)) & (t.ts < end))
    active = set(eng.execute(t.select("person_id").distinct())["person_id"].astype(str))
    df["engaged"] = df["person_id"].astype(str).isin(active)
    idn = eng.execute(eng.table("identities").select("person_id", "kind"))
    direct = set(idn.loc[idn["kind"].isin(["phone", "customer_id"]), "person_id"].astype(str))
    on_list = df.loc[
        (df["ch_kind"] == "email") & df["owned"].fillna(False).astype(bool), "person_id"
    ]
    direct |= set(on_list.astype(str))
    df["reachable"] = df["person_id"].astype(str).isin(direct)
    # usernames: a handle, or the last part of a profile url, on platforms where people choose it
    value = df["i_value"].astype("object")
    slug = value.where(df["i_kind"] != "profile_url", value.str.rstrip("/").str.split("/").str[-1])
    chosen = df["platform"].isin(CHOSEN_HANDLES) & df["i_kind"].isin(["handle", "profile_url"])
    df["username"] = slug.where(chosen, None)
    created = pd.to_datetime(df["account_created"])
    df["account_age_days"] = (pd.Timestamp(as_of) - created).dt.total_seconds() / 86_400.0
    for c in ("has_photo", "has_url", "verified"):
        df[c] = df[c].astype("float64")
    df["follow_burst"] = follow_bursts(df["channel_id"], df["followed_at"])
    df["never_engaged"] = never_engaged(df["followed_at"], df["engaged"], pd.Timestamp(as_of))
    return df


def score_audience(
    df: pd.DataFrame, rules: RuleScore | None = None, scorer: str = "rules"
) -> pd.DataFrame:
    """Rule score (and the trained model's where profile counts exist) for a followers frame."""
    if scorer not in ("rules", "model"):
        raise InvalidOption(f"--scorer {scorer!r}: choose rules or model")
    rules = rules or RuleScore.load()
    prepared = prepare_features(df)  # once, for both scorers
    out = rules.score(df, prepared=prepared)
    counts = df[["followers_count", "following_count", "posts_count"]].notna().all(axis=1)
    out["model_score"] = np.nan
    if counts.any():
        model = FakeModel.load()
        mask = counts.to_numpy()
        out.loc[counts, "model_score"] = model.predict_proba(
            df.loc[counts], prepared=prepared.subset(mask)
        )
    if scorer == "model":
        use = counts & ~out["insufficient"]
        out.loc[use, "fake_score"] = out.loc[use, "model_score"]
        p = out.loc[use, "fake_score"]
        out.loc[use, "band"] = np.where(p >= 0.5, BANDS[0], np.where(p >= 0.2, BANDS[1], BANDS[2]))
        no_reason = use & (out["band"] == BANDS[0]) & (out["reasons"] == "")
        out.loc[no_reason, "reasons"] = "the trained model, on the profile counts"
    return out


def credibility(
    ws: Workspace,
    profile: Profile | str | None = None,
    list_people: bool = False,
    platform: str | None = None,
    as_of: date | str | None = None,
    scorer: str = "rules",
    seed: int = 0,
) -> Result:
    """Per platform: followers, likely fakes (with the corrected fake share), ghosts, engaged,
    relevant and the audience-quality index; with ``list_people`` one row per follower."""
    prof = _profile(profile)
    as_of_d = parse_day(as_of, "--as-of") or last_activity_day(ws.engine) or date.today()
    df = followers_frame(ws, as_of_d)
    if not df.empty and platform:
        df = df[df["platform"] == platform.lower()]
    if df.empty:
        raise NotEnoughData(
            "no followers or connections in the workspace"
            + (f" for platform {platform!r}" if platform else "")
            + ": import a follower or connection export (e.g. LinkedIn Connections.csv)"
        )
    rules = RuleScore.load()
    scores = score_audience(df, rules, scorer)
    df = pd.concat([df.reset_index(drop=True), scores.reset_index(drop=True)], axis=1)
    if prof is not None:
        people = ws.engine.execute(
            ws.engine.table("people").select(
                "person_id", "company", "title", "industry", "location"
            )
        )
        m = df[["person_id"]].merge(people, on="person_id", how="left")
        matched = match_people(m, prof)
        df["relevance"] = matched["relevance"].to_numpy()
        df["relevant"] = matched["relevant"].to_numpy(dtype=bool)
        df["match_reasons"] = matched["match_reasons"].to_numpy()
    else:
        df["relevance"] = np.nan
        df["relevant"] = True
        df["match_reasons"] = ""
    assumptions: dict[str, Any] = {
        "as_of": as_of_d,
        "scorer": scorer,
        "rule_weights": rules.fitted_on_,
        "likely_fake": "fake_score >= 0.5 (rule score calibrated on SRF, 10 % fakes)",
        "engaged": "any active touch ever: " + ", ".join(ENGAGED_TOUCH_KINDS),
        "reachable": "a phone number, a customer id, or on an owned email list",
        "relevant": "matches the profile" if prof else "no profile given: everyone counts",
        "quality_index": "share of listed followers who are likely real AND relevant AND "
        "(reachable OR engaged); 95 % Wilson interval",
        "fake_share": "median sweep (Rogan–Gladen correction at every cut-off of the rule "
        "score, median) among followers the score could judge, with error rates measured out "
        "of fold on SRF; bootstrap 95 % interval",
    }
    extra: dict[str, Any] = {"profile": prof.describe() if prof else None, "as_of": as_of_d}
    if list_people:
        cols = {
            "identity_id": df["identity_id"],
            "person_id": df["person_id"],
            "platform": df["platform"],
            "channel_id": df["channel_id"],
            "fake_score": df["fake_score"],
            "likely_fake": df["band"],
            "relevance": df["relevance"],
            "relevant": df["relevant"],
            "engaged": df["engaged"],
            "reachable": df["reachable"],
            "reasons": df["reasons"],
            "match_reasons": df["match_reasons"],
            "used": df["used"],
            "model_score": df["model_score"],
        }
        table = pd.DataFrame(cols).sort_values(
            ["platform", "fake_score", "identity_id"], ascending=[True, False, True]
        )
        return Result("credibility", table.reset_index(drop=True), assumptions, extra)
    er = rules_error_rates()
    cal = RuleScore.shipped_calibration()
    followers = _follower_counts(ws, as_of_d)
    rows: list[dict[str, Any]] = []
    for plat, g in df.groupby("platform", sort=True):
        n = len(g)
        fake = g["band"] == BANDS[0]
        judged = g["band"] != BANDS[3]
        good = ~fake & g["relevant"] & (g["reachable"] | g["engaged"])
        k = int(good.sum())
        qi_low, qi_high = _wilson(k, n)
        share: dict[str, float | None] = {"estimate": None, "low": None, "high": None}
        if judged.sum() > 0 and cal is not None:
            pv = estimate_prevalence_sweep(g.loc[judged, "logit"].to_numpy(), cal, seed=seed)
            share = {"estimate": pv.estimate, "low": pv.low, "high": pv.high}
        elif judged.sum() > 0 and er is not None:
            pv = estimate_prevalence(fake[judged].to_numpy(), er, seed=seed)
            share = {"estimate": pv.estimate, "low": pv.low, "high": pv.high}
        total = float(followers.get(str(plat), n))
        total = max(total, float(n))
        rows.append(
            {
                "platform": plat,
                "followers": round(total),
                "listed": n,
                "likely_fake": int(fake.sum()),
                "suspicious": int((g["band"] == BANDS[1]).sum()),
                "insufficient_data": int((~judged).sum()),
                "fake_share": share["estimate"],
                "fake_share_low": share["low"],
                "fake_share_high": share["high"],
                "ghost": int((~g["engaged"]).sum()),
                "engaged": int(g["engaged"].sum()),
                "reachable": int(g["reachable"].sum()),
                "relevant": int(g["relevant"].sum()),
                "quality_index": k / n,
                "quality_index_low": qi_low,
                "quality_index_high": qi_high,
                "real_audience": round(total * k / n),
                "real_audience_low": None if qi_low is None else round(total * qi_low),
                "real_audience_high": None if qi_high is None else round(total * qi_high),
            }
        )
    table = pd.DataFrame(rows)
    tot = table["followers"].sum()
    table["share_of_followers"] = table["followers"] / tot if tot else 0.0
    real_tot = table["real_audience"].sum()
    table["share_of_real_audience"] = table["real_audience"] / real_tot if real_tot else 0.0
    extra["caption"] = "; ".join(
        f"{r['platform']!s}: {r['real_audience']:,} real audience of {r['followers']:,} followers"
        for r in rows
    )
    chart = {
        "type": "bar",
        "x": "platform",
        "series": ["share_of_followers", "share_of_real_audience"],
        "title": "Followers vs real audience, by platform",
    }
    return Result("credibility", table, assumptions, extra, chart)


def rules_error_rates() -> ErrorRates | None:
    """The shipped error rates of the likely-fake flag (None if the weights file has none)."""
    import json
    from importlib import resources

    d = json.loads(resources.files("truefans").joinpath("data/credibility_rules.json").read_text())
    e = d.get("error_rates", {}).get("likely_fake")
    if not e:
        return None
    return ErrorRates(
        float(e["sensitivity"]),
        float(e["specificity"]),
        int(e["n_fake"]),
        int(e["n_real"]),
        str(e.get("source", "")),
    )


def _follower_counts(ws: Workspace, as_of: date) -> dict[str, float]:
    """Followers per platform from the platforms' own audience metrics, where there are any."""
    from .fans import _followers

    f = _followers(ws.engine, as_of)
    ch = ws.engine.execute(ws.engine.table("channels").select("channel_id", "platform"))
    f = f.merge(ch, on="channel_id", how="left")
    f["platform"] = f["platform"].fillna(f["channel_id"]).astype(str).str.lower()
    return {str(k): float(v) for k, v in f.groupby("platform")["followers"].sum().items()}


def career(
    ws: Workspace,
    profile: Profile | str,
    as_of: date | str | None = None,
    lookback_days: int = 90,
) -> Result:
    """LinkedIn connections at target companies and in target roles, their growth, and which
    activities (by the person or anyone at their company) came before introductions,
    interviews and offers."""
    prof = _profile(profile)
    if prof is None:
        raise InvalidOption("career needs --profile FILE with target_companies / target_roles")
    if lookback_days < 1:
        raise InvalidOption(f"--lookback {lookback_days}: must be at least 1 day")
    eng = ws.engine
    as_of_d = parse_day(as_of, "--as-of") or last_activity_day(eng) or date.today()
    df = followers_frame(ws, as_of_d)
    people = eng.execute(
        eng.table("people").select(
            "person_id", "display_name", "company", "title", "industry", "location"
        )
    )
    conns = df[df["platform"] == "linkedin"] if not df.empty else df
    if conns.empty:
        raise NotEnoughData(
            "no LinkedIn connections: import Connections.csv from your LinkedIn data"
        )
    c = conns[["person_id", "followed_at"]].merge(people, on="person_id", how="left")
    m = match_people(c, prof)
    c = pd.concat([c.reset_index(drop=True), m.reset_index(drop=True)], axis=1)
    rows = []
    for target in prof.accounts:
        key = normalise_company(target)
        at = c[c["at_target_company"] & c["match_reasons"].str.contains(repr(target), regex=False)]
        rows.append(
            {
                "kind": "company",
                "target": target,
                "key": key,
                "connections": len(at),
                "people": ", ".join(sorted(at["display_name"].dropna().astype(str))),
                "reasons": " | ".join(sorted(set(at["match_reasons"]))),
            }
        )
    for role in prof.titles:
        hit = c[c["in_target_role"] & c["match_reasons"].str.contains(repr(role), regex=False)]
        rows.append(
            {
                "kind": "role",
                "target": role,
                "key": role.lower(),
                "connections": len(hit),
                "people": ", ".join(sorted(hit["display_name"].dropna().astype(str))),
                "reasons": " | ".join(sorted(set(hit["match_reasons"]))),
            }
        )
    table = pd.DataFrame(
        rows, columns=["kind", "target", "key", "connections", "people", "reasons"]
    )
    month = pd.to_datetime(c["followed_at"]).dt.to_period("M")
    growth = (
        pd.DataFrame(
            {
                "month": month.astype(str),
                "connections": 1,
                "at_target_companies": c["at_target_company"].astype(int),
                "in_target_roles": c["in_target_role"].astype(int),
            }
        )[month.notna().to_numpy()]
        .groupby("month")
        .sum()
        .cumsum()
        .reset_index()
    )
    paths = _activity_paths(ws, people, as_of_d, lookback_days)
    extra = {
        "profile": prof.describe(),
        "connections": len(c),
        "at_target_companies": int(c["at_target_company"].sum()),
        "in_target_roles": int(c["in_target_role"].sum()),
        "growth": growth.to_dict(orient="records"),
        "activity_before_outcomes": paths,
        "website": _website(ws, as_of_d),
    }
    assumptions = {
        "as_of": as_of_d,
        "lookback_days": lookback_days,
        "activity": "touches by the outcome's person, or by anyone at the same (normalised) "
        f"company, in the {lookback_days} days before an introduction, interview or offer",
    }
    return Result("career", table, assumptions, extra)


def _activity_paths(
    ws: Workspace, people: pd.DataFrame, as_of: date, lookback_days: int
) -> list[dict[str, Any]]:
    eng = ws.engine
    o = eng.table("outcomes")
    o = o.filter(o.type.isin(list(OUTCOME_STEPS)) & o.person_id.notnull())
    outs = eng.execute(o.select("outcome_id", "person_id", "ts", "type"))
    if outs.empty:
        return []
    t = eng.table("touchpoints")
    t = t.filter(t.ts < pd.Timestamp(as_of + timedelta(days=1)))
    touches = eng.execute(t.select("person_id", "ts", "channel_id", "kind"))
    comp = people.set_index("person_id")["company"].map(normalise_company)
    outs["company"] = outs["person_id"].map(comp).fillna("")
    touches["company"] = touches["person_id"].map(comp).fillna("")
    rows = []
    win = pd.Timedelta(days=lookback_days)
    t_ts = pd.to_datetime(touches["ts"])
    for oid, pid, ts, typ, company in zip(
        outs["outcome_id"],
        outs["person_id"],
        pd.to_datetime(outs["ts"]),
        outs["type"],
        outs["company"],
        strict=True,
    ):
        same = (touches["person_id"] == pid).to_numpy()
        if company:
            same = same | (touches["company"] == company).to_numpy()
        when = ((t_ts < ts) & (t_ts >= ts - win)).to_numpy()
        before = touches[same & when]
        for ch, kind in set(zip(before["channel_id"], before["kind"], strict=True)):
            rows.append({"type": typ, "channel_id": ch, "kind": kind, "oid": oid})
    n_by_type = outs.groupby("type")["outcome_id"].nunique()
    if not rows:
        return []
    r = pd.DataFrame(rows).groupby(["type", "channel_id", "kind"])["oid"].nunique()
    out: list[dict[str, Any]] = []
    for key, k in r.items():
        typ, ch, kind = key  # type: ignore[misc]
        out.append(
            {
                "outcome": str(typ),
                "channel_id": ch,
                "activity": kind,
                "outcomes_preceded": int(k),
                "outcomes": int(n_by_type[typ]),
                "share": int(k) / int(n_by_type[typ]),
            }
        )
    order = {s: i for i, s in enumerate(OUTCOME_STEPS)}
    return sorted(out, key=lambda d: (order[d["outcome"]], -d["share"], d["channel_id"]))


def _website(ws: Workspace, as_of: date) -> list[dict[str, Any]]:
    """Visits of owned web channels per month, and views of resume/CV pages."""
    eng = ws.engine
    ch = eng.execute(eng.table("channels").select("channel_id", "kind"))
    web = ch.loc[ch["kind"] == "web", "channel_id"].tolist()
    if not web:
        return []
    t = eng.table("touchpoints")
    t = t.filter(t.channel_id.isin(web) & (t.ts < pd.Timestamp(as_of + timedelta(days=1))))
    cont = eng.table("contents").select("content_id", "title", "url")
    j = t.left_join(cont, "content_id")
    df = eng.execute(j.select("ts", "kind", "title", "url"))
    if df.empty:
        return []
    text = (df["title"].fillna("") + " " + df["url"].fillna("")).str.lower()
    df["resume"] = text.str.contains(r"resume|résumé|\bcv\b", regex=True)
    df["month"] = pd.to_datetime(df["ts"]).dt.to_period("M").astype(str)
    g = df.groupby("month").agg(visits=("kind", "size"), resume_views=("resume", "sum"))
    return [
        {"month": m, "visits": int(r.visits), "resume_views": int(r.resume_views)}
        for m, r in g.iterrows()
    ]
