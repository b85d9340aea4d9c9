"""Channels: the built-in catalogue, and UTM / referrer → channel mapping.

The mapping follows GA4's default channel grouping (source / medium / campaign patterns, in
Google's order of precedence) and then splits social, search and ads by platform, so a LinkedIn
click lands on ``linkedin`` and a paid Facebook click on ``meta_ads``. Users extend it with a
``channels.toml`` beside the workspace file::

    [channels.partner_letter]          # declare a channel of your own
    kind = "email"
    platform = "partner"
    owned = false

    [[rules]]                          # checked before the built-in rules, in order
    source = "^partner"                # regular expressions, case-insensitive; omitted = any
    medium = "^email$"
    channel = "partner_letter"

The mapping is generated as one SQL ``CASE`` expression so that it runs in the engine over
millions of rows.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ..errors import TruefansError
from ..schema import CHANNEL_KINDS


@dataclass(frozen=True)
class ChannelDef:
    channel_id: str
    name: str
    kind: str
    platform: str
    owned: bool


CATALOG: dict[str, ChannelDef] = {
    c.channel_id: c
    for c in (
        ChannelDef("linkedin", "LinkedIn", "social", "linkedin", False),
        ChannelDef("x", "X (Twitter)", "social", "x", False),
        ChannelDef("instagram", "Instagram", "social", "meta", False),
        ChannelDef("facebook", "Facebook", "social", "meta", False),
        ChannelDef("youtube", "YouTube", "social", "youtube", False),
        ChannelDef("tiktok", "TikTok", "social", "tiktok", False),
        ChannelDef("pinterest", "Pinterest", "social", "pinterest", False),
        ChannelDef("reddit", "Reddit", "social", "reddit", False),
        ChannelDef("threads", "Threads", "social", "meta", False),
        ChannelDef("bluesky", "Bluesky", "social", "bluesky", False),
        ChannelDef("social_other", "Other social", "social", "other", False),
        ChannelDef("newsletter", "Email newsletter", "email", "email", True),
        ChannelDef("website", "Website", "web", "self", True),
        ChannelDef("organic_search", "Organic search", "search", "google", False),
        ChannelDef("google_ads", "Google Ads", "paid", "google", False),
        ChannelDef("microsoft_ads", "Microsoft Ads", "paid", "microsoft", False),
        ChannelDef("meta_ads", "Meta ads", "paid", "meta", False),
        ChannelDef("linkedin_ads", "LinkedIn ads", "paid", "linkedin", False),
        ChannelDef("x_ads", "X ads", "paid", "x", False),
        ChannelDef("tiktok_ads", "TikTok ads", "paid", "tiktok", False),
        ChannelDef("youtube_ads", "YouTube ads", "paid", "google", False),
        ChannelDef("display", "Display ads", "paid", "other", False),
        ChannelDef("paid_other", "Other paid", "paid", "other", False),
        ChannelDef("shopping", "Shopping", "search", "other", False),
        ChannelDef("referral", "Referral", "referral", "other", False),
        ChannelDef("affiliates", "Affiliates", "referral", "other", False),
        ChannelDef("direct", "Direct", "direct", "self", True),
        ChannelDef("phone", "Phone line", "phone", "self", True),
        ChannelDef("sms", "SMS", "other", "self", True),
        ChannelDef("trade_shows", "Trade shows & events", "event", "self", True),
        ChannelDef("client_service", "Client service", "client_service", "self", True),
        ChannelDef("word_of_mouth", "Word of mouth", "referral", "self", True),
        ChannelDef("press", "Press", "press", "other", False),
        ChannelDef("podcast", "Podcasts & audio", "other", "other", False),
        ChannelDef("unassigned", "Unassigned", "other", "other", False),
    )
}

# GA4's source lists, abridged to the sites small businesses meet (Google's lists are longer)
_SOCIAL = {
    "linkedin": r"linkedin|lnkd\.in",
    "facebook": r"facebook|^fb$|fb\.me|m\.facebook|l\.facebook|lm\.facebook",
    "instagram": r"instagram|^ig$|l\.instagram",
    "x": r"^t\.co$|twitter|^x$|^x\.com$",
    "tiktok": r"tiktok",
    "pinterest": r"pinterest",
    "reddit": r"reddit",
    "threads": r"threads\.net|^threads$",
    "bluesky": r"bsky|bluesky",
    "youtube": r"youtube|youtu\.be",
}
_SOCIAL_OTHER = (
    r"quora|tumblr|discord|mastodon|telegram|whatsapp|vk\.com|snapchat|medium\.com|substack"
)
_SEARCH = r"google|bing|yahoo|duckduckgo|baidu|yandex|ecosia|brave|startpage|naver|aol|ask\.com"
_SHOPPING = r"amazon|ebay|etsy|shopify|shopping|walmart|alibaba|mercadolibre"
_VIDEO = r"youtube|youtu\.be|vimeo|twitch|dailymotion|wistia"
_PAID_MEDIUM = r"^(.*cp.*|ppc|retargeting|paid.*)$"
_PAID_BY_PLATFORM = {
    "linkedin": "linkedin_ads",
    "facebook": "meta_ads",
    "instagram": "meta_ads",
    "threads": "meta_ads",
    "x": "x_ads",
    "tiktok": "tiktok_ads",
    "youtube": "youtube_ads",
}

#: (channel, source regex, medium regex, campaign regex); None = any. First match wins.
BUILTIN_RULES: list[tuple[str, str | None, str | None, str | None]] = [
    ("direct", r"^\(direct\)$", r"^(\(not set\)|\(none\))?$", None),
    ("email", r"^(email|e-mail|e_mail|e mail|newsletter)$", None, None),
    ("email", None, r"^(email|e-mail|e_mail|e mail|newsletter)$", None),
    ("shopping", _SHOPPING, _PAID_MEDIUM, None),
    ("google_ads", r"google|youtube", _PAID_MEDIUM, None),
    ("microsoft_ads", r"bing|microsoft", _PAID_MEDIUM, None),
    *[
        (_PAID_BY_PLATFORM.get(p, "paid_other"), rx, _PAID_MEDIUM, None)
        for p, rx in _SOCIAL.items()
    ],
    ("paid_other", _SEARCH, _PAID_MEDIUM, None),
    ("display", None, r"^(display|banner|expandable|interstitial|cpm)$", None),
    ("paid_other", None, _PAID_MEDIUM, None),
    *[(p, rx, None, None) for p, rx in _SOCIAL.items()],
    ("social_other", _SOCIAL_OTHER, None, None),
    (
        "social_other",
        None,
        r"^(social|social-network|social-media|sm|social network|social media)$",
        None,
    ),
    ("youtube", _VIDEO, None, None),
    ("organic_search", _SEARCH, None, None),
    ("organic_search", None, r"^organic$", None),
    ("shopping", _SHOPPING, None, None),
    ("referral", None, r"^(referral|app|link)$", None),
    ("affiliates", None, r"^affiliate$", None),
    ("podcast", None, r"^(audio|podcast)$", None),
    ("sms", r"^sms$", None, None),
    ("sms", None, r"^sms$", None),
    ("trade_shows", None, r"^(event|events|trade.?show|booth|conference)$", None),
    ("phone", None, r"^(phone|call|calls)$", None),
    ("press", None, r"^(pr|press)$", None),
]
#: GA4's own group names → truefans channels (for reports that only give the group)
GA4_GROUPS = {
    "direct": "direct",
    "organic search": "organic_search",
    "paid search": "google_ads",
    "organic social": "social_other",
    "paid social": "paid_other",
    "email": "newsletter",
    "referral": "referral",
    "display": "display",
    "organic video": "youtube",
    "paid video": "youtube_ads",
    "organic shopping": "shopping",
    "paid shopping": "shopping",
    "paid other": "paid_other",
    "affiliates": "affiliates",
    "audio": "podcast",
    "sms": "sms",
    "mobile push notifications": "unassigned",
    "cross-network": "paid_other",
    "unassigned": "unassigned",
    "(other)": "unassigned",
}


def _alias(channel: str) -> str:
    return "newsletter" if channel == "email" else channel


def _rx(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def load_user_config(workspace_path: Path | None) -> dict[str, Any]:
    """The user's ``channels.toml`` beside the workspace, or an empty config."""
    if workspace_path is None:
        return {}
    path = workspace_path.parent / "channels.toml"
    if not path.exists():
        return {}
    try:
        cfg = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise TruefansError(f"{path}: not valid TOML ({e})") from e
    for cid, spec in cfg.get("channels", {}).items():
        if spec.get("kind", "other") not in CHANNEL_KINDS:
            raise TruefansError(
                f"{path}: channel {cid!r} has kind {spec.get('kind')!r}; "
                f"use one of {', '.join(CHANNEL_KINDS)}"
            )
    for i, rule in enumerate(cfg.get("rules", []), start=1):
        if "channel" not in rule:
            raise TruefansError(f"{path}: rule {i} has no 'channel'")
    return cfg


def user_channels(cfg: Mapping[str, Any]) -> dict[str, ChannelDef]:
    out = {}
    for cid, spec in cfg.get("channels", {}).items():
        kind = spec.get("kind", "other")
        out[cid] = ChannelDef(
            cid,
            spec.get("name", cid),
            kind,
            spec.get("platform", "other"),
            bool(spec.get("owned", kind in ("email", "web", "phone", "client_service", "direct"))),
        )
    return out


def channel_sql(
    source: str,
    medium: str | None = None,
    campaign: str | None = None,
    cfg: Mapping[str, Any] | None = None,
    default: str = "unassigned",
) -> str:
    """SQL CASE mapping source/medium/campaign expressions to a channel id.

    An empty source with an empty medium counts as direct, like GA4.
    """
    s = f"lower(trim(coalesce({source}, '')))"
    m = f"lower(trim(coalesce({medium}, '')))" if medium else "''"
    c = f"lower(trim(coalesce({campaign}, '')))" if campaign else "''"
    rules: list[tuple[str, str | None, str | None, str | None]] = []
    for rule in (cfg or {}).get("rules", []):
        rules.append(
            (rule["channel"], rule.get("source"), rule.get("medium"), rule.get("campaign"))
        )
    rules.extend(BUILTIN_RULES)
    whens = [f"WHEN {s} = '' AND {m} IN ('', '(none)', '(not set)') THEN 'direct'"]
    for channel, srx, mrx, crx in rules:
        conds = []
        for expr, rx in ((s, srx), (m, mrx), (c, crx)):
            if rx is not None:
                conds.append(f"regexp_matches({expr}, {_rx(rx)}, 'i')")
        if conds:
            whens.append(f"WHEN {' AND '.join(conds)} THEN {_rx(_alias(channel))}")
    return f"(CASE {' '.join(whens)} ELSE {_rx(default)} END)"


def map_source_medium(
    source: str | None,
    medium: str | None = None,
    campaign: str | None = None,
    cfg: Mapping[str, Any] | None = None,
) -> str:
    """One source/medium pair → channel id (the same rules as :func:`channel_sql`)."""
    sql = channel_sql("s", "m", "c", cfg)
    rows = (
        scalar_connection()
        .execute(
            f"SELECT {sql} FROM (SELECT ?::VARCHAR AS s, ?::VARCHAR AS m, ?::VARCHAR AS c)",
            [source, medium, campaign],
        )
        .fetchall()
    )
    return str(rows[0][0]) if rows else "unassigned"


_SCALAR: list[duckdb.DuckDBPyConnection] = []


def scalar_connection() -> duckdb.DuckDBPyConnection:
    """A private in-memory connection for one-value evaluations of the SQL rules (never the
    process-wide default connection, which user code may be using)."""
    if not _SCALAR:
        _SCALAR.append(duckdb.connect())
    return _SCALAR[0]


def ensure_channels(
    con: duckdb.DuckDBPyConnection, channel_ids: list[str], cfg: Mapping[str, Any], source_id: int
) -> list[str]:
    """Create the built-in (or user-declared) channels among ``channel_ids`` not yet declared."""
    known = {r[0] for r in con.execute("SELECT channel_id FROM channels").fetchall()}
    defs = {**CATALOG, **user_channels(cfg)}
    created = []
    for cid in channel_ids:
        if cid in known or cid not in defs:
            continue
        d = defs[cid]
        con.execute(
            "INSERT INTO channels (channel_id, name, kind, platform, owned, source_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [d.channel_id, d.name, d.kind, d.platform, d.owned, source_id],
        )
        created.append(cid)
    return created
