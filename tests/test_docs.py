"""The README is the user's manual: it must match the code."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from truefans.cli import app
from truefans.schema import format_reference

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_generic_format_matches_the_schema():
    block = re.search(
        r"<!-- generic-format:start -->\n(.*)\n<!-- generic-format:end -->", README, re.S
    )
    assert block is not None
    assert block.group(1).strip() == format_reference().strip(), (
        "README's generic format is stale: paste truefans.schema.format_reference()"
    )


def test_readme_documents_every_command_and_the_two_setup_commands():
    assert "make demo" in README and "make test" in README
    group = typer.main.get_command(app)
    for name in group.commands:  # type: ignore[attr-defined]
        assert f"truefans {name}" in README, name


def test_readme_lists_every_registered_source_and_each_has_its_page():
    from truefans.ingest.registry import load_sources

    block = README.split("<!-- sources:start -->")[1].split("<!-- sources:end -->")[0]
    for name in load_sources():
        if name == "fakecrm":  # the tests' own third-party source
            continue
        assert f"(`{name}`)" in block, name
        if name != "generic":
            assert f"docs/sources/{name}.md" in block, name
            assert (ROOT / "docs" / "sources" / f"{name}.md").exists(), name
