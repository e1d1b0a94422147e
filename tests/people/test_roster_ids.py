"""Issue 13: the roster's ID numbers (GB 11643 check digit incl. X, birth
date and gender derived and checked, unique in the province: in the file,
against this unit and against other units), masked on pages, in exports and
in the API unless an admin of the unit asks; and the other new fields."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from kaohe.extensions import db
from kaohe.people import id_number as idn
from kaohe.people import roster_format
from kaohe.people.models import Person
from kaohe.people.roster_check import parse_cell
from kaohe.people.roster_format import CLEAR, PEOPLE_COLUMNS
from kaohe.tenancy.models import OrgNode
from kaohe.tenancy.scope import Scope, apply_scope

from .helpers import person_row, workbook
from .test_roster_changes import apply, book, sparse_row, upload

COL = {c.key: c for c in PEOPLE_COLUMNS}


def number(born=dt.date(1990, 1, 1), male=True, region="630102", want_x=False):
    for seq in range(100):
        n = idn.make(region, born, seq, male)
        if (n[-1] == "X") == want_x:
            return n
    raise AssertionError("no such number")


MAN, WOMAN, X = number(), number(dt.date(1985, 6, 30), male=False), number(dt.date(1979, 2, 3), want_x=True)


@pytest.mark.parametrize("text,code", [
    ("11010519491231002X", None),                # the standard's own example (check digit X)
    ("11010519491231002x", None),                # a lower-case x is the same number
    (MAN, None), (WOMAN, None), (X, None),
    ("110105194912310021", "id_checksum"),
    (MAN[:-1] + ("0" if MAN[-1] != "0" else "1"), "id_checksum"),
    ("11010519491231002", "id_shape"),           # 17 characters
    ("1101051949123100X2", "id_shape"),          # X only last
    ("110105194902300025", "id_birth"),          # 30 February
    ("110105209901010025", "id_birth"),          # born in the future
])
def test_id_number_rules(text, code):
    assert idn.problem(idn.normalise(text), today=dt.date(2026, 12, 2)) == code


def test_derived_values_and_mask():
    assert idn.birth_date("11010519491231002X") == dt.date(1949, 12, 31) and idn.gender("11010519491231002X") == "F"
    assert idn.gender(MAN) == "M" and idn.gender(WOMAN) == "F"
    assert idn.mask("630102199001011234") == "630102********1234" and idn.mask(None) is None
    assert idn.is_masked(idn.mask(MAN)) and not idn.is_masked(MAN)


@pytest.mark.parametrize("key,value,expected,code", [
    ("id_number", " 11010519491231002x ", "11010519491231002X", None),
    ("id_number", 110105194912310021, None, "id_checksum"),
    ("id_number", "清空", CLEAR, None),
    ("post", "清空", CLEAR, None),
    ("supervisor_staff_no", "[清空]", CLEAR, None),
    ("name", "清空", None, "cannot_clear"),
    ("position_role", "清空", None, "cannot_clear"),
    ("staff_category", "工勤", "worker", None),
    ("staff_category", "参公", "referenced", None),
    ("staff_category", "事业编制", "institution", None),
    ("staff_category", "临时工", None, "bad_choice"),
    ("political_status", "中共党员", "cpc", None),
    ("political_status", "群众", "masses", None),
    ("leave", "离开", "yes", None),
    ("work_start_date", "2010年8月1日", dt.date(2010, 8, 1), None),
])
def test_new_cells(key, value, expected, code):
    got, problem, _params = parse_cell(COL[key], value)
    assert (got, problem) == (expected, code)


def _rows_with(ids):
    """clean roster rows, the i-th given an ID number cell (None: empty)."""
    rows = [person_row("n1", "新一", id_number=ids[0]), person_row("n2", "新二", gender=None, id_number=ids[1]),
            person_row("n3", "新三", id_number=ids[2], birth_date=ids[3] if len(ids) > 3 else None)]
    return rows


def test_bad_and_duplicate_id_numbers_are_reported_with_both_rows(app, client, world, api_token, backend):
    t1, t2 = world.ids["P1-T1"], world.ids["P1-T2"]
    with app.app_context():
        apply_scope(Scope.system("test"))
        head = db.session.execute(select(Person).where(Person.unit_id == t1, Person.staff_no == "head")).scalar_one()
        head.id_number = number(dt.date(1970, 1, 1))
        db.session.add(Person(root_id=head.root_id, org_id=t2, unit_id=t2, staff_no="t2x", name="二镇人",
                              id_number=number(dt.date(1971, 1, 1))))
        p2_t1 = world.ids["P2-T1"]
        p2_root = db.session.get(OrgNode, p2_t1).root_id
        db.session.add(Person(root_id=p2_root, org_id=p2_t1, unit_id=p2_t1, staff_no="p2x", name="外省人",
                              id_number=number(dt.date(1972, 1, 1))))
        db.session.commit()
    h = api_token("t1admin")
    rows = [
        person_row("n1", "新一", id_number=MAN),                                        # 2 fine
        person_row("n2", "新二", id_number=MAN),                                        # 3 same as row 2
        person_row("n3", "新三", id_number="110105194912310021"),                       # 4 check digit
        person_row("n4", "新四", id_number=WOMAN, gender="男"),                          # 5 gender
        person_row("n5", "新五", id_number=X, birth_date=dt.date(1979, 2, 4)),           # 6 birth date
        person_row("n6", "新六", id_number=number(dt.date(1970, 1, 1))),                 # 7 head's number
        person_row("n7", "新七", id_number=number(dt.date(1971, 1, 1))),                 # 8 T2's person
        person_row("n8", "新八", id_number=number(dt.date(1972, 1, 1))),                 # 9 other province: fine
        person_row("n9", "新九", id_number=idn.mask(MAN)),                               # 10 masked, new person
    ]
    _imp, report = upload(client, h, t1, workbook(rows))
    assert report["status"] == "invalid"
    got = sorted((p["row"], p["code"]) for p in report["errors"])
    assert got == [(3, "duplicate_id_number"), (4, "id_checksum"), (5, "id_gender_mismatch"),
                   (6, "id_birth_mismatch"), (7, "id_number_taken"), (8, "id_number_elsewhere"),
                   (10, "id_masked")], got
    msg = {p["code"]: p["message"] for p in report["errors"]}
    assert "第 2 行" in msg["duplicate_id_number"] and "n1 新一" in msg["duplicate_id_number"]
    assert "head" in msg["id_number_taken"]
    assert "二镇人" not in msg["id_number_elsewhere"] and "其他单位" in msg["id_number_elsewhere"]
    assert "1979-02-03" in msg["id_birth_mismatch"]
    assert msg["id_gender_mismatch"] == "性别与公民身份号码不一致（号码中为女）。"


def test_id_numbers_derive_fields_are_masked_and_round_trip(app, client, world, api_token, login, backend):
    t1 = world.ids["P1-T1"]
    h = api_token("t1admin")
    data = book([
        sparse_row(staff_no="d1staff", name="一科员", id_number=X.lower(), staff_category="工勤",
                   political_status="中共党员", post_rank="一级科员", work_start_date=dt.date(2001, 7, 1)),
        sparse_row(staff_no="d2staff", name="二科员", id_number=WOMAN, staff_category="事业"),
    ])
    imp_id, report = upload(client, h, t1, data)
    assert report["status"] == "valid", report["errors"]
    changes = {i["staff_no"]: {c["field"]: c for c in i["changes"]} for i in report["changes"]["items"]}
    # derived from the number: birth date and gender; the number itself masked in the answer
    assert changes["d1staff"]["birth_date"]["new"] == "1979-02-03" and changes["d1staff"]["gender"]["new"] == "M"
    assert changes["d2staff"]["gender"]["new"] == "F"
    assert changes["d1staff"]["id_number"]["new"] == idn.mask(X)
    full = client.get(f"/api/v1/people/imports/{imp_id}?reveal_id_numbers=true", headers=h).get_json()
    assert any(c["new"] == X for i in full["changes"]["items"] for c in i["changes"])
    b = login("t1admin")
    check_page = b.get(f"/people/imports/{imp_id}?kind=updated").get_data(as_text=True)
    assert idn.mask(X) in check_page and X not in check_page and 'id="reveal-ids"' in check_page
    assert "工勤" in check_page and "中共党员" in check_page        # values in words
    assert X in b.get(f"/people/imports/{imp_id}?kind=updated&reveal=1").get_data(as_text=True)
    assert apply(client, h, imp_id)["status"] == "imported"

    with app.app_context():
        apply_scope(Scope.system("test"))
        p = db.session.execute(select(Person).where(Person.unit_id == t1, Person.staff_no == "d1staff")).scalar_one()
        assert (p.id_number, p.birth_date, p.gender, p.staff_category, p.political_status, p.post_rank,
                p.work_start_date) == (X, dt.date(1979, 2, 3), "M", "worker", "cpc", "一级科员", dt.date(2001, 7, 1))
        pid = p.id
    # API: masked by default; an admin of the unit may reveal; the person themselves may not
    assert client.get(f"/api/v1/people/{pid}", headers=h).get_json()["id_number"] == idn.mask(X)
    one = client.get(f"/api/v1/people/{pid}?reveal_id_numbers=true", headers=h).get_json()
    assert one["id_number"] == X and one["staff_category"] == "worker" and one["birth_date"] == "1979-02-03"
    own = api_token("t1staff")              # linked to d1staff
    assert client.get(f"/api/v1/people/{pid}?reveal_id_numbers=true", headers=own).get_json()["id_number"] == \
        idn.mask(X)
    listed = client.get(f"/api/v1/people?unit_id={t1}", headers=h).get_json()
    assert {r["id_number"] for r in listed} >= {idn.mask(X), idn.mask(WOMAN)} and X not in str(listed)
    # pages: masked, the admin's explicit choice reveals; values in words
    page = b.get(f"/people/units/{t1}").get_data(as_text=True)
    assert idn.mask(X) in page and X not in page and "工勤" in page and "中共党员" in page
    assert 'data-category="worker"' in page and "参加考核" in page
    assert X in b.get(f"/people/units/{t1}?reveal=1").get_data(as_text=True)
    # export: masked; re-imported as it is, the masked number keeps the stored one (no change listed)
    export = b.get(f"/supervision/exports/roster?org_id={t1}")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.data)).worksheets[0]
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value]
    assert idn.mask(X) in cells and X not in cells and "工勤" in cells
    imp2, report2 = upload(client, h, t1, export.data)
    assert report2["status"] == "valid", report2["errors"]
    assert not [c for i in report2["changes"]["items"] for c in i.get("changes", ()) if c["field"] == "id_number"]


def test_messages_name_the_rule_in_both_languages():
    prob = {"code": "id_checksum", "value": "110105194912310021", "params": {}}
    assert roster_format.message(prob) == \
        "ID number 110105194912310021 fails its check digit (GB 11643): check for a typing mistake."
    gender = {"code": "id_gender_mismatch", "value": "M", "params": {"expected": "female"}}
    assert roster_format.message(gender) == "The gender does not match the ID number (female)."


def test_person_record_fields_by_api_and_page(app, client, world, api_token, login, backend):
    t1 = world.ids["P1-T1"]
    with app.app_context():
        apply_scope(Scope.system("test"))
        pid = db.session.execute(select(Person.id).where(Person.unit_id == t1, Person.staff_no == "d2staff")
                                 ).scalar_one()
        other = db.session.execute(select(Person.id).where(Person.unit_id == t1, Person.staff_no == "d1staff")
                                   ).scalar_one()
        db.session.add(Person(root_id=db.session.get(OrgNode, t1).root_id, org_id=world.ids["P1-T2"],
                              unit_id=world.ids["P1-T2"], staff_no="t2y", name="二镇人", id_number=MAN))
        db.session.commit()
    h = api_token("t1admin")
    url = f"/api/v1/people/{pid}"
    bad = client.patch(url, headers=h, json={"id_number": "110105194912310021", "staff_category": "临时工",
                                              "political_status": "x", "post_rank": "级" * 41})
    assert bad.status_code == 422
    errs = bad.get_json()["errors"]
    assert set(errs) == {"id_number", "staff_category", "political_status", "post_rank"}
    assert "check digit" in errs["id_number"][0]
    taken = client.patch(url, headers=h, json={"id_number": MAN})          # another unit's person holds it
    assert taken.status_code == 422 and "二镇人" not in taken.get_data(as_text=True)
    mismatch = client.patch(url, headers=h, json={"id_number": WOMAN, "gender": "M"})
    assert mismatch.status_code == 422 and "gender" in str(mismatch.get_json())
    ok = client.patch(url, headers=h, json={"id_number": WOMAN, "staff_category": "institution",
                                             "political_status": "masses", "post_rank": "四级主任科员",
                                             "work_start_date": "2008-09-01", "expected_version": 1})
    assert ok.status_code == 200, ok.get_json()
    body = ok.get_json()
    assert body["id_number"] == idn.mask(WOMAN) and body["gender"] == "F" and body["birth_date"] == "1985-06-30"
    assert client.patch(url, headers=h, json={"post": "x", "expected_version": 1}).status_code == 409
    assert client.patch(url, headers=api_token("t1staff"), json={"post": "x"}).status_code in (403, 404)
    assert client.patch(f"/api/v1/people/{other}", headers=h, json={"id_number": WOMAN}).status_code == 422
    # the page: words, masked number, the same rules with Chinese messages
    b = login("t1admin")
    page = b.get(f"/people/persons/{pid}").get_data(as_text=True)
    assert "事业" in page and "群众" in page and idn.mask(WOMAN) in page and WOMAN not in page
    assert WOMAN in b.get(f"/people/persons/{pid}?reveal=1").get_data(as_text=True)
    resp = b.post(f"/people/persons/{pid}", data={"id_number": "110105194912310021", "staff_category": "institution",
                                                  "expected_version": body["version"]})
    assert resp.status_code == 422 and "校验码不符" in resp.get_data(as_text=True)
    resp = b.post(f"/people/persons/{pid}", data={"id_number": "", "staff_category": "worker", "post_rank": "一级科员",
                                                  "political_status": "cpc", "gender": "F",
                                                  "birth_date": "1985-06-30", "expected_version": body["version"]})
    assert resp.status_code == 302
    one = client.get(url + "?reveal_id_numbers=true", headers=h).get_json()
    assert (one["staff_category"], one["id_number"], one["political_status"]) == ("worker", WOMAN, "cpc")
