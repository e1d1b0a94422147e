"""The whole procedure through the pages, on both databases: compute,
committee decision on a tie, confirm, 公示, notices, acknowledgement,
review, appeal to the county, reversal re-deriving pay; exports."""
import datetime as dt

from kaohe.core.clock import local_today
import io

from sqlalchemy import select

from kaohe.extensions import db

from .conftest import YEAR, seed_unit


def _sys(app):
    from kaohe.tenancy.scope import Scope, apply_scope

    apply_scope(Scope.system("t"))


def _outcome(app, pid):
    from kaohe.annual.models import AnnualOutcome

    with app.app_context():
        _sys(app)
        o = db.session.execute(select(AnnualOutcome).where(AnnualOutcome.person_id == pid)).scalar_one()
        db.session.expunge(o)
        return o


def test_full_procedure(app, world, login_as):
    login = login_as
    with app.app_context():
        # head and deputy tie at 96 for the single place; d2staff is 不称职 (score 50)
        ids, aid = seed_unit(world, {"head": 96, "deputy": 96, "d1head": 88, "d1staff": 84, "d2head": 79,
                                     "d2staff": 50})
        db.session.remove()
    t1 = world.ids["P1-T1"]
    base = f"/annual/unit/{t1}/{YEAR}"
    admin = login("t1admin")
    assert admin.get("/annual/").status_code == 200
    assert admin.post(base + "/compute").status_code == 302
    page = admin.get(base).get_data(as_text=True)
    assert "名额线并列" in page or "Tied at the quota line" in page
    # confirming with an undecided tie is refused with the rule named
    r = admin.post(base + "/confirm", follow_redirects=True)
    assert "有 2 人在名额线上并列" in r.get_data(as_text=True)   # the rule named, in the page's language
    # a decision without a reason is refused
    r = admin.post(base + "/adjust", {"person_id": ids["head"], "grade": "youxiu", "reason": ""}, follow_redirects=True)
    assert "reason is required" in r.get_data(as_text=True)
    admin.post(base + "/adjust", {"person_id": ids["head"], "grade": "youxiu", "reason": "委员会表决：主持防汛工作"})
    # an ineligible person cannot be made 优秀 (routine rule: half of the quarters 好)
    r = admin.post(base + "/adjust", {"person_id": ids["d1head"], "grade": "youxiu", "reason": "试图评优"},
                   follow_redirects=True)
    body = r.get_data(as_text=True)
    assert "本年度不得评为优秀" in body and "平时考核“好”不足一半" in body and "half_hao_none_low" not in body
    # two 优秀 would exceed the quota of 1
    admin.post(base + "/adjust", {"person_id": ids["deputy"], "grade": "youxiu", "reason": "试图超额"})
    r = admin.post(base + "/confirm", follow_redirects=True)
    assert "评为优秀的 2 人超出了 1 名的名额" in r.get_data(as_text=True)
    admin.post(base + "/adjust", {"person_id": ids["deputy"], "grade": "chenzhi", "reason": "委员会表决：名额已满"})
    assert admin.post(base + "/confirm").status_code == 302
    from kaohe.annual.service import as_of

    start = local_today() - dt.timedelta(days=20)
    with as_of(start):                  # the 公示 started 20 days ago (the clock, not a typed date)
        assert admin.post(base + "/publish").status_code == 302
    pub = admin.get(base + "/publicity").get_data(as_text=True)
    assert "年度考核优秀等次人选公示" in pub and "head" in pub
    assert admin.post(base + "/notify", {"notice_on": local_today().isoformat()}).status_code == 302
    xlsx = admin.get(base + "/export.xlsx")
    assert xlsx.status_code == 200
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(xlsx.data))
    codes = [row[8] for row in wb.active.iter_rows(min_row=3, values_only=True)]
    assert sorted(codes) == ["1", "2", "2", "2", "2", "4"]

    # the staff member d1staff (t1staff) sees the notice and acknowledges it
    staff = login("t1staff")
    me = staff.get("/annual/me").get_data(as_text=True)
    assert "称职" in me
    o = _outcome(app, ids["d1staff"])
    assert staff.post(f"/annual/me/ack/{o.id}").status_code == 302
    assert _outcome(app, ids["d1staff"]).acknowledged_at is not None
    # 称职 cannot be appealed under the national default
    r = staff.post(f"/annual/me/appeal/{o.id}", {"stage": "review", "grounds": "我认为应当评为优秀等次"},
                   follow_redirects=True)
    assert "只有不称职等次可以在此申请复核或申诉" in r.get_data(as_text=True)   # in the page's language

    # d2staff (不称职) files a review, then an appeal to the county, from the service (no account)
    from kaohe.annual import appeals, service
    from kaohe.audit.service import Actor, reset_actor, set_actor

    with app.app_context():
        _sys(app)
        tok = set_actor(Actor(None, "d2staff"))
        o2 = db.session.execute(select(service.AnnualOutcome).where(
            service.AnnualOutcome.person_id == ids["d2staff"])).scalar_one()
        ap = appeals.file_review(o2, "全年请假就医，平时考核未计入病假因素")
        db.session.commit()
        reset_actor(tok)
        review_id = ap.id
        db.session.remove()
    r = admin.post(f"/annual/appeals/{review_id}/decide", {"decision": "upheld", "note": "经复核维持原等次"})
    assert r.status_code == 302
    with app.app_context():
        _sys(app)
        o2 = db.session.execute(select(service.AnnualOutcome).where(
            service.AnnualOutcome.person_id == ids["d2staff"])).scalar_one()
        ap = appeals.file_appeal(o2, "对复核决定不服，向上一级申诉")
        db.session.commit()
        appeal_id, decider = ap.id, ap.decider_org_id
        pay_before = {o.person_id: o.pay_cents for o in db.session.execute(select(service.AnnualOutcome)).scalars()}
        db.session.remove()
    assert decider == world.ids["P1-K1"]
    county = login("countysup")
    page = county.get("/annual/appeals").get_data(as_text=True)
    assert f'data-case="{appeal_id}"' in page
    # Deadlines that run into a year the holiday package does not know are flagged on the page.
    import kaohe.core.calendar as core_calendar

    gap_years = set(core_calendar.uncovered_years(local_today(), local_today() + dt.timedelta(days=90)))
    assert ("data-calendar-gap" in page) == bool(gap_years)
    real = core_calendar.covers_year
    core_calendar.covers_year = lambda y: False
    try:
        page = county.get("/annual/appeals").get_data(as_text=True)
    finally:
        core_calendar.covers_year = real
    assert "data-calendar-gap" in page and str(local_today().year) in page
    # the unit admin cannot decide the county's appeal
    assert admin.post(f"/annual/appeals/{appeal_id}/decide", {"decision": "reversed", "new_grade": "jibenchenzhi",
                                                              "note": "x" * 8}).status_code in (403, 404)
    r = county.post(f"/annual/appeals/{appeal_id}/decide", {"decision": "reversed", "new_grade": "jibenchenzhi",
                                                            "note": "病假期间工作量应当扣除"})
    assert r.status_code == 302
    with app.app_context():
        _sys(app)
        outs = {o.person_id: o for o in db.session.execute(select(service.AnnualOutcome)).scalars()}
        o2 = outs[ids["d2staff"]]
        assert o2.grade == "jibenchenzhi" and o2.code == "3" and o2.changed_by_appeal
        assert o2.acknowledged_at is None and o2.notice_on == local_today()
        assert o2.pay_cents > 0 and pay_before[ids["d2staff"]] == 0
        # the pool (amount per person × people paid) now includes d2staff; it still sums exactly
        assert sum(pay_before.values()) == 2000 * 100 * 5
        assert sum(o.pay_cents for o in outs.values()) == 2000 * 100 * 6
        from kaohe.audit.models import AuditEntry

        actions = set(db.session.execute(select(AuditEntry.action)).scalars())
        for act in ("annual.grade.adjust", "annual.confirm", "annual.publicise", "annual.notify",
                    "annual.acknowledge", "annual.appeal.review_filed", "annual.appeal.upheld",
                    "annual.appeal.filed", "annual.appeal.reversed", "annual.grade.appeal_change",
                    "annual.pay.change"):
            assert act in actions, act


def test_outside_scope_is_404(app, world, login_as):
    login = login_as
    with app.app_context():
        seed_unit(world)
        db.session.remove()
    t1 = world.ids["P1-T1"]
    other = login("t2admin")
    assert other.get(f"/annual/unit/{t1}/{YEAR}").status_code == 404
    assert other.post(f"/annual/unit/{t1}/{YEAR}/compute").status_code == 404
    p2 = login("p2-t1admin")
    assert p2.get(f"/annual/unit/{t1}/{YEAR}").status_code == 404


def test_records_and_special_flow_into_compute(app, world, login):
    with app.app_context():
        ids, aid = seed_unit(world)
        db.session.remove()
    t1 = world.ids["P1-T1"]
    admin = login("t1admin")
    r = admin.post(f"/annual/unit/{t1}/{YEAR}/records", {"person_id": ids["head"], "kind": "sanction",
                                                         "sanction_kind": "jinggao", "record_year": YEAR})
    assert r.status_code == 302
    r = admin.post(f"/annual/unit/{t1}/{YEAR}/leave", {"person_id": ids["d1staff"], "kind": "sick",
                                                       "start_date": f"{YEAR}-09-01", "end_date": f"{YEAR}-02-01"})
    assert r.status_code == 422 and "早于开始日期" in r.get_data(as_text=True)
    from kaohe.annual.models import AnnualAssessment, AnnualResult

    def results():
        with app.app_context():
            _sys(app)
            a = db.session.get(AnnualAssessment, aid)
            return {r.person_id: (r.grade, r.code, r.eligible_youxiu) for r in db.session.execute(
                select(AnnualResult).where(AnnualResult.run_id == a.current_run_id)).scalars()}

    admin.post(f"/annual/unit/{t1}/{YEAR}/compute")
    res = results()
    assert res[ids["head"]] == ("chenzhi", "2", False)          # 警告: not 优秀
    assert res[ids["deputy"]] == ("youxiu", "1", True)          # the next eligible takes the place
    admin.post(f"/annual/unit/{t1}/{YEAR}/leave", {"person_id": ids["d1staff"], "kind": "sick",
                                                    "start_date": f"{YEAR}-02-01", "end_date": f"{YEAR}-08-31"})
    admin.post(f"/annual/unit/{t1}/{YEAR}/records", {"person_id": ids["d2head"], "kind": "investigation",
                                                     "start_date": f"{YEAR}-05-01"})
    admin.post(f"/annual/unit/{t1}/{YEAR}/compute")
    res = results()
    assert res[ids["d1staff"]][1] == "6A" and res[ids["d2head"]][1] == "5B"
    # closing the investigation after the year → graded retroactively (补定) on the next computation
    from kaohe.annual.models import AnnualRecord

    with app.app_context():
        _sys(app)
        rec_id = db.session.execute(select(AnnualRecord.id).where(AnnualRecord.kind == "investigation")).scalar_one()
    admin.post(f"/annual/records/{rec_id}/close", {"end_date": f"{YEAR + 1}-02-01"})
    admin.post(f"/annual/unit/{t1}/{YEAR}/compute")
    res = results()
    assert res[ids["d2head"]][1] == "2"
    page = admin.get(f"/annual/person/{ids['head']}/{YEAR}").get_data(as_text=True)
    assert "受处分" in page or "Sanction" in page


def test_a_step_at_the_wrong_stage_is_refused_in_the_page_language(app, world, login_as):
    """Publishing a computed (not yet confirmed) assessment is refused with
    the stage as its label in the page's language, never the code 'computed'
    nor an English sentence on the Chinese page (issue 16, item 2)."""
    with app.app_context():
        seed_unit(world, {"head": 96, "deputy": 90})
        db.session.remove()
    base = f"/annual/unit/{world.ids['P1-T1']}/{YEAR}"
    admin = login_as("t1admin")
    assert admin.post(base + "/compute").status_code == 302
    body = admin.post(base + "/publish", {"start": ""}, follow_redirects=True).get_data(as_text=True)
    assert "考核处于“已计算”阶段，现在不能公示。" in body
    assert "Cannot" not in body and "'computed'" not in body
    admin.get("/lang/en")
    body = admin.post(base + "/notify", follow_redirects=True).get_data(as_text=True)
    assert "Cannot send notices now: the assessment is at the stage Computed." in body
