"""Claim: `truefans serve` holds 200 concurrent clients for 60 s while files are imported through
its upload endpoint with no error, and its memory stays flat over a 10-minute soak.

Setup: a copy of the small demo (seed 7, built by ``benchmarks/picture.py``'s ``ensure_demo``) is
served by the real command, ``truefans --workspace COPY serve --port P``, in a child process bound
to 127.0.0.1 (loopback: no token; the upload still needs the CSRF double submit, which the
importer does like a browser: the ``truefans_csrf`` cookie from ``GET /upload`` echoed in the
``X-CSRF-Token`` header). Before any clock starts, every URL is asked once and its cold time is
reported (the app keeps a result per analysis, options and import generation).

**Load.** ``--clients`` asyncio clients (httpx, one connection each) loop for ``--seconds`` over
the URLs in turn: the home page, the page of every analysis that answers at once (``/a/NAME``),
and ``/api/v1/NAME`` for each of them that needs no option (``career`` needs an uploaded
profile; ``mix`` and ``plan`` are left out: they answer 202 and compute in the background for
minutes). Meanwhile an importer uploads Stripe payment exports of
``--import-rows`` rows (distinct slices of one generated export, so none is a duplicate) through
``POST /upload`` one after the other, polling ``/upload/jobs/ID`` until each is done, for the
whole window. This is what DuckDB's single-writer rule allows while the app runs: the app holds
the workspace, so the CLI would be refused (``tests/test_crash.py`` proves that); the app
serialises its own imports and reads under one lock and clears its results after each import, so
the first requests after an import compute anew. An error is any answer other than HTTP 200 (or,
for the API, a body that is not the CLI's JSON object), a time-out (``--timeout``) or a
connection error; an import that ends in an error or is not ``ok`` counts as an import error.

**Soak.** A fresh server on a fresh copy, warmed the same way, gets ``--soak-clients`` clients
looping over the same URLs for ``--soak`` seconds (no import: the data stays the same so that
any growth is the server's). The server's RSS (the process and its children, psutil) is sampled
every ``--sample`` seconds. Growth is the median of the last minute's samples over the median of
the first minute's, minus one.

Usage: ``.venv/bin/python benchmarks/web_load.py [--clients 200] [--seconds 60]
[--soak 600] [--soak-clients 200] [--import-rows 50000] [--write]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common as c

NAME = "web-load"
ERROR_TARGET = 0
GROWTH_TARGET = 0.10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def urls() -> list[str]:
    from truefans.report.registry import available

    quick = [a for a in available() if not a.slow]
    api = [a.name for a in quick if not any(o.required for o in a.options)]
    return ["/", *(f"/a/{a.name}" for a in quick), *(f"/api/v1/{n}" for n in api)]


def ok_body(url: str, status: int, content: bytes) -> bool:
    if status != 200:
        return False
    if url.startswith("/api/"):
        return content.startswith(b'{\n  "analysis"')
    return content.lstrip().startswith(b"<!DOCTYPE html") or b"<html" in content[:500]


class Server:
    """``truefans serve`` on a fresh copy of the demo, in its own process."""

    def __init__(self, demo: Path, name: str) -> None:
        self.work = c.data_dir() / f"{name}.duckdb"
        c.remove_db(self.work)
        shutil.copy(demo, self.work)
        self.port = free_port()
        exe = Path(sys.executable).with_name("truefans")
        self.proc = subprocess.Popen(
            [str(exe), "--workspace", str(self.work), "serve", "--port", str(self.port)],
            cwd=c.ROOT,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        import httpx

        for _ in range(1200):
            if self.proc.poll() is not None:
                raise SystemExit(f"truefans serve exited with {self.proc.returncode}")
            try:
                httpx.get(f"{self.base}/static/charts.js", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        c.log(f"truefans serve up on port {self.port} (pid {self.proc.pid})")

    def rss(self) -> int:
        import psutil

        p = psutil.Process(self.proc.pid)
        total = p.memory_info().rss
        for child in p.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return int(total)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        c.remove_db(self.work)
        shutil.rmtree(self.work.with_name(f"{self.work.stem}-uploads"), ignore_errors=True)


async def warm(base: str, targets: list[str]) -> dict[str, float]:
    import httpx

    cold: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=base, timeout=600) as cl:
        for u in targets:
            t0 = time.perf_counter()
            r = await cl.get(u)
            cold[u] = time.perf_counter() - t0
            if not ok_body(u, r.status_code, r.content):
                raise SystemExit(f"{u}: HTTP {r.status_code}: {r.text[:300]}")
    return cold


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    imports: list[dict[str, Any]] = field(default_factory=list)
    import_errors: list[str] = field(default_factory=list)
    wall: float = 0.0

    def error(self, kind: str) -> None:
        self.errors += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1


async def clients(
    base: str, targets: list[str], n: int, seconds: float, timeout: float, tally: Tally
) -> None:
    """``n`` clients asking ``targets`` in turn for ``seconds``; ``tally.wall`` is the time until
    the last answer (a request still running at the end is waited for)."""
    import httpx

    t0 = time.perf_counter()
    stop = t0 + seconds

    async def one(i: int) -> None:
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits) as cl:
            k = i
            while time.perf_counter() < stop:
                u = targets[k % len(targets)]
                k += 1
                t0 = time.perf_counter()
                try:
                    r = await cl.get(u)
                    if not ok_body(u, r.status_code, r.content):
                        tally.error(f"HTTP {r.status_code} on {u}")
                except httpx.TimeoutException:
                    tally.error("time-out")
                except httpx.HTTPError as e:
                    tally.error(type(e).__name__)
                tally.latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(one(i) for i in range(n)))
    tally.wall = time.perf_counter() - t0


def import_slices(rows: int, count: int) -> list[Path]:
    """``count`` distinct Stripe exports of ``rows`` rows each (slices of one generated file)."""
    import import_exports

    whole, _ = import_exports.ensure_stripe(rows * count)
    out = []
    with whole.open("rb") as fh:
        header = fh.readline()
        for i in range(count):
            p = c.data_dir() / f"web_load_stripe_{rows}_{i}.csv"
            with p.open("wb") as w:
                w.write(header)
                for _ in range(rows):
                    w.write(fh.readline())
            out.append(p)
    return out


async def importer(base: str, files: list[Path], seconds: float, tally: Tally) -> None:
    import httpx

    stop = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=600) as cl:
        await asyncio.sleep(2)
        r = await cl.get("/upload")
        csrf = r.cookies.get("truefans_csrf")
        if r.status_code != 200 or not csrf:
            tally.import_errors.append(f"GET /upload: HTTP {r.status_code}, no CSRF cookie")
            return
        for f in files:
            if time.perf_counter() >= stop:
                break
            t0 = time.perf_counter()
            with f.open("rb") as fh:
                r = await cl.post(
                    "/upload",
                    files={"files": (f.name, fh, "text/csv")},
                    headers={"X-CSRF-Token": csrf},
                )
            if r.status_code != 202:
                tally.import_errors.append(f"{f.name}: HTTP {r.status_code}: {r.text[:200]}")
                continue
            job = r.json()
            while not job.get("finished"):
                await asyncio.sleep(0.5)
                job = (await cl.get(f"/upload/jobs/{job['job']}")).json()
            took = time.perf_counter() - t0
            reports = job.get("reports") or []
            if job.get("error") or not reports or any(x.get("status") != "ok" for x in reports):
                tally.import_errors.append(f"{f.name}: {job.get('error') or reports}")
            tally.imports.append(
                {"file": f.name, "seconds": took, "added": sum(x.get("added", 0) for x in reports)}
            )
            c.log(f"imported {f.name} in {took:.1f} s")
    if not tally.imports:
        tally.import_errors.append("no import finished inside the window")


def pct(sorted_xs: list[float], q: float) -> float:
    return sorted_xs[min(len(sorted_xs) - 1, int(q * len(sorted_xs)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--soak", type=float, default=600.0, help="soak seconds (0: no soak)")
    ap.add_argument("--soak-clients", type=int, default=200)
    ap.add_argument("--sample", type=float, default=5.0, help="RSS sampling interval, seconds")
    ap.add_argument("--import-rows", type=int, default=50_000)
    ap.add_argument("--imports", type=int, default=20, help="distinct files prepared")
    ap.add_argument("--timeout", type=float, default=60.0, help="per-request time-out, seconds")
    ap.add_argument("--write", action="store_true", help="store the section in RESULTS.md")
    args = ap.parse_args()
    import picture as picture_bench

    demo = picture_bench.ensure_demo("small")
    files = import_slices(args.import_rows, args.imports)
    targets = urls()

    # -- load, with imports ---------------------------------------------------------------------
    srv = Server(demo, "web_load")
    try:
        cold = asyncio.run(warm(srv.base, targets))
        c.log(f"warm: {len(targets)} URLs, {sum(cold.values()):.1f} s cold in all")
        load = Tally()
        rss_load: list[int] = [srv.rss()]

        async def load_phase() -> None:
            await asyncio.gather(
                clients(srv.base, targets, args.clients, args.seconds, args.timeout, load),
                importer(srv.base, files, args.seconds, load),
            )

        asyncio.run(load_phase())
        load_wall = load.wall
        rss_load.append(srv.rss())
    finally:
        srv.stop()
    lat = sorted(load.latencies)
    n = len(lat)
    c.log(f"load: {n:,} requests, {load.errors} errors {load.kinds}, imports {len(load.imports)}")

    # -- soak -----------------------------------------------------------------------------------
    samples: list[tuple[float, int]] = []
    soak = Tally()
    if args.soak > 0:
        srv = Server(demo, "web_soak")
        try:
            asyncio.run(warm(srv.base, targets))
            done = threading.Event()
            t_start = time.perf_counter()

            def sample() -> None:
                while not done.is_set():
                    samples.append((time.perf_counter() - t_start, srv.rss()))
                    done.wait(args.sample)

            th = threading.Thread(target=sample, daemon=True)
            th.start()
            asyncio.run(
                clients(srv.base, targets, args.soak_clients, args.soak, args.timeout, soak)
            )
            done.set()
            th.join()
            samples.append((time.perf_counter() - t_start, srv.rss()))
        finally:
            srv.stop()
    window = min(60.0, args.soak / 3) if args.soak > 0 else 0.0
    first = [r for t, r in samples if t < window]
    last = [r for t, r in samples if t >= samples[-1][0] - window] if samples else []
    first_mb = statistics.median(first) / c.MB if first else 0.0
    last_mb = statistics.median(last) / c.MB if last else 0.0
    growth = last_mb / first_mb - 1 if first_mb else 0.0
    peak_mb = max(r for _, r in samples) / c.MB if samples else 0.0
    slat = sorted(soak.latencies)
    c.log(
        f"soak: {len(slat):,} requests, {soak.errors} errors, RSS {first_mb:.0f} -> "
        f"{last_mb:.0f} MB ({growth:+.1%})"
    )

    imp_s = [x["seconds"] for x in load.imports]
    table = [
        [
            "phase",
            "clients",
            "seconds",
            "requests",
            "errors",
            "req/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
        ],
        [
            "load + imports",
            str(args.clients),
            f"{load_wall:.0f}",
            f"{n:,}",
            str(load.errors),
            f"{n / load_wall:,.0f}",
            f"{pct(lat, 0.5):.0f}",
            f"{pct(lat, 0.95):.0f}",
            f"{pct(lat, 0.99):.0f}",
        ],
    ]
    if args.soak > 0:
        table.append(
            [
                "soak",
                str(args.soak_clients),
                f"{soak.wall:.0f}",
                f"{len(slat):,}",
                str(soak.errors),
                f"{len(slat) / soak.wall:,.0f}",
                f"{pct(slat, 0.5):.0f}",
                f"{pct(slat, 0.95):.0f}",
                f"{pct(slat, 0.99):.0f}",
            ]
        )
    met = [
        (f"{load.errors} errors under load", load.errors == ERROR_TARGET),
        (
            f"imports during the load: {len(load.imports)} done, {len(load.import_errors)} failed",
            bool(load.imports) and not load.import_errors,
        ),
    ]
    if args.soak > 0:
        met.append(
            (
                f"soak RSS {first_mb:,.0f} MB (first minute) -> {last_mb:,.0f} MB (last minute): "
                f"{growth:+.1%}, target <= +{GROWTH_TARGET:.0%}",
                growth <= GROWTH_TARGET,
            )
        )
        met.append((f"{soak.errors} errors during the soak", soak.errors == 0))
    notes = [
        "URLs in turn: " + ", ".join(f"`{u}`" for u in targets) + ".",
        f"Imports during the load: {len(load.imports)} Stripe export(s) of {args.import_rows:,} "
        "rows each, uploaded one after the other through `POST /upload` (CSRF double submit) "
        "while the clients ran (the last one is waited for), "
        + (
            f"{min(imp_s):.1f}–{max(imp_s):.1f} s each from upload to done; "
            if imp_s
            else "none finished; "
        )
        + "each clears the app's results, so requests after it compute anew under the app's lock."
        + (f" Failures: {'; '.join(load.import_errors)}." if load.import_errors else ""),
        "Errors by kind: "
        + (", ".join(f"{k}: {v}" for k, v in {**load.kinds, **soak.kinds}.items()) or "none")
        + f" (time-out {args.timeout:.0f} s per request).",
        "Cold times (first ask of each URL, before the clock): "
        + ", ".join(f"`{u}` {s:.2f} s" for u, s in cold.items())
        + ".",
        f"Server RSS during the load: {rss_load[0] / c.MB:,.0f} MB before, "
        f"{rss_load[-1] / c.MB:,.0f} MB after (imports add data).",
    ]
    if samples:
        notes.append(
            f"Soak RSS samples every {args.sample:.0f} s ({len(samples)}): peak {peak_mb:,.0f} MB; "
            "MB at each minute: "
            + ", ".join(
                f"{statistics.median([r for t, r in samples if m * 60 <= t < (m + 1) * 60]) / c.MB:,.0f}"
                for m in range(int(samples[-1][0] // 60) + 1)
                if any(m * 60 <= t < (m + 1) * 60 for t, _ in samples)
            )
            + "."
        )
    notes.append(
        "Clients, importer and server share the machine: the figures include the clients' own CPU."
    )
    body = c.section(
        NAME,
        f"Web app under load: {args.clients} clients with imports, {args.soak:.0f}-second soak",
        f"`truefans serve` answers {args.clients} concurrent clients on the small demo for "
        f"{args.seconds:.0f} s while files are imported through its upload endpoint, with no "
        "error, and its memory stays flat over a soak of steady load.",
        f"0 errors; p50/p95/p99 reported; RSS growth from the first minute to the last <= "
        f"{GROWTH_TARGET:.0%}.",
        table,
        met,
        notes,
    )
    c.emit(NAME, body, args.write)


if __name__ == "__main__":
    main()
