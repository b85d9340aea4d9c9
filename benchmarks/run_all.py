"""Run every benchmark claim script and record its section in benchmarks/RESULTS.md.

Each ``benchmarks/*.py`` (except ``_*.py`` and this file) runs in its own process with its default
(full-size) settings; its progress goes to the terminal, its markdown section is printed and then
replaces the section of the same name in RESULTS.md (or is appended). A script that prints no
section (it could not measure) leaves the previous section alone.

Exit status: 0 if every claim was met, 1 if a claim was not met, 2 if a script could not measure.

Usage: ``.venv/bin/python benchmarks/run_all.py [NAME ...]`` (names select scripts, e.g. picture)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import _common as c


def scripts(names: list[str]) -> list[str]:
    found = sorted(
        p.stem
        for p in c.BENCH_DIR.glob("*.py")
        if not p.name.startswith("_") and p.name != "run_all.py"
    )
    unknown = [n for n in names if n not in found]
    if unknown:
        raise SystemExit(f"no benchmark named {', '.join(unknown)}; have: {', '.join(found)}")
    return [n for n in found if not names or n in names]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="run only these scripts (file names without .py)")
    args = ap.parse_args()
    outcome: list[tuple[str, int, float, list[str]]] = []
    for name in scripts(args.names):
        script = c.BENCH_DIR / f"{name}.py"
        c.log(f"=== {name}: {sys.executable} {script.relative_to(c.ROOT)}")
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=c.ROOT
        )
        elapsed = time.perf_counter() - t0
        sys.stdout.write(proc.stdout)
        sys.stdout.flush()
        found = c.sections_in(proc.stdout)
        for section_name, body in found.items():
            c.write_section(section_name, body)
        outcome.append((name, proc.returncode, elapsed, list(found)))
    c.log("=== summary")
    worst = 0
    for name, code, elapsed, written in outcome:
        meaning = {0: "met", 1: "NOT met"}.get(code, f"could not measure (exit {code})")
        where = (
            f"section {', '.join(written)} written to {c.RESULTS.relative_to(c.ROOT)}"
            if written
            else "no section written"
        )
        c.log(f"{name}: {meaning} ({elapsed:.0f} s); {where}")
        worst = max(worst, 0 if code == 0 else 1 if code == 1 else 2)
    return worst


if __name__ == "__main__":
    sys.exit(main())
