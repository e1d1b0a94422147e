"""The annual API: 422 with field messages, 404 outside scope, the appeal
deadline enforced (one day late refused, the deadline named)."""
import datetime as dt

from kaohe.core.clock import local_today

from sqlalchemy import select

from kaohe.extensions import db

from .conftest import YEAR, seed_unit


def _sys():
    from kaohe.tenancy.scope import Scope, apply_scope

    apply_scope(Scope.system("t"))


def _through_notice(app, client, hdr, t1, notice_on):
    assert client.post(f"/api/v1/annual/units/{t1}/{YEAR}/compute", json={}, headers=hdr).status_code == 202
    r = client.post(f"/api/v1/annual/units/{t1}/{YEAR}/confirm", json={}, headers=hdr)
    assert r.status_code == 200, r.get_json()
    from kaohe.annual.service import as_of

    with as_of(notice_on - dt.timedelta(days=20)):      # the clock: the 公示 started 20 days before the notice
        r = client.post(f"/api/v1/annual/units/{t1}/{YEAR}/publish", json={}, headers=hdr)
    assert r.status_code == 200, r.get_json()
    with as_of(notice_on):
        r = client.post(f"/api/v1/annual/units/{t1}/{YEAR}/notify", json={"notice_on": notice_on.isoformat()},
                        headers=hdr)
    assert r.status_code == 200, r.get_json()


def test_api_flow_and_validation(app, world, client, api_token):
    with app.app_context():
        ids, aid = seed_unit(world, {"head": 96, "deputy": 92, "d1head": 88, "d1staff": 84, "d2head": 79,
                                     "d2staff": 50})
        db.session.remove()
    t1 = world.ids["P1-T1"]
    hdr = api_token("t1admin")
    r = client.post(f"/api/v1/annual/units/{t1}/{YEAR}/adjustments", json={"person_id": ids["head"], "grade": "x"},
                    headers=hdr)
    assert r.status_code == 422 and "grade" in r.get_json()["errors"] and "reason" in r.get_json()["errors"]
    r = client.post(f"/api/v1/annual/units/{t1}/records", json={"person_id": ids["head"], "kind": "sanction",
                                                                "year": YEAR, "sanction_kind": "nonsense"}, headers=hdr)
    assert r.status_code == 422 and "sanction_kind" in r.get_json()["errors"]
    _through_notice(app, client, hdr, t1, local_today())
    r = client.get(f"/api/v1/annual/units/{t1}/{YEAR}/outcomes", headers=hdr)
    assert r.status_code == 200 and {o["code"] for o in r.get_json()} == {"1", "2", "4"}
    other = api_token("t3admin")
    assert client.get(f"/api/v1/annual/units/{t1}/{YEAR}/outcomes", headers=other).status_code == 404
    assert client.get(f"/api/v1/annual/units/{t1}/{YEAR}", headers=api_token("p2-t1admin")).status_code == 404
    r = client.post(f"/api/v1/annual/units/{t1}/{YEAR}/compute", json={}, headers=hdr)
    assert r.status_code == 422 and "confirmed" in r.get_json()["errors"]["status"][0]


def test_review_one_day_late_refused_with_deadline(app, world, client, api_token):
    with app.app_context():
        ids, aid = seed_unit(world, {"head": 96, "deputy": 92, "d1head": 88, "d1staff": 50, "d2head": 79,
                                     "d2staff": 84})
        db.session.remove()
    t1 = world.ids["P1-T1"]
    hdr = api_token("t1admin")
    # notice on Friday 2026-10-23: 30 days later is Sunday 11-22 → the deadline moves to Monday 11-23
    notice = dt.date(2026, 10, 23)
    _through_notice(app, client, hdr, t1, notice)
    from kaohe.annual import appeals, service

    with app.app_context():
        _sys()
        o = db.session.execute(select(service.AnnualOutcome).where(
            service.AnnualOutcome.person_id == ids["d1staff"])).scalar_one()
        assert o.grade == "buchenzhi"
        try:
            appeals.file_review(o, "病假期间的工作没有计入考核", filed_on=dt.date(2026, 11, 24))
            raise AssertionError("a late review was accepted")
        except service.Invalid as exc:
            assert "2026-11-23" in exc.errors["filed_on"][0]
        db.session.rollback()
        _sys()
        o = db.session.execute(select(service.AnnualOutcome).where(
            service.AnnualOutcome.person_id == ids["d1staff"])).scalar_one()
        ap = appeals.file_review(o, "病假期间的工作没有计入考核", filed_on=dt.date(2026, 11, 23))
        assert ap.decide_by == dt.date(2026, 12, 23)
        db.session.commit()
    # through the API (t1staff is d1staff): filed today, long after the deadline → 422 naming it
    staff = api_token("t1staff")
    with app.app_context():
        _sys()
        oid = db.session.execute(select(service.AnnualOutcome.id).where(
            service.AnnualOutcome.person_id == ids["d1staff"])).scalar_one()
    r = client.post(f"/api/v1/annual/outcomes/{oid}/cases", json={"stage": "appeal", "grounds": "short"},
                    headers=staff)
    assert r.status_code == 422 and "grounds" in r.get_json()["errors"]
    r = client.post(f"/api/v1/annual/outcomes/{oid}/acknowledge", headers=staff)
    assert r.status_code == 200 and r.get_json()["acknowledged_at"]
    assert client.get("/api/v1/annual/me", headers=staff).get_json()[0]["grade"] == "buchenzhi"


def test_overdue_query_for_supervision(app, world):
    from kaohe.annual import appeals, service
    from kaohe.annual.models import AnnualAppeal, AnnualAssessment, AnnualOutcome
    from kaohe.tenancy.models import OrgNode

    with app.app_context():
        ids, aid = seed_unit(world)
        _sys()
        t1 = db.session.get(OrgNode, world.ids["P1-T1"])
        o = AnnualOutcome(root_id=t1.root_id, org_id=t1.id, assessment_id=aid, person_id=ids["d2staff"], year=YEAR,
                          grade="buchenzhi", code="4", notice_on=dt.date(2026, 1, 5))
        db.session.add(o)
        db.session.flush()
        db.session.add(AnnualAppeal(root_id=t1.root_id, org_id=t1.id, outcome_id=o.id, person_id=o.person_id,
                                    decider_org_id=t1.id, stage="review", grade_appealed="buchenzhi",
                                    grounds="x" * 12, filed_on=dt.date(2026, 1, 10), file_by=dt.date(2026, 2, 4),
                                    decide_by=dt.date(2026, 2, 9)))
        db.session.commit()
        k1 = db.session.get(OrgNode, world.ids["P1-K1"])
        k3 = db.session.get(OrgNode, world.ids["P1-K3"])
        assert len(appeals.overdue_appeals(k1, dt.date(2026, 2, 10))) == 1
        assert appeals.overdue_appeals(k1, dt.date(2026, 2, 9)) == []
        assert appeals.overdue_appeals(k3, dt.date(2026, 2, 10)) == []
