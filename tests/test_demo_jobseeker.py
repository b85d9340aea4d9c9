"""The job-seeker demo: built through the real importers, and `career` / the jobseeker funnel
agree with the truth it plants."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

import truefans
from truefans.cli import app
from truefans.demo import build_demo
from truefans.demo.jobseeker import DECOYS, TARGETS, generate
from truefans.errors import TruefansError
from truefans.measure.credibility import career
from truefans.measure.funnel import funnel


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("jobseeker") / "jobsearch.duckdb"
    with truefans.open_workspace(path) as ws:
        summary = build_demo(ws, seed=7, size="small", persona="jobseeker")
        yield ws, summary


@pytest.fixture(scope="module")
def career_result(demo):
    ws, summary = demo
    return career(ws, summary["profile"])


def _truth_people(ws) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for pid, label in ws.con.execute("SELECT person_id, label FROM truth_people").fetchall():
        out[label].add(pid)
    return out


def _names(ws) -> dict[str, str]:
    return dict(ws.con.execute("SELECT person_id, display_name FROM people").fetchall())


def test_generation_is_deterministic_per_seed() -> None:
    a, b, c = generate(7), generate(7), generate(8)
    assert a.files == b.files and a.truth == b.truth and a.params == b.params
    assert a.files["Connections.csv"] != c.files["Connections.csv"]
    # LinkedIn's own layout: the Notes: preamble, then its header and DD Mon YYYY dates
    text = a.files["Connections.csv"].decode()
    assert text.startswith("Notes:\n")
    assert "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n" in text
    for line in text.splitlines()[4:]:
        dt.datetime.strptime(line.rsplit(",", 1)[1], "%d %b %Y")


def test_built_through_the_linkedin_importer_with_its_truth(demo) -> None:
    ws, summary = demo
    imports = ws.imports()
    by_file = dict(zip(imports["path"].map(lambda p: Path(p).name), imports["table"], strict=True))
    assert by_file["Connections.csv"] == "audience" and by_file["messages.csv"] == "touchpoints"
    assert ws.count("rejects") == 0
    assert ws.setting("demo_persona") == "jobseeker" and ws.setting("demo_seed") == "7"
    # every connection is one person: the LinkedIn import found the people already known
    assert summary["connections"] == 600
    assert ws.con.execute("SELECT count(*) FROM audience").fetchone() == (600,)
    row = ws.con.execute(
        "SELECT count(DISTINCT person_id) FROM identities WHERE kind = 'profile_url'"
    ).fetchone()
    assert row == (600,)
    assert ws.count("truth") == ws.count("outcomes") > 0
    prof = Path(summary["profile"])
    assert prof.exists() and prof.parent == ws.path.parent
    assert "Acme Inc." in prof.read_text()


def test_the_same_seed_builds_the_same_workspace(demo, tmp_path: Path) -> None:
    ws, _ = demo
    queries = [
        "SELECT person_id, display_name, company, title FROM people ORDER BY ALL",
        "SELECT touch_id, person_id, ts, channel_id, kind FROM touchpoints ORDER BY ALL",
        "SELECT outcome_id, person_id, ts, type FROM outcomes ORDER BY ALL",
        "SELECT identity_id, person_id, followed_at FROM audience ORDER BY ALL",
        "SELECT * EXCLUDE (source_id) FROM truth ORDER BY ALL",
    ]
    with truefans.open_workspace(tmp_path / "again.duckdb") as again:
        build_demo(again, seed=7, persona="jobseeker")
        for q in queries:
            assert again.con.execute(q).fetchall() == ws.con.execute(q).fetchall(), q


def test_career_finds_exactly_the_planted_connections_at_target_companies(
    demo, career_result
) -> None:
    ws, _ = demo
    truth = _truth_people(ws)
    names = _names(ws)
    found = {
        (r["target"], name)
        for r in career_result.rows
        if r["kind"] == "company" and r["people"]
        for name in r["people"].split(", ")
    }
    planted = {
        (label.split(":", 1)[1], names[pid])
        for label, pids in truth.items()
        if label.startswith("target_company:")
        for pid in pids
    }
    assert len(planted) >= 30 and {t for t, _ in planted} == set(TARGETS)
    tp = len(found & planted)
    precision, recall = tp / len(found), tp / len(planted)
    assert precision == 1.0 and recall == 1.0, found ^ planted
    assert career_result.extra["at_target_companies"] == len(planted)
    # the decoys ("Acme Bank", "Northwind Logistics" ...) are connections and match nothing
    decoy_names = {names[p] for p in truth["decoy_company"]}
    assert len(decoy_names) >= 10
    assert not decoy_names & {n for _, n in found}
    companies = dict(
        ws.con.execute(
            "SELECT person_id, company FROM people WHERE person_id IN "
            "(SELECT person_id FROM truth_people WHERE label LIKE 'target_company:%' "
            "OR label = 'decoy_company')"
        ).fetchall()
    )
    assert {companies[p] for p in truth["decoy_company"]} <= set(DECOYS)
    acme = {companies[p] for p in truth["target_company:Acme Inc."]}
    assert {"Acme, Inc", "ACME Corporation", "acme"} <= acme <= set(TARGETS["Acme Inc."])
    # the target roles, under their title variants
    role_found = {
        name
        for r in career_result.rows
        if r["kind"] == "role" and r["people"]
        for name in r["people"].split(", ")
    }
    assert role_found == {names[p] for p in truth["target_role"]}


def test_jobseeker_funnel_counts_agree_with_the_planted_truth(demo) -> None:
    ws, _ = demo
    expected = json.loads(ws.setting("demo_params"))["funnel"]
    for by, key in (("channel", "channel"), ("all", "scope")):
        res = funnel(ws, by=by, persona="jobseeker")
        got: dict[str, dict[str, int]] = defaultdict(dict)
        for r in res.rows:
            got[str(r[key])][r["step"]] = int(r["people"])
        for group, counts in got.items():
            assert counts == expected[group], group
        assert set(got) == ({"(all)"} if by == "all" else set(expected) - {"(all)"})
    assert expected["linkedin"]["interview"] > 10 and expected["linkedin"]["offer"] > 0


def test_the_path_to_interviews_points_at_what_caused_them(demo, career_result) -> None:
    ws, _ = demo
    params = json.loads(ws.setting("demo_params"))
    paths = career_result.extra["activity_before_outcomes"]
    causes = params["causes"]
    for outcome in ("introduction", "interview"):
        causal = {tuple(x) for x in params["causal_activities"][outcome]}
        rows = [r for r in paths if r["outcome"] == outcome]
        share = {(r["channel_id"], r["activity"]): r["share"] for r in rows}
        # every true cause came before its outcome: each causal activity precedes at least the
        # outcomes it caused
        n = sum(1 for c in causes if c["type"] == outcome)
        assert rows and rows[0]["outcomes"] == n
        for ch, act in causal:
            caused = sum(
                1
                for c in causes
                if c["type"] == outcome and (c["channel_id"], c["activity"]) == (ch, act)
            )
            assert share.get((ch, act), 0.0) >= caused / n
        # likes and comments on posts (the most frequent activity) caused nothing and come
        # after the causes. Site visits from the same company can tie with them in one world
        # (seed 7: one visitor from a company precedes several interviews there): see the
        # test over several worlds below
        posts = [
            v for k, v in share.items() if k in {("linkedin", "like"), ("linkedin", "comment")}
        ]
        assert posts and min(share[k] for k in causal) > max(posts), share
    intro = [r for r in paths if r["outcome"] == "introduction"]
    assert (intro[0]["channel_id"], intro[0]["activity"], intro[0]["share"]) == (
        "linkedin",
        "message",
        1.0,
    )
    stored = dict(ws.con.execute("SELECT outcome_id, channel_id FROM truth").fetchall())
    assert stored == {c["outcome_id"]: c["channel_id"] for c in causes}


def test_over_several_worlds_the_causes_lead_the_path_to_interviews(
    demo, career_result, tmp_path: Path
) -> None:
    """Averaged over three seeds, each planted cause precedes a larger share of interviews
    than any activity that caused none (likes, comments, website visits)."""
    worlds = [(demo[0], career_result)]
    for seed in (1, 2):
        ws = truefans.open_workspace(tmp_path / f"s{seed}.duckdb")
        summary = build_demo(ws, seed=seed, persona="jobseeker")
        worlds.append((ws, career(ws, summary["profile"])))
    pooled: dict[tuple[str, str], float] = defaultdict(float)
    for _, res in worlds:
        for r in res.extra["activity_before_outcomes"]:
            if r["outcome"] == "interview":
                pooled[(r["channel_id"], r["activity"])] += r["share"] / len(worlds)
    for ws, _ in worlds[1:]:
        ws.close()
    causal = {("linkedin", "message"), ("referrals", "referral")}
    noise = {k: v for k, v in pooled.items() if k not in causal}
    assert ("website", "visit") in noise and ("linkedin", "like") in noise
    assert min(pooled[k] for k in causal) > max(noise.values()) + 0.2, dict(pooled)


def test_website_visits_and_resume_views_are_a_channel(career_result) -> None:
    site = career_result.extra["website"]
    assert sum(m["visits"] for m in site) > 100
    assert 0 < sum(m["resume_views"] for m in site) < sum(m["visits"] for m in site)


def test_cli_demo_jobseeker_prints_the_career_picture(tmp_path: Path, career_result) -> None:
    ws_path = tmp_path / "js.duckdb"
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["--workspace", str(ws_path), "demo", "--persona", "jobseeker", "--format", "json"],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["career"]["analysis"] == "career" and payload["funnel"]["analysis"] == "funnel"
    assert payload["funnel"]["persona"] == "jobseeker"
    assert payload["career"]["rows"] == json.loads(json.dumps(career_result.rows))
    assert payload["demo"]["connections"] == 600
    res = runner.invoke(
        app,
        ["--workspace", str(ws_path), "demo", "--persona", "jobseeker"],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "600 connections;" in out and "at target companies" in out
    assert "Activity before introductions, interviews and offers" in out
    assert "Funnel: people at each step" in out
    profile = tmp_path / "js.career.toml"
    assert f"career --profile {profile}" in out.replace("\n", "")
    again = runner.invoke(
        app, ["--workspace", str(ws_path), "career", "--profile", str(profile), "-f", "csv"]
    )
    assert again.exit_code == 0 and again.stdout.startswith("kind,target,key,connections")


def test_demo_refuses_an_unknown_persona_and_the_users_own_data(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["--workspace", str(tmp_path / "x.duckdb"), "demo", "--persona", "x"])
    assert res.exit_code == 2 and "jobseeker" in res.output
    with truefans.open_workspace(tmp_path / "mine.duckdb") as ws:
        with pytest.raises(TruefansError, match="persona"):
            build_demo(ws, persona="nobody")
        conn = ws.path.parent / "Connections.csv"
        conn.write_bytes(generate(3).files["Connections.csv"])
        ws.import_files([conn])
        with pytest.raises(TruefansError, match="your own imports"):
            build_demo(ws, persona="jobseeker")
        assert ws.con.execute("SELECT count(*) FROM audience").fetchone() == (600,)
