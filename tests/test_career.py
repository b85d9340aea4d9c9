"""The job seeker's view on the LinkedIn export fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

import truefans
from truefans.errors import InvalidOption, NotEnoughData
from truefans.measure.credibility import career

EXPORTS = Path("/work/shared/data/exports/linkedin")


@pytest.mark.skipif(not EXPORTS.exists(), reason="export fixtures not present")
def test_career_counts_targets_and_growth(tmp_path: Path) -> None:
    prof = tmp_path / "me.toml"
    prof.write_text(
        'target_companies = ["Summit Realty Corp.", "ACME Corporation"]\n'
        'target_roles = ["analyst", "marketing lead"]\n'
    )
    with truefans.open_workspace(tmp_path / "w.duckdb") as ws:
        with pytest.raises(NotEnoughData):
            career(ws, prof)
        ws.import_files([EXPORTS / "Connections.csv", EXPORTS / "messages.csv"])
        res = career(ws, prof, as_of="2024-06-30")
        with pytest.raises(InvalidOption):
            career(ws, prof, lookback_days=0)
    rows = {(r["kind"], r["target"]): r for r in res.rows}
    assert rows[("company", "Summit Realty Corp.")]["people"] == "Grace Kim"
    assert rows[("company", "ACME Corporation")]["connections"] == 0
    assert rows[("role", "analyst")]["people"] == "Maya Cohen"
    assert rows[("role", "marketing lead")]["people"] == "Noah Fischer"
    assert res.extra["connections"] == 17
    assert res.extra["at_target_companies"] == 1 and res.extra["in_target_roles"] == 2
    growth = res.extra["growth"]
    assert growth[-1]["connections"] == 17 and growth[0]["month"] == "2023-01"
    assert [g["connections"] for g in growth] == sorted(g["connections"] for g in growth)
    assert res.extra["activity_before_outcomes"] == []  # no introductions etc. imported
