from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sources_helpers import (
    SHARED,
    TEST_DATA,
    assert_never_taken,
    assert_reimport_adds_nothing,
    assert_wins,
    files,
    import_ok,
    import_with_rejects,
    needs_identity,
    needs_shared,
    scalar,
    stage_frames,
)

DATA = TEST_DATA / "kit"
EXPORT = DATA / "kit_subscribers_export.csv"
OLD = DATA / "confirmed_subscribers_convertkit_2022.csv"
BAD = DATA / "kit_subscribers_bad.csv"


def stage(ws, path: Path) -> dict[str, object]:
    return stage_frames(ws, "kit", path)


@pytest.mark.parametrize("path", sorted(DATA.glob("*.csv")), ids=lambda p: p.name)
def test_exports_are_kit_and_nobody_outbids(path):
    assert_wins(path, "kit", at_least=0.88)


@needs_shared()
def test_no_shared_export_is_taken_for_kit():
    assert_never_taken("kit", files(SHARED, "*.csv"))


def test_subscribers_stage_audience_with_states(ws):
    out = stage(ws, EXPORT)
    aud = out["audience"]
    assert isinstance(aud, pd.DataFrame)
    st = out["audience_staged"]
    assert st.primary_identity == "email" and not st.local_times  # type: ignore[attr-defined]
    assert len(aud) == 6 and set(aud["channel_id"]) == {"newsletter"}
    by = aud.set_index("__email")
    assert by.loc["ada.lindqvist@example.com", "followed_at"] == "2024-01-10T10:00:59"
    assert pd.isna(by.loc["ada.lindqvist@example.com", "unfollowed_at"])
    assert by.loc["ada.lindqvist@example.com", "__company"] == "Brightleaf Dental"
    assert by.loc["ada.lindqvist@example.com", "__last_name"] == "Lindqvist"
    assert pd.isna(by.loc["grace.kim@example.com", "unfollowed_at"])  # cold is still subscribed
    for gone in ("farid.haddad@example.com", "hugo.martin@example.com", "ines.moreau@example.com"):
        assert by.loc[gone, "unfollowed_at"] == by.loc[gone, "followed_at"], gone
    assert "3 subscriber(s)" in st.note  # type: ignore[attr-defined]


def test_older_convertkit_export_without_state_and_with_offsets(ws):
    aud = stage(ws, OLD)["audience"]
    assert isinstance(aud, pd.DataFrame)
    assert list(aud["followed_at"]) == ["2022-04-18T18:02:18", "2022-03-17T22:01:17"]
    assert aud["unfollowed_at"].isna().all()


def test_bad_rows(ws):
    out = stage(ws, BAD)
    rejects = [(r, c, why) for r, c, why, _ in out["audience_rejects"]]  # type: ignore[attr-defined]
    assert rejects == [
        (2, "email_address", "not an email address: 'not an email'"),
        (
            3,
            "state",
            "not a Kit subscriber state (active, inactive, cancelled, bounced, complained, "
            "cold): 'sleeping'",
        ),
    ]


@needs_identity
def test_import_end_to_end_and_reimport_adds_nothing(ws):
    import_ok(ws, [EXPORT, OLD])
    assert ws.count("audience") == 8
    name = ws.con.execute(
        "SELECT p.display_name, p.company FROM people p JOIN identities i USING (person_id) "
        "WHERE i.value = 'ada.lindqvist@example.com'"
    ).fetchone()
    assert name == ("Ada Lindqvist", "Brightleaf Dental")
    assert scalar(ws, "SELECT count(*) FROM audience WHERE unfollowed_at IS NULL") == 5
    assert_reimport_adds_nothing(ws, [EXPORT, OLD])


@needs_identity
def test_bad_file_good_rows_land_and_rejects_are_listed(ws):
    import_with_rejects(
        ws, BAD, added=1, rows=[2, 3, 4], columns=["email_address", "state", "followed_at"]
    )
