"""A process killed (SIGKILL) in the middle of an import leaves the workspace exactly as before."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

import truefans

pytestmark = pytest.mark.slow

CHILD = """
import sys, truefans
ws = truefans.open_workspace(sys.argv[1])
print("importing", flush=True)
ws.import_files([sys.argv[2]])
print("done", flush=True)
"""


def state(path: Path) -> dict[str, object]:
    with truefans.open_workspace(path) as ws:
        out: dict[str, object] = {
            t: ws.count(t) for t in ("people", "touchpoints", "imports", "rejects")
        }
        out["checksum"] = ws.con.execute(
            "SELECT sum(hash(touch_id, person_id, ts, channel_id, kind)) FROM touchpoints"
        ).fetchone()[0]
    return out


def test_sigkill_during_a_large_import_leaves_the_previous_state(tmp_path):
    ws_path = tmp_path / "w.duckdb"
    (tmp_path / "channels.csv").write_text("channel_id,kind\nweb,web\nnewsletter,email\n")
    small = tmp_path / "touchpoints_first.csv"
    small.write_text("touch_id,person_id,ts,channel_id,kind\nfirst,p1,2024-01-01,web,visit\n")
    with truefans.open_workspace(ws_path) as ws:
        ws.import_files([tmp_path / "channels.csv", small])
    big = tmp_path / "touchpoints_big.csv"
    duckdb.sql(
        f"""COPY (SELECT 't' || i AS touch_id, 'p' || (i % 200000) AS person_id,
                 (TIMESTAMP '2024-01-01' + to_seconds(i % 31536000)) AS ts,
                 CASE WHEN i % 2 = 0 THEN 'web' ELSE 'newsletter' END AS channel_id,
                 CASE WHEN i % 2 = 0 THEN 'visit' ELSE 'open' END AS kind
               FROM range(3000000) t(i)) TO '{big}' (HEADER)"""
    )
    before = state(ws_path)
    killed_mid_import = 0
    for delay in (0.2, 0.5, 0.9, 1.3):
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(ws_path), str(big)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TRUEFANS_NO_PLUGINS": "1"},
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "importing"
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed_mid_import += 1
        _, err = proc.communicate()
        assert proc.returncode in (0, -signal.SIGKILL), err
        if proc.returncode == 0:  # finished before the kill: not what this test is about
            break
        after = state(ws_path)
        if after != before:
            # killed after the import had committed: then it is all there, never a part
            assert after["touchpoints"] == 3_000_001 and after["imports"] == before["imports"] + 1
            killed_mid_import -= 1
            break
    assert killed_mid_import >= 2
    # and the same import then completes normally (or is recognised as already done)
    with truefans.open_workspace(ws_path) as ws:
        (r,) = ws.import_files([big])
        assert r.added == 3_000_000 or r.status == "duplicate"
        assert ws.count("touchpoints") == 3_000_001
