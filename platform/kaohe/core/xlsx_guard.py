"""Checks an uploaded .xlsx before any parser sees it.

An .xlsx is a zip archive, and a tiny archive can unpack to gigabytes (a
"zip bomb": one ``xl/sharedStrings.xml`` of repeated text compresses a
thousand to one).  openpyxl reads every shared string into memory, so the
archive is checked first:

* the sizes the archive declares (total, per member, compression ratio);
* then one streaming pass that inflates every member in small chunks and
  counts the bytes really produced (a forged header cannot lie past it), so
  memory stays flat whatever the file says;
* the same pass reads each worksheet's ``<mergeCell ref="A2:A5"/>`` entries:
  a merged cell holds its value only in the top-left cell, so an import would
  read the other cells as empty and silently clear or move data.  Read-only
  openpyxl does not expose merges, hence the scan here.

Every upload path calls `check()` (or `load_workbook()`, which checks and
then opens) before openpyxl; a refusal is `XlsxRefused`, an `Invalid` with a
field error on ``file``.  Limits are settings (KAOHE_XLSX_*), with defaults
well above a real 20,000-person roster (about 30 MB unpacked)."""
from __future__ import annotations

import io
import re
import zipfile
from typing import IO, Iterable

from .exceptions import Invalid


def N_(text: str) -> str:
    return text


MB = 1024 * 1024

# setting -> default
DEFAULTS = {
    "KAOHE_XLSX_MAX_UNPACKED_MB": 200,     # all members together, unpacked
    "KAOHE_XLSX_MAX_MEMBER_MB": 100,       # one member (a sheet, the shared strings), unpacked
    "KAOHE_XLSX_MAX_RATIO": 100,           # unpacked / packed, for members above 1 MB unpacked
    "KAOHE_XLSX_MAX_MEMBERS": 2000,        # entries in the archive
}

ERROR_TEXT = {
    "too_large_unpacked": N_("The file is too large when unpacked (%(what)s); it cannot be read safely. "
                             "Save the data alone in a new workbook and upload it again."),
    "merged_cells": N_("The workbook has merged cells (%(ranges)s). A merged cell keeps its value only in its "
                       "first cell, so the other rows would be read as empty: unmerge the cells, fill every row, "
                       "and upload again."),
}

_MERGE_RE = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([A-Za-z0-9:$]+)\"")
_SHEET_RE = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_ATTR_RE = re.compile(rb"([\w:]+)=\"([^\"]*)\"")
_REL_RE = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")
CHUNK = 256 * 1024
MAX_RANGES_NAMED = 20


class XlsxRefused(Invalid):
    """The archive breaks a limit or has merged cells: a 422 on ``file``."""

    def __init__(self, code: str, **params):
        self.code, self.params = code, params
        text = ERROR_TEXT[code] % params
        super().__init__({"file": [text]}, text)


def limits(config=None) -> dict:
    """The limits: DEFAULTS, overridden by ``config`` (the app's settings,
    passed in by the caller so the pure workbook readers need no Flask)."""
    merged = dict(DEFAULTS)
    if config is not None:
        merged.update({k: config[k] for k in DEFAULTS if config.get(k) is not None})
    return merged


def _mb(n: int) -> str:
    return f"{n / MB:.0f} MB"


def _as_zip(data) -> zipfile.ZipFile | None:
    stream: IO[bytes] = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    try:
        pos = stream.tell()
    except Exception:  # noqa: BLE001
        pos = None
    try:
        if not zipfile.is_zipfile(stream):
            return None
        if pos is not None:
            stream.seek(pos)
        return zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def _sheet_names(zf: zipfile.ZipFile, names: set[str]) -> dict[str, str]:
    """Member path of each worksheet -> its tab name (best effort)."""
    out: dict[str, str] = {}
    try:
        if "xl/workbook.xml" not in names or "xl/_rels/workbook.xml.rels" not in names:
            return out
        if zf.getinfo("xl/workbook.xml").file_size > 4 * MB or zf.getinfo("xl/_rels/workbook.xml.rels").file_size > MB:
            return out
        rels = {}
        for m in _REL_RE.finditer(zf.read("xl/_rels/workbook.xml.rels")):
            attrs = dict(_ATTR_RE.findall(m.group(0)))
            target = attrs.get(b"Target", b"").decode("utf-8", "replace").lstrip("/")
            if not target.startswith("xl/"):
                target = "xl/" + target
            rels[attrs.get(b"Id", b"")] = target
        for m in _SHEET_RE.finditer(zf.read("xl/workbook.xml")):
            attrs = dict(_ATTR_RE.findall(m.group(0)))
            rid = attrs.get(b"r:id") or next((v for k, v in attrs.items() if k.endswith(b":id")), None)
            name = attrs.get(b"name", b"").decode("utf-8", "replace")
            if rid in rels:
                out[rels[rid]] = _unescape(name)
    except (KeyError, zipfile.BadZipFile, OSError, ValueError):
        return {}
    return out


def _norm(name: str) -> str:
    """Sheet names compared as the roster finds its sheets ("说明 Notes" ~ ("说明", "Notes"))."""
    return re.sub(r"[\s_.:：()（）*]+", "", name or "").lower()


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
            .replace("&amp;", "&"))


def check(data, *, ignore_sheets: Iterable[str] = (), config=None) -> None:
    """Refuse a bomb or merged cells (XlsxRefused); anything that is not a zip
    is left to the caller's own "not an xlsx" message.  Memory used is a few
    chunks, whatever the archive holds."""
    lim = limits(config)
    zf = _as_zip(data)
    if zf is None:
        return
    try:
        names = tuple(ignore_sheets)
        ignore = {_norm(n) for n in names} | ({_norm("".join(names))} if names else set())
        _check(zf, lim, ignore)
    finally:
        zf.close()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            try:
                data.seek(0)
            except Exception:  # noqa: BLE001
                pass


def _check(zf: zipfile.ZipFile, lim: dict, ignore: set[str]) -> None:
    max_total, max_member = lim["KAOHE_XLSX_MAX_UNPACKED_MB"] * MB, lim["KAOHE_XLSX_MAX_MEMBER_MB"] * MB
    max_ratio = lim["KAOHE_XLSX_MAX_RATIO"]
    infos = zf.infolist()
    if len(infos) > lim["KAOHE_XLSX_MAX_MEMBERS"]:
        raise XlsxRefused("too_large_unpacked", what=f"{len(infos)} parts")
    # 1. What the archive declares: refused at once, nothing inflated.
    declared = 0
    for info in infos:
        declared += info.file_size
        _member_limits(info.filename, info.file_size, info.compress_size, max_member, max_ratio)
    if declared > max_total:
        raise XlsxRefused("too_large_unpacked", what=f"{_mb(declared)} > {_mb(max_total)}")
    # 2. What it really holds: inflate in chunks, count, stop at the limit.
    names = {i.filename for i in infos}
    sheets = _sheet_names(zf, names)
    merged: list[str] = []
    total = 0
    for info in infos:
        is_sheet = info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
        sheet_name = sheets.get(info.filename, info.filename.rsplit("/", 1)[-1])
        scan = is_sheet and _norm(sheet_name) not in ignore
        size = 0
        tail = b""
        try:
            with zf.open(info) as fh:
                while True:
                    chunk = fh.read(CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    total += len(chunk)
                    if size > max_member or total > max_total:
                        raise XlsxRefused("too_large_unpacked",
                                          what=f"{info.filename} > {_mb(min(max_member, max_total))}")
                    _member_limits(info.filename, size, info.compress_size, max_member, max_ratio)
                    if scan:
                        buf = tail + chunk
                        for m in _MERGE_RE.finditer(buf):
                            if m.end() > len(tail):   # not already seen in the previous window
                                merged.append(f"{sheet_name}!{m.group(1).decode()}")
                        tail = buf[-512:]
        except XlsxRefused:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError, ValueError):
            return  # damaged or encrypted: the parser's own "not readable" answers it
    if merged:
        shown = "、".join(merged[:MAX_RANGES_NAMED]) + ("…" if len(merged) > MAX_RANGES_NAMED else "")
        raise XlsxRefused("merged_cells", ranges=shown)


def _member_limits(name: str, size: int, packed: int, max_member: int, max_ratio: float) -> None:
    if size > max_member:
        raise XlsxRefused("too_large_unpacked", what=f"{name} {_mb(size)} > {_mb(max_member)}")
    if size > MB and size > max_ratio * max(packed, 1):
        raise XlsxRefused("too_large_unpacked", what=f"{name} {size // max(packed, 1)}:1")


def load_workbook(stream, *, ignore_sheets: Iterable[str] = (), **kwargs):
    """`check()`, then openpyxl's load_workbook (read-only unless told)."""
    from openpyxl import load_workbook as _load

    check(stream, ignore_sheets=ignore_sheets)
    kwargs.setdefault("read_only", True)
    if isinstance(stream, (bytes, bytearray)):
        stream = io.BytesIO(stream)
    return _load(stream, **kwargs)
