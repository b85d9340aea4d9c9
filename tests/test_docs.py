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
