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
        args += [f"--{k}"] if v == "true" else [f"--{k}", v]  # a flag takes no value
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
def test_every_analysis_command_of_the_cli_has_a_page_and_an_endpoint():
    """Each command that runs an analysis (through the CLI's one helper, or picture's own call)
    is in the registry, and the registry names no command the CLI lacks."""
    import inspect

    commands = cli_commands()
    runs_analysis = {
        n
        for n, c in commands.items()
        if "_analysis(" in inspect.getsource(c.callback)  # type: ignore[attr-defined]
        or "ws.picture(since" in inspect.getsource(c.callback)  # type: ignore[attr-defined]
    }
    assert len(runs_analysis) >= 11
    assert runs_analysis == set(ANALYSES)
    assert {a.name for a in available()} == set(ANALYSES)


def test_registry_options_are_the_cli_options():
    """Same flags, defaults, required-ness, types and choices as `truefans <cmd> --help`."""
    import enum
    from datetime import date

    commands = cli_commands()
    for a in ANALYSES.values():
        cmd = commands[a.name]
        cli_opts = {}
        for p in cmd.params:  # type: ignore[attr-defined]
            flag = max(p.opts, key=len)
            if flag in DISPLAY_ONLY:
                continue
            cli_opts[flag.lstrip("-")] = p
        assert set(cli_opts) == {o.flag for o in a.options}, a.name
        for o in a.options:
            p = cli_opts[o.flag]
            default = getattr(p.default, "value", p.default)
            assert o.default == default, (a.name, o.flag, o.default, default)
            assert o.required == bool(p.required), (a.name, o.flag)
            ann = p.type_descriptor.annotation
            if isinstance(ann, type) and issubclass(ann, enum.Enum):
                assert o.choices == tuple(m.value for m in ann), (a.name, o.flag)
                continue
            assert o.choices is None, (a.name, o.flag)
            want = {bool: bool, int: int, float: float, str: (str, date)}[ann]
            assert o.kind is want or (isinstance(want, tuple) and o.kind in want), (
                a.name,
                o.flag,
                o.kind,
                ann,
            )
            assert o.help, (a.name, o.flag)


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
        ("credibility", {}),
        ("credibility", {"list": "true", "platform": "linkedin", "scorer": "rules"}),
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
        if a.slow:
            continue  # background jobs: test_the_page_of_a_slow_analysis_polls_its_job...
        params = LIGHT.get(a.name, {})
        r = client.get(f"/a/{a.name}", params=params)
        assert r.status_code == 200, r.text[:500]
        html = r.text
        assert f'data-analysis="{a.name}"' in html
        assert 'class="error"' not in html, a.name
        if any(o.required for o in a.options):  # career: no profile uploaded on this app
            assert 'class="absent"' in html and "Set it in the options above" in html
            continue
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


# -- slow analyses run as background jobs -----------------------------------------------------
def _job(c: TestClient, r) -> dict:
    """Follow a 202 to its job until it is done or failed."""
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/api/v1/jobs/{job['job']}"
    assert job["status"] in ("queued", "running", "done")
    for _ in range(12_000):
        st = c.get(r.headers["location"]).json()
        if st["status"] in ("done", "failed"):
            return st
        time.sleep(0.05)
    raise AssertionError("the job did not finish")


@pytest.fixture
def generic_ws(generic_files, tmp_path) -> Path:
    path = tmp_path / "generic.duckdb"
    with truefans.open_workspace(path) as ws:
        assert all(r.status == "ok" for r in ws.import_files(generic_files))
    return path


def test_slow_analyses_answer_202_with_a_job_then_the_cli_json(generic_ws):
    params = {"budget": "1000", "hours": "10", "draws": "0"}
    with TestClient(create_app(generic_ws), base_url=LOCAL) as c:
        st = _job(c, c.get("/api/v1/plan", params=params))
        assert st["status"] == "done" and st["progress"] == 1.0 and st["error"] is None
        assert st["result"] == "/api/v1/plan?budget=1000&hours=10&draws=0"
        got = c.get(st["result"])
        assert got.status_code == 200
        assert got.json() == cli_json(generic_ws, "plan", params)
        # a failure is kept: asking again answers its error at once, no second job
        failed = _job(c, c.get("/api/v1/mix", params={"draws": "0"}))
        assert failed["status"] == "failed" and "week" in failed["error"]
        n_jobs = len(c.app.state.truefans.analysis_jobs)  # type: ignore[attr-defined]
        again = c.get("/api/v1/mix", params={"draws": "0"})
        assert again.status_code == 400 and again.json()["error"] == failed["error"]
        assert len(c.app.state.truefans.analysis_jobs) == n_jobs  # type: ignore[attr-defined]
        assert c.get("/api/v1/jobs/1").status_code == 404
        # the CLI says the same
        res = runner.invoke(cli_app, ["--workspace", str(generic_ws), "mix", "--draws", "0"])
        assert res.exit_code != 0 and failed["error"] in " ".join(res.output.split())


def test_the_page_of_a_slow_analysis_polls_its_job_then_shows_the_result(generic_ws):
    with TestClient(create_app(generic_ws), base_url=LOCAL) as c:
        first = c.get("/a/plan", params={"budget": "500", "draws": "0"})
        assert first.status_code == 200
        assert 'id="analysis-job"' in first.text and "/static/app.js" in first.text
        job = int(first.text.split('data-job="')[1].split('"')[0])
        for _ in range(12_000):
            if c.get(f"/api/v1/jobs/{job}").json()["status"] in ("done", "failed"):
                break
            time.sleep(0.05)
        done = c.get("/a/plan", params={"budget": "500", "draws": "0"})
        assert 'id="analysis-job"' not in done.text
        assert 'id="fig-plan-allocation"' in done.text and "<figcaption" in done.text
        # without a budget the page asks for one (the report's choice: what the last weeks cost)
        bare = c.get("/a/plan")
        assert "--budget" in bare.text and 'class="error"' not in bare.text
        # the web report leaves out what it has not computed yet, and says how to get it
        report = c.get("/report.html").text
        assert 'class="absent"' in report and "/a/mix?" in report


# -- file options: only uploaded files ----------------------------------------------------------
PROFILE = b'target_companies = ["Acme"]\ntarget_roles = ["founder", "manager", "analyst"]\n'


def _upload_profile(c: TestClient, name: str, body: bytes, csrf: str | None = None):
    c.get("/upload")
    token = csrf if csrf is not None else c.cookies.get("truefans_csrf")
    return c.post(
        "/upload/profile",
        data={"csrf_token": token, "analysis": "career"},
        files={"profile": (name, body, "text/plain")},
        follow_redirects=False,
    )


def test_profile_options_take_uploaded_files_only(own_demo, tmp_path):
    updir = tmp_path / "uploads"
    outside = tmp_path / "secret.toml"
    outside.write_bytes(PROFILE)
    with TestClient(create_app(own_demo, upload_dir=updir), base_url=LOCAL) as c:
        for bad in (
            str(outside),
            "../secret.toml",
            "..",
            "profiles/me.toml",
            "..\\secret.toml",
            "C:secret.toml",
            "/etc/passwd",
            "me.toml",  # not uploaded yet
        ):
            r = c.get("/api/v1/career", params={"profile": bad})
            assert r.status_code == 400, (bad, r.text)
            assert "--profile" in r.json()["error"]
            page = c.get("/a/credibility", params={"profile": bad})
            assert page.status_code == 400, bad
        assert c.get("/api/v1/career").status_code == 422  # required, as on the CLI
        # the upload: CSRF, type and content are checked; nothing lands outside the folder
        assert _upload_profile(c, "me.toml", PROFILE, csrf="wrong").status_code == 403
        assert _upload_profile(c, "me.exe", PROFILE).status_code == 400
        assert _upload_profile(c, "x.yaml", b"colour: blue\n").status_code == 400
        ok = _upload_profile(c, "../../me.toml", PROFILE)
        assert ok.status_code == 303 and ok.headers["location"] == "/a/career?profile=me.toml"
        stored = [p for p in updir.rglob("*") if p.is_file()]
        assert stored == [updir / "profiles" / "me.toml"]
        # a symlink inside the folder that leads out of it is refused
        (updir / "profiles" / "link.toml").symlink_to(outside)
        r = c.get("/api/v1/career", params={"profile": "link.toml"})
        assert r.status_code == 400 and "inside the upload folder" in r.json()["error"]
        assert "link.toml" not in c.get("/a/career").text.split("Uploaded:")[-1]
        # the uploaded profile: the same JSON as the CLI given that file
        got = c.get("/api/v1/career", params={"profile": "me.toml", "lookback": "30"})
        assert got.status_code == 200, got.text
        path = str((updir / "profiles" / "me.toml").resolve())
        assert got.json() == cli_json(own_demo, "career", {"profile": path, "lookback": "30"})
        page = c.get("/a/career", params={"profile": "me.toml"})
        assert page.status_code == 200 and 'id="fig-career-growth"' in page.text
        cred = c.get("/api/v1/credibility", params={"profile": "me.toml"})
        assert cred.json() == cli_json(own_demo, "credibility", {"profile": path})
        # career without a profile: the page says what it needs instead of failing
        bare = c.get("/a/career")
        assert bare.status_code == 200 and 'class="absent"' in bare.text


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "params"),
    [("mix", {"draws": "0"}), ("plan", {"budget": "20000", "draws": "0", "max-share": "0.5"})],
)
def test_mix_and_plan_on_the_demo_equal_the_cli(own_demo, name, params):
    with TestClient(create_app(own_demo), base_url=LOCAL) as c:
        st = _job(c, c.get(f"/api/v1/{name}", params=params))
        assert st["status"] == "done", st
        got = c.get(f"/api/v1/{name}", params=params)
        assert got.status_code == 200
        assert got.json() == cli_json(own_demo, name, params)
        page = c.get(f"/a/{name}", params=params)
        assert f'id="fig-{name}-' in page.text and 'class="error"' not in page.text
