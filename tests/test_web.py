"""The web app without a browser: the API returns the CLI's JSON, filters travel in the URL, one
error shape, the token and CSRF rules, and upload through the import path (FastAPI TestClient)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import truefans
from truefans.cli import app as cli_app
from truefans.report.registry import ANALYSES, available
from truefans.web import app as web_app
from truefans.web import create_app
from truefans.web.app import safe_name

EXPORTS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "exports"
LOCAL = "http://127.0.0.1:8000"
runner = CliRunner()
#: light options for the slow bootstrap of attribution (the same options go to both sides)
LIGHT = {"attribution": {"draws": "2"}}
#: CLI options that only shape the terminal table (the JSON is the same whatever they are)
DISPLAY_ONLY = {"--format", "--top"}


def cli_commands() -> dict[str, object]:
    group = typer.main.get_command(cli_app)
    return dict(group.commands)  # type: ignore[attr-defined]


def cli_json(ws_path: Path, name: str, params: dict[str, str]) -> dict:
    args = ["--workspace", str(ws_path), name, "--format", "json"]
    for k, v in params.items():
        args += [f"--{k}", v]
    res = runner.invoke(cli_app, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def client(demo_path):
    with TestClient(create_app(demo_path), base_url=LOCAL) as c:
        yield c


@pytest.fixture
def own_demo(demo_path, tmp_path) -> Path:
    p = tmp_path / "demo.duckdb"
    shutil.copy(demo_path, p)
    return p


# -- the registry is the CLI -------------------------------------------------------------------
def test_registry_options_are_the_cli_options():
    commands = cli_commands()
    checked = 0
    for a in ANALYSES.values():
        cmd = commands.get(a.name)
        if cmd is None:
            continue  # the CLI command is not there yet: the API still takes the function's options
        cli_opts = {}
        for p in cmd.params:  # type: ignore[attr-defined]
            flag = max(p.opts, key=len)
            if flag in DISPLAY_ONLY:
                continue
            default = getattr(p.default, "value", p.default)
            cli_opts[flag.lstrip("-")] = default
        mine = {o.flag: o.default for o in a.options}
        assert set(mine) == set(cli_opts), a.name
        for k, v in cli_opts.items():
            assert mine[k] == v, (a.name, k, mine[k], v)
        checked += 1
    assert checked >= 7


def test_every_installed_analysis_has_an_endpoint_in_the_schema(client):
    schema = client.get("/api/v1/openapi.json").json()
    names = [a.name for a in available()]
    assert {"picture", "fans", "clv", "risk", "funnel"} <= set(names)
    for n in names:
        params = {p["name"] for p in schema["paths"][f"/api/v1/{n}"]["get"]["parameters"]}
        assert params == {o.flag for o in ANALYSES[n].options}


# -- the API returns exactly the CLI's JSON ---------------------------------------------------
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("picture", {}),
        ("picture", {"since": "2024-01-01", "until": "2024-06-30", "outcome": "order,call"}),
        ("risk", {"since": "2024-03-01", "lookback": "14"}),
        ("funnel", {"by": "platform"}),
        ("fans", {"min-kinds": "3"}),
        ("clv", {"model": "pareto", "margin": "0.5"}),
    ],
)
def test_api_equals_cli_json(client, demo_path, name, params):
    got = client.get(f"/api/v1/{name}", params=params)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/json"
    assert got.json() == cli_json(demo_path, name, params)


@pytest.mark.parametrize("name", [n for n in ("attribution", "content") if n in ANALYSES])
def test_api_of_analyses_without_a_cli_command_equals_the_python_api(client, demo_path, name):
    a = ANALYSES[name]
    if a.load() is None:
        pytest.skip(f"{name} is not installed")
    params = LIGHT.get(name, {})
    if name in cli_commands():
        expected = cli_json(demo_path, name, params)
    else:
        with truefans.open_workspace(demo_path) as ws:
            expected = json.loads(json.dumps(a.run(ws, params).to_dict()))
    got = client.get(f"/api/v1/{name}", params=params)
    assert got.status_code == 200, got.text
    assert got.json() == expected


def test_api_errors_have_one_shape(client):
    bad = [
        ("/api/v1/picture", {"since": "not-a-day"}),
        ("/api/v1/picture", {"outcome": "likes"}),
        ("/api/v1/picture", {"since": "2024-05-01", "until": "2024-01-01"}),
        ("/api/v1/funnel", {"by": "planet"}),
        ("/api/v1/fans", {"window": "0"}),
        ("/api/v1/clv", {"margin": "nan"}),
        ("/api/v1/nothing", {}),
    ]
    for path, params in bad:
        r = client.get(path, params=params)
        assert 400 <= r.status_code < 500, (path, params, r.status_code)
        body = r.json()
        assert body["ok"] is False and body["status"] == r.status_code
        assert isinstance(body["error"], str) and body["error"]


# -- pages --------------------------------------------------------------------------------------
def test_pages_render_every_analysis_with_captions_and_tables(client):
    assert client.get("/").status_code == 200
    for a in available():
        params = LIGHT.get(a.name, {})
        r = client.get(f"/a/{a.name}", params=params)
        assert r.status_code == 200, r.text[:500]
        html = r.text
        assert f'data-analysis="{a.name}"' in html
        assert 'class="error"' not in html, a.name
        assert "<figcaption" in html and "<caption>" in html
        assert "https://" not in html.split("<main>")[0]  # nothing from a CDN


def test_filters_travel_through_the_url(client):
    r = client.get("/a/picture", params={"since": "2024-01-01", "outcome": ["order", "call"]})
    assert r.status_code == 200
    # the nav links carry the shared filters to every other page
    assert "/a/risk?since=2024-01-01&amp;outcome=order%2Ccall" in r.text
    assert "--since 2024-01-01 --outcome order,call" in r.text
    # fans has no --since: the page does not pretend it used it, but keeps it for the next page
    f = client.get("/a/fans", params={"since": "2024-01-01", "until": "2024-06-30"})
    assert (
        "--as-of 2024-06-30" in f.text and "--since" not in f.text.split("Same numbers as")[1][:200]
    )
    # the channel filter keeps only those channels' rows
    one = client.get("/a/picture", params={"channel": "newsletter"}).text
    section = one.split('<section class="analysis"')[1]
    assert "Ledgerlight Letter" in section and "Instagram" not in section


def test_a_bad_option_on_a_page_is_a_400_page(client):
    r = client.get("/a/picture", params={"since": "2024-13-45"})
    assert r.status_code == 400 and "not a valid date" in r.text


# -- security -----------------------------------------------------------------------------------
def test_loopback_app_refuses_foreign_host_names(demo_path):
    with TestClient(create_app(demo_path), base_url="http://evil.example") as c:
        assert c.get("/api/v1/picture").status_code == 403


@pytest.fixture(scope="module")
def guarded(demo_path):
    app = create_app(demo_path, token="s3cret-token")
    with TestClient(app, base_url="http://192.168.1.20:8000") as c:
        yield c


def test_without_the_token_everything_but_login_is_401(guarded):
    routes = [r.path for r in guarded.app.routes]  # type: ignore[attr-defined]
    paths = {p.replace("{name}", "picture").replace("{job_id}", "1") for p in routes}
    paths |= {"/a/fans", "/api/v1/openapi.json", "/api/docs", "/static/style.css", "/nowhere"}
    for p in sorted(paths):
        for method in ("GET", "POST"):
            r = guarded.request(method, p)
            if p == "/login":
                assert r.status_code != 401
                continue
            assert r.status_code == 401, (method, p, r.status_code)
            if p.startswith("/api/"):
                assert r.json()["status"] == 401


def test_bearer_token_and_login_cookie(guarded):
    ok = guarded.get("/api/v1/picture", headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200
    wrong = guarded.get("/api/v1/picture", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    login = guarded.get("/login")
    csrf = guarded.cookies.get("truefans_csrf")
    assert csrf and f'value="{csrf}"' in login.text
    # a wrong token, then a missing CSRF token, then the right one
    bad = guarded.post("/login", data={"token": "x", "csrf_token": csrf})
    assert bad.status_code == 401
    no_csrf = guarded.post("/login", data={"token": "s3cret-token"})
    assert no_csrf.status_code == 403
    good = guarded.post(
        "/login",
        data={"token": "s3cret-token", "csrf_token": csrf, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert good.status_code == 303 and good.headers["location"] == "/"
    cookie = good.headers["set-cookie"]
    assert "truefans_session=" in cookie and "HttpOnly" in cookie and "s3cret-token" not in cookie
    assert guarded.get("/a/risk").status_code == 200
    guarded.cookies.clear()
    assert guarded.get("/a/risk").status_code == 401


def test_upload_needs_the_csrf_token_and_a_same_origin(client):
    files = {"files": ("x.csv", b"a,b\n1,2\n", "text/csv")}
    assert client.post("/upload", files=files).status_code == 403
    client.get("/upload")
    csrf = client.cookies.get("truefans_csrf")
    r = client.post(
        "/upload",
        files=files,
        headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"},
    )
    assert r.status_code == 403


def test_safe_names_never_leave_the_folder():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("..\\..\\windows\\win.ini") == "win.ini"
    assert safe_name("/abs/path/x.csv") == "x.csv"
    assert safe_name("..") == "upload"
    assert safe_name("a b;rm -rf $(x).csv") == "a b_rm -rf _(x).csv"


def _wait(c: TestClient, job: int) -> dict:
    for _ in range(600):
        st = c.get(f"/upload/jobs/{job}").json()
        if st["finished"]:
            return st
        time.sleep(0.1)
    raise AssertionError("import did not finish")


@pytest.mark.skipif(not EXPORTS.exists(), reason="../shared/data/exports not present")
def test_upload_imports_through_the_import_path(own_demo, tmp_path, monkeypatch):
    updir = tmp_path / "uploads"
    with TestClient(create_app(own_demo, upload_dir=updir), base_url=LOCAL) as c:
        before = c.get("/api/v1/picture").json()
        c.get("/upload")
        csrf = c.cookies.get("truefans_csrf")
        good = EXPORTS / "mailchimp" / "subscribed_members_export_3f9a1c2b7d.csv"
        bad = EXPORTS / "mailchimp" / "subscribed_members_export_bad.csv"
        files = [
            ("files", ("../../" + good.name, good.read_bytes(), "text/csv")),
            ("files", (bad.name, bad.read_bytes(), "text/csv")),
            ("files", ("evil.exe", b"MZ\x00\x00", "application/octet-stream")),
            ("files", ("fake.csv", b"PK\x00\x00binary", "text/csv")),
        ]
        r = c.post("/upload", files=files, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 202, r.text
        st = _wait(c, r.json()["job"])
        by_file = {x["file"]: x for x in st["reports"]}
        assert by_file["evil.exe"]["status"] == "unusable"
        assert "not a text file" in by_file["fake.csv"]["message"]
        assert by_file[good.name]["status"] == "ok" and by_file[good.name]["added"] > 0
        assert by_file[bad.name]["status"] == "rejects" and by_file[bad.name]["rejects"]
        assert st["done"] == st["total"] == 2
        # stored only inside the upload folder, under names of our making
        stored = [p for p in updir.rglob("*") if p.is_file()]
        assert len(stored) == 2 and all(updir.resolve() in p.resolve().parents for p in stored)
        assert not (tmp_path.parent / good.name).exists()
        # the import is seen: the same query now answers from the new data
        after = c.get("/api/v1/picture").json()
        assert after != before
        with truefans.open_workspace(own_demo) as ws:
            assert after == json.loads(json.dumps(ws.picture().to_dict()))


def test_upload_size_limit(own_demo, tmp_path, monkeypatch):
    monkeypatch.setattr(web_app, "MAX_UPLOAD_BYTES", 1000)
    with TestClient(create_app(own_demo, upload_dir=tmp_path / "u"), base_url=LOCAL) as c:
        c.get("/upload")
        csrf = c.cookies.get("truefans_csrf")
        r = c.post(
            "/upload",
            files={"files": ("big.csv", b"a,b\n" + b"1,2\n" * 500, "text/csv")},
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == 400
        assert "larger than the limit" in r.json()["reports"][0]["message"]
        assert not any(p.is_file() for p in (tmp_path / "u").rglob("*"))
