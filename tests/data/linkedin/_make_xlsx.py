"""Writes the synthetic LinkedIn Page analytics .xlsx variants of this folder (run it by hand).

A tiny Office Open XML writer (inline strings, numbers, no styles), so that no spreadsheet
library is needed; LinkedIn's own exports are old binary .xls, these stand for the same reports
re-saved as .xlsx and for older header names. Dates are written as text (MM/DD/YYYY or
DD/MM/YYYY) or as Excel serial numbers, the two shapes real files show.

    .venv/bin/python tests/data/linkedin/_make_xlsx.py
"""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).parent
Cell = str | int | float | None


def _col(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _sheet_xml(rows: list[list[Cell]]) -> str:
    out = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, v in enumerate(row):
            ref = f"{_col(c)}{r}"
            if v is None or v == "":
                continue
            if isinstance(v, (int, float)):
                cells.append(f'<c r="{ref}"><v>{v}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(v)}</t></is></c>')
        out.append(f'<row r="{r}">{"".join(cells)}</row>')
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{''.join(out)}</sheetData></worksheet>"
    )


def write_xlsx(path: Path, sheets: dict[str, list[list[Cell]]]) -> None:
    names = list(sheets)
    ct = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        + "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(1, len(names) + 1)
        )
        + "</Types>"
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    wb = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        + "".join(
            f'<sheet name="{escape(n)}" sheetId="{i}" r:id="rId{i}"/>'
            for i, n in enumerate(names, start=1)
        )
        + "</sheets></workbook>"
    )
    wb_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(
            f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/'
            f'2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(names) + 1)
        )
        + "</Relationships>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in (
            ("[Content_Types].xml", ct),
            ("_rels/.rels", rels),
            ("xl/workbook.xml", wb),
            ("xl/_rels/workbook.xml.rels", wb_rels),
        ):
            z.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data)
        for i, n in enumerate(names, start=1):
            z.writestr(
                zipfile.ZipInfo(f"xl/worksheets/sheet{i}.xml", (2024, 1, 1, 0, 0, 0)),
                _sheet_xml(sheets[n]),
            )


def serial(d: date) -> int:
    return (d - date(1899, 12, 30)).days


def followers_running_total() -> dict[str, list[list[Cell]]]:
    """Dates as Excel serials; 'Total followers' here is a genuine running total."""
    rows: list[list[Cell]] = [
        ["Followers of Harbor & Pine Studio (synthetic note row)"],
        [
            "Date",
            "Sponsored followers",
            "Organic followers",
            "Auto-invited followers",
            "Total followers",
        ],
    ]
    total = 1200
    for day, (sp, org, auto) in enumerate([(1, 3, 0), (0, 2, 1), (0, 0, 0), (2, 5, 0)], start=1):
        total += sp + org + auto
        rows.append([serial(date(2024, 5, day)), sp, org, auto, total])
    return {
        "New followers": rows,
        "Location": [["Location", "Total followers"], ["Greater Boston", 40]],
    }


def content_update_era() -> dict[str, list[list[Cell]]]:
    """Older header names (Update ..., Shares), day-first text dates, text numbers and percents."""
    daily: list[list[Cell]] = [
        ["Update metrics (aggregated) - synthetic note row"],
        [
            "Date",
            "Impressions (organic)",
            "Impressions (sponsored)",
            "Impressions (total)",
            "Unique impressions (organic)",
            "Clicks (organic)",
            "Clicks (sponsored)",
            "Clicks (total)",
            "Reactions (organic)",
            "Reactions (sponsored)",
            "Reactions (total)",
            "Comments (organic)",
            "Comments (sponsored)",
            "Comments (total)",
            "Shares (organic)",
            "Shares (sponsored)",
            "Shares (total)",
            "Engagement rate (organic)",
            "Engagement rate (sponsored)",
            "Engagement rate (total)",
        ],
        ["12/03/2024", 120, 0, 120, 90, 4, 0, 4, 6, 0, 6, 1, 0, 1, 0, 0, 0, 0.09, 0, 0.09],
        [
            "13/03/2024",
            "1,310",
            200,
            "1,510",
            800,
            30,
            2,
            32,
            12,
            0,
            12,
            2,
            0,
            2,
            1,
            0,
            1,
            "3.1%",
            "0%",
            "3.0%",
        ],
        ["14/03/2024", 95, 0, 95, 70, 2, 0, 2, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0.0316, 0, 0.0316],
    ]
    posts: list[list[Cell]] = [
        ["All updates in the selected range - synthetic note row"],
        [
            "Update title",
            "Update link",
            "Update type",
            "Campaign name",
            "Posted by",
            "Created date",
            "Campaign start date",
            "Campaign end date",
            "Audience",
            "Impressions",
            "Clicks",
            "Click through rate (CTR)",
            "Likes",
            "Comments",
            "Shares",
            "Follows",
            "Engagement rate",
            "Content Type",
        ],
        [
            "Spring checklist for local shops",
            "https://www.linkedin.com/feed/update/urn:li:share:7170000000000000011",
            "Organic",
            "",
            "Harbor Pine",
            "13/03/2024",
            "",
            "",
            "All followers",
            "1,310",
            30,
            "2.29%",
            12,
            2,
            1,
            0,
            "3.4%",
            "Article",
        ],
        [
            "Webinar replay",
            "https://www.linkedin.com/feed/update/urn:li:ugcPost:7170000000000000012",
            "Sponsored",
            "Spring webinar",
            "Harbor Pine",
            "14/03/2024",
            "14/03/2024",
            "21/03/2024",
            "Boston SMB owners",
            200,
            2,
            0.01,
            0,
            0,
            0,
            1,
            0.015,
            "Video",
        ],
    ]
    return {"Update metrics (aggregated)": daily, "Update engagement": posts}


def content_bad() -> dict[str, list[list[Cell]]]:
    """Two good rows and three broken ones (impossible date, text in a count, negative count)."""
    daily: list[list[Cell]] = [
        ["Aggregated metrics - synthetic note row"],
        ["Date", "Impressions (total)", "Clicks (total)", "Reactions (total)"],
        ["04/01/2024", 100, 5, 2],
        ["04/31/2024", 90, 4, 1],
        ["04/02/2024", 80, "lots", 1],
    ]
    posts: list[list[Cell]] = [
        ["All posts - synthetic note row"],
        ["Post title", "Post link", "Post type", "Created date", "Impressions", "Clicks", "Likes"],
        [
            "Good post",
            "https://www.linkedin.com/feed/update/urn:li:activity:7190000000000000001",
            "Organic",
            "04/01/2024",
            500,
            10,
            7,
        ],
        [
            "Post with a negative count",
            "https://www.linkedin.com/feed/update/urn:li:activity:7190000000000000002",
            "Organic",
            "04/02/2024",
            -5,
            1,
            0,
        ],
    ]
    return {"Metrics": daily, "All posts": posts}


def visitors_sections() -> dict[str, list[list[Cell]]]:
    """The full visitor layout: Overview, Life, Jobs and Total sections."""
    header = ["Date"]
    for section in ("Overview", "Life", "Jobs", "Total"):
        for measure in ("page views", "unique visitors"):
            for device in ("desktop", "mobile", "total"):
                header.append(f"{section} {measure} ({device})")
    header += [
        "Custom button clicks (desktop)",
        "Custom button clicks (mobile)",
        "Custom button clicks (total)",
    ]
    rows: list[list[Cell]] = [header]
    for day in (1, 2):
        values: list[Cell] = [f"05/0{day}/2024"]
        views = [40 + day, 12 + day, 9 + day]
        for v in [*views, sum(views)]:  # Overview, Life, Jobs, Total (page views add up)
            visitors = v // 2  # unique visitors do not add up across sections
            values += [v - 10, 10, v, visitors - 4, 4, visitors]
        values += [1, day, 1 + day]
        rows.append(values)
    return {"Visitor metrics": rows, "Industry": [["Industry", "Total views"], ["Retail", 9]]}


if __name__ == "__main__":
    write_xlsx(HERE / "page_followers_running_total.xlsx", followers_running_total())
    write_xlsx(HERE / "page_content_update_era.xlsx", content_update_era())
    write_xlsx(HERE / "page_content_bad.xlsx", content_bad())
    write_xlsx(HERE / "page_visitors_sections.xlsx", visitors_sections())
