"""One streaming Excel export machinery for every slice.

A slice registers an ``ExportSpec``: its columns, a generator of rows for an
org node (read with ``yield_per`` or keyset paging, never all at once), an
optional row count (for progress, and to decide between an immediate
download and a job), and optionally native charts.  ``write_xlsx`` writes
with openpyxl's write-only mode, so memory stays flat however many rows
there are.  Small exports are sent at once; large ones run as a job
(``supervision.export``) with progress, and the file is downloaded from the
job's result link.

    from kaohe.supervision.exports import ExportSpec, Col, register_export
    register_export(ExportSpec(kind="routine.results", title=("平时考核结果", "Period results"),
                               columns=[Col("staff_no", "工号", "Staff no."), ...],
                               rows=my_rows, count=my_count, perm=Perm.unit_admin))

``rows(node, params)`` yields tuples in column order, scoped to ``node``'s
subtree; ``params`` are the query-string arguments (strings) minus org_id.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from flask import current_app

from ..auth.roles import Perm

SYNC_MAX_ROWS = 5000          # larger exports run as a job


@dataclass(frozen=True)
class Col:
    key: str
    zh: str
    en: str
    width: int = 14
    number_format: str | None = None    # e.g. "0.00", "yyyy-mm-dd"

    def header(self, locale: str = "zh") -> str:
        return f"{self.zh}\n{self.en}" if locale == "both" else (self.en if locale == "en" else self.zh)


@dataclass
class ExportSpec:
    kind: str
    title: tuple[str, str]                                   # (zh, en)
    columns: list[Col] | Callable[[Any, dict], list[Col]]
    rows: Callable[[Any, dict], Iterable[tuple]]
    count: Callable[[Any, dict], int] | None = None
    perm: Perm | tuple[Perm, ...] = Perm.view        # any of these on the node
    sheet: str | tuple[str, str] | None = None               # a name, or (zh, en) by the reader's language
    # Extra sheets: [(title, columns, rows_fn)] written after the main one.
    extra_sheets: Callable[[Any, dict], list[tuple[str, list[Col], Iterable[tuple]]]] | None = None
    # charts(node, params) -> [(sheet title, [header row, data rows...], chart factory(ws, n_rows, n_cols))]
    charts: Callable[[Any, dict], list] | None = None
    header_locale: str = "zh"         # "zh", "en" or "both" (two-line headers, re-importable templates)
    description: str = ""
    available: Callable[[Any], bool] | None = None          # shown for this node?

    def cols(self, node, params) -> list[Col]:
        return self.columns(node, params) if callable(self.columns) else list(self.columns)


EXPORTS: dict[str, ExportSpec] = {}


def register_export(spec: ExportSpec) -> ExportSpec:
    EXPORTS[spec.kind] = spec
    return spec


def get_spec(kind: str) -> ExportSpec | None:
    return EXPORTS.get(kind)


def may_export(spec: ExportSpec, node) -> bool:
    from ..auth.service import has_perm

    perms = spec.perm if isinstance(spec.perm, tuple) else (spec.perm,)
    return any(has_perm(p, node) for p in perms) and (spec.available is None or spec.available(node))


def available_exports(node) -> list[ExportSpec]:
    return [s for s in EXPORTS.values() if may_export(s, node)]


def safe_filename(text: str) -> str:
    return re.sub(r"[^\w.\-\u4e00-\u9fff]+", "_", text).strip("_")[:120] or "export"


def _cell(value: Any):
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)
    if isinstance(value, (dict, list)):
        return str(value)
    return value


def _write_sheet(wb, title: str, cols: list[Col], rows: Iterable[tuple], locale: str,
                 progress: Callable[[int], None] | None = None) -> int:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title=title[:31])
    for idx, c in enumerate(cols, start=1):
        ws.column_dimensions[get_column_letter(idx)].width = c.width
    ws.freeze_panes = "A2"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE7F3")
    header = []
    for c in cols:
        cell = WriteOnlyCell(ws, value=c.header(locale))
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        header.append(cell)
    ws.append(header)
    formats = [c.number_format for c in cols]
    n = 0
    for row in rows:
        out = []
        for value, fmt in zip(row, formats):
            value = _cell(value)
            if fmt or isinstance(value, dt.date):
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = fmt or "yyyy-mm-dd"
                out.append(cell)
            else:
                out.append(value)
        ws.append(out)
        n += 1
        if progress and n % 1000 == 0:
            progress(n)
    return n


def header_locale(spec: ExportSpec, locale: str | None) -> str:
    """The language of the column headers: the reader's (the page's) when
    given, except for two-line headers that a re-import reads."""
    if spec.header_locale == "both" or locale not in ("zh", "en"):
        return spec.header_locale
    return locale


def write_xlsx(spec: ExportSpec, node, params: dict, out, progress: Callable[[int, int], None] | None = None,
               locale: str | None = None) -> int:
    """Write the export to ``out`` (path or binary file); returns the row count.
    ``locale``: the reader's language for the headers (see ``header_locale``)."""
    from openpyxl import Workbook

    from flask_babel import force_locale

    headers = header_locale(spec, locale)
    lang = headers if headers in ("zh", "en") else "zh"
    with force_locale(lang):   # messages written into cells (gettext) in the same language
        return _write_workbook(spec, node, {**params, "locale": lang}, out, progress, headers)


def tr(params: dict, zh: str, en: str) -> str:
    """For an export's own texts (sheet names, totals, chart labels): the
    reader's language, carried in ``params["locale"]`` (jobs have no request)."""
    return en if params.get("locale") == "en" else zh


def _write_workbook(spec, node, params, out, progress, headers) -> int:
    from openpyxl import Workbook

    total = spec.count(node, params) if spec.count else 0
    wb = Workbook(write_only=True)
    sheet = tr(params, *spec.sheet) if isinstance(spec.sheet, tuple) else spec.sheet
    title = sheet or tr(params, *spec.title)
    n = _write_sheet(wb, title, spec.cols(node, params), spec.rows(node, params), headers,
                     (lambda k: progress(k, max(total, k))) if progress else None)
    if spec.extra_sheets:
        for sheet_title, cols, rows in spec.extra_sheets(node, params):
            _write_sheet(wb, sheet_title, cols, rows, headers)
    if spec.charts:
        for sheet_title, table, chart_fn in spec.charts(node, params):
            ws = wb.create_sheet(title=sheet_title[:31])
            for r in table:
                ws.append(list(r))
            chart = chart_fn(ws, len(table), max((len(r) for r in table), default=0))
            if chart is not None:
                ws.add_chart(chart, "E2")
    wb.save(out)
    if progress:
        progress(n, max(total, n))
    return n


# -- where large exports land ------------------------------------------------


def export_dir() -> Path:
    path = Path(current_app.config.get("KAOHE_EXPORT_DIR") or Path(current_app.instance_path) / "exports")
    path.mkdir(parents=True, exist_ok=True)
    return path


def export_path(job_id: str) -> Path:
    if not re.fullmatch(r"[0-9a-f\-]{36}", job_id or ""):
        raise ValueError("bad job id")
    return export_dir() / f"{job_id}.xlsx"


def spooled_file():
    """A temporary file for a small export sent straight back."""
    return tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+b")


def remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# -- charts in workbooks -----------------------------------------------------


def bar_chart(title: str, y_title: str = "", stacked: bool = False):
    """A factory for ``ExportSpec.charts``: a bar chart over the sheet's table
    (first column categories, the others series)."""
    def make(ws, n_rows, n_cols):
        from openpyxl.chart import BarChart, Reference

        if n_rows < 2:
            return None
        chart = BarChart()
        chart.type = "col"
        chart.title = title
        chart.y_axis.title = y_title
        if stacked:
            chart.grouping, chart.overlap = "stacked", 100
        data = Reference(ws, min_col=2, min_row=1, max_row=n_rows, max_col=max(2, n_cols))
        cats = Reference(ws, min_col=1, min_row=2, max_row=n_rows)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(cats)
        chart.width, chart.height = 18, 9
        return chart
    return make


def line_chart(title: str, y_title: str = ""):
    def make(ws, n_rows, n_cols):
        from openpyxl.chart import LineChart, Reference

        if n_rows < 2:
            return None
        chart = LineChart()
        chart.title = title
        chart.y_axis.title = y_title
        chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=n_rows, max_col=max(2, n_cols)),
                       titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=n_rows))
        chart.width, chart.height = 18, 9
        return chart
    return make
