"""Faults: a process killed (SIGKILL) at any point of import, migration, backup, restore or forget
leaves the workspace in the state before or the state after, never a mix; a full disk or a
read-only workspace gives one clear error and stores nothing; two writers never corrupt it.

The kill schedule is seeded: for each operation a reference run counts the DuckDB calls it makes
and times it, then the child is killed before the N-th call (N drawn from the seed) or after a drawn
delay. Every trial starts from a fresh copy of the same workspace.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

import truefans
from truefans import derived, schema
from truefans.backup import backup, read_manifest
from truefans.privacy import NotFound, forget
from workspace_state import contents

pytestmark = pytest.mark.slow

CHILD = """
import sys, truefans
ws = truefans.open_workspace(sys.argv[1])
print("importing", flush=True)
ws.import_files([sys.argv[2]])
print("done", flush=True)
"""


def state(path: Path) -> dict[str, Any]:
    with truefans.open_workspace(path) as ws:
        out: dict[str, Any] = {
            t: ws.count(t) for t in ("people", "touchpoints", "imports", "rejects")
        }
        row = ws.con.execute(
            "SELECT sum(hash(touch_id, person_id, ts, channel_id, kind)) FROM touchpoints"
        ).fetchone()
        out["checksum"] = row[0] if row else None
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


# -- the seeded kill schedule -------------------------------------------------------------------
SEED = 20261125
#: kills before the N-th DuckDB call, per operation (at least 50 in all), plus timed kills
CALL_KILLS = {"import": 14, "migrate": 8, "backup": 8, "restore": 10, "forget": 12}
TIMED_KILLS = 2
NEEDLE = "c7@crash.example"

KILL_CHILD = r"""
import os, signal, sys, time
import duckdb

_connect = duckdb.connect
KILL_AT = int(os.environ.get("TRUEFANS_TEST_KILL_AT", "0"))
calls = 0


class Counting:
    # every execute/executemany/sql on every connection is one numbered kill point
    def __init__(self, con):
        object.__setattr__(self, "_con", con)

    def __getattr__(self, name):
        return getattr(self._con, name)

    def _tick(self):
        global calls
        calls += 1
        if calls == KILL_AT:
            os.kill(os.getpid(), signal.SIGKILL)

    def execute(self, *a, **k):
        self._tick()
        return self._con.execute(*a, **k)

    def executemany(self, *a, **k):
        self._tick()
        return self._con.executemany(*a, **k)

    def sql(self, *a, **k):
        self._tick()
        return self._con.sql(*a, **k)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._con.close()


duckdb.connect = lambda *a, **k: Counting(_connect(*a, **k))

import truefans
from truefans import backup, privacy

op, args = sys.argv[1], sys.argv[2:]
print("ready", flush=True)
t = time.perf_counter()
if op == "import":
    with truefans.open_workspace(args[0]) as ws:
        ws.import_files([args[1]])
elif op == "migrate":
    truefans.open_workspace(args[0]).close()
elif op == "backup":
    with truefans.open_workspace(args[0]) as ws:
        backup.backup(ws, args[1])
elif op == "restore":
    backup.restore(args[0], args[1], replace=True)
elif op == "forget":
    privacy.forget(args[0], args[1])
print(f"done {calls} {time.perf_counter() - t:.4f}", flush=True)
"""


def _payments(path: Path, n: int = 300) -> Path:
    """A Stripe payments export (customers, emails, refunds, utm channels) of ``n`` rows."""
    sample = Path(__file__).parent / "data" / "stripe" / "payments_older_layout.csv"
    rows = list(csv.reader(sample.read_text(encoding="utf-8-sig").splitlines()))
    header, proto = rows[0], rows[1]
    col = {name: i for i, name in enumerate(header)}
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    for i in range(n):
        r = list(proto)
        r[col["id"]] = f"ch_C{i:04d}"
        r[col["Customer ID"]] = f"cus_C{i % 120:04d}"
        r[col["Customer Description"]] = f"Customer {i % 120}"
        r[col["Customer Email"]] = f"c{i % 120}@crash.example"
        r[col["Created (UTC)"]] = f"2023-{1 + i % 12:02d}-{1 + i % 28:02d} 10:{i % 60:02d}"
        w.writerow(r)
    path.write_text(buf.getvalue())
    return path


def _state(path: Path, started: datetime) -> dict[str, Any]:
    """Table contents of the workspace at ``path`` as a crash left it (its log replayed on a
    scratch copy, so the file itself is untouched); times written during the test ("now")
    compare equal."""
    scratch = Path(tempfile.mkdtemp(prefix="truefans-state-")) / path.name
    shutil.copy(path, scratch)
    if Path(str(path) + ".wal").exists():
        shutil.copy(str(path) + ".wal", str(scratch) + ".wal")
    con = duckdb.connect(str(scratch))
    try:
        got = contents(con)
    finally:
        con.close()
        shutil.rmtree(scratch.parent)

    def norm(v: Any) -> Any:
        return "<now>" if isinstance(v, datetime) and v >= started else v

    return {
        t: (cols, sorted((tuple(norm(v) for v in r) for r in rows), key=repr))
        for t, (cols, rows) in got.items()
    }


def _run(script: Path, op: str, args: list[str], kill_at: int = 0, delay: float | None = None):
    env = {**os.environ, "TRUEFANS_NO_PLUGINS": "1", "TRUEFANS_TEST_KILL_AT": str(kill_at)}
    proc = subprocess.Popen(
        [sys.executable, str(script), op, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    if delay is not None:
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
    out, err = proc.communicate()
    assert proc.returncode in (0, -signal.SIGKILL), err
    return proc.returncode, out


class Scenario:
    """One operation: how to lay out a fresh trial, its arguments, and the states it may leave."""

    def __init__(
        self,
        op: str,
        setup: Callable[[Path], list[str]],
        check: Callable[[Path, list[str], dict[str, Any]], None] | None = None,
    ) -> None:
        self.op = op
        self.setup = setup
        self.check = check


def test_seeded_kills_leave_the_before_or_the_after_state(tmp_path):
    started = datetime.now()
    script = tmp_path / "kill_child.py"
    script.write_text(KILL_CHILD)
    payments = _payments(tmp_path / "payments.csv")
    base = tmp_path / "base"
    base.mkdir()
    # the workspaces the scenarios start from
    empty = base / "empty.duckdb"
    with truefans.open_workspace(empty) as ws:
        ws.import_files([Path(__file__).parent / "data" / "generic" / "channels.csv"])
    full = base / "full.duckdb"
    shutil.copy(empty, full)
    with truefans.open_workspace(full) as ws:
        (r,) = ws.import_files([payments])
        assert r.status == "ok" and r.added > 0
    good_backup = base / "backup"
    with truefans.open_workspace(full) as ws:
        backup(ws, good_backup)
    v1 = Path(__file__).parent / "data" / "workspaces" / "v1.duckdb"

    def fresh(trial: Path, src: Path) -> Path:
        trial.mkdir()
        dst = trial / "w.duckdb"
        shutil.copy(src, dst)
        return dst

    def check_backup(trial: Path, args: list[str], _: dict[str, Any]) -> None:
        dest = Path(args[1])
        if dest.exists():  # present only when whole
            read_manifest(dest)

    def check_forget(trial: Path, args: list[str], state: dict[str, Any]) -> None:
        if NEEDLE in repr(state):
            return  # the before state
        # the after state: the file holds no trace once a cut-short rewrite is finished
        with contextlib.suppress(NotFound):
            forget(args[0], "nobody-at-all")
        assert NEEDLE.encode() not in Path(args[0]).read_bytes()

    scenarios = [
        Scenario("import", lambda t: [str(fresh(t, empty)), str(payments)]),
        Scenario("migrate", lambda t: [str(fresh(t, v1))]),
        Scenario("backup", lambda t: [str(fresh(t, full)), str(t / "bk")], check_backup),
        Scenario("restore", lambda t: [str(good_backup), str(fresh(t, empty))]),
        Scenario("forget", lambda t: [str(fresh(t, full)), NEEDLE], check_forget),
    ]
    # the states a step-by-step migration passes through (each step is its own transaction)
    migration_states = []
    mig = base / "mig.duckdb"
    shutil.copy(v1, mig)
    migration_states.append(_state(mig, started))
    con = duckdb.connect(str(mig))
    for version in range(1, schema.SCHEMA_VERSION):
        step = schema.MIGRATIONS[version]
        con.execute("BEGIN TRANSACTION")
        if callable(step):
            step(con)
        else:
            for stmt in step:
                con.execute(stmt)
        con.execute("INSERT OR REPLACE INTO _meta VALUES ('schema_version', ?)", [str(version + 1)])
        con.execute("COMMIT")
        migration_states.append(_state_of_con(con, started))
    con.close()

    rng = random.Random(SEED)
    kills = 0
    summary = {}
    for sc in scenarios:
        ref = tmp_path / f"{sc.op}-ref"
        args = sc.setup(ref)
        target = Path(args[1] if sc.op == "restore" else args[0])
        before = _state(target, started)
        code, out = _run(script, sc.op, args)
        assert code == 0, out
        calls, seconds = int(out.split()[-2]), float(out.split()[-1])
        after = _state(target, started)
        assert before != after or sc.op == "backup"
        allowed = [before, after] if sc.op != "migrate" else migration_states
        if sc.op == "migrate":
            assert after == migration_states[-1] and before == migration_states[0]
        points: list[tuple[int, float | None]] = [
            (rng.randint(1, calls), None) for _ in range(CALL_KILLS[sc.op])
        ]
        points += [(0, rng.uniform(0, seconds * 1.2)) for _ in range(TIMED_KILLS)]
        done = 0
        for i, (kill_at, delay) in enumerate(points):
            trial = tmp_path / f"{sc.op}-{i}"
            args = sc.setup(trial)
            target = Path(args[1] if sc.op == "restore" else args[0])
            code, _ = _run(script, sc.op, args, kill_at=kill_at, delay=delay)
            if code == 0:
                assert kill_at == 0, f"{sc.op}: call {kill_at} of {calls} was never reached"
                continue
            done += 1
            state = _state(target, started)
            assert any(state == a for a in allowed), (
                f"{sc.op} killed at call {kill_at} / after {delay} s left a state that is "
                f"neither before nor after"
            )
            if sc.check:
                sc.check(trial, args, state)
            # and the workspace opens (and finishes a migration) afterwards
            with truefans.open_workspace(target) as ws:
                assert ws.schema_version == schema.SCHEMA_VERSION
            shutil.rmtree(trial)
        summary[sc.op] = (done, calls)
        kills += done
    print("kills per operation (killed, calls in the operation):", summary)
    assert kills >= 50, summary


def _state_of_con(con: duckdb.DuckDBPyConnection, started: datetime) -> dict[str, Any]:
    got = contents(con)

    def norm(v: Any) -> Any:
        return "<now>" if isinstance(v, datetime) and v >= started else v

    return {
        t: (cols, sorted((tuple(norm(v) for v in r) for r in rows), key=repr))
        for t, (cols, rows) in got.items()
    }


# -- full disk, read-only workspace ---------------------------------------------------------------
@pytest.fixture
def tmpfs(tmp_path: Path):
    """A 3 MB tmpfs (root or CAP_SYS_ADMIN needed; skipped with the reason otherwise)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        r = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)],
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        pytest.skip("no mount command: cannot make a small file system for the disk-full test")
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}): needs root/CAP_SYS_ADMIN")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "truefans", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "TRUEFANS_NO_PLUGINS": "1"},
    )


def _big_touchpoints(path: Path, n: int = 400_000) -> Path:
    duckdb.sql(
        f"""COPY (SELECT 't' || i AS touch_id, 'p' || (i % 5000) AS person_id,
                 TIMESTAMP '2024-01-01' + to_seconds(i) AS ts, 'newsletter' AS channel_id,
                 'open' AS kind FROM range({n}) t(i)) TO '{path}' (HEADER)"""
    )
    return path


def test_a_full_disk_is_one_clear_error_and_nothing_half_written(tmpfs, tmp_path):
    started = datetime.now()
    ws_path = tmpfs / "w.duckdb"
    with truefans.open_workspace(ws_path) as ws:
        ws.import_files([Path(__file__).parent / "data" / "generic" / "channels.csv"])
    before = _state(ws_path, started)
    big = _big_touchpoints(tmp_path / "touchpoints.csv")
    res = _cli("-w", str(ws_path), "import", str(big))
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert "No space left on device" in res.stderr and "nothing of" in res.stderr
    assert len(res.stderr.strip().splitlines()) <= 3  # one message (wrapped at most)
    assert _state(ws_path, started) == before
    # and the workspace still opens and answers
    with truefans.open_workspace(ws_path) as ws:
        assert ws.count("touchpoints") == 0
        assert ws.count("channels") == len(before["channels"][1])


def test_a_backup_or_restore_that_fills_the_disk_leaves_nothing_half_written(tmpfs, tmp_path):
    started = datetime.now()
    src = tmp_path / "src.duckdb"
    with truefans.open_workspace(src) as ws:
        ws.import_files([Path(__file__).parent / "data" / "generic" / "channels.csv"])
        ws.import_files([_big_touchpoints(tmp_path / "touchpoints.csv", 300_000)])
    res = _cli("-w", str(src), "backup", str(tmpfs / "bk"))
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    assert "No space left on device" in res.stderr or "cannot write" in res.stderr
    assert list(tmpfs.iterdir()) == []  # neither the backup nor its partial folder
    good = tmp_path / "bk"
    assert _cli("-w", str(src), "backup", str(good)).returncode == 0
    target = tmpfs / "w.duckdb"
    with truefans.open_workspace(target) as ws:
        ws.import_files([Path(__file__).parent / "data" / "generic" / "people.csv"])
    before = _state(target, started)
    res = _cli("-w", str(target), "restore", str(good), "--replace")
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    assert _state(target, started) == before
    assert sorted(p.name for p in tmpfs.iterdir()) == ["w.duckdb"]


def test_a_read_only_workspace_is_one_clear_error(tmpfs):
    started = datetime.now()
    ws_path = tmpfs / "w.duckdb"
    with truefans.open_workspace(ws_path) as ws:
        ws.import_files([Path(__file__).parent / "data" / "generic" / "channels.csv"])
    before = _state(ws_path, started)
    raw = ws_path.read_bytes()
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    res = _cli("-w", str(ws_path), "import", str(GENERIC_PEOPLE))
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    assert "cannot be opened for writing" in res.stderr and "Read-only file system" in res.stderr
    assert ws_path.read_bytes() == raw
    assert not Path(str(ws_path) + ".wal").exists()
    assert _state_readonly(ws_path, started) == before


GENERIC_PEOPLE = Path(__file__).parent / "data" / "generic" / "people.csv"


def _state_readonly(path: Path, started: datetime) -> dict[str, Any]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return _state_of_con(con, started)
    finally:
        con.close()


# -- two writers ---------------------------------------------------------------------------------
HOLDER = """
import sys, truefans
ws = truefans.open_workspace(sys.argv[1])
print("open", flush=True)
sys.stdin.readline()
ws.import_files([sys.argv[2]])
ws.close()
print("done", flush=True)
"""


def test_two_imports_at_once_one_is_refused_clearly_and_nothing_is_lost(tmp_path):
    started = datetime.now()
    ws_path = tmp_path / "w.duckdb"
    generic = Path(__file__).parent / "data" / "generic"
    with truefans.open_workspace(ws_path) as ws:
        ws.import_files([generic / "channels.csv"])
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(ws_path), str(generic / "people.csv")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TRUEFANS_NO_PLUGINS": "1"},
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "open"
        res = _cli("-w", str(ws_path), "import", str(generic / "identities.csv"))
        assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
        assert "in use by another truefans process" in res.stderr
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "done"
    finally:
        holder.stdin.close()
        holder.wait(60)
    assert holder.returncode == 0
    # the refused import, run again, lands; both are there
    assert _cli("-w", str(ws_path), "import", str(generic / "identities.csv")).returncode == 0
    # the same as the two imports one after the other
    ref = tmp_path / "ref.duckdb"
    with truefans.open_workspace(ref) as ws:
        for name in ("channels.csv", "people.csv", "identities.csv"):
            ws.import_files([generic / name])
    got, want = _state(ws_path, started), _state(ref, started)
    assert got == want
    assert len(got["identities"][1]) == 4


def test_cli_import_while_the_web_app_reads_is_refused_and_the_app_keeps_answering(tmp_path):
    from fastapi.testclient import TestClient

    from truefans.web import create_app

    started = datetime.now()
    generic = Path(__file__).parent / "data" / "generic"
    ws_path = tmp_path / "w.duckdb"
    with truefans.open_workspace(ws_path) as ws:
        ws.import_files([generic / n for n in ("channels.csv", "people.csv", "outcomes.csv")])
        # the summaries the app's first read would bring up to date, brought up to date now
        assert derived.ensure_fresh(ws.con)
    before = _state(ws_path, started)
    tp = generic / "touchpoints.csv"
    with TestClient(create_app(ws_path), base_url="http://127.0.0.1:8000") as c:
        first = c.get("/api/v1/picture")
        assert first.status_code == 200
        proc = subprocess.Popen(
            [sys.executable, "-m", "truefans", "-w", str(ws_path), "import", str(tp)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TRUEFANS_NO_PLUGINS": "1"},
        )
        answers = []
        while proc.poll() is None:  # the app answers all along
            answers.append(c.get("/api/v1/picture", params={"since": "2024-01-01"}).status_code)
        _, err = proc.communicate()
        assert proc.returncode == 1 and "in use by another truefans process" in err, err
        assert set(answers) <= {200}
        assert c.get("/api/v1/picture").json() == first.json()
    assert _state(ws_path, started) == before
