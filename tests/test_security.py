"""Web and import hardening: security headers, cross-site refusal on every state-changing route,
body caps while streaming, the token never in a URL, and zips that try to escape or explode."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import truefans
from truefans import workspace as workspace_mod
from truefans.web import create_app, security

LOCAL = "http://127.0.0.1:8000"
GENERIC = Path(__file__).parent / "data" / "generic"


@pytest.fixture
def small_ws(tmp_path: Path) -> Path:
    path = tmp_path / "ws.duckdb"
    with truefans.open_workspace(path) as ws:
        ws.import_files([GENERIC / "channels.csv", GENERIC / "people.csv"])
    return path


@pytest.fixture
def client(small_ws: Path, tmp_path: Path):
    with TestClient(create_app(small_ws, upload_dir=tmp_path / "up"), base_url=LOCAL) as c:
        yield c


@pytest.fixture
def guarded(small_ws: Path, tmp_path: Path):
    app = create_app(small_ws, token="t0ken-for-tests", upload_dir=tmp_path / "up")
    with TestClient(app, base_url="http://10.0.0.5:8000") as c:
        yield c


def _csp(value: str) -> dict[str, list[str]]:
    out = {}
    for part in value.split(";"):
        name, *sources = part.split()
        out[name] = sources
    return out


def test_every_response_carries_the_security_headers(client, guarded):
    responses = [
        client.get("/"),
        client.get("/upload"),
        client.get("/api/v1/picture"),
        client.get("/static/style.css"),
        client.get("/nowhere"),
        client.get("/login"),
        guarded.get("/api/v1/picture"),  # 401 from the guard
    ]
    with TestClient(client.app, base_url="http://evil.example") as foreign:
        responses.append(foreign.get("/"))  # 403 from the guard
    for r in responses:
        h = r.headers
        assert h["x-content-type-options"] == "nosniff", r.url
        assert h["x-frame-options"] == "DENY"
        assert h["referrer-policy"] == "same-origin"
        csp = _csp(h["content-security-policy"])
        assert csp["default-src"] == ["'self'"] and csp["script-src"] == ["'self'"], r.url
        assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
        # only the app's own assets: no other host anywhere in the policy
        assert not any("http" in s or s == "*" for v in csp.values() for s in v), r.url
    assert {r.status_code for r in responses} >= {200, 401, 403, 404}


def test_the_api_docs_page_is_the_one_policy_exception(client):
    r = client.get("/api/docs")
    csp = _csp(r.headers["content-security-policy"])
    assert "https://cdn.jsdelivr.net" in csp["script-src"]
    assert csp["frame-ancestors"] == ["'none'"]


def test_cross_site_state_changes_are_refused_on_any_route(client, guarded):
    client.get("/upload")
    csrf = client.cookies.get(security.CSRF_COOKIE)
    files = {"files": ("x.csv", b"channel_id,kind\nweb,web\n", "text/csv")}
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ):
        for method, path in (("POST", "/upload"), ("POST", "/logout"), ("DELETE", "/a/picture")):
            r = client.request(
                method, path, headers={**headers, "X-CSRF-Token": csrf or ""}, files=files
            )
            assert r.status_code == 403, (method, path, headers)
            assert "another site" in r.text
    # same origin is not refused by the guard (the route's own CSRF check still applies)
    r = client.post("/upload", headers={"Origin": LOCAL, "X-CSRF-Token": csrf or ""}, files=files)
    assert r.status_code == 202, r.text
    # a request authenticated by its Authorization header carries no ambient credential
    r = guarded.post(
        "/upload",
        headers={"Authorization": "Bearer t0ken-for-tests", "Origin": "http://evil.example"},
        files=files,
    )
    assert r.status_code == 202, r.text


def test_declared_body_over_the_cap_is_refused_unread(client, monkeypatch):
    monkeypatch.setattr(security, "MAX_FORM_REQUEST", 100)
    r = client.post("/login", content=b"token=" + b"x" * 500)
    assert r.status_code == 413 and "larger than 100 bytes" in r.text


def test_streamed_body_over_the_cap_is_cut_off(client, monkeypatch, tmp_path):
    monkeypatch.setattr(security, "MAX_UPLOAD_REQUEST", 64 * 1024)
    client.get("/upload")
    csrf = client.cookies.get(security.CSRF_COOKIE) or ""
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nchannel_id,kind\r\n"
    ).encode()

    def body():  # no Content-Length: sent chunked, so only the streaming cap can stop it
        yield head
        for _ in range(100):
            yield b"web,web\r\n" * 1000
        yield f"\r\n--{boundary}--\r\n".encode()

    r = client.post(
        "/upload",
        content=body(),
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "X-CSRF-Token": csrf,
        },
    )
    assert r.status_code == 413
    assert not any(p.is_file() for p in (tmp_path / "up").rglob("*"))


def test_the_token_is_never_taken_from_the_url(guarded):
    assert guarded.get("/api/v1/picture", params={"token": "t0ken-for-tests"}).status_code == 401
    assert (
        guarded.get("/api/v1/picture", params={"access_token": "t0ken-for-tests"}).status_code
        == 401
    )
    assert guarded.get("/", headers={"Cookie": "truefans_session=t0ken-for-tests"}).status_code == (
        401
    )


# -- zips ---------------------------------------------------------------------------------------
def _zip(path: Path, members: list[tuple[str, bytes]], symlinks: dict[str, str] | None = None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            info.create_system = 3
            zf.writestr(info, target)
    return path


def test_zip_members_cannot_leave_the_unpack_folder(tmp_path, small_ws):
    outside = tmp_path / "escape"
    outside.mkdir()
    victim = outside / "victim.csv"
    zpath = _zip(
        tmp_path / "export.zip",
        [
            ("channels.csv", b"channel_id,kind\nshop,web\n"),
            ("../escape/traversal.csv", b"channel_id,kind\nevil,web\n"),
            ("../../../../../../tmp/abs_escape.csv", b"channel_id,kind\nevil2,web\n"),
            (str(outside / "absolute.csv"), b"channel_id,kind\nevil3,web\n"),
        ],
        symlinks={"link.csv": str(victim), "people.csv": "/etc/passwd"},
    )
    victim.write_text("channel_id,kind\nvictim,web\n")
    with truefans.open_workspace(small_ws) as ws:
        reports = ws.import_files([zpath])
        channels = {r[0] for r in ws.con.execute("SELECT channel_id FROM channels").fetchall()}
    assert "shop" in channels
    assert not channels & {"evil", "evil2", "evil3", "victim"}
    assert sorted(p.name for p in outside.iterdir()) == ["victim.csv"]
    assert victim.read_text() == "channel_id,kind\nvictim,web\n"
    assert not Path("/tmp/abs_escape.csv").exists()
    # a symlink member is unpacked as a plain file holding its target's name, never followed
    by_file = {r.file.rsplit(":", 1)[-1]: r for r in reports}
    assert "people.csv" in by_file and by_file["people.csv"].added == 0
    assert "root:" not in repr(reports)


def test_zip_bomb_is_refused_before_unpacking(tmp_path, small_ws, monkeypatch):
    monkeypatch.setattr(workspace_mod, "MAX_UNZIPPED_BYTES", 5 * 1024**2)
    bomb = _zip(tmp_path / "bomb.zip", [("touchpoints.csv", b"0" * (20 * 1024**2))])
    assert bomb.stat().st_size < 100 * 1024
    with truefans.open_workspace(small_ws) as ws:
        before = ws.count("touchpoints")
        (r,) = ws.import_files([bomb])
        assert r.status == "unusable" and "would unpack to more than" in r.message
        assert ws.count("touchpoints") == before


def test_zip_whose_header_lies_about_its_size_is_unusable(tmp_path, small_ws):
    """A member that says it is small but inflates larger is caught (CRC / size check), not
    unpacked past its declared size."""
    real = b"channel_id,kind\n" + b"web,web\n" * 50_000
    path = _zip(tmp_path / "liar.zip", [("channels.csv", real)])
    data = bytearray(path.read_bytes())
    # the central directory and local header both carry the uncompressed size: shrink them
    import struct

    size = struct.pack("<I", len(real))
    small = struct.pack("<I", 1000)
    assert data.count(size) >= 2
    data = bytearray(bytes(data).replace(size, small))
    path.write_bytes(bytes(data))
    with truefans.open_workspace(small_ws) as ws:
        (r,) = ws.import_files([path])
    assert r.status == "unusable"
