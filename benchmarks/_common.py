"""Shared helpers of the benchmark scripts: timing, peak memory, machine facts, RESULTS.md sections.

Every claim script prints progress to stderr and exactly one markdown section to stdout, framed by
``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``; :func:`write_section` puts that section into
``benchmarks/RESULTS.md`` (replacing the previous one of the same name, else appending).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / "_data"
RESULTS = BENCH_DIR / "RESULTS.md"
GB = 1024**3
MB = 1024**2


def log(msg: str) -> None:
    """Progress line on stderr (stdout is reserved for the markdown section)."""
    stamp = datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {msg}", file=sys.stderr, flush=True)


@contextmanager
def step(what: str) -> Iterator[None]:
    log(f"{what} ...")
    t0 = time.perf_counter()
    yield
    log(f"{what}: {time.perf_counter() - t0:.1f} s")


def data_dir() -> Path:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return DATA_DIR


def remove_db(path: Path) -> None:
    """Delete a DuckDB file and its write-ahead log."""
    for p in (path, Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)


# -- measuring ------------------------------------------------------------------------------------


def _busy_cpu_seconds() -> float:
    """CPU seconds the whole machine spent busy since boot (all cores), from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    busy = sum(fields) - fields[3] - fields[4]  # minus idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    """CPU seconds of this process and its reaped children."""
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class OtherLoad:
    """CPU time other processes used while we measured (noise on a shared machine)."""

    def __init__(self) -> None:
        self.other = 0.0
        self.wall = 0.0
        self._start: tuple[float, float, float] | None = None

    def start(self) -> None:
        self._start = (_busy_cpu_seconds(), _own_cpu_seconds(), time.perf_counter())

    def stop(self) -> None:
        assert self._start is not None
        busy, own, t = self._start
        self.other += max(0.0, (_busy_cpu_seconds() - busy) - (_own_cpu_seconds() - own))
        self.wall += time.perf_counter() - t
        self._start = None

    def note(self) -> str:
        share = self.other / (self.wall * cores()) if self.wall else 0.0
        return (
            f"Other processes used {self.other:.1f} CPU-seconds during the {self.wall:.0f} s of "
            f"measured runs ({share:.0%} of the machine's {cores()} cores)"
            + (": the figures are noisier than on a quiet machine." if share > 0.05 else ".")
        )


def wait_quiet(max_wait: float = 900.0, threshold: float = 0.15) -> None:
    """Wait (up to ``max_wait`` s) until other processes use under ``threshold`` of one core."""
    t0 = time.perf_counter()
    while True:
        probe = OtherLoad()
        probe.start()
        time.sleep(3)
        probe.stop()
        used = probe.other / probe.wall
        if used < threshold:
            return
        waited = time.perf_counter() - t0
        if waited > max_wait:
            log(f"machine still busy ({used:.0%} of a core used by others); measuring anyway")
            return
        log(f"machine busy ({used:.0%} of a core used by other processes); waiting to start")
        time.sleep(7)


@dataclass
class ChildRun:
    """One contender run in its own process."""

    returncode: int
    wall: float  # seconds, process start to exit (interpreter start and imports included)
    peak_rss: int  # bytes: max of the sampled RSS of the process tree and the child's ru_maxrss
    sampled_rss: int  # bytes: highest RSS sum of the child and its descendants seen by sampling
    maxrss: int  # bytes: the child's ru_maxrss as reported by wait4
    cpu: float  # seconds of CPU (user + system, all threads) the child used, from wait4
    stdout: str

    def payload(self) -> dict[str, Any]:
        """The JSON object the child printed last on stdout."""
        for line in reversed(self.stdout.strip().splitlines()):
            if line.startswith("{"):
                return dict(json.loads(line))
        raise RuntimeError(f"child printed no result (exit {self.returncode}):\n{self.stdout}")


def run_child(cmd: Sequence[str], interval: float = 0.02) -> ChildRun:
    """Run ``cmd``, sampling the RSS of it and its descendants; stderr passes through."""
    import psutil

    with tempfile.TemporaryFile(mode="w+") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, cwd=ROOT)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            try:
                root = psutil.Process(proc.pid)
            except psutil.Error:
                return
            while not done.is_set():
                total = 0
                try:
                    total += root.memory_info().rss
                    for child in root.children(recursive=True):
                        with suppress(psutil.Error):
                            total += child.memory_info().rss
                except psutil.Error:
                    return
                peak = max(peak, total)
                done.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    maxrss = int(usage.ru_maxrss) * 1024  # kilobytes on Linux
    cpu = usage.ru_utime + usage.ru_stime
    return ChildRun(proc.returncode, wall, max(peak, maxrss), peak, maxrss, cpu, text)


class RssWatch:
    """Samples this process's RSS every 10 ms; ``peak_since_mark`` is the highest since ``mark``."""

    def __init__(self) -> None:
        import threading

        import psutil

        self._proc = psutil.Process()
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._peak = max(self._peak, self._proc.memory_info().rss)
            self._stop.wait(0.01)

    def mark(self) -> None:
        self._peak = self._proc.memory_info().rss

    def peak_since_mark(self) -> int:
        return max(self._peak, self._proc.memory_info().rss)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def child_result(**fields: Any) -> None:
    """What a child process reports to its parent: one JSON line on stdout."""
    print(json.dumps(fields), flush=True)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def summaries_note(path: Path) -> str:
    """Time a full rebuild of the workspace's summary tables (schema v4, ``derived.py``) in a
    rolled-back transaction, and say what it means for the figures above."""
    import truefans
    from truefans import derived

    with truefans.open_workspace(path) as ws:
        ws.con.execute("BEGIN TRANSACTION")
        c0, t0 = time.process_time(), time.perf_counter()
        derived.rebuild(ws.con)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        ws.con.execute("ROLLBACK")
    return (
        "For the whole history (the default) truefans reads the summary tables of schema v4 "
        "(`derived.py`), which the first analysis after an import brings up to date, once per "
        f"import; a full rebuild of them on this workspace takes {secs:.2f} s ({cpu:.2f} CPU-s), "
        "not in the timed runs above (each run starts with the summaries up to date)."
    )


def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


# -- facts for the report -------------------------------------------------------------------------


def utc_now() -> str:
    """What ``date -u`` prints (falls back to Python's clock)."""
    try:
        return subprocess.run(
            ["date", "-u"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return datetime.now(UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import psutil

    return int(psutil.virtual_memory().total)


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{cores()} cores, {_ram_bytes() / GB:.1f} GB RAM, CPU {_cpu_model()}; "
        f"{platform.system()} {platform.release()}; load average at the end: {load}"
    )


def _git_commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "src"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + (" + uncommitted changes in src/" if dirty else "")


def versions() -> str:
    import duckdb

    import truefans

    return (
        f"truefans {truefans.__version__} (commit {_git_commit()}), duckdb {duckdb.__version__}, "
        f"Python {platform.python_version()}"
    )


def command() -> str:
    """The command that ran this script, as someone would type it from the repository root."""
    exe = Path(os.path.normpath(sys.executable))
    try:
        shown = str(exe.relative_to(ROOT)) if exe.is_absolute() else str(exe)
    except ValueError:
        shown = str(exe)
    script = Path(sys.argv[0]).resolve()
    try:
        script_shown = str(script.relative_to(ROOT))
    except ValueError:
        script_shown = str(script)
    return shlex.join([shown, script_shown, *sys.argv[1:]])


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def fmt_mb(n: int) -> str:
    return f"{n / MB:,.0f} MB"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**NOT met**"


# -- the markdown section -------------------------------------------------------------------------


def section(
    name: str,
    title: str,
    claim: str,
    target: str,
    table: list[list[str]],
    met: list[tuple[str, bool]],
    notes: list[str] | None = None,
) -> str:
    """A RESULTS.md section: claim, target, the figures side by side, verdicts, provenance."""
    lines = [f"<!-- bench:{name} -->", f"## {title}", "", f"**Claim.** {claim}", ""]
    lines += [f"**Target.** {target}", ""]
    header, *rows = table
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines.append("")
    lines += [f"- {what}: {verdict(ok)}" for what, ok in met]
    lines.append("")
    for n in notes or []:
        lines.append(f"- {n}")
    if notes:
        lines.append("")
    lines += [
        f"- Command: `{command()}`",
        f"- Date: {utc_now()}",
        f"- Machine: {machine()}",
        f"- Versions: {versions()}",
        f"<!-- /bench:{name} -->",
    ]
    return "\n".join(lines) + "\n"


_SECTION = re.compile(r"<!-- bench:(?P<name>[\w-]+) -->.*?<!-- /bench:(?P=name) -->\n?", re.S)

_RESULTS_HEAD = """# Benchmark results

Written by `make bench` (`benchmarks/run_all.py`): each claim script measures its claim and prints
the section below it; re-running replaces that section. Generated data lives in `benchmarks/_data/`
(git-ignored). Figures are from the machine named in each section; other processes running at the
same time (see the load average) slow the contenders alike but add noise.

"""


def sections_in(text: str) -> dict[str, str]:
    return {m.group("name"): m.group(0) for m in _SECTION.finditer(text)}


def write_section(name: str, body: str, path: Path = RESULTS) -> None:
    """Replace the section ``name`` in RESULTS.md (or append it)."""
    body = body.rstrip("\n") + "\n"
    text = path.read_text() if path.exists() else _RESULTS_HEAD
    found = sections_in(text)
    if name not in found:
        text = text.rstrip("\n") + "\n\n"
    text = text.replace(found[name], body) if name in found else text + body
    path.write_text(text)


def emit(name: str, body: str, write: bool) -> None:
    """Print the section on stdout and, if asked, store it in RESULTS.md."""
    sys.stdout.write(body)
    sys.stdout.flush()
    if write:
        write_section(name, body)
        log(f"section '{name}' written to {RESULTS.relative_to(ROOT)}")
