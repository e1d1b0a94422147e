"""The county supervisor's journey in a real browser: open the county's
supervision dashboard, find the township that lags behind, send its admin a
reminder; the township admin sees it on their home page and marks it seen."""
from __future__ import annotations

import datetime as dt

from .helpers import org_id

COUNTY, DUOBA, LUSHAER = "630122", "630122100", "630122101"
YEAR = 2025   # an old quarter nobody else's journey touches


def _seed_periods(live_server):
    """Q4 2025 for the county's two townships: 鲁沙尔镇 finished it, 多巴镇
    computed nothing and rated only some of its people."""
    from sqlalchemy import select

    from kaohe.extensions import db
    from kaohe.people.models import Person
    from kaohe.routine.models import Participant, Period, Rating, Result
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    with live_server.app.app_context():
        apply_scope(Scope.system("e2e"))
        for code, state in ((DUOBA, "rating"), (LUSHAER, "final")):
            unit = db.session.execute(select(OrgNode).where(OrgNode.code == code)).scalar_one()
            exists = db.session.execute(select(Period.id).where(Period.org_id == unit.id, Period.year == YEAR,
                                                                Period.cycle == "quarter", Period.seq == 4)).first()
            if exists:
                continue
            people = db.session.execute(select(Person).where(Person.unit_id == unit.id, Person.active.is_(True))
                                        .order_by(Person.staff_no)).scalars().all()
            done = state == "final"
            p = Period(root_id=unit.root_id, org_id=unit.id, year=YEAR, cycle="quarter", seq=4,
                       starts_on=dt.date(YEAR, 10, 1), ends_on=dt.date(YEAR, 12, 31), state=state,
                       computed_at=dt.datetime(YEAR + 1, 1, 8, tzinfo=dt.timezone.utc) if done else None,
                       publicity_from=dt.date(YEAR + 1, 1, 9) if done else None,
                       publicity_until=dt.date(YEAR + 1, 1, 13) if done else None)
            db.session.add(p)
            db.session.flush()
            for i, person in enumerate(people):
                db.session.add(Participant(root_id=unit.root_id, org_id=person.org_id, period_id=p.id,
                                           person_id=person.id, position_role=person.position_role,
                                           scheme_code="general", personal=[]))
                if done or i % 3 == 0:
                    db.session.add(Rating(root_id=unit.root_id, org_id=person.org_id, period_id=p.id,
                                          ratee_id=person.id, rater_id=people[0].id, rater_kind="supervisor",
                                          scores={}, submitted_at=dt.datetime(YEAR + 1, 1, 3, 9 + i % 8,
                                                                              tzinfo=dt.timezone.utc)))
                if done:
                    score = 78 + (i * 7) % 20
                    db.session.add(Result(root_id=unit.root_id, org_id=person.org_id, period_id=p.id,
                                          person_id=person.id, score=score,
                                          grade="hao" if score >= 90 else "jiaohao", breakdown={}, flags=[]))
        db.session.commit()
        db.session.remove()


def test_county_supervisor_finds_lagging_township_and_reminds_it(page, live_server, login_as, shot):
    _seed_periods(live_server)
    county = org_id(live_server, COUNTY)
    duoba = org_id(live_server, DUOBA)
    login_as(page, "huangzhong_sup")
    page.goto(live_server.url("/supervision/"))
    page.wait_for_load_state("networkidle")
    assert f"/supervision/orgs/{county}" in page.url
    # choose the year and the quarter
    page.select_option("#f-year", str(YEAR))
    page.click("#dash-filter button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.select_option("#f-period", "quarter-4")
    page.click("#dash-filter button[type=submit]")
    page.wait_for_load_state("networkidle")
    table = page.locator("#dash-table")
    table.wait_for()
    duoba_row = page.locator(f"#row-{DUOBA}")
    lushaer_row = page.locator(f"#row-{LUSHAER}")
    assert duoba_row.get_attribute("data-lagging") == "1"
    assert lushaer_row.get_attribute("data-lagging") == "0"
    assert "多巴镇" in duoba_row.inner_text()
    # the charts were drawn from the embedded data (no network needed)
    page.wait_for_selector("[data-chart][data-ready='1']")
    shot(page, "dashboard")

    # drill down into the lagging township and back up by the breadcrumb
    duoba_row.get_by_role("link", name="多巴镇").click()
    page.wait_for_load_state("networkidle")
    assert f"/supervision/orgs/{duoba}" in page.url
    assert page.locator(f"#row-{DUOBA}").count() == 1
    shot(page, "township")
    page.locator("nav.crumbs").get_by_role("link", name="湟中区").click()
    page.wait_for_load_state("networkidle")
    assert f"/supervision/orgs/{county}" in page.url

    # send the reminder from the row
    page.goto(live_server.url(f"/supervision/orgs/{county}?year={YEAR}&period=quarter-4"))
    duoba_row = page.locator(f"#row-{DUOBA}")
    duoba_row.locator("details.remind summary").click()
    duoba_row.locator("select[name=topic]").select_option("ratings")
    message = duoba_row.locator("textarea[name=message]")
    assert message.input_value()          # pre-filled with what is overdue
    message.fill("请于本周五前完成第四季度评鉴并计算结果。")
    shot(page, "reminder-form")
    duoba_row.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".flash").first.inner_text()
    assert "1" in page.locator(f"#row-{DUOBA}").inner_text()
    shot(page, "reminder-sent")
    assert not page.js_errors, page.js_errors

    # the township admin sees it on the home page and marks it as seen
    page.context.clear_cookies()
    login_as(page, "duoba_admin")
    panel = page.locator(".panel-reminders")
    panel.wait_for()
    assert "请于本周五前完成第四季度评鉴并计算结果。" in panel.inner_text()
    shot(page, "admin-home")
    panel.get_by_role("button").first.click()
    page.wait_for_load_state("networkidle")
    assert "请于本周五前完成第四季度评鉴并计算结果。" not in page.content()
    # and the township admin cannot open the county dashboard
    resp = page.goto(live_server.url(f"/supervision/orgs/{county}"))
    assert resp.status == 404
