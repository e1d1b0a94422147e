"""Issue 12, annual side: the official procedure cannot be back-dated or
skipped (finding 2), 补定 after the notice (finding 5), pay on the page
(finding 7)."""
import datetime as dt

import pytest
from sqlalchemy import select

from kaohe.core.errors import Invalid
from kaohe.extensions import db

from .conftest import YEAR, seed_unit

MON = dt.date(2026, 12, 7)          # a Monday in a year the holiday package knows


def _sys():
    from kaohe.audit.service import Actor, set_actor
    from kaohe.tenancy.scope import Scope, apply_scope

    apply_scope(Scope.system("t"))
    set_actor(Actor(None, "tester"))


def confirmed_unit(world, scores=None, policy=None):
    """T1 computed and confirmed (ties decided); returns (assessment, ids)."""
    from kaohe.annual import engine, service
    from kaohe.tenancy.models import OrgNode

    ids, aid = seed_unit(world, scores or {"head": 96, "deputy": 92, "d1head": 88, "d1staff": 84, "d2head": 79,
                                           "d2staff": 50})
    _sys()
    t1 = db.session.get(OrgNode, world.ids["P1-T1"])
    engine.compute([t1], YEAR)
    a = db.session.get(service.AnnualAssessment, aid)
    db.session.refresh(a)
    if policy:
        a.policy = {**(a.policy or {}), **policy}
    for r in service.current_results(a):
        if "tie_at_line" in (r.flags or []):
            service.adjust(a, r.person_id, "chenzhi", "委员会表决：名额线并列")
    service.confirm(a)
    return a, ids


def test_publish_and_notice_are_dated_today_never_typed(app, world):
    from kaohe.annual import service

    with app.app_context():
        a, _ = confirmed_unit(world)
        with service.as_of(MON):
            # back-dating the 公示 (the issue: 09-30 on 12-02) and a future date are refused
            for typed in (MON - dt.timedelta(days=63), MON + dt.timedelta(days=3)):
                with pytest.raises(Invalid) as exc:
                    service.publish(a, typed)
                assert "cannot be back-dated or set in the future" in exc.value.errors["start"][0]
            assert a.status == "confirmed"
            service.publish(a, MON)                 # today typed as today is fine
        assert a.publicity_start == MON and a.publicity_end == MON + dt.timedelta(days=4)
        # the notice: not while the 公示 runs its 5 working days, not dated in the future
        with service.as_of(MON + dt.timedelta(days=4)):
            with pytest.raises(Invalid) as exc:
                service.notify(a)
            assert "runs until 2026-12-11" in exc.value.errors["notice_on"][0]
            with pytest.raises(Invalid):
                service.notify(a, MON + dt.timedelta(days=14))      # the future notice of the issue
        with service.as_of(MON + dt.timedelta(days=5)):             # Saturday after: the 公示 is over
            with pytest.raises(Invalid):
                service.notify(a, MON + dt.timedelta(days=4))       # back-dated into the 公示
            service.notify(a)
        assert a.notified_on == MON + dt.timedelta(days=5)
        assert {o.notice_on for o in service.outcomes(a)} == {MON + dt.timedelta(days=5)}


def test_page_and_api_cannot_backdate(app, world, login_as, client, api_token):
    from kaohe.annual import service

    with app.app_context():
        confirmed_unit(world)
        db.session.commit()
        db.session.remove()
    t1 = world.ids["P1-T1"]
    admin = login_as("t1admin")
    r = admin.post(f"/annual/unit/{t1}/{YEAR}/publish", {"start": "2026-09-30"}, follow_redirects=True)
    # refused in the page's language (Chinese), naming today's date and the date given
    page = r.get_data(as_text=True)
    assert "不能倒签" in page and "2026-09-30" in page and "cannot be back-dated" not in page
    hdr = api_token("t1admin")
    r = client.post(f"/api/v1/annual/units/{t1}/{YEAR}/publish", json={"start": "2026-09-30"}, headers=hdr)
    assert r.status_code == 422 and "start" in r.get_json()["errors"]
    today = service.today()
    r = client.post(f"/api/v1/annual/units/{t1}/{YEAR}/publish", json={}, headers=hdr)
    assert r.status_code == 200 and r.get_json()["publicity_start"] >= today.isoformat()
    # the same day: the notice is refused (the 公示 runs), also with a future date typed
    r = client.post(f"/api/v1/annual/units/{t1}/{YEAR}/notify",
                    json={"notice_on": (today + dt.timedelta(days=30)).isoformat()}, headers=hdr)
    assert r.status_code == 422 and "notice_on" in r.get_json()["errors"]
    r = client.post(f"/api/v1/annual/units/{t1}/{YEAR}/notify", json={}, headers=hdr)
    assert r.status_code == 422 and "runs until" in r.get_json()["errors"]["notice_on"][0]


def test_filing_waits_for_appeal_windows_or_a_recorded_decision(app, world):
    from kaohe.annual import appeals, service
    from kaohe.audit.models import AuditEntry

    with app.app_context():
        a, ids = confirmed_unit(world)
        with service.as_of(MON):
            service.publish(a)
        notice = MON + dt.timedelta(days=7)
        with service.as_of(notice):
            service.notify(a)
            # the same day: d2staff (不称职) still has 30 days to ask for a review -> no filing
            with pytest.raises(Invalid) as exc:
                service.file_with_above(a)
            assert "still open" in exc.value.errors["filing"][0]
            assert a.status == "notified"
        o2 = next(o for o in service.outcomes(a) if o.person_id == ids["d2staff"])
        with service.as_of(notice + dt.timedelta(days=10)):
            ap = appeals.file_review(o2, "请假就医期间的工作量没有计入考核")
        with service.as_of(notice + dt.timedelta(days=45)):          # the review window is over, the case is not
            with pytest.raises(Invalid):
                service.file_with_above(a)
            # a recorded decision to file with the open case
            with pytest.raises(Invalid):
                service.file_with_above(a, "x")                     # a reason is needed
            service.file_with_above(a, "上级要求年底前备案，复核结果出来后补报")
        assert a.status == "filed" and a.filed_open_cases == [o2.id] and a.filed_open_reason
        entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "annual.file")).scalar_one()
        assert entry.reason and entry.after["open_cases"][0]["person_id"] == ids["d2staff"]
        # the case is decided: the filing is updated (audited); the appeal window after the review stays open
        with service.as_of(notice + dt.timedelta(days=46)):
            appeals.decide_appeal(ap, decision="upheld", note="经复核维持原等次")
        updates = db.session.execute(select(AuditEntry).where(AuditEntry.action == "annual.file.update")).scalars().all()
        assert len(updates) == 1 and a.filing_updated_at is not None and a.filed_open_cases == [o2.id]


def test_filing_after_every_window_closed(app, world):
    from kaohe.annual import service

    with app.app_context():
        a, _ = confirmed_unit(world)
        with service.as_of(MON):
            service.publish(a)
        with service.as_of(MON + dt.timedelta(days=7)):
            service.notify(a)
        assert service.open_windows(a, MON + dt.timedelta(days=7))
        with service.as_of(MON + dt.timedelta(days=80)):
            assert service.open_windows(a) == []
            service.file_with_above(a)
        assert a.status == "filed" and a.filed_open_cases is None


def test_unit_page_explains_the_pay_arithmetic(app, world, login_as):
    from kaohe.annual import service

    with app.app_context():
        a, _ = confirmed_unit(world, policy={"pay.contributors": "assessed"})
        assert sum(o.pay_cents for o in service.outcomes(a)) == 6 * 200000
        db.session.commit()
        db.session.remove()
    admin = login_as("t1admin")
    page = admin.get(f"/annual/unit/{world.ids['P1-T1']}/{YEAR}").get_data(as_text=True)
    assert 'id="pay-explain"' in page
    # six people assessed (d2staff 不称职 included) put in 2000 each: 12,000.00
    assert "12,000.00" in page or "12000.00" in page


def test_annual_reads_the_routine_not_youxiu_flag(app, world):
    """Finding 9: the routine result's "no_youxiu" flag (routine.feed) bars 优秀 in the annual."""
    from sqlalchemy import insert

    from kaohe.annual import engine, service
    from kaohe.people.models import Person
    from kaohe.routine.models import Period, Result
    from kaohe.tenancy.models import OrgNode

    with app.app_context():
        ids, aid = seed_unit(world, {"head": 97, "deputy": 90, "d1head": 80, "d1staff": 80, "d2head": 79,
                                     "d2staff": 78})
        _sys()
        t1 = db.session.get(OrgNode, world.ids["P1-T1"])
        now = dt.datetime.now(dt.timezone.utc)
        period = db.session.execute(insert(Period).values(
            root_id=t1.root_id, org_id=t1.id, year=YEAR, cycle="quarter", seq=4, starts_on=dt.date(YEAR, 10, 1),
            ends_on=dt.date(YEAR, 12, 31), state="final", created_at=now, version=1).returning(Period.id)).scalar_one()
        org_of = dict(db.session.execute(select(Person.id, Person.org_id).where(Person.unit_id == t1.id)).all())
        db.session.execute(insert(Result), [
            {"root_id": t1.root_id, "org_id": org_of[pid], "period_id": period, "person_id": pid, "score": 97.0,
             "grade": "hao", "breakdown": {}, "flags": (["reminder_talk", "no_youxiu"] if key == "head" else []),
             "computed_at": now} for key, pid in ids.items() if key in ("head", "deputy")])
        engine.compute([t1], YEAR)
        a = db.session.get(service.AnnualAssessment, aid)
        db.session.refresh(a)
        res = {r.person_id: r for r in service.current_results(a)}
        head = res[ids["head"]]
        assert not head.eligible_youxiu and head.grade == "chenzhi"
        assert any(x["rule"] == "routine_no_youxiu" for x in head.explain["rules"])
        assert res[ids["deputy"]].grade == "youxiu"       # the place goes to the next eligible person


def test_correction_after_notice_restarts_windows_and_is_seen_above(app, world, login_as):
    """Finding 5: 补定 after the written notice: reopen with a reason → adjust → confirm →
    公示 → new notice (windows restart) → file again; audited; the county sees it."""
    from kaohe.annual import appeals, service
    from kaohe.audit.models import AuditEntry

    with app.app_context():
        a, ids = confirmed_unit(world)
        with service.as_of(MON):
            service.publish(a)
        n1 = MON + dt.timedelta(days=7)
        with service.as_of(n1):
            service.notify(a)
        o2 = next(o for o in service.outcomes(a) if o.person_id == ids["d2staff"])
        with service.as_of(n1 + dt.timedelta(days=5)):
            ap = appeals.file_review(o2, "请假就医期间的工作量没有计入考核")
            appeals.decide_appeal(ap, decision="upheld", note="经复核维持原等次")
        with service.as_of(n1 + dt.timedelta(days=70)):
            service.file_with_above(a)
        # before: refused without a reason, refused before the notice
        with pytest.raises(Invalid):
            service.correct(a, "")
        d1 = next(o for o in service.outcomes(a) if o.person_id == ids["d1staff"])
        grade_before, pay_before = d1.grade, {o.person_id: o.pay_cents for o in service.outcomes(a)}
        c_day = n1 + dt.timedelta(days=75)
        with service.as_of(c_day):
            service.correct(a, "纪检反馈：d1staff 全年考勤记录有误，需补定")
            assert a.status == "computed" and a.corrections == 1 and a.filed_at is None
            service.adjust(a, ids["d1staff"], "jibenchenzhi", "考勤更正后重新评定")
            service.confirm(a)
            service.publish(a)
        d1 = next(o for o in service.outcomes(a) if o.person_id == ids["d1staff"])
        assert grade_before == "chenzhi" and d1.grade == "jibenchenzhi" and d1.notice_on is None
        assert sum(o.pay_cents for o in service.outcomes(a)) == sum(pay_before.values())
        # the review case against the first notice is still there
        assert db.session.get(appeals.AnnualAppeal, ap.id).status == "upheld"
        n2 = a.publicity_end + dt.timedelta(days=3)
        with service.as_of(n2):
            service.notify(a)
            # the windows restarted from the new notice: d2staff may ask for a review again, filing waits
            assert {w["person_id"] for w in service.open_windows(a)} == {ids["d2staff"]}
            with pytest.raises(Invalid):
                service.file_with_above(a)
            o2 = next(o for o in service.outcomes(a) if o.person_id == ids["d2staff"])
            ap2 = appeals.file_review(o2, "补定后再次申请复核：考勤记录同样有误")
            assert ap2.id != ap.id
        with service.as_of(n2 + dt.timedelta(days=80)):
            appeals.decide_appeal(ap2, decision="upheld", note="经复核维持补定后的等次")
        with service.as_of(n2 + dt.timedelta(days=120)):
            service.file_with_above(a)
        assert a.status == "filed"
        actions = [e.action for e in db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]
        assert "annual.correct" in actions and "annual.grade.correct" in actions
        assert actions.index("annual.correct") < actions.index("annual.grade.correct")
        db.session.commit()
        db.session.remove()
    county = login_as("countysup")
    page = county.get(f"/annual/?year={YEAR}").get_data(as_text=True)
    assert 'id="corrections"' in page and "考勤记录有误" in page and "data-corrections=\"1\"" in page
