from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# never load the user's installed plugins in tests
os.environ["TRUEFANS_NO_PLUGINS"] = "1"
os.environ.pop("TRUEFANS_WORKSPACE", None)

import truefans

DATA = Path(__file__).parent / "data"
GENERIC = DATA / "generic"
GENERIC_ORDER = [
    "channels.csv",
    "people.csv",
    "identities.csv",
    "touchpoints.csv",
    "outcomes.csv",
    "costs.csv",
    "metrics.csv",
]


@pytest.fixture
def fake_crm_source():
    """The test-only FakeCRM source (``tests/plugins/fake_crm.py``) registered for one test."""
    from plugins.fake_crm import FakeCrm
    from truefans.ingest import registry

    registry.load_sources()
    registry.register(FakeCrm(), origin="tests")
    yield
    registry._SOURCES.pop("fakecrm", None)


@pytest.fixture
def ws(tmp_path: Path):
    w = truefans.open_workspace(tmp_path / "ws.duckdb")
    yield w
    w.close()


@pytest.fixture
def generic_files(tmp_path: Path) -> list[Path]:
    out = tmp_path / "generic"
    shutil.copytree(GENERIC, out)
    return [out / n for n in GENERIC_ORDER]


@pytest.fixture
def loaded(ws, generic_files):
    reports = ws.import_files(generic_files)
    assert all(r.status == "ok" for r in reports), reports
    return ws


@pytest.fixture(scope="session")
def demo_path(tmp_path_factory) -> Path:
    """A small demo workspace built once per session (seed 7)."""
    from truefans.demo import build_demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    with truefans.open_workspace(path) as w:
        build_demo(w, seed=7, size="small")
    return path
