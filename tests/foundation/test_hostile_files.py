"""Hostile workbooks (issue 14, findings 2, 3, 8): a zip bomb is refused
before openpyxl reads it and memory stays flat; merged cells are refused with
their ranges named; validation and import messages are wholly Chinese in the
Chinese UI."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import Workbook

from kaohe.core import xlsx_guard
from kaohe.core.errors import Invalid

PLATFORM = str(Path(xlsx_guard.__file__).resolve().parents[2])
BOMB_MB = 300


def _small_xlsx(merge: str | None = None, sheet: str = "人员 People") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(["工号", "姓名", "科室代码"])
    for i in range(6):
        ws.append([f"s{i}", f"人{i}", "T1-D1"])
    if merge:
        for rng in merge.split(","):
            ws.merge_cells(rng)
    notes = wb.create_sheet("说明 Notes")
    notes.append(["说明"])
    notes.merge_cells("A1:D1")  # merges on the notes sheet are harmless
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def make_bomb(path: Path, mb: int = BOMB_MB) -> Path:
    """A real small workbook whose xl/sharedStrings.xml unpacks to `mb` MB."""
    base = zipfile.ZipFile(io.BytesIO(_small_xlsx()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info in base.infolist():
            if info.filename != "xl/sharedStrings.xml":
                out.writestr(info.filename, base.read(info.filename))
        with out.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
            fh.write(b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
                     b'spreadsheetml/2006/main">')
            si = b"<si><t>" + b"A" * 1000 + b"</t></si>"
            block = si * 1024  # ~1 MB
            for _ in range(mb):
                fh.write(block)
            fh.write(b"</sst>")
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    return make_bomb(tmp_path_factory.mktemp("bomb") / "bomb.xlsx")


def test_the_bomb_is_small_and_unpacks_large(bomb):
    assert bomb.stat().st_size < 3 * 1024 * 1024
    assert sum(i.file_size for i in zipfile.ZipFile(bomb).infolist()) > 290 * 1024 * 1024


_PROBE = textwrap.dedent("""
    import json, resource, sys, time
    sys.path.insert(0, sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))   # a runaway cannot take the machine
    from kaohe.people import roster_check as roster   # noqa: imports done before the baseline
    import openpyxl
    data = open(sys.argv[2], "rb").read()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.time()
    outcome = "opened"
    try:
        wb = roster.open_workbook(data)
        ws = wb.worksheets[0]
        for _ in ws.iter_rows(values_only=True):
            pass
    except roster.Unreadable as exc:
        outcome = exc.code
    except MemoryError:
        outcome = "MemoryError"
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"outcome": outcome, "seconds": time.time() - t0, "grew_kb": after - before}))
""")


def test_bomb_is_refused_quickly_and_memory_stays_flat(bomb):
    """The roster's own open path in a fresh process: refused as
    too_large_unpacked in seconds, peak RSS within a few MB of the baseline
    (the unguarded parse grew by well over a gigabyte)."""
    proc = subprocess.run([sys.executable, "-c", _PROBE, PLATFORM, str(bomb)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["outcome"] == "too_large_unpacked", res
    assert res["seconds"] < 5, res
    assert res["grew_kb"] < 30 * 1024, res


def test_guard_counts_real_bytes_not_declared_ones(bomb):
    """With the declared-size checks out of the way (huge ratio), the streaming
    pass still stops at the member limit after inflating only that much."""
    cfg = {"KAOHE_XLSX_MAX_RATIO": 10 ** 9, "KAOHE_XLSX_MAX_MEMBER_MB": 10 ** 6, "KAOHE_XLSX_MAX_UNPACKED_MB": 10 ** 6}
    xlsx_guard.check(bomb.read_bytes(), config=cfg, ignore_sheets=("说明", "Notes"))  # within the limits: fine
    cfg["KAOHE_XLSX_MAX_MEMBER_MB"] = 50
    t0 = time.time()
    with pytest.raises(xlsx_guard.XlsxRefused) as err:
        xlsx_guard.check(bomb.read_bytes(), config=cfg)
    assert err.value.code == "too_large_unpacked" and time.time() - t0 < 5


def test_bomb_refused_as_a_field_error_on_metric_import(bomb):
    from kaohe.routine.events import read_metrics_xlsx

    with Flask(__name__).app_context(), pytest.raises(Invalid) as err:  # reads the limits from current_app
        read_metrics_xlsx(io.BytesIO(bomb.read_bytes()))
    assert "too large when unpacked" in err.value.errors["file"][0]


def test_merged_cells_are_refused_with_their_ranges():
    data = _small_xlsx(merge="C2:C5,A6:B6")
    with pytest.raises(xlsx_guard.XlsxRefused) as err:
        xlsx_guard.check(data, ignore_sheets=("说明", "Notes"))
    msg = err.value.errors["file"][0]
    assert "人员 People!C2:C5" in msg and "人员 People!A6:B6" in msg
    xlsx_guard.check(_small_xlsx(), ignore_sheets=("说明 Notes",))
    xlsx_guard.check(_small_xlsx(), ignore_sheets=("说明", "Notes"))  # only the notes sheet merges: fine
    with pytest.raises(xlsx_guard.XlsxRefused):
        xlsx_guard.check(_small_xlsx())  # every sheet counts unless told


def test_merged_cells_refused_by_roster_open_and_metric_import():
    from kaohe.people import roster_check
    from kaohe.routine.events import read_metrics_xlsx

    data = _small_xlsx(merge="C2:C5")
    with pytest.raises(roster_check.Unreadable) as err:
        roster_check.open_workbook(data)
    assert err.value.code == "merged_cells" and "C2:C5" in err.value.params["ranges"]
    with Flask(__name__).app_context(), pytest.raises(Invalid) as err2:
        read_metrics_xlsx(io.BytesIO(data))
    assert "C2:C5" in err2.value.errors["file"][0]


# -- finding 8: one language per message ------------------------------------

_CJK = re.compile(r"[\u4e00-\u9fff]")
_ENGLISH_WORDS = re.compile(r"\b(?:Not|valid|Must|Invalid|Field|Length|cannot|choices|than|Enter|number|date|text|"
                            r"found|Expected)\b")


def _marshmallow_messages() -> list[str]:
    """Every default message of every marshmallow field type and validator,
    formatted the way marshmallow formats it."""
    import inspect

    from marshmallow import fields, validate

    out = set()
    sample = {"obj_type": "datetime", "awareness": "naive", "input": "x", "choices": "x, y", "min": 1, "max": 9,
              "equal": 3, "other": 4, "values": "x"}
    for c in vars(fields).values():
        if inspect.isclass(c) and issubclass(c, fields.Field):
            for cls in c.__mro__:
                for v in getattr(cls, "default_error_messages", {}).values():
                    out.add(v.replace("{input!r}", "'x'").format(**sample))
    r = validate.Range
    for op_min in (r.message_gt, r.message_gte):
        for op_max in (r.message_lt, r.message_lte):
            out.add(r.message_all.format(min_op=op_min, max_op=op_max).format(min=1, max=9))
        out.add(r.message_min.format(min_op=op_min).format(min=1))
    for op_max in (r.message_lt, r.message_lte):
        out.add(r.message_max.format(max_op=op_max).format(max=9))
    for name in ("message_min", "message_max", "message_all", "message_equal"):
        out.add(getattr(validate.Length, name).format(**sample))
    for v in (validate.Equal.default_message, validate.Regexp.default_message, validate.OneOf.default_message,
              validate.NoneOf.default_message, validate.ContainsOnly.default_message,
              validate.ContainsNoneOf.default_message, validate.Email.default_message, validate.URL.default_message):
        out.add(v.format(**sample))
    out.update({"Unknown field.", "Invalid input type."})
    return sorted(out)


@pytest.fixture
def zh_app(tmp_path):
    from kaohe import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
                       "INSTANCE_PATH": str(tmp_path)})


def _in(app, lang, fn):
    with app.test_request_context("/", headers={"Accept-Language": lang}):
        from flask import session

        session["lang"] = lang
        from flask_babel import refresh

        refresh()
        return fn()


def test_every_marshmallow_message_is_chinese_in_the_chinese_ui(zh_app):
    from kaohe.web.messages import localize_message

    msgs = _marshmallow_messages()
    assert len(msgs) > 40
    zh = _in(zh_app, "zh", lambda: {m: localize_message(m) for m in msgs})
    mixed = {m: t for m, t in zh.items() if not _CJK.search(t) or _ENGLISH_WORDS.search(t)}
    assert not mixed, mixed
    en = _in(zh_app, "en", lambda: {m: localize_message(m) for m in msgs})
    assert all(not _CJK.search(t) for t in en.values()), en


def test_import_messages_are_one_language(zh_app):
    """The roster's type mismatch read "应为 a date，实际为 a number"."""
    from flask_babel import gettext

    from kaohe.people import roster_check, roster_format
    from kaohe.web.messages import localize_message

    col = next(c for c in roster_format.PEOPLE_COLUMNS if c.kind == "date")
    _v, code, params = roster_check.parse_cell(col, 12.5)
    problem = {"code": code, "params": params, "value": 12.5}
    zh = _in(zh_app, "zh", lambda: roster_format.message(problem, gettext))
    assert _CJK.search(zh) and not re.search(r"[A-Za-z]", zh), zh
    en = _in(zh_app, "en", lambda: roster_format.message(problem, gettext))
    assert en == "Expected a date, found a number.", en
    refusal = xlsx_guard.XlsxRefused("merged_cells", ranges="人员!C2:C5").errors["file"][0]
    zh = _in(zh_app, "zh", lambda: localize_message(refusal))
    assert "合并" in zh and "C2:C5" in zh and not re.search(r"[a-z]{3,}", zh), zh
    bomb = xlsx_guard.XlsxRefused("too_large_unpacked", what="xl/sharedStrings.xml 1200 MB > 100 MB").message
    zh = _in(zh_app, "zh", lambda: localize_message(bomb))
    assert zh.startswith("文件解压后过大"), zh
