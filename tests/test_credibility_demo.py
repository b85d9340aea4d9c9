"""The demo's planted fake Instagram followers are flagged, and the vanity platform's audience
quality is far below its share of followers."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import truefans
from truefans.cli import app
from truefans.measure.credibility import credibility


@pytest.fixture(scope="module")
def demo(demo_path):
    with truefans.open_workspace(demo_path) as w:
        yield w


def test_planted_fake_followers_are_flagged(demo):
    listed = credibility(demo, list_people=True, platform="meta").table
    fakes = {
        r[0]
        for r in demo.con.execute(
            "SELECT person_id FROM truth_people WHERE label = 'fake_follower'"
        ).fetchall()
    }
    on_list = set(listed["person_id"])
    assert len(fakes & on_list) > 10_000
    flagged = listed[listed["likely_fake"].isin(["likely fake", "suspicious"])]
    tp = int(flagged["person_id"].isin(fakes).sum())
    precision = tp / len(flagged)
    recall = tp / len(fakes & on_list)
    assert precision >= 0.9 and recall >= 0.8, (precision, recall)
    # every follower in the likely-fake band says why
    likely = listed[listed["likely_fake"] == "likely fake"]
    assert len(likely) and all(isinstance(r, str) and r.strip() for r in likely["reasons"])


def test_vanity_platform_quality_far_below_its_follower_share(demo):
    rows = {r["platform"]: r for r in credibility(demo).rows}
    meta = rows["meta"]
    assert meta["share_of_followers"] > 0.8
    assert meta["quality_index"] < 0.3
    assert meta["real_audience"] < 0.25 * meta["followers"]
    assert rows["linkedin"]["quality_index"] > 0.9


def test_cli_credibility(demo_path):
    runner = CliRunner()
    out = runner.invoke(app, ["--workspace", str(demo_path), "credibility", "-f", "json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    for key in ("platform", "followers", "likely_fake", "relevant", "engaged", "quality_index"):
        assert key in payload["rows"][0]
    assert "profile" in payload
    out = runner.invoke(
        app,
        ["--workspace", str(demo_path), "credibility", "--list", "--platform", "meta", "-f", "csv"],
    )
    assert out.exit_code == 0
    header = out.output.splitlines()[0].split(",")
    for key in ("identity_id", "person_id", "platform", "fake_score", "likely_fake", "reasons"):
        assert key in header
