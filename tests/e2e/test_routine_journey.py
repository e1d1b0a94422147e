"""Routine assessment in Chromium: a staff member signs in and writes a work
record on a phone, the department head rates them, the office computes and
publishes (公示), and the staff member sees the result."""
from __future__ import annotations

import re

from .helpers import horizontal_overflow

STAFF = "630122100-05006"      # the first staff member of the demo township
HEAD = "630122100-05005"       # the head of that staff member's department
ADMIN = "duoba_admin"


def test_routine_journey(page, phone_page, login_as, live_server, shot, chromium):
    # 1. staff on a phone: sign in, write the month's work record
    staff = phone_page
    login_as(staff, STAFF)
    staff.goto(live_server.url("/routine/"))
    sign_in = staff.locator("button[name=what][value=in]")
    if sign_in.count():
        sign_in.click()
        staff.wait_for_load_state("networkidle")
    assert staff.locator("button[name=what][value=in]").count() == 0
    assert horizontal_overflow(staff) == 0
    shot(staff, "staff-signed-in")
    staff.click("#period a.button.primary")           # 工作写实
    staff.wait_for_load_state("networkidle")
    month_form = staff.locator("section.card form").first
    month_form.locator("textarea[name=plan]").fill("完成包村走访和防汛检查")
    month_form.locator("textarea[name=done]").fill("走访农户15户，排查隐患3处并已整改。")
    month_form.locator("button[type=submit]").click()
    staff.wait_for_load_state("networkidle")
    assert "走访农户15户" in staff.content()
    assert horizontal_overflow(staff) == 0
    shot(staff, "staff-record")

    # 2. the department head rates the staff member from the to-do list
    head_ctx = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    head = head_ctx.new_page()
    try:
        login_as(head, HEAD)
        head.goto(live_server.url("/routine/"))
        todo = head.locator("[data-testid=rater-todo] a[href*='/supervisor']")
        assert todo.count() >= 1
        staff_id = _person_id(live_server, STAFF)
        head.click(f"[data-testid=rater-todo] a[href$='/rate/{staff_id}/supervisor']")
        head.wait_for_load_state("networkidle")
        for radio_group in sorted(set(head.locator("input[type=radio]").evaluate_all(
                "els => els.map(e => e.name)"))):
            head.check(f"input[name='{radio_group}'][value=you]")
        for box in head.locator("input[type=number]").all():
            box.fill(str(float(box.get_attribute("max")) * 0.9))
        head.fill("#f-comment", "工作扎实，包村走访细致。")
        head.click("form.card button[type=submit]")
        head.wait_for_load_state("networkidle")
        assert "/rate/" not in head.url
        shot(head, "head-rated")
    finally:
        head_ctx.close()

    # the staff member's other raters answer too (self, peers, democratic)
    _rate_the_rest(live_server, _person_id(live_server, STAFF))

    # 3. the office: rating → review needs complete inputs or an exemption with a reason per person
    admin = page
    login_as(admin, ADMIN)
    admin.goto(live_server.url("/routine/admin"))
    admin.wait_for_load_state("networkidle")
    admin.locator("table a.button").first.click()     # the newest period
    admin.wait_for_load_state("networkidle")
    if admin.locator("button[data-to=rating]").count():
        admin.click("button[data-to=rating]")
        admin.wait_for_load_state("networkidle")
    admin.click("button[data-to=review]")
    admin.wait_for_load_state("networkidle")
    assert admin.locator("[data-state=review]").count() == 0          # refused: 未完成 people
    assert admin.locator("[data-testid=inputs-incomplete]").count() == 1
    first = admin.locator("#inputs form").first
    first.locator("input[name=reason]").fill("病假整季度（医院证明）")
    first.locator("button[type=submit]").click()
    admin.wait_for_load_state("networkidle")
    assert "病假整季度" in admin.content()
    _exempt_the_rest(live_server, re.search(r"/periods/(\d+)", admin.url).group(1))
    admin.reload()
    for to in ("rating", "review"):
        if admin.locator(f"button[data-to={to}]").count():
            admin.click(f"button[data-to={to}]")
            admin.wait_for_load_state("networkidle")
    assert admin.locator("[data-state=review]").count() >= 1
    admin.click("form[action$='/compute'] button")
    admin.wait_for_selector("#job-progress[data-status=done]", timeout=60_000)
    shot(admin, "office-computed")
    period_url = re.sub(r"\?.*$", "", admin.url)
    admin.goto(period_url)
    for form in admin.locator("form[data-resolved=no]").all():
        slots = int(form.get_attribute("data-slots"))
        boxes = form.locator("input[name=chosen]")
        for i in range(slots):
            boxes.nth(i).check()
        form.locator("input[name=reason]").fill("考核领导小组研究决定")
        form.locator("button[type=submit]").click()
        admin.wait_for_load_state("networkidle")
        admin.goto(period_url)
    admin.click("button[data-to=publicised]")
    admin.wait_for_load_state("networkidle")
    assert admin.locator("[data-state=publicised]").count() >= 1, admin.content()[:2000]
    shot(admin, "office-published")

    # 4. the staff member sees the score, grade, rank and the comment
    staff.goto(live_server.url("/routine/"))
    staff.locator("#results a.button").first.click()
    staff.wait_for_load_state("networkidle")
    assert staff.locator("[data-testid=score]").count() == 1
    assert "工作扎实" in staff.content()
    assert re.search(r"[好较一般差]", staff.locator("[data-testid=my-result]").inner_text())
    assert horizontal_overflow(staff) == 0
    shot(staff, "staff-result")
    assert not staff.js_errors and not admin.js_errors


def _person_id(live_server, username: str) -> int:
    from sqlalchemy import select

    from kaohe.auth.models import User
    from kaohe.extensions import db
    from kaohe.tenancy.scope import Scope, apply_scope

    with live_server.app.app_context():
        apply_scope(Scope.system("e2e"))
        pid = db.session.execute(select(User.person_id).where(User.username == username)).scalar_one()
        db.session.remove()
        return pid


def _rate_the_rest(live_server, person_id: int) -> None:
    """Every rating of this person the rules still expect, given through the service."""
    from sqlalchemy import select

    from kaohe.extensions import db
    from kaohe.routine import periods, ratings
    from kaohe.routine.models import Participant, Period, Rating
    from kaohe.tenancy.scope import Scope, apply_scope

    from kaohe.audit.service import Actor, reset_actor, set_actor

    with live_server.app.app_context():
        apply_scope(Scope.system("e2e"))
        token = set_actor(Actor(None, "e2e"))
        period = db.session.execute(select(Period).join(Participant, Participant.period_id == Period.id).where(
            Participant.person_id == person_id, Period.state.in_(("open", "rating")))).scalars().first()
        part = periods.participant(period, person_id)
        idx = periods.relation_index(period)
        given = set(db.session.execute(select(Rating.rater_id, Rating.rater_kind).where(
            Rating.period_id == period.id, Rating.ratee_id == person_id)).all())
        for rater_id, kind in idx.raters_of(person_id):
            if (rater_id, kind) in given:
                continue
            scores = {i["code"]: ("liang" if i["kind"] == "graded" else round(float(i["max"]) * 0.85 * 2) / 2)
                      for i in periods.rated_indicators(period, part, kind)}
            ratings.submit_rating(period, rater_id, person_id, kind, scores, idx=idx)
        db.session.commit()
        db.session.remove()
        reset_actor(token)


def _exempt_the_rest(live_server, period_id: str) -> None:
    from kaohe.extensions import db
    from kaohe.routine import inputs
    from kaohe.routine.models import Period
    from kaohe.tenancy.scope import Scope, apply_scope

    from kaohe.audit.service import Actor, reset_actor, set_actor

    with live_server.app.app_context():
        apply_scope(Scope.system("e2e"))
        token = set_actor(Actor(None, "e2e"))
        period = db.session.get(Period, int(period_id))
        for row in inputs.input_status(period):
            if not row["exempted"]:
                inputs.exempt(period, row["person_id"], "演示：本季度未参加评价（e2e）")
        db.session.commit()
        db.session.remove()
        reset_actor(token)
