"""Issue 13 / issue 14 finding 3: the roster check lists every change the
import will make (new, field-by-field updates, moves, clears, removals, 分管
links), an empty cell keeps the stored value, only markers clear (清空) or
remove (离开, 删除), and the import makes exactly the listed changes."""
from __future__ import annotations

import io

from openpyxl import Workbook
from sqlalchemy import select, update

from kaohe.extensions import db
from kaohe.people import roster_service
from kaohe.people.models import LeaderCharge, Person
from kaohe.people.roster_format import CHARGE_COLUMNS, PEOPLE_COLUMNS, jsonable
from kaohe.tenancy.models import OrgNode
from kaohe.tenancy.scope import Scope, apply_scope

from .helpers import HEADERS, clean_rows, person_row, workbook

KEYS = [c.key for c in PEOPLE_COLUMNS]


def sparse_row(**cells):
    """A people row with only these cells filled (the rest empty)."""
    return [cells.get(k) for k in KEYS]


def book(rows, charges=()):
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


def upload(client, headers, unit_id, data):
    resp = client.post("/api/v1/people/imports", headers=headers, content_type="multipart/form-data",
                       data={"unit_id": str(unit_id), "file": (io.BytesIO(data), "r.xlsx")})
    assert resp.status_code == 202, resp.get_json()
    imp_id = resp.get_json()["import_id"]
    return imp_id, client.get(f"/api/v1/people/imports/{imp_id}", headers=headers).get_json()


def apply(client, headers, imp_id):
    resp = client.post(f"/api/v1/people/imports/{imp_id}/apply", headers=headers)
    assert resp.status_code == 202, resp.get_json()
    return client.get(f"/api/v1/people/imports/{imp_id}", headers=headers).get_json()


def snapshot(app, unit_id):
    """The unit's people in the plan's terms, and its 分管 links by code."""
    with app.app_context():
        apply_scope(Scope.system("test"))
        unit = db.session.get(OrgNode, unit_id)
        current, staff_of = roster_service._current(unit)
        codes = dict(db.session.execute(select(OrgNode.id, OrgNode.code)).all())
        charges = {(staff_of[r.leader_id], codes[r.department_id]) for r in db.session.execute(
            select(LeaderCharge.leader_id, LeaderCharge.department_id).where(LeaderCharge.org_id == unit_id))}
        people = {s: {f: jsonable(v) for f, v in cur.items() if f != "id"} for s, cur in current.items()}
        return people, charges


def listed_vs_made(listing, before, after):
    """(what the check listed, what the import did) as comparable sets."""
    listed, made = set(), set()
    for item in listing["items"]:
        if item["op"] == "new":
            listed.add(("new", item["staff_no"]))
        elif item["op"] == "remove":
            listed.add(("field", item["staff_no"], "active", True, False))
        elif item["op"] == "update":
            for c in item["changes"]:
                listed.add(("field", item["staff_no"], c["field"], c["old"], c["new"]))
        else:
            listed.add((item["op"], item["staff_no"], item["dept"]))
    people_b, charges_b = before
    people_a, charges_a = after
    for s, cur in people_a.items():
        if s not in people_b:
            made.add(("new", s))
            continue
        for f, v in cur.items():
            if people_b[s][f] != v:
                made.add(("field", s, f, people_b[s][f], v))
    made |= {("charge_add", l, d) for l, d in charges_a - charges_b}
    made |= {("charge_remove", l, d) for l, d in charges_b - charges_a}
    return listed, made


def test_check_lists_every_change_and_the_import_makes_exactly_those(app, client, world, api_token, backend):
    unit_id = world.ids["P1-T1"]
    h = api_token("t1admin")
    # A first import gives everyone a post, a hire date and a department.
    imp_id, report = upload(client, h, unit_id, workbook(clean_rows(), charges=[("deputy", "T1-D2")]))
    assert report["status"] == "valid", report["errors"]
    assert apply(client, h, imp_id)["status"] == "imported"
    before = snapshot(app, unit_id)
    assert before[0]["d2staff"]["post"] == "科员" and before[0]["d1head"]["hire_date"] == "2021-03-01"

    data = book([
        sparse_row(staff_no="d1staff", name="一科员", dept_code="T1-D2"),            # moved
        sparse_row(staff_no="d2staff", name="二科员", post="清空"),                   # post cleared (marker)
        sparse_row(staff_no="n001", name="新人甲", leave="离开"),                     # removed (marker)
        sparse_row(staff_no="n002", name="新人乙", supervisor_staff_no="d2head"),     # moved (supervisor)
        sparse_row(staff_no="d1head", name="一科长"),                                 # empty cells: keeps all
        person_row("n003", "新人丙", dept="T1-D1", sup="d1head"),                     # new
    ], charges=[("deputy", "T1-D2", "删除"), ("head", "T1-D1", None), ("deputy", "T1-D1", None)])
    imp_id, report = upload(client, h, unit_id, data)
    assert report["status"] == "valid", report["errors"]
    changes = report["changes"]
    assert changes["counts"] == {"new": 1, "updated": 3, "moved": 2, "cleared": 1, "reactivated": 0, "removed": 1,
                                 "charges_added": 1, "charges_removed": 1, "unchanged": 1}, changes["counts"]
    by = {(i["op"], i["staff_no"]): i for i in changes["items"]}
    assert by[("update", "d1staff")]["changes"] == [{"field": "dept", "old": "T1-D1", "new": "T1-D2"}]
    assert by[("update", "d1staff")]["kinds"] == ["updated", "moved"]
    assert by[("update", "d2staff")]["changes"] == [{"field": "post", "old": "科员", "new": None}]
    assert by[("update", "d2staff")]["kinds"] == ["updated", "cleared"]
    assert by[("update", "n002")]["changes"] == [{"field": "supervisor", "old": "d1head", "new": "d2head"}]
    assert by[("remove", "n001")]["reason"] == "marker" and by[("remove", "n001")]["row"] == 4
    assert ("new", "n003") in by and ("update", "d1head") not in by
    assert by[("charge_remove", "deputy")]["dept"] == "T1-D2"
    # deputy→T1-D1 is there already (not listed); head→T1-D1 is new
    assert [(i["staff_no"], i["dept"]) for i in changes["items"] if i["op"] == "charge_add"] == [("head", "T1-D1")]
    # one kind at a time
    moved = client.get(f"/api/v1/people/imports/{imp_id}?kind=moved", headers=h).get_json()["changes"]["items"]
    assert sorted(i["staff_no"] for i in moved) == ["d1staff", "n002"]

    done = apply(client, h, imp_id)
    assert done["status"] == "imported", done
    after = snapshot(app, unit_id)
    listed, made = listed_vs_made(done["changes"], before, after)
    assert listed == made, (listed ^ made)
    # the person whose row left every other cell empty kept every value
    assert after[0]["d1head"] == before[0]["d1head"]
    assert done["summary"]["moved"] == 2 and done["summary"]["cleared"] == 1 and done["summary"]["deactivated"] == 1


def test_a_roster_change_after_the_check_is_shown_before_anything_is_written(app, client, world, api_token,
                                                                                backend):
    unit_id = world.ids["P1-T1"]
    h = api_token("t1admin")
    imp_id, report = upload(client, h, unit_id, book([sparse_row(staff_no="d1staff", name="一科员", post="文书")]))
    assert [i["changes"] for i in report["changes"]["items"]] == [
        [{"field": "name", "old": "d1staff", "new": "一科员"}, {"field": "post", "old": None, "new": "文书"}]]
    with app.app_context():     # someone else changes the roster in between
        apply_scope(Scope.system("test"))
        db.session.execute(update(Person).where(Person.unit_id == unit_id, Person.staff_no == "d1staff")
                           .values(name="一科员"))
        db.session.commit()
    before = snapshot(app, unit_id)
    again = apply(client, h, imp_id)
    assert again["status"] == "valid"                 # not imported: the list changed
    assert [i["changes"] for i in again["changes"]["items"]] == [[{"field": "post", "old": None, "new": "文书"}]]
    assert snapshot(app, unit_id) == before           # nothing written
    done = apply(client, h, imp_id)                   # the user saw the new list; now it is made
    assert done["status"] == "imported"
    assert snapshot(app, unit_id)[0]["d1staff"]["post"] == "文书"


def test_the_check_page_shows_the_changes_grouped(app, world, login, backend):
    unit_id = world.ids["P1-T1"]
    b = login("t1admin")
    data = book([sparse_row(staff_no="d1staff", name="d1staff", dept_code="T1-D2", post="文书"),
                 sparse_row(staff_no="d2staff", name="d2staff", leave="离开"),
                 sparse_row(staff_no="nx1", name="新人")],
                charges=[("deputy", "T1-D1", "删除")])
    resp = b.post(f"/people/units/{unit_id}/upload", data={"file": (io.BytesIO(data), "r.xlsx")},
                  content_type="multipart/form-data")
    assert resp.status_code == 302
    page = b.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'id="change-list"' in page and 'id="count-moved">1<' in page and 'id="count-removed">1<' in page
    assert 'id="count-charges_removed">1<' in page and 'id="count-new">1<' in page
    # default kind: new people; the updated list shows old → new in words
    upd = b.get(resp.headers["Location"] + "?kind=updated").get_data(as_text=True)
    assert "<strong>科室</strong>: T1-D1 → T1-D2" in upd and "<strong>岗位</strong>: （空） → 文书" in upd, \
        upd[upd.find("change-list"):][:1500]
    removed = b.get(resp.headers["Location"] + "?kind=removed").get_data(as_text=True)
    assert 'data-staff="d2staff"' in removed and "离开" in removed


def test_the_import_never_makes_a_change_that_was_not_listed():
    from kaohe.people.roster_service import _within

    move = [2, "update", "a", "甲", {"dept": ["D1", "D2"]}]
    clear = [3, "update", "b", "乙", {"post": ["科员", None]}]
    listed = {"counts": {}, "people": [move, clear], "charges": [[2, "add", "lead", "D1"]]}
    assert _within({"people": [move, clear], "charges": [[2, "add", "lead", "D1"]]}, listed)
    assert _within({"people": [], "charges": []}, listed)          # already made (a retried import)
    assert _within({"people": [clear], "charges": []}, listed)     # part of it made meanwhile
    assert not _within({"people": [[2, "update", "a", "甲", {"dept": ["D3", "D2"]}]], "charges": []}, listed)
    assert not _within({"people": [move, [9, "new", "c", "丙", None]], "charges": []}, listed)
    assert not _within({"people": [], "charges": [[2, "remove", "lead", "D1"]]}, listed)
