"""The registry of sources: every export format truefans reads registers here by name.

A source is tiny: it says what it is (``describe``), how sure it is that a file is its own
(``detect``), and turns the file into one or more staged canonical tables (``stage``). Built-in
sources register through the same entry-point group (``truefans.sources``) a third-party package
would use; the loader validates and stores what a source stages, so no source writes to the
workspace itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import duckdb

ENTRY_POINT_GROUP = "truefans.sources"
#: Set (e.g. by tests) to load built-in sources only, never installed plugins.
NO_PLUGINS_ENV = "TRUEFANS_NO_PLUGINS"


@dataclass(frozen=True)
class Detection:
    source: str
    confidence: float  # 0..1
    reason: str
    table: str | None = None


@dataclass
class StagedTable:
    """One canonical table a source produced from a file, held in a temporary DuckDB table.

    ``relation`` names a temporary table with a ``__row`` column (the row number in the file,
    1-based, counting data rows) and the canonical columns the file provides, raw (strings) or
    already typed. ``rejects`` lists rows the source itself could not read.
    """

    table: str
    relation: str
    rows: int
    rejects: list[tuple[int, str, str, str]] = field(
        default_factory=list
    )  # row, column, reason, raw
    note: str = ""
    #: SQL giving the file row number of a staged row (``__row`` or ``rowid + 1``)
    row_expr: str = "__row"
    #: for audience: which person hint (``email``, ``profile_url``, ``handle`` ...) is the
    #: identity that follows the channel; the loader fills ``identity_id`` from it
    primary_identity: str | None = None
    #: the export writes local times without an offset: the loader applies --tz or the
    #: workspace time zone (and says which); False = times are UTC (Stripe)
    local_times: bool = False


@dataclass
class StageContext:
    con: duckdb.DuckDBPyConnection
    path: Path
    table: str | None = None
    tz: str | None = None
    currency: str | None = None
    prefix: str = "stage"


class Source(Protocol):
    name: str
    description: str
    detection_rule: str

    def detect(self, path: Path, head: bytes) -> Detection | None: ...

    def stage(self, ctx: StageContext) -> list[StagedTable]: ...


_SOURCES: dict[str, Source] = {}
_ORIGINS: dict[str, str] = {}
_loaded = False


def register(source: Source, origin: str = "built-in") -> Source:
    _SOURCES[source.name] = source
    _ORIGINS[source.name] = origin
    return source


#: modules of this package that are machinery, not sources
_NOT_SOURCES = {"registry", "common", "load", "identity", "channels"}


def _builtin_loaders() -> list[Callable[[], object]]:
    """Every other module of ``truefans.ingest`` is a source that registers itself on import:
    adding a source is adding one module."""
    import functools
    import importlib
    import pkgutil

    from .. import ingest

    names = sorted(
        m.name
        for m in pkgutil.iter_modules(ingest.__path__)
        if m.name not in _NOT_SOURCES and not m.name.startswith("_")
    )
    names.remove("generic")
    names.insert(0, "generic")
    return [functools.partial(importlib.import_module, f"{ingest.__name__}.{n}") for n in names]


def load_sources() -> dict[str, Source]:
    global _loaded
    if not _loaded:
        _loaded = True
        for load in _builtin_loaders():
            load()
        if not os.environ.get(NO_PLUGINS_ENV):
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                dist = ep.dist
                if dist is not None and dist.name == "truefans":
                    continue
                obj = ep.load()
                origin = f"{dist.name} {dist.version}" if dist is not None else ep.value
                if isinstance(obj, type):
                    obj = obj()
                register(obj, origin)
    return dict(_SOURCES)


def origin_of(name: str) -> str:
    return _ORIGINS.get(name, "built-in")
