"""The HTML report: every analysis as charts (Plotly, inline), captions, tables and assumptions in
one self-contained file. :func:`write_report` writes it; the web app reuses its sections."""

from __future__ import annotations

from .charts import Chart, charts_for
from .registry import ANALYSES, Analysis, Option, available
from .render import Section, build_section, render_report, write_report

__all__ = [
    "ANALYSES",
    "Analysis",
    "Chart",
    "Option",
    "Section",
    "available",
    "build_section",
    "charts_for",
    "render_report",
    "write_report",
]
