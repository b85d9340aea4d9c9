"""Build a demo workspace from the synthetic world, through the same import path users take."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from ..errors import TruefansError, UnusableFile
from ..schema import IMPORT_ORDER, clear_all

if TYPE_CHECKING:
    from ..workspace import Workspace


#: the demo worlds: a small business, and one person looking for a job
PERSONAS = ("business", "jobseeker")


def build_demo(
    ws: Workspace, seed: int = 7, size: str = "small", persona: str = "business"
) -> dict[str, Any]:
    """Replace the workspace's content with the demo world; returns what was loaded.

    ``persona="jobseeker"`` builds the job search of :mod:`truefans.demo.jobseeker` instead
    (its summary also names the career profile file it wrote next to the workspace).
    Refuses to touch a workspace that holds imports of the user's own data.
    """
    if persona not in PERSONAS:
        raise TruefansError(
            f"unknown demo persona {persona!r}; choose one of {', '.join(PERSONAS)}"
        )
    if persona == "jobseeker":
        from .jobseeker import build_jobseeker_demo

        return build_jobseeker_demo(ws, seed=seed, size=size)
    from .world import SIZES, generate

    if size not in SIZES:
        raise TruefansError(f"unknown demo size {size!r}; choose one of {', '.join(SIZES)}")
    if ws.count("imports") and ws.setting("demo") != "true":
        raise TruefansError(
            f"{ws.path} holds your own imports; build the demo in another workspace "
            "(truefans --workspace demo.duckdb demo)"
        )
    start = time.perf_counter()
    world = generate(seed=seed, size=size)
    ws.con.execute("BEGIN TRANSACTION")
    clear_all(ws.con)
    ws.con.execute("DELETE FROM settings WHERE key LIKE 'demo%'")
    ws.con.execute("COMMIT")
    with tempfile.TemporaryDirectory(prefix="truefans-demo-") as tmp:
        files = []
        for name in IMPORT_ORDER:
            path = Path(tmp) / f"{name}.parquet"
            pq.write_table(world.tables[name], path, row_group_size=1_000_000)
            files.append(path)
        reports = ws.import_files(files)
    bad = [r for r in reports if r.status not in ("ok",)]
    if bad:
        r = bad[0]
        raise UnusableFile(r.file, f"demo data did not import cleanly: {r.status} {r.message}")
    ws.con.register("__truth", world.truth)
    try:
        ws.con.execute("INSERT INTO truth SELECT outcome_id, channel_id, NULL FROM __truth")
    finally:
        ws.con.unregister("__truth")
    ws.con.register("__truth_people", world.truth_people)
    try:
        ws.con.execute("INSERT INTO truth_people SELECT person_id, label, NULL FROM __truth_people")
    finally:
        ws.con.unregister("__truth_people")
    ws.set_setting("demo", "true")
    ws.set_setting("demo_seed", str(seed))
    ws.set_setting("demo_size", size)
    ws.set_setting("demo_params", json.dumps(world.params, default=str))
    counts = {r.table: r.added for r in reports}
    return {
        "people": ws.count("people"),
        "touchpoints": counts.get("touchpoints", 0),
        "outcomes": counts.get("outcomes", 0),
        "seconds": time.perf_counter() - start,
    }
