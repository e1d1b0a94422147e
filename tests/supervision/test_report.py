"""The one-page unit report for the level above (issue 17): completion,
grades against the quota, flags, talks and appeals; page and xlsx; the
county and the unit's office may read it, staff and other units may not."""
import datetime as dt
import io

from kaohe.extensions import db


def _seed(app, world):
    from kaohe.annual.models import AnnualAppeal, AnnualOutcome, AnnualTalk
    from kaohe.annual import service
    from kaohe.people.models import Person
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope
    from sqlalchemy import select

    with app.app_context():
        apply_scope(Scope.system("t"))
        t1 = db.session.get(OrgNode, world.ids["P1-T1"])
        people = list(db.session.execute(select(Person).where(Person.unit_id == t1.id)).scalars())
        a = service.get_or_open(t1, 2026)
        db.session.flush()
        for i, p in enumerate(people[:3]):
            db.session.add(AnnualOutcome(root_id=t1.root_id, org_id=t1.id, assessment_id=a.id, person_id=p.id,
                                         year=2026, grade=("youxiu", "chenzhi", "buchenzhi")[i], code="1"))
        db.session.flush()
        o = db.session.execute(select(AnnualOutcome).where(AnnualOutcome.grade == "buchenzhi")).scalar_one()
        db.session.add(AnnualAppeal(root_id=t1.root_id, org_id=t1.id, outcome_id=o.id, person_id=o.person_id,
                                    decider_org_id=t1.id, stage="review", grade_appealed="buchenzhi", grounds="x" * 12,
                                    filed_on=dt.date(2027, 1, 10), file_by=dt.date(2027, 2, 4),
                                    decide_by=dt.date(2027, 2, 9)))
        db.session.add(AnnualTalk(root_id=t1.root_id, org_id=t1.id, year=2026, person_id=o.person_id, kind="criticism",
                                  reason="不称职", held_on=dt.date(2027, 1, 20), record="谈话记录"))
        db.session.commit()


def test_unit_report_page_and_xlsx(app, world, login, client):
    from openpyxl import load_workbook

    _seed(app, world)
    t1 = world.ids["P1-T1"]
    sup = login("countysup")
    page = sup.get(f"/supervision/report/{t1}?year=2026")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in ("单位考核情况", "优秀", "谈话", "申诉"):
        assert text in html, text
    x = sup.get(f"/supervision/report/{t1}.xlsx?year=2026")
    assert x.status_code == 200
    rows = [r for r in load_workbook(io.BytesIO(x.data), read_only=True).active.iter_rows(values_only=True)]
    grades = next(r for r in rows if r and r[0] == "年度考核等次")
    counts = rows[rows.index(grades) + 1]
    assert list(counts[1:5]) == [1, 1, 0, 1]
    talks = next(r for r in rows if r and r[0] == "已谈话")
    assert talks[1] == 1
    appeals = next(r for r in rows if r and r[0] == "待办申诉")
    assert appeals[1] == 1


def test_unit_report_permissions(app, world):
    from tests.conftest import Browser
    from kaohe.testing.world import PASSWORD

    t1 = world.ids["P1-T1"]
    for user, status in (("t1admin", 200), ("t1staff", 403), ("t3admin", 404)):
        b = Browser(app.test_client())
        b.get("/login")
        assert b.post("/login", {"username": user, "password": PASSWORD}).status_code in (302, 303)
        assert b.get(f"/supervision/report/{t1}").status_code == status, user
