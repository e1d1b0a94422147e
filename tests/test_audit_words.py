"""Issue 16: the audit log shows an indicator library change in words, in the
page's language -- no codes such as ``graded``/``ji``/``ratio`` and no
literal ``<code>`` tags from a nested list."""
from __future__ import annotations

from markupsafe import Markup

LIBRARY_CHANGE = {"indicators": [{"code": "DB-ZS", "name": "招商引资", "category": "ji", "kind": "data",
                                  "formula": {"type": "ratio", "target": 20}, "mandatory": False},
                                 {"code": "LZ", "name": "廉洁自律", "category": "lian", "kind": "veto",
                                  "veto": "grade_cap", "cap_grade": "yiban"}]}


def _render(app, lang: str) -> str:
    from kaohe.shell.audit_labels import fields

    with app.test_request_context("/"):
        from flask import session

        session["lang"] = lang
        rows = fields(LIBRARY_CHANGE)
        assert len(rows) == 1 and rows[0]["known"]
        value = rows[0]["value"]
        assert isinstance(value, Markup), "a nested list must stay markup, or its tags are shown as text"
        return str(value)


def test_library_change_in_words(app):
    zh = _render(app, "zh")
    for word in ("绩", "数据导入", "按目标比例", "廉", "一票否决", "等次封顶", "一般"):
        assert word in zh, (word, zh)
    for code in (">ji<", " ji；", " ratio", " data；", "grade_cap", " lian"):
        assert code not in zh, (code, zh)
    assert "&lt;" not in zh, zh
    en = _render(app, "en")
    for word in ("performance", "data-fed", "ratio to target", "probity", "veto effect", "grade capped"):
        assert word in en.lower(), (word, en)
    assert "cap_grade" not in en and "grade_cap" not in en and " ji;" not in en
    assert "&lt;" not in en, en
