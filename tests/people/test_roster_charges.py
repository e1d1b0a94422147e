"""Issue 13, 4: a roster import never deletes what an optional sheet leaves
out.  The template's empty 分管 sheet (titles only) used to wipe every
leader–department link; now only a row marked "删除" in the Remove column
ends a charge."""
from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from kaohe.extensions import db
from kaohe.people.models import LeaderCharge
from kaohe.people.roster_format import CHARGE_COLUMNS
from kaohe.tenancy.scope import Scope, apply_scope

from .helpers import HEADERS, clean_rows, workbook


def _charges(app, unit_id):
    with app.app_context():
        apply_scope(Scope.system("test"))
        return sorted(db.session.execute(select(LeaderCharge.leader_id, LeaderCharge.department_id)
                                         .where(LeaderCharge.org_id == unit_id)).all())


def _import(client, headers, unit_id, data):
    resp = client.post("/api/v1/people/imports", headers=headers, content_type="multipart/form-data",
                       data={"unit_id": str(unit_id), "file": (io.BytesIO(data), "r.xlsx")})
    assert resp.status_code == 202, resp.get_json()
    imp_id = resp.get_json()["import_id"]
    report = client.get(f"/api/v1/people/imports/{imp_id}", headers=headers).get_json()
    assert report["status"] == "valid", report["errors"]
    resp = client.post(f"/api/v1/people/imports/{imp_id}/apply", headers=headers)
    assert resp.status_code in (200, 202), resp.get_json()
    return client.get(f"/api/v1/people/imports/{imp_id}", headers=headers).get_json()


def _with_charges(rows, charges):
    wb = Workbook()
    ws = wb.active
    ws.title = "人员 People"
    ws.append(HEADERS)
    for r in rows:
        ws.append(r)
    ch = wb.create_sheet("分管 Charges")
    ch.append([c.header for c in CHARGE_COLUMNS])
    for leader, dept, remove in charges:
        ch.append([leader, dept, None, remove])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_template_empty_charges_sheet_keeps_the_links(app, client, world, api_token):
    unit = world.p1.nodes["T1"].id
    h = api_token("t1admin")
    before = _charges(app, unit)
    assert len(before) == 1
    # The unit's own template, people filled in, the 分管 sheet left as it comes.
    tpl = client.get(f"/api/v1/people/roster-template?unit_id={unit}", headers=h)
    assert tpl.status_code == 200
    wb = load_workbook(io.BytesIO(tpl.data))
    ws = wb[wb.sheetnames[0]]
    ws.delete_rows(2, ws.max_row)
    for r in clean_rows():
        ws.append(r)
    assert wb[wb.sheetnames[1]].max_row == 1          # titles only
    buf = io.BytesIO()
    wb.save(buf)
    report = _import(client, h, unit, buf.getvalue())
    assert _charges(app, unit) == before
    assert report["summary"].get("charges_removed", 0) == 0
    # The same with the test helper's empty sheet.
    _import(client, h, unit, workbook(clean_rows(), charges=[]))
    assert _charges(app, unit) == before


def test_only_a_marked_row_removes_a_charge(app, client, world, api_token):
    unit = world.p1.nodes["T1"].id
    h = api_token("t1admin")
    before = _charges(app, unit)
    # A partial sheet adds, and leaves deputy→T1-D1 alone.
    report = _import(client, h, unit, _with_charges(clean_rows(), [("deputy", "T1-D2", None)]))
    after = _charges(app, unit)
    assert len(after) == 2 and set(before) <= set(after)
    assert report["summary"]["charges_added"] == 1 and report["summary"]["charges_removed"] == 0
    # "删除" ends exactly that charge.
    report = _import(client, h, unit, _with_charges(clean_rows(), [("deputy", "T1-D1", "删除")]))
    assert report["summary"]["charges_removed"] == 1
    assert _charges(app, unit) == sorted(set(after) - set(before))


def test_leaders_named_in_charges_get_the_leader_role(app, client, world, api_token):
    from kaohe.auth.models import RoleGrant
    from kaohe.testing.world import PASSWORD

    unit = world.p1.nodes["T1"].id
    h = api_token("t1admin")
    resp = client.post("/api/v1/users", headers=h, json={
        "username": "headacct@P", "display_name": "head", "password": PASSWORD, "org_id": unit,
        "grants": [{"role": "staff", "org_id": unit}]})
    uid = resp.get_json()["id"]
    assert client.put(f"/api/v1/users/{uid}/person", headers=h,
                      json={"unit_id": unit, "staff_no": "head"}).status_code == 200

    def roles():
        with app.app_context():
            apply_scope(Scope.system("test"))
            return {g.role for g in db.session.execute(select(RoleGrant).where(RoleGrant.user_id == uid)).scalars()}
    assert roles() == {"staff"}
    report = _import(client, h, unit, _with_charges(clean_rows(), [("head", "T1-D2", None)]))
    assert report["summary"]["leader_roles_granted"] == 1
    assert roles() == {"staff", "leader"}
