from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from truefans.ingest.common import read_head
from truefans.ingest.registry import StageContext, load_sources

DATA = Path(__file__).parent / "data" / "kit"
EXPORT = DATA / "kit_subscribers_export.csv"
OLD = DATA / "confirmed_subscribers_convertkit_2022.csv"
BAD = DATA / "kit_subscribers_bad.csv"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "exports"


def _identity_ready() -> bool:
    try:
        from truefans.ingest import identity
    except ImportError:
        return False
    return hasattr(identity, "resolve_hints")


needs_identity = pytest.mark.skipif(not _identity_ready(), reason="identity resolution not there")


def bids(path: Path) -> dict[str, float]:
    head = read_head(path)
    out = {}
    for src in load_sources().values():
        det = src.detect(path, head)
        if det is not None:
            out[det.source] = det.confidence
    return out


def stage(ws, path: Path) -> dict[str, object]:
    src = load_sources()["kit"]
    out: dict[str, object] = {}
    for st in src.stage(StageContext(con=ws.con, path=path, prefix="t1")):
        df = ws.con.execute(f'SELECT * FROM "{st.relation}" ORDER BY __row').df()
        assert len(df) + len(st.rejects) == st.rows
        out[st.table] = df
        out[st.table + "_rejects"] = st.rejects
        out[st.table + "_staged"] = st
        ws.con.execute(f'DROP TABLE "{st.relation}"')
    return out


@pytest.mark.parametrize("path", sorted(DATA.glob("*.csv")), ids=lambda p: p.name)
def test_exports_are_kit_and_nobody_outbids(path):
    got = bids(path)
    assert got.get("kit", 0) >= 0.88, got
    assert max(got, key=lambda k: got[k]) == "kit", got


def test_no_shared_export_is_taken_for_kit():
    if not SHARED.exists():
        pytest.skip("shared export fixtures not present")
    for path in SHARED.rglob("*.csv"):
        assert "kit" not in bids(path), path


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
    reports = ws.import_files([EXPORT, OLD])
    assert all(r.status == "ok" and r.rejected == 0 for r in reports), reports
    assert ws.count("audience") == 8
    name = ws.con.execute(
        "SELECT p.display_name, p.company FROM people p JOIN identities i USING (person_id) "
        "WHERE i.value = 'ada.lindqvist@example.com'"
    ).fetchone()
    assert name == ("Ada Lindqvist", "Brightleaf Dental")
    current = ws.con.execute(
        "SELECT count(*) FROM audience WHERE unfollowed_at IS NULL"
    ).fetchone()[0]
    assert current == 5
    again = ws.import_files([EXPORT, OLD])
    assert sum(r.added for r in again) == 0


@needs_identity
def test_bad_file_good_rows_land_and_rejects_are_listed(ws):
    (r,) = ws.import_files([BAD])
    assert r.status == "rejects" and r.added == 1 and r.rejected == 3
    rej = ws.rejects()
    assert list(rej["row"]) == [2, 3, 4]
    assert list(rej["column"]) == ["email_address", "state", "followed_at"]
