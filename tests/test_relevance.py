"""Relevance matching: company and title normalisation, and exact matches on a real export."""

from __future__ import annotations

from pathlib import Path

import pytest

import truefans
from truefans.credibility.relevance import (
    Profile,
    match_company,
    match_title,
    normalise_company,
    seniority,
)
from truefans.errors import InvalidOption
from truefans.measure.credibility import credibility

EXPORTS = Path("/work/shared/data/exports/linkedin")


@pytest.mark.parametrize(
    "name", ["Acme, Inc", "ACME Corporation", "acme", "Acme Inc.", "The Acme Co"]
)
def test_acme_variants_are_one_company(name: str) -> None:
    assert normalise_company(name) == "acme"
    m = match_company(name, ["Acme"])
    assert m.matched and "'Acme'" in m.reason


def test_acme_bank_is_not_acme_foods() -> None:
    assert not match_company("Acme Bank", ["Acme Foods"]).matched
    assert not match_company("Acme Foods", ["Acme Bank"]).matched
    assert not match_company("Acme Bank", ["Acme"]).matched
    assert match_company("Acme Foods, LLC", ["Acme Foods"]).matched


def test_close_spelling_matches_and_says_so() -> None:
    m = match_company("Nortwind Analytics", ["Northwind Analytics"])
    assert m.matched and "spelt close" in m.reason


def test_titles_and_seniority() -> None:
    assert match_title("Sr. Product Mgr, Payments", ["product manager"]).matched
    assert not match_title("Product Designer", ["product manager"]).matched
    assert seniority("VP Sales") == "vp"
    assert seniority("Chief Executive Officer") == "c_level"
    assert seniority("Co-owner") == "owner"
    assert seniority("Head of Operations") == "director"
    assert seniority("Geschäftsführerin") == "c_level"
    assert seniority("Estimator") is None


def test_bad_profiles_are_named(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text("acounts: [Acme]\n")
    with pytest.raises(InvalidOption, match="unknown key"):
        Profile.load(p)
    p.write_text("seniority: [boss]\n")
    with pytest.raises(InvalidOption, match="seniority boss unknown"):
        Profile.load(p)
    t = tmp_path / "p.toml"
    t.write_text('target_companies = ["Acme"]\ntarget_roles = ["analyst"]\n')
    prof = Profile.load(t)
    assert prof.kind == "career" and prof.accounts == ["Acme"] and prof.titles == ["analyst"]


@pytest.mark.skipif(not EXPORTS.exists(), reason="export fixtures not present")
def test_exact_matches_on_linkedin_connections(tmp_path: Path) -> None:
    prof = tmp_path / "who.yaml"
    prof.write_text(
        "accounts: ['Northwind Analytics, Inc', BRIGHTLEAF DENTAL, Patel and Sons Hardware, "
        "Acme Foods]\ntitles: [practice manager, founder]\nseniority: [owner]\n"
    )
    with truefans.open_workspace(tmp_path / "w.duckdb") as ws:
        reports = ws.import_files([EXPORTS / "Connections.csv"])
        assert all(r.status == "ok" for r in reports)
        res = credibility(ws, profile=prof, list_people=True)
        people = ws.engine.execute(ws.engine.table("people").select("person_id", "display_name"))
    t = res.table.merge(people, on="person_id")
    got = {r.display_name: r.match_reasons for r in t.itertuples() if r.relevant}
    assert got == {
        "Ada Lindqvist": "company 'Northwind Analytics' is target 'Northwind Analytics, Inc' "
        "(as 'northwind analytics')",
        "Carmen Ruiz": "company 'Brightleaf Dental' is target 'BRIGHTLEAF DENTAL' (as "
        "'brightleaf dental'); title 'Practice Manager' is role 'practice manager'",
        "Dev Patel": "company 'Patel & Sons Hardware' is target 'Patel and Sons Hardware' (as "
        "'patel and sons hardware')",
        "Elena Petrova": "title 'Founder' is role 'founder'; seniority owner (from title 'Founder')",
        "Ben Okafor": "seniority owner (from title 'Owner')",
        "Farid Haddad": "seniority owner (from title 'Partner')",
        "Keiko Tanaka": "seniority owner (from title 'Principal')",
        "Inès Moreau": "seniority owner (from title 'Co-owner')",
    }
