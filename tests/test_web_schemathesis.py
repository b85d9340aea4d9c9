"""Schemathesis against /api/v1/ with the app's own OpenAPI schema: no input makes a server error.

Each operation of the schema gets Hypothesis-generated requests (Schemathesis strategies, valid and
invalid by the schema's own types and bounds). The workspace is the small generic fixture, where
every analysis answers fast enough for many inputs.
"""

from __future__ import annotations

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import truefans
from conftest import GENERIC, GENERIC_ORDER
from truefans.report.registry import available
from truefans.web import create_app

pytestmark = pytest.mark.slow
#: the app answers loopback host names only (DNS rebinding), so every request names one
HOST = {"host": "127.0.0.1:8000"}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    folder = tmp_path_factory.mktemp("schemathesis")
    shutil.copytree(GENERIC, folder / "generic")
    path = folder / "ws.duckdb"
    with truefans.open_workspace(path) as ws:
        reports = ws.import_files([folder / "generic" / n for n in GENERIC_ORDER])
        assert all(r.status == "ok" for r in reports)
    app = create_app(path)
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, headers=HOST)


def test_no_input_makes_a_server_error(api_schema):
    operations = [r.ok() for r in api_schema.get_all_operations()]
    assert {op.path for op in operations} >= {f"/api/v1/{n}" for n in ("picture", "fans", "clv")}
    slow = {f"/api/v1/{a.name}" for a in available() if a.slow}
    assert {op.path for op in operations} >= slow | {"/api/v1/jobs/{job_id}"}
    seen: dict[int, int] = {}
    for op in operations:

        @settings(
            max_examples=20,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=op.as_strategy(), _n=st.just(0))
        def check(case, _n):
            response = case.call(headers=HOST)
            seen[response.status_code] = seen.get(response.status_code, 0) + 1
            assert response.status_code < 500, (case.as_curl_command(), response.text[:500])
            allowed = {200, 400, 422}
            if case.operation.path in slow:
                allowed.add(202)  # a background job computes it (mix, plan)
            if case.operation.path == "/api/v1/jobs/{job_id}":
                allowed.add(404)  # no job of that number
            assert response.status_code in allowed, (case.operation.path, response.status_code)
            if response.status_code == 202:
                assert response.json()["status"] in ("queued", "running", "done", "failed")
            elif response.status_code != 200:
                body = response.json()
                assert body["ok"] is False and body["status"] == response.status_code

        check()
    assert seen.get(200, 0) > 0  # some inputs were good ones, not only rejections
