"""UTM / referrer -> channel, following GA4's default channel grouping, split by platform."""

from __future__ import annotations

import pytest

import truefans
from truefans.errors import TruefansError
from truefans.ingest.channels import CATALOG, load_user_config, map_source_medium


@pytest.mark.parametrize(
    "source,medium,channel",
    [
        ("(direct)", "(none)", "direct"),
        (None, None, "direct"),
        ("google", "organic", "organic_search"),
        ("bing", "organic", "organic_search"),
        ("google", "cpc", "google_ads"),
        ("bing", "cpc", "microsoft_ads"),
        ("facebook", "paid", "meta_ads"),
        ("l.instagram.com", "referral", "instagram"),
        ("lnkd.in", None, "linkedin"),
        ("linkedin", "paid_social", "linkedin_ads"),
        ("t.co", "referral", "x"),
        ("youtube.com", "referral", "youtube"),
        ("newsletter", "email", "newsletter"),
        ("mailchimp", "email", "newsletter"),
        ("partner.example", "referral", "referral"),
        ("adnetwork", "display", "display"),
        ("expo", "event", "trade_shows"),
        ("somewhere", "carrier-pigeon", "unassigned"),
    ],
)
def test_builtin_rules(source, medium, channel):
    assert map_source_medium(source, medium) == channel
    assert channel in CATALOG


def test_user_rules_come_first_and_declare_channels(tmp_path):
    (tmp_path / "channels.toml").write_text(
        '[channels.partner_letter]\nkind = "email"\nplatform = "partner"\nowned = false\n\n'
        '[[rules]]\nsource = "^partner"\nmedium = "^email$"\nchannel = "partner_letter"\n'
    )
    ws = truefans.open_workspace(tmp_path / "w.duckdb")
    cfg = ws.channel_config()
    assert map_source_medium("partner-news", "email", cfg=cfg) == "partner_letter"
    assert map_source_medium("mailchimp", "email", cfg=cfg) == "newsletter"
    ws.close()
    (tmp_path / "channels.toml").write_text('[channels.x2]\nkind = "telepathy"\n')
    with pytest.raises(TruefansError, match="telepathy"):
        load_user_config(tmp_path / "w.duckdb")
