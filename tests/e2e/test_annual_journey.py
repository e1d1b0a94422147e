"""The annual assessment in a real browser: the township admin computes
this year's result, the committee decides the ties and grades one person
不称职 with a reason, confirms, publicises the 优秀 list and issues the
notices; the person (on a phone) acknowledges the notice and appeals to the
county; the county supervisor sees the appeal with its decision deadline."""
from __future__ import annotations

import datetime as dt

from kaohe.core.clock import local_today
import time

from .helpers import horizontal_overflow, org_id

LUSHAER, COUNTY = "630122101", "630122"
YEAR = local_today().year          # the demo leaves this year open in 鲁沙尔镇


def _staff_member(live_server, unit_id):
    """A staff member of the unit with an account: (person id, username, name)."""
    from sqlalchemy import select

    from kaohe.extensions import db
    from kaohe.people.models import Person
    from kaohe.tenancy.scope import Scope, apply_scope

    with live_server.app.app_context():
        apply_scope(Scope.system("e2e"))
        p = db.session.execute(select(Person).where(Person.unit_id == unit_id, Person.position_role == "staff")
                               .order_by(Person.staff_no)).scalars().first()
        out = (p.id, f"{LUSHAER}-{p.staff_no}".lower(), p.name)
        db.session.remove()
        return out


def test_annual_journey(page, phone_page, login_as, live_server, shot):
    unit = org_id(live_server, LUSHAER)
    pid, username, name = _staff_member(live_server, unit)
    unit_url = live_server.url(f"/annual/unit/{unit}/{YEAR}")

    # 1. the admin computes (a job with a progress page) and waits for the results
    login_as(page, "lushaer_admin")
    page.goto(unit_url)
    page.click("button[value=compute]")
    deadline = time.time() + 90
    while True:
        page.goto(unit_url)
        if page.locator("table.results").count():
            break
        assert time.time() < deadline, "the computation did not finish"
        time.sleep(1)
    assert page.locator("[data-pool] .quota").count() >= 1
    shot(page, "computed")

    # 2. the committee decides every tie at the quota line, and grades one person 不称职 with a reason
    while page.locator("tr.tie form").count():
        form = page.locator("tr.tie form").first
        form.locator("select[name=grade]").select_option("chenzhi")
        form.locator("input[name=reason]").fill("考核委员会表决：名额线并列，按票数确定")
        form.locator("button").click()
        page.wait_for_load_state("networkidle")
    row = page.locator(f"tr[data-person='{pid}'] form")
    row.locator("select[name=grade]").select_option("buchenzhi")
    row.locator("input[name=reason]").fill("全年多次未完成交办任务，经考核委员会研究确定")
    row.locator("button").click()
    page.wait_for_load_state("networkidle")
    page.click("form[action$='/confirm'] button")
    page.wait_for_load_state("networkidle")
    assert "不称职" in page.locator(f"tr[data-person='{pid}'] td.grade").inner_text()

    # 3. 公示 (started three weeks ago, so it is over) and the written notices today
    from kaohe.annual.service import as_of

    with as_of(local_today() - dt.timedelta(days=21)):      # the server's clock three weeks ago
        page.click("form[action$='/publish'] button")
        page.wait_for_load_state("networkidle")
    page.click("form[action$='/notify'] button")
    page.wait_for_load_state("networkidle")
    assert page.locator("form[action$='/file']").count() == 1
    shot(page, "notified")

    # 4. the person, on a phone, acknowledges the notice and appeals to the county
    login_as(phone_page, username)
    phone_page.goto(live_server.url("/annual/me"))
    card = phone_page.locator(f"section.result[data-year='{YEAR}']")
    assert "不称职" in card.inner_text()
    card.locator("form[action*='/me/ack/'] button").click()
    phone_page.wait_for_load_state("networkidle")
    card = phone_page.locator(f"section.result[data-year='{YEAR}']")
    assert card.locator("form[action*='/me/ack/']").count() == 0
    card.locator("select[name=stage]").select_option("appeal")
    card.locator("textarea[name=grounds]").fill("交办任务未完成系因借调至县防汛指挥部，有借调通知为证")
    card.locator("form[action*='/me/appeal/'] button").click()
    phone_page.wait_for_load_state("networkidle")
    cases = phone_page.locator("li[data-case]")
    assert cases.count() >= 1 and "申诉" in cases.first.inner_text()
    assert horizontal_overflow(phone_page) <= 2
    shot(phone_page, "appealed")

    # 5. the county supervisor sees the appeal with the person's name and its decision deadline
    page.context.clear_cookies()
    login_as(page, "huangzhong_sup")
    page.goto(live_server.url("/annual/appeals"))
    row = page.locator("tr[data-case]", has_text=name)
    assert row.count() >= 1
    assert "申诉" in row.first.inner_text()
    assert row.first.locator("form select[name=decision]").count() == 1     # the county decides it
    assert not page.js_errors
