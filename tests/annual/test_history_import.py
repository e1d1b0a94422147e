"""Issue 13: annual grades of earlier years imported from the unit's records
(xlsx: 工号, 姓名, 年度, 等次), checked whole like the roster import, so the
multi-year counters and the alert lists start right; imported years are
marked imported and audited."""
from __future__ import annotations

import io
import re

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from kaohe.annual.history_import import ACCEPTED, check_rows
from kaohe.annual.models import AnnualAssessment, AnnualOutcome, AnnualPriorGrade
from kaohe.annual.service import person_counters
from kaohe.audit.models import AuditEntry
from kaohe.core.clock import local_today
from kaohe.extensions import db
from kaohe.people.models import Person
from kaohe.tenancy.scope import Scope, apply_scope

THIS = local_today().year


def _book(rows, headers=("工号", "姓名", "年度", "等次")) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "年度等次 Grades"
    ws.append(list(headers))
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _sys(app):
    ctx = app.app_context()
    ctx.push()
    apply_scope(Scope.system("test"))
    return ctx


def _pid(app, staff_no):
    ctx = _sys(app)
    pid = db.session.execute(select(Person.id).where(Person.staff_no == staff_no,
                                                     Person.name == staff_no)).scalar_one()
    ctx.pop()
    return pid


def _count(app, model, **where):
    ctx = _sys(app)
    stmt = select(func.count()).select_from(model)
    for k, v in where.items():
        stmt = stmt.where(getattr(model, k) == v)
    n = db.session.execute(stmt).scalar()
    ctx.pop()
    return n


def _upload(client, headers, org, data, **form):
    return client.post(f"/api/v1/annual/units/{org}/history", headers=headers,
                       data={"file": (io.BytesIO(data), "grades.xlsx"), **form}, content_type="multipart/form-data")


def test_check_rows_is_pure_and_names_every_problem():
    people = {"a1": (1, "甲"), "b2": (2, "乙")}
    rows = [(2, {"staff_no": "a1", "name": "甲", "year": THIS - 2, "grade": "称职"}),
            (3, {"staff_no": "a1", "name": "甲", "year": float(THIS - 1), "grade": "1"}),
            (4, {"staff_no": "zz", "name": None, "year": THIS - 1, "grade": "优秀"}),
            (5, {"staff_no": "b2", "name": "丙", "year": THIS, "grade": "良好"}),
            (6, {"staff_no": "a1", "name": None, "year": THIS - 2, "grade": "6A"}),
            (7, {"staff_no": "b2", "name": None, "year": THIS - 3, "grade": "4"}),
            (8, {"staff_no": "b2", "name": None, "year": None, "grade": None})]       # template row, skipped
    good, problems = check_rows(rows, people, computed={(2, THIS - 3)}, this_year=THIS)
    assert [(g["row"], g["grade"], g["code"]) for g in good] == [(2, "chenzhi", "2"), (3, "youxiu", "1")]
    got = {(p.row, p.column, p.message.split(" ")[0]) for p in problems}
    assert got == {(4, "工号", "No"), (5, "姓名", "The"), (5, "年度", "The"), (5, "等次", "Unknown"),
                   (6, "年度", "The"), (7, "年度", "The")}
    assert ACCEPTED["不进行考核（长期病事假等）"] == (None, "6A") and ACCEPTED["基本称职"] == ("jibenchenzhi", "3")


def test_import_api_all_or_nothing_counters_and_alerts(app, client, world, api_token):
    admin = api_token("t1admin")
    t1 = world.p1.nodes["T1"].id
    a1, b2 = _pid(app, "d1staff"), _pid(app, "d2staff")
    # The platform assessed d1staff in THIS-3: that year cannot be imported over.
    ctx = _sys(app)
    a = AnnualAssessment(root_id=world.p1.nodes["P"].id, org_id=t1, year=THIS - 3, status="filed")
    db.session.add(a)
    db.session.flush()
    db.session.add(AnnualOutcome(root_id=a.root_id, org_id=t1, assessment_id=a.id, person_id=a1, year=THIS - 3,
                                 grade="chenzhi", code="2"))
    db.session.commit()
    ctx.pop()

    tpl = client.get(f"/api/v1/annual/units/{t1}/history-template", headers=admin)
    assert tpl.status_code == 200
    ws = load_workbook(io.BytesIO(tpl.data)).worksheets[0]
    assert [c.value for c in ws[1]] == ["工号", "姓名", "年度", "等次"]
    assert "d1staff" in {r[0] for r in ws.iter_rows(min_row=2, values_only=True)}

    audits = _count(app, AuditEntry)
    bad = _book([("d1staff", "d1staff", THIS - 1, "优秀"), ("d1staff", None, THIS - 3, "称职"),
                 ("nobody", None, THIS - 1, "称职"), ("d2staff", None, THIS, "不称职"), ("d2staff", None, "去年", "3")])
    resp = _upload(client, admin, t1, bad)
    assert resp.status_code == 422, resp.get_json()
    errors = resp.get_json()["errors"]
    assert set(errors) == {"row 3", "row 4", "row 5", "row 6"}, errors
    assert _count(app, AnnualPriorGrade) == 0 and _count(app, AuditEntry) == audits      # nothing written

    good = _book([("d1staff", "d1staff", THIS - 2, "优秀"), ("d1staff", "d1staff", THIS - 1, "1"),
                  ("d2staff", None, THIS - 2, "称职"), ("d2staff", None, THIS - 1, "不称职"),
                  ("head", None, None, None)])
    dry = _upload(client, admin, t1, good, dry_run="true")
    assert dry.status_code == 200 and dry.get_json()["created"] == 4 and _count(app, AnnualPriorGrade) == 0
    resp = _upload(client, admin, t1, good)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"rows": 4, "created": 4, "updated": 0, "unchanged": 0, "dry_run": False}
    assert _count(app, AnnualPriorGrade, source="import") == 4
    assert _count(app, AuditEntry, action="annual.history.import") == 1

    # The counters read the imported years together with the computed one.
    ctx = _sys(app)
    c = person_counters(a1, world.p1.nodes["P"].id)
    assert (c["good_years"], c["youxiu_streak"]) == (3, 2)
    assert person_counters(b2, world.p1.nodes["P"].id)["buchenzhi_streak"] == 1
    ctx.pop()
    # The alert list of this year: d2staff at risk of dismissal, d1staff one 优秀 from 三等功.
    alerts = client.get(f"/api/v1/annual/alerts/{t1}?year={THIS}", headers=admin).get_json()["alerts"]
    assert [r["staff_no"] for r in alerts["dismissal_risk"]] == ["d2staff"]
    assert [r["staff_no"] for r in alerts["merit_next"]] == ["d1staff"]

    # Again: nothing changes; one grade corrected: one update, audited.
    assert _upload(client, admin, t1, good).get_json()["unchanged"] == 4
    fixed = _book([("d2staff", None, THIS - 1, "基本称职")])
    assert _upload(client, admin, t1, fixed).get_json()["updated"] == 1
    assert _count(app, AuditEntry, action="annual.history.import") == 2
    alerts = client.get(f"/api/v1/annual/alerts/{t1}?year={THIS}", headers=admin).get_json()["alerts"]
    assert alerts["dismissal_risk"] == []


def test_import_permission_and_scope(app, client, world, api_token):
    t1, t2 = world.p1.nodes["T1"].id, world.p1.nodes["T2"].id
    data = _book([("d1staff", None, THIS - 1, "称职")])
    assert _upload(client, api_token("t1staff"), t1, data).status_code == 403
    admin = api_token("t1admin")
    assert _upload(client, admin, t2, data).status_code == 404
    assert _upload(client, admin, world.p2.nodes["T1"].id, data).status_code == 404
    assert client.get(f"/api/v1/annual/units/{t2}/history-template", headers=admin).status_code == 404
    assert _upload(client, admin, t1, b"not a workbook").status_code == 422
    assert _upload(client, admin, t1, _book([("d1staff", THIS - 1)], headers=("工号", "年度"))).status_code == 422
    assert _count(app, AnnualPriorGrade) == 0


def test_import_page_and_cli(app, world, login, runner, tmp_path):
    t1 = world.p1.nodes["T1"].id
    b = login("t1admin")
    page = b.get(f"/annual/unit/{t1}/history")
    assert page.status_code == 200 and 'id="history-form"' in page.get_data(as_text=True)
    assert b.get(f"/annual/unit/{t1}/history-template.xlsx").status_code == 200
    resp = b.post(f"/annual/unit/{t1}/history",
                  {"file": (io.BytesIO(_book([("nobody", None, THIS - 1, "称职")])), "g.xlsx")},
                  content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="history-problems"' in html and "nobody" in html
    assert not re.search(r"No person with staff number", html)             # shown in Chinese
    resp = b.post(f"/annual/unit/{t1}/history",
                  {"file": (io.BytesIO(_book([("d1staff", None, THIS - 1, "称职")])), "g.xlsx")},
                  content_type="multipart/form-data")
    assert resp.status_code == 200 and 'id="history-report"' in resp.get_data(as_text=True)
    pid = _pid(app, "d1staff")
    person = b.get(f"/annual/person/{pid}/{THIS}").get_data(as_text=True)
    assert f"{THIS - 1}: " in person and 'class="tag"' in person                # the imported year, marked

    good, bad = tmp_path / "good.xlsx", tmp_path / "bad.xlsx"
    good.write_bytes(_book([("d2staff", None, THIS - 1, "不称职"), ("d2staff", None, THIS - 2, "不称职")]))
    bad.write_bytes(_book([("d2staff", None, 1900, "不称职")]))
    res = runner.invoke(args=["annual", "history-import", "T1", str(bad)])
    assert res.exit_code == 1 and "Traceback" not in res.output and "nothing imported" in res.output
    res = runner.invoke(args=["annual", "history-import", "T1", str(good)])
    assert res.exit_code == 0, res.output
    assert "created 2" in res.output
    assert _count(app, AnnualPriorGrade) == 3
