"""Every input fuzzing found a failure with, replayed in the default run: each is a regression test.

The corpus is ``tests/data/fuzz_corpus/``: a file named ``SOURCE__TEST__NAME`` is the file ``NAME``
(the name matters to detection) that failed the fuzz test ``TEST`` (``detectors``, ``exports`` or
``generic``) with ``SOURCE`` forced (``auto``: detection chose). ``make fuzz`` writes a new
failure to ``fuzz_corpus/new/``; once fixed, the file moves up into the corpus and stays.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from test_fuzz_parsers import CORPUS, SOURCES, Scratch, check_import
from truefans.ingest.registry import Detection, load_sources
from truefans.schema import CANONICAL

FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name.count("__") >= 2)


def parts(p: Path) -> tuple[str | None, str, str]:
    source, test, name = p.name.split("__", 2)
    return (None if source == "auto" else source), test, name


def test_the_corpus_names_known_sources_and_tests():
    assert CORPUS.is_dir()
    for p in FILES:
        source, test, name = parts(p)
        assert source is None or source in SOURCES, p.name
        assert test in ("detectors", "exports", "generic"), p.name
        assert name, p.name


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_a_corpus_input_is_read_or_refused_cleanly(tmp_path, path):
    source, test, name = parts(path)
    data = path.read_bytes()
    target = tmp_path / "in" / name
    target.parent.mkdir()
    target.write_bytes(data)
    for src_name, src in load_sources().items():
        if src_name in SOURCES:
            got = src.detect(target, data[:65536])
            assert got is None or isinstance(got, Detection), (src_name, got)
            assert got is None or got.table is None or got.table in CANONICAL, (src_name, got)
    if test == "detectors":
        return
    scratch = Scratch(tmp_path)
    try:
        check_import(scratch.ws, target, source)
        if source is not None:  # and through detection, as a user would import it
            check_import(scratch.ws, scratch.file(name, data), None)
    finally:
        scratch.ws.close()
