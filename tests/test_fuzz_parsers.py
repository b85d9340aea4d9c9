"""Fuzzing every source's detection and staging, and the generic import, with a large budget.

Marked ``fuzz`` and left out of the default run (about 10 minutes on 2 shared cores): ``make
fuzz`` runs it (``TRUEFANS_FUZZ_EXAMPLES`` sets the budget per test, default 1500; the detector
test draws three times as many: 7,500 inputs in all). Each run prints how many inputs each test
fed to truefans. A workbook that makes the spreadsheet library abort (it does, now and then) only
kills the child process truefans reads workbooks in; the fault handler prints that child's stack.

What is fuzzed:

* every built-in detector on mutated files (bytes flipped, inserted, deleted; lines dropped,
  duplicated, swapped; cells replaced by awkward values; columns swapped, repeated, dropped or
  renamed on every line; other encodings and line ends; in a workbook, one cell value replaced
  inside the sheet's XML): a detector returns a detection or nothing, never raises (the loader
  would hide the exception and pass the file to a less fitting source);
* the import of mutated export files (now and then zipped, under hostile member names), through
  detection and forced through each source in turn: the import answers with a report, never a
  traceback; a refused file stores nothing; every rejected row names its row (>= 1), its column
  ('' for a row-level problem such as a wrong number of fields) and the reason; no row is left
  without its import;
* the generic import of generated ``TABLE.csv`` files: the table's own columns (some left out,
  some unknown added) with values drawn from valid ones and awkward ones; the same checks.

An input that fails is written to ``tests/data/fuzz_corpus/new/`` (the last, shrunk one is what
stays) as ``SOURCE__TEST__NAME`` (``auto``: detection chose); ``test_fuzz_corpus.py`` replays every
file of the corpus in the default run, so each crash found becomes a regression test once
committed.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import truefans
from truefans.ingest.registry import Detection, load_sources
from truefans.schema import CANONICAL

pytestmark = pytest.mark.fuzz

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "fuzz_corpus"
EXPORTS = ROOT.parent / "shared" / "data" / "exports"
TEXT = (".csv", ".tsv", ".txt", ".json", ".js")
BINARY = (".xls", ".xlsx")
SAMPLES = sorted(
    p
    for base in (ROOT / "tests" / "data", EXPORTS)
    if base.exists()
    for p in base.rglob("*")
    if p.is_file() and p.suffix.lower() in TEXT + BINARY and CORPUS not in p.parents
)
WORKBOOKS = [p for p in SAMPLES if p.suffix.lower() in BINARY]
#: a sample: any, or a workbook (few among the samples, and their values sit deep in a zip)
SAMPLE = st.one_of(st.sampled_from(SAMPLES), st.sampled_from(WORKBOOKS or SAMPLES))
EXAMPLES = int(os.environ.get("TRUEFANS_FUZZ_EXAMPLES", "1500"))
SOURCES = sorted(load_sources())
STATUSES = {"ok", "rejects", "unusable", "duplicate", "ignored"}

#: values that have broken parsers elsewhere: empty, signs, huge, non-finite, odd dates and
#: times, other digits, quotes, separators, control characters, formulas, currencies
AWKWARD = [
    "",
    " ",
    "-",
    "-1",
    "0",
    "1e309",
    "-1e309",
    "NaN",
    "inf",
    "9" * 40,
    "0x1F",
    "1,234.56",
    "1.234,56",
    "(12.50)",
    "$",
    "€1 234,56",
    "12%",
    "١٢٣",
    "2024-13-45",
    "2024-02-30",
    "0000-00-00",
    "9999-12-31 23:59:59",
    "1/1/1900",
    "31/12/2024 25:61",
    "2024-06-01T10:00:00+99:00",
    "1700000000",
    "99999999999999999999",
    "24:00",
    "TRUE",
    "null",
    "NULL",
    "None",
    '"',
    '""',
    "'",
    "a,b",
    "a;b",
    "a\tb",
    "line\nbreak",
    "\r",
    "\x00",
    "\x1b[31m",
    '=HYPERLINK("http://x")',
    "@user",
    "@",
    "x@",
    "@y.z",
    "a@b@c",
    "+1 (555) 010-9999",
    "+",
    "https://",
    "http://[::1",
    "é" * 3,
    "\ud7ff\ue000",
    "😀",
    "x" * 5000,
]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def apply(data: bytes, ops: list[tuple[Any, ...]], binary: bool) -> bytes:
    """The file after the drawn mutations, in order."""
    for op in ops:
        kind = op[0]
        n = max(len(data), 1)
        if kind == "flip":
            pos = op[1] % n
            data = data[:pos] + bytes([op[2]]) + data[pos + 1 :]
        elif kind == "insert":
            pos = op[1] % (len(data) + 1)
            data = data[:pos] + op[2] + data[pos:]
        elif kind == "delete":
            pos = op[1] % n
            data = data[:pos] + data[pos + op[2] :]
        elif kind == "truncate":
            data = data[: op[1] % n]
        elif kind == "sheet_value":
            if binary:
                data = sheet_value(data, op[1], op[2])
        elif binary:
            continue  # the line and cell mutations below are for text files
        elif kind == "drop_line":
            lines = _lines(data)
            del lines[op[1] % len(lines)]
            data = b"\n".join(lines)
        elif kind == "dup_line":
            lines = _lines(data)
            k = op[1] % len(lines)
            lines.insert(k, lines[k])
            data = b"\n".join(lines)
        elif kind == "swap_lines":
            lines = _lines(data)
            i, j = op[1] % len(lines), op[2] % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
            data = b"\n".join(lines)
        elif kind == "cell":
            lines = _lines(data)
            k = op[1] % len(lines)
            sep = b"\t" if lines[k].count(b"\t") > lines[k].count(b",") else b","
            cells = lines[k].split(sep)
            cells[op[2] % len(cells)] = op[3].encode("utf-8", "surrogatepass")
            lines[k] = sep.join(cells)
            data = b"\n".join(lines)
        elif kind == "columns":  # the same change on every line: reorder, repeat, drop, rename
            lines = _lines(data)
            head = max(lines[:40], key=lambda x: max(x.count(b","), x.count(b"\t")))
            sep = b"\t" if head.count(b"\t") > head.count(b",") else b","
            out = []
            for line in lines:
                cells = line.split(sep)
                i, j = op[2] % len(cells), op[3] % len(cells)
                if op[1] == "swap":
                    cells[i], cells[j] = cells[j], cells[i]
                elif op[1] == "repeat":
                    cells.insert(j, cells[i])
                elif op[1] == "drop" and len(cells) > 1:
                    del cells[i]
                elif op[1] == "rename" and line is head:
                    cells[i] = cells[i].upper() if op[3] % 2 else b" " + cells[i] + b" "
                out.append(sep.join(cells))
            data = b"\n".join(out)
        elif kind == "encoding":
            with contextlib.suppress(UnicodeDecodeError):
                data = data.decode("utf-8-sig").encode(op[1], "replace")
        elif kind == "newlines":
            data = data.replace(b"\r\n", b"\n").replace(b"\n", op[1])
    return data


_XML_VALUE = re.compile(rb"(<v>|<t(?: [^>]*)?>)([^<]*)(</v>|</t>)")


def sheet_value(data: bytes, k: int, value: str) -> bytes:
    """A workbook with its k-th cell value (``<v>``, or a shared or inline string ``<t>``)
    replaced, the rest of the file kept: the workbook still opens, the value reaches the parser
    (a shared-string index out of range, a date serial out of range, text where a number is)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = [(i, z.read(i)) for i in z.infolist()]
    except Exception:  # a workbook an earlier mutation broke (bad zip, bad deflate stream)
        return data
    spots = [
        (m, hit)
        for m, (info, body) in enumerate(members)
        if info.filename.startswith("xl/worksheets/") or info.filename == "xl/sharedStrings.xml"
        for hit in _XML_VALUE.finditer(body)
    ]
    if not spots:
        return data
    m, hit = spots[k % len(spots)]
    info, body = members[m]
    escaped = value.encode("utf-8", "surrogatepass").replace(b"&", b"&amp;").replace(b"<", b"&lt;")
    members[m] = (info, body[: hit.start(2)] + escaped + body[hit.end(2) :])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info, body in members:
            z.writestr(info, body)
    return out.getvalue()


_pos = st.integers(min_value=0, max_value=1_000_000)
OPS = st.one_of(
    st.tuples(st.just("flip"), _pos, st.integers(0, 255)),
    st.tuples(st.just("insert"), _pos, st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("delete"), _pos, st.integers(1, 400)),
    st.tuples(st.just("truncate"), _pos),
    st.tuples(st.just("drop_line"), _pos),
    st.tuples(st.just("dup_line"), _pos),
    st.tuples(st.just("swap_lines"), _pos, _pos),
    # cells are the most fruitful: the header stays, so the value reaches the parser's checks
    st.tuples(
        st.just("cell"),
        _pos,
        st.integers(0, 60),
        st.one_of(st.sampled_from(AWKWARD), st.text(max_size=30)),
    ),
    st.tuples(
        st.just("cell"),
        st.integers(1, 12),
        st.integers(0, 60),
        st.one_of(st.sampled_from(AWKWARD), st.text(max_size=30)),
    ),
    # workbooks: one cell value replaced inside the sheet's XML (twice as likely)
    st.tuples(
        st.just("sheet_value"),
        _pos,
        st.one_of(
            st.sampled_from([*AWKWARD, "-1", "99999", "2958466", "1e300", "-0", "1.5"]),
            st.text(max_size=20),
        ),
    ),
    st.tuples(
        st.just("sheet_value"),
        _pos,
        st.one_of(st.sampled_from(["-1", "99999", "2958466", "1e300", "-0"]), st.text(max_size=20)),
    ),
    st.tuples(
        st.just("columns"),
        st.sampled_from(["swap", "repeat", "drop", "rename"]),
        st.integers(0, 60),
        st.integers(0, 60),
    ),
    st.tuples(st.just("encoding"), st.sampled_from(["utf-16", "latin-1", "utf-8-sig", "cp1252"])),
    st.tuples(st.just("newlines"), st.sampled_from([b"\r\n", b"\r", b"\n\n"])),
)
MUTATIONS = st.lists(OPS, min_size=1, max_size=6)

COUNTS: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request: pytest.FixtureRequest) -> Any:
    yield
    if COUNTS:
        total = sum(COUNTS.values())
        parts = ", ".join(f"{k} {v:,}" for k, v in COUNTS.items())
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print(f"\nfuzz: {total:,} inputs fed to truefans ({parts})", flush=True)


def _count(test: str) -> None:
    COUNTS[test] = COUNTS.get(test, 0) + 1


def _keep_failure(test: str, source: str | None, name: str, data: bytes) -> None:
    """The failing input, where the corpus replay will find it (the last, shrunk one stays)."""
    folder = CORPUS / "new"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"*__{test}__*"):
        old.unlink()
    (folder / f"{source or 'auto'}__{test}__{name}").write_bytes(data)


class Scratch:
    """One workspace for all examples of a test (opening one per example would halve the
    budget); imports pile up in it, as they do in a real workspace."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ws = truefans.open_workspace(root / "w.duckdb")
        (root / "channels.csv").write_text(
            "channel_id,kind\nweb,web\ninstagram,social\nlinkedin,social\nnewsletter,email\n"
        )
        self.ws.import_files([root / "channels.csv"])
        self.n = 0

    def file(self, name: str, data: bytes) -> Path:
        self.n += 1
        folder = self.root / f"in{self.n}"
        folder.mkdir()
        target = folder / name
        target.write_bytes(data)
        return target


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Any:
    s = Scratch(tmp_path_factory.mktemp("fuzz_ws"))
    yield s
    s.ws.close()


def state(ws: Any) -> dict[str, int]:
    return {t: ws.count(t) for t in [*CANONICAL, "imports", "rejects"]}


def check_import(ws: Any, target: Path, source: str | None) -> None:
    """Import one file and check the promises: a report, never a traceback; a refused file
    stores nothing; rejects name row, column and reason; nothing half-written."""
    before = state(ws)
    last = ws.con.execute("SELECT coalesce(max(source_id), 0) FROM imports").fetchone()[0]
    reports = ws.import_files([target], source=source)  # must not raise
    after = state(ws)
    assert reports, "no report"
    for r in reports:
        assert r.status in STATUSES, r
        assert 0 <= r.rejected <= r.rows, r
        assert min(r.added, r.updated, r.skipped) >= 0, r
        if r.status == "unusable":
            assert r.message, r
    if all(r.status in ("unusable", "ignored", "duplicate") for r in reports):
        assert after == before
    bad = ws.con.execute(
        'SELECT "row", "column", reason FROM rejects WHERE source_id > ? AND '
        '("row" IS NULL OR "row" < 1 OR "column" IS NULL OR coalesce(reason, \'\') = \'\') '
        "LIMIT 3",
        [last],
    ).fetchall()
    assert bad == [], f"rejects without a row, column or reason: {bad}"
    for table in CANONICAL:
        orphans = ws.con.execute(
            f'SELECT count(*) FROM "{table}" WHERE source_id IS NOT NULL AND source_id NOT IN '
            "(SELECT source_id FROM imports)"
        ).fetchone()[0]
        assert orphans == 0, table


_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
}


@settings(max_examples=3 * EXAMPLES, **_SETTINGS)
@given(sample=SAMPLE, ops=MUTATIONS)
def test_detectors_never_raise_on_mutated_files(tmp_path_factory, sample, ops):
    data = apply(sample.read_bytes(), ops, sample.suffix.lower() in BINARY)
    folder = tmp_path_factory.mktemp("detect")
    target = folder / sample.name
    target.write_bytes(data)
    _count("detectors")
    try:
        for name, src in load_sources().items():
            if name not in SOURCES:
                continue  # an installed plugin is not ours to fuzz
            got = src.detect(target, data[:65536])
            assert got is None or isinstance(got, Detection), (name, got)
            if got is not None:
                assert 0.0 <= got.confidence <= 1.0, (name, got)
                assert got.table is None or got.table in CANONICAL, (name, got)
    except BaseException:
        _keep_failure("detectors", None, sample.name, data)
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@settings(max_examples=EXAMPLES, **_SETTINGS)
@given(
    sample=SAMPLE,
    ops=MUTATIONS,
    # detection most of the time, else the file forced through one source
    source=st.one_of(st.none(), st.none(), st.sampled_from(SOURCES)),
    # now and then inside a zip, under the sample's name or a hostile one
    zipped=st.one_of(
        st.none(),
        st.none(),
        st.none(),
        st.sampled_from(["", "../", "/abs/", "a/b/", "..\\", "./.", "x" * 200 + "/"]),
    ),
)
def test_mutated_exports_import_or_are_refused(scratch, sample, ops, source, zipped):
    data = apply(sample.read_bytes(), ops, sample.suffix.lower() in BINARY)
    name = sample.name
    if zipped is not None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr(zipped + sample.name, data)
        data, name = buf.getvalue(), sample.stem + ".zip"
    target = scratch.file(name, data)
    _count("exports")
    try:
        check_import(scratch.ws, target, source)
    except BaseException:
        _keep_failure("exports", source, name, data)
        raise


def _value(col: Any) -> st.SearchStrategy[str]:
    valid: st.SearchStrategy[str]
    if col.type in ("int",):
        valid = st.integers(-(10**12), 10**12).map(str)
    elif col.type in ("float", "money"):
        valid = st.floats(allow_nan=True, allow_infinity=True).map(repr)
    elif col.type == "bool":
        valid = st.sampled_from(["true", "false", "1", "0", "yes", "no"])
    elif col.type in ("timestamp", "date"):
        valid = st.datetimes().map(lambda d: d.isoformat(sep=" " if d.microsecond % 2 else "T"))
    elif col.type == "enum" and col.enum:
        valid = st.sampled_from(list(col.enum))
    elif col.type == "currency":
        valid = st.sampled_from(["USD", "EUR", "usd", "XXX", "US", "€"])
    elif col.references:
        valid = st.sampled_from(["web", "instagram", "linkedin", "newsletter", "nope", "p1"])
    else:
        valid = st.text(max_size=20)
    return st.one_of(valid, valid, st.sampled_from(AWKWARD), st.text(max_size=12))


def _csv_cell(v: str) -> str:
    if any(ch in v for ch in ',"\n\r'):
        return '"' + v.replace('"', '""') + '"'
    return v


@st.composite
def generic_file(draw: st.DrawFn) -> tuple[str, bytes]:
    table = CANONICAL[draw(st.sampled_from(sorted(CANONICAL)))]
    cols = [c for c in table.columns if c.required or draw(st.booleans())]
    if draw(st.integers(0, 9)) == 0 and cols:  # now and then a required column is missing
        cols.remove(draw(st.sampled_from(cols)))
    names = [c.name for c in cols]
    if draw(st.integers(0, 4)) == 0:
        names.append(
            draw(st.sampled_from(["extra", "Email", "", "notes", names[0] if names else "x"]))
        )
        cols.append(cols[0] if cols else table.columns[0])
    names = [
        draw(st.sampled_from([n, n.upper(), f" {n} "])) if draw(st.integers(0, 5)) == 0 else n
        for n in names
    ]
    rows = draw(st.integers(0, 25))
    lines = [",".join(_csv_cell(n) for n in names)]
    for _ in range(rows):
        lines.append(",".join(_csv_cell(draw(_value(c))) for c in cols))
    data = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    return f"{table.name}.csv", data


@settings(max_examples=EXAMPLES, **_SETTINGS)
@given(file=generic_file())
def test_generic_files_import_or_are_refused(scratch, file):
    name, data = file
    target = scratch.file(name, data)
    _count("generic")
    try:
        check_import(scratch.ws, target, None)
    except BaseException:
        _keep_failure("generic", None, name, data)
        raise
