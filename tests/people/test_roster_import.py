"""Roster import: every bad input gives a report and imports nothing; a clean
file imports in one job; a re-import is an idempotent upsert."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from kaohe.audit.models import AuditEntry
from kaohe.extensions import db
from kaohe.people.models import LeaderCharge, Person, RosterImport
from kaohe.tenancy.scope import Scope, apply_scope

from .helpers import HEADERS, clean_rows, person_row, workbook


def upload(b, world, data, name="roster.xlsx", unit="P1-T1", **form):
    payload = {"file": (io.BytesIO(data), name), **form}
    resp = b.post(f"/people/units/{world.ids[unit]}/upload", data=payload, content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return resp.headers["Location"]


def latest_import(app):
    with app.app_context():
        apply_scope(Scope.system())
        imp = db.session.execute(select(RosterImport).order_by(RosterImport.id.desc())).scalars().first()
        db.session.expunge(imp)
        return imp


def roster_state(app, unit_id):
    with app.app_context():
        apply_scope(Scope.system())
        rows = db.session.execute(select(Person.staff_no, Person.name, Person.org_id, Person.position_role,
                                         Person.supervisor_id, Person.active, Person.hire_date)
                                  .where(Person.unit_id == unit_id).order_by(Person.staff_no)).all()
        charges = db.session.execute(select(LeaderCharge.leader_id, LeaderCharge.department_id)
                                     .where(LeaderCharge.org_id == unit_id)).all()
        audits = db.session.execute(select(func.count()).select_from(AuditEntry)
                                    .where(AuditEntry.action.like("people.roster%"))).scalar_one()
        return [tuple(r) for r in rows], sorted(tuple(c) for c in charges), audits


def codes(imp):
    return sorted({p["code"] for p in imp.errors})


BAD_CASES = {
    "empty_file": (b"", "empty_file"),
    "not_xlsx": (b"name,staff\nzhang,1\n" * 20, "not_xlsx"),
    "zip_not_xlsx": (None, "not_xlsx"),
    "wrong_sheet": (workbook([person_row("x1", "甲")], sheet="Sheet1"), "no_people_sheet"),
    "wrong_columns": (workbook([["x1", "甲", "?"]], headers=["工号", "姓名", "Salary"]), "unknown_column"),
    "missing_column": (workbook([["甲"]], headers=["姓名"]), "missing_column"),
    "header_only": (workbook([]), "no_rows"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_unreadable_files_report_and_import_nothing(world, login, app, backend, case):
    data, code = BAD_CASES[case]
    if data is None:  # a real zip that is not a workbook
        buf = io.BytesIO()
        import zipfile

        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("hello.txt", "not a workbook")
        data = buf.getvalue()
    before = roster_state(app, world.ids["P1-T1"])
    b = login("t1admin")
    page = b.get(upload(b, world, data))
    imp = latest_import(app)
    assert imp.status == "invalid"
    assert code in codes(imp)
    html = page.get_data(as_text=True)
    assert "Nothing has been imported" in html or "没有导入" in html or imp.error_count
    # nothing imported, nothing audited, and the apply button refuses
    assert roster_state(app, world.ids["P1-T1"]) == before
    resp = b.post(f"/people/imports/{imp.id}/apply")
    assert resp.status_code == 302
    assert roster_state(app, world.ids["P1-T1"]) == before


def test_row_problems_are_reported_per_row(world, login, app, backend):
    rows = clean_rows()
    rows.append(person_row("n001", "重复工号"))                                   # duplicate staff number
    rows.append(person_row("n003", "未知科室", dept="NOPE"))                       # unknown department
    rows.append(person_row("n004", "外单位上级", sup="P2-someone"))               # supervisor outside the unit
    rows.append(person_row("n005", "坏日期", hire="2021-13-45"))                  # bad date
    rows.append(person_row("n006", None))                                          # missing required cell
    rows.append(person_row("n007", "=CONCAT(\"a\",\"b\")"))                     # a formula
    rows.append(person_row("n008", "坏类别", rank="处级"))                        # bad choice
    rows.append(person_row("n009", "试用期", hire=dt.date(2025, 1, 1), probation=dt.date(2024, 1, 1)))
    rows.append(person_row(12.5, "小数工号"))                                      # wrong type
    rows.append(person_row("n010", "自己", sup="n010"))                            # own supervisor
    before = roster_state(app, world.ids["P1-T1"])
    b = login("t1admin")
    html = b.get(upload(b, world, workbook(rows))).get_data(as_text=True)
    imp = latest_import(app)
    assert imp.status == "invalid"
    found = {(p["row"], p["code"]) for p in imp.errors}
    first_bad = len(clean_rows()) + 2
    expected = ["duplicate_staff_no", "unknown_department", "supervisor_outside", "bad_date", "required",
                "formula", "bad_choice", "date_order", "wrong_type", "supervisor_self"]
    for offset, code in enumerate(expected):
        assert (first_bad + offset, code) in found, (code, sorted(found))
    assert imp.error_count == len(expected)
    assert imp.rows_total == len(rows)
    assert 'id="problems"' in html and "NOPE" in html
    assert roster_state(app, world.ids["P1-T1"]) == before


def test_supervisor_loop_is_reported(world, login, app, backend):
    rows = [person_row("a1", "甲", sup="a2"), person_row("a2", "乙", sup="a3"), person_row("a3", "丙", sup="a1")]
    b = login("t1admin")
    upload(b, world, workbook(rows))
    assert "supervisor_loop" in codes(latest_import(app))


def test_charges_sheet_checks(world, login, app, backend):
    rows = clean_rows()
    charges = [("deputy", "T1-D1"), ("deputy", "T1-D1"), ("d1staff", "T1-D2"), ("ghost", "T1-D2"),
               ("deputy", "T2-D1")]
    b = login("t1admin")
    upload(b, world, workbook(rows, charges=charges))
    got = codes(latest_import(app))
    assert {"duplicate_charge", "leader_not_leader", "leader_unknown", "unknown_department"} <= set(got)


def test_formula_cell_detected_even_with_cached_value(world, login, app, backend):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "人员 People"
    ws.append(HEADERS)
    ws.append(person_row("f1", "甲"))
    ws["A2"] = '="f"&"1"'
    buf = io.BytesIO()
    wb.save(buf)
    b = login("t1admin")
    upload(b, world, buf.getvalue())
    imp = latest_import(app)
    assert [(p["row"], p["column"], p["code"]) for p in imp.errors] == [(2, "A", "formula")]


def test_clean_import_then_reimport_is_idempotent(world, login, app, backend, client):
    unit_id = world.ids["P1-T1"]
    b = login("t1admin")
    data = workbook(clean_rows(), charges=[("deputy", "T1-D1"), ("deputy", "T1-D2")])
    page = b.get(upload(b, world, data)).get_data(as_text=True)
    imp = latest_import(app)
    assert imp.status == "valid", imp.errors
    assert imp.summary["new"] == 2 and imp.summary["updated"] == 6
    assert 'id="apply-import"' in page
    resp = b.post(f"/people/imports/{imp.id}/apply")
    assert resp.status_code == 302
    imp = latest_import(app)
    assert imp.status == "imported"
    assert imp.summary["created"] == 2
    assert imp.summary["charges_added"] == 1 and imp.summary["charges_removed"] == 0
    rows, charges, audits = roster_state(app, unit_id)
    by_no = {r[0]: r for r in rows}
    assert by_no["head"][1] == "镇长"
    assert by_no["n001"][2] == world.ids["P1-T1-D2"]
    assert by_no["n001"][4] == by_no["d2head"][4] or by_no["n001"][4] is not None
    assert by_no["n001"][6] == dt.date(2026, 8, 1)
    assert len(charges) == 2
    # the supervisor of n001 is d2head (by id)
    with app.app_context():
        apply_scope(Scope.system())
        ids = dict(db.session.execute(select(Person.staff_no, Person.id).where(Person.unit_id == unit_id)).all())
        sups = dict(db.session.execute(select(Person.staff_no, Person.supervisor_id)
                                       .where(Person.unit_id == unit_id)).all())
        assert sups["n001"] == ids["d2head"] and sups["deputy"] == ids["head"] and sups["head"] is None
        audit = db.session.execute(select(AuditEntry).where(AuditEntry.action == "people.roster.changes")).scalars().all()
        changed = {k for a in audit for k in a.after}
        assert {"n001", "n002", "head"} <= changed
        head_entry = next(a for a in audit if "head" in a.after)
        assert head_entry.before["head"]["name"] == "head" and head_entry.after["head"]["name"] == "镇长"
    # Re-import the same file: nothing changes, nothing but the summary is audited.
    b.get(upload(b, world, data))
    imp2 = latest_import(app)
    assert imp2.status == "valid" and imp2.summary["new"] == 0
    b.post(f"/people/imports/{imp2.id}/apply")
    imp2 = latest_import(app)
    assert imp2.status == "imported"
    assert imp2.summary["created"] == 0 and imp2.summary["updated"] == 0 and imp2.summary["unchanged"] == 8
    rows2, charges2, audits2 = roster_state(app, unit_id)
    assert rows2 == rows and charges2 == charges
    assert audits2 == audits + 1      # only the import summary
    # the roster page lists the people; the export round-trips through the import
    html = b.get(f"/people/units/{unit_id}").get_data(as_text=True)
    assert "新人甲" in html
    export = b.get(f"/supervision/exports/roster?org_id={unit_id}")
    assert export.status_code == 200 and export.mimetype.endswith("sheet")
    b.get(upload(b, world, export.data))
    imp3 = latest_import(app)
    assert imp3.status == "valid", imp3.errors
    assert imp3.summary["new"] == 0


def test_deactivate_missing_and_update(world, login, app, backend):
    unit_id = world.ids["P1-T1"]
    rows = clean_rows()[:-2]
    rows[3] = person_row("d1staff", "一科员改名", dept="T1-D2", sup="d2head")
    b = login("t1admin")
    b.get(upload(b, world, workbook(rows), deactivate_missing="on"))
    imp = latest_import(app)
    assert imp.status == "valid"
    b.post(f"/people/imports/{imp.id}/apply")
    state = {r[0]: r for r in roster_state(app, unit_id)[0]}
    assert state["d1staff"][1] == "一科员改名" and state["d1staff"][2] == world.ids["P1-T1-D2"]
    assert all(r[5] for r in state.values())           # everyone in the file stays active
    # now drop d2staff: it leaves the roster
    b.get(upload(b, world, workbook([r for r in rows if r[0] != "d2staff"]), deactivate_missing="on"))
    imp = latest_import(app)
    b.post(f"/people/imports/{imp.id}/apply")
    state = {r[0]: r for r in roster_state(app, unit_id)[0]}
    assert state["d2staff"][5] is False and latest_import(app).summary["deactivated"] == 1


def test_row_limit(world, login, app, backend):
    app.config["KAOHE_ROSTER_MAX_ROWS"] = 50
    rows = [person_row(f"x{i:05d}", f"人{i}") for i in range(60)]
    b = login("t1admin")
    upload(b, world, workbook(rows))
    imp = latest_import(app)
    assert imp.status == "invalid" and codes(imp) == ["too_many_rows"]
    assert roster_state(app, world.ids["P1-T1"])[0][0][0] == "d1head"


def test_isolation_and_permissions(world, login, app, backend):
    b = login("t1admin")
    assert b.get(f"/people/units/{world.ids['P1-T2']}").status_code == 404
    assert b.get(f"/people/units/{world.ids['P2-T1']}/template.xlsx").status_code == 404
    upload(b, world, workbook(clean_rows()))
    imp = latest_import(app)
    b.post("/logout")
    staff = login("t1staff")
    assert staff.get(f"/people/units/{world.ids['P1-T1']}").status_code == 403
    # another unit's import report is invisible
    staff.post("/logout")
    t2 = login("t2admin")
    assert t2.get(f"/people/imports/{imp.id}").status_code == 404


def test_template_download_lists_departments(world, login, backend):
    from openpyxl import load_workbook

    b = login("t1admin")
    resp = b.get(f"/people/units/{world.ids['P1-T1']}/template.xlsx")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames == ["人员 People", "分管 Charges", "说明 Notes"]
    assert [c.value for c in wb["人员 People"][1]] == HEADERS
    notes = " ".join(str(c.value) for row in wb["说明 Notes"].iter_rows() for c in row if c.value)
    assert "T1-D1" in notes and "T1-D2" in notes


def test_api_upload_report_apply(world, client, api_token, app, backend):
    h = api_token("t1admin")
    unit = world.ids["P1-T1"]
    bad = workbook(clean_rows() + [person_row("n001", "重复")])
    resp = client.post("/api/v1/people/imports", headers=h, content_type="multipart/form-data",
                       data={"unit_id": str(unit), "file": (io.BytesIO(bad), "r.xlsx")})
    assert resp.status_code == 202, resp.get_json()
    imp_id = resp.get_json()["import_id"]
    report = client.get(f"/api/v1/people/imports/{imp_id}", headers=h).get_json()
    assert report["status"] == "invalid" and report["error_count"] == 1
    assert report["errors"][0]["code"] == "duplicate_staff_no" and report["errors"][0]["row"] == 10
    assert "n001" in report["errors"][0]["message"]
    assert client.post(f"/api/v1/people/imports/{imp_id}/apply", headers=h).status_code == 422
    good = workbook(clean_rows())
    resp = client.post("/api/v1/people/imports", headers=h, content_type="multipart/form-data",
                       data={"unit_id": str(unit), "file": (io.BytesIO(good), "r.xlsx")})
    imp_id = resp.get_json()["import_id"]
    resp = client.post(f"/api/v1/people/imports/{imp_id}/apply", headers=h)
    assert resp.status_code == 202
    job = client.get(f"/api/v1/jobs/{resp.get_json()['job_id']}", headers=h).get_json()
    assert job["status"] == "done" and job["result"]["created"] == 2
    assert client.get(f"/api/v1/people/imports/{imp_id}", headers=h).get_json()["status"] == "imported"
    # missing file, wrong unit kind, other province
    resp = client.post("/api/v1/people/imports", headers=h, content_type="multipart/form-data",
                       data={"unit_id": str(unit)})
    assert resp.status_code == 422
    resp = client.post("/api/v1/people/imports", headers=h, content_type="multipart/form-data",
                       data={"unit_id": str(world.ids["P2-T1"]), "file": (io.BytesIO(good), "r.xlsx")})
    assert resp.status_code == 404
    assert client.get(f"/api/v1/people/roster-template?unit_id={unit}", headers=h).status_code == 200
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/people/imports" in spec["paths"] and "/api/v1/people/imports/{import_id}/apply" in spec["paths"]
