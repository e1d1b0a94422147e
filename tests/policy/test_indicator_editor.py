"""Issue 16, finding 3: the common indicator library is edited as rows
(code, name, dimension, points, 优/良/中/差 standards, mandatory), added,
removed and reordered without JavaScript, each row's errors from the
registry's validator; Chinese shown as Chinese."""
from __future__ import annotations

import re

from kaohe.extensions import db

KEY = "indicators.common"


def _rows(rows, n=None):
    form = {"editor": "rows", "rows": str(n if n is not None else len(rows)), "for_year": "0"}
    for i, r in enumerate(rows):
        for k, v in r.items():
            form[f"row-{i}-{k}"] = v
    return form


def _stored(app, world):
    from kaohe.policy import settings
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        apply_scope(Scope.system("t"))
        rows = settings.node_settings(db.session.get(OrgNode, world.ids["P1-P"])).get(KEY, {})
        value = rows[0].value if 0 in rows else None
        db.session.remove()
    return value


def test_indicator_rows_editor(app, world, login):
    b = login("policy")
    p = world.ids["P1-P"]
    url = f"/policy/org/{p}/{KEY}/set?year=2026"
    page = b.get(f"/policy/org/{p}?year=2026").get_data(as_text=True)
    assert 'data-testid="indicator-editor"' in page and 'name="row-0-code"' in page
    # a bad row and a duplicate: nothing saved, each row marked with its own message
    bad = [{"code": "zz 1", "name": "政治素质", "category": "de", "max_points": "10"},
           {"code": "ji1", "name": "工作实绩", "category": "ji", "max_points": "300"},
           {"code": "ji1", "name": "重复", "category": "ji"}]
    r = b.post(url, _rows(bad, 5))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    for i in (0, 1):
        assert f'<tr data-row="{i}" class="has-error">' in html, i
    assert 'value="政治素质"' in html and "\\u653f" not in html
    assert _stored(app, world) is None
    bad[0]["code"], bad[1]["max_points"] = "zz1", "30"
    html = b.post(url, _rows(bad, 5)).get_data(as_text=True)
    assert '<tr data-row="0" class="has-error">' not in html
    assert '<tr data-row="1" class="has-error">' in html and '<tr data-row="2" class="has-error">' in html
    assert _stored(app, world) is None
    # good rows (blank rows ignored), standards and the mandatory flag kept
    good = [{"code": "zz1", "name": "政治素质", "category": "de", "max_points": "10", "mandatory": "on",
             "std_you": "政治立场坚定", "std_cha": "政治意识淡薄"},
            {"code": "ji1", "name": "工作实绩", "category": "ji", "max_points": "40"}]
    assert b.post(url, _rows(good, 5)).status_code == 302
    v = _stored(app, world)
    assert [i["code"] for i in v["add"]] == ["zz1", "ji1"]
    assert v["add"][0]["mandatory"] is True and v["add"][0]["standards"] == {"you": "政治立场坚定", "cha": "政治意识淡薄"}
    page = b.get(f"/policy/org/{p}?year=2026").get_data(as_text=True)
    assert 'value="政治立场坚定"' in page and "\\u" not in re.sub(r"<script.*?</script>", "", page, flags=re.S)
    # reorder with the ↓ button (no JavaScript): the list is saved in the new order
    form = _rows(good, 5)
    form["move"] = "down:0"
    assert b.post(url, form).status_code == 302
    assert [i["code"] for i in _stored(app, world)["add"]] == ["ji1", "zz1"]
    # delete a row
    form = _rows([good[1], good[0]], 5)
    form["row-0-delete"] = "on"
    assert b.post(url, form).status_code == 302
    assert [i["code"] for i in _stored(app, world)["add"]] == ["zz1"]
