"""Issue 13: a transfer to another unit moves the account's home, and the
person's history stays with the unit where it was earned.  A closed row in
the old unit, a new row in the new unit, linked (people.transfer_models);
the multi-year counters follow the person across the link."""
from __future__ import annotations

from sqlalchemy import func, select

from kaohe.annual.models import AnnualAssessment, AnnualOutcome
from kaohe.annual.service import person_counters
from kaohe.audit.models import AuditEntry
from kaohe.auth import service as auth_service
from kaohe.auth.models import RoleGrant, User
from kaohe.auth.roles import Role
from kaohe.extensions import db
from kaohe.people.models import LeaderCharge, Person
from kaohe.people.transfer_models import PersonTransfer
from kaohe.tenancy.models import OrgNode
from kaohe.tenancy.scope import Scope, apply_scope
from kaohe.testing.world import PASSWORD

from .test_accounts import _fresh_login


def _sys(app):
    ctx = app.app_context()
    ctx.push()
    apply_scope(Scope.system("test"))
    return ctx


def _pid(app, world, staff_no, unit="T1"):
    ctx = _sys(app)
    pid = db.session.execute(select(Person.id).where(Person.unit_id == world.p1.nodes[unit].id,
                                                     Person.staff_no == staff_no)).scalar_one()
    ctx.pop()
    return pid


def _county_admin(app, world):
    """An assessment-office admin at county K1: covers T1 and T2."""
    ctx = _sys(app)
    user = auth_service.create_user(username="k1admin", display_name="县考核办", password=PASSWORD,
                                    org=db.session.get(OrgNode, world.p1.nodes["K1"].id))
    auth_service.grant_role(user, Role.unit_admin, db.session.get(OrgNode, world.p1.nodes["K1"].id), check=False)
    db.session.commit()
    ctx.pop()


def _history(app, world, pid, year, grade):
    """An outcome of ``year`` for the person at T1 (the unit where it was earned)."""
    ctx = _sys(app)
    t1 = world.p1.nodes["T1"].id
    root = world.p1.nodes["P"].id
    a = db.session.execute(select(AnnualAssessment).where(AnnualAssessment.org_id == t1,
                                                          AnnualAssessment.year == year)).scalar_one_or_none()
    if a is None:
        a = AnnualAssessment(root_id=root, org_id=t1, year=year, status="filed")
        db.session.add(a)
        db.session.flush()
    db.session.add(AnnualOutcome(root_id=root, org_id=t1, assessment_id=a.id, person_id=pid, year=year,
                                 grade=grade, code={"chenzhi": "2", "youxiu": "1", "buchenzhi": "4"}[grade]))
    db.session.commit()
    ctx.pop()


def _snapshot(app):
    ctx = _sys(app)
    out = (db.session.execute(select(func.count()).select_from(PersonTransfer)).scalar(),
           db.session.execute(select(func.count()).select_from(Person).where(Person.active.is_(True))).scalar(),
           tuple(db.session.execute(select(User.id, User.person_id, User.org_id).order_by(User.id)).all()),
           db.session.execute(select(func.count()).select_from(RoleGrant)).scalar(),
           db.session.execute(select(func.count()).select_from(AuditEntry)).scalar())
    ctx.pop()
    return out


def test_transfer_api_moves_account_keeps_history(app, client, world, api_token):
    _county_admin(app, world)
    old_id = _pid(app, world, "d1staff")
    _history(app, world, old_id, 2024, "buchenzhi")
    staff_token = api_token("t1staff")
    assert client.get("/api/v1/auth/me", headers=staff_token).status_code == 200
    k1 = api_token("k1admin")
    t2, t2d1 = world.p1.nodes["T2"].id, world.p1.nodes["T2-D1"].id

    resp = client.post(f"/api/v1/people/{old_id}/transfer", headers=k1,
                       json={"to_unit_id": t2, "to_org_id": t2d1, "reason": "县委组织部调令2026-15号"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    new_id = body["person_id"]
    assert new_id != old_id and body["from_person_id"] == old_id and body["to_unit_id"] == t2
    assert body["grants_revoked"] == [{"role": "staff", "org": "T1"}]

    ctx = _sys(app)
    old, new = db.session.get(Person, old_id), db.session.get(Person, new_id)
    assert (old.active, old.unit_id) == (False, world.p1.nodes["T1"].id)          # the closed row stays in T1
    assert (new.active, new.unit_id, new.org_id, new.staff_no, new.name) == (True, t2, t2d1, "d1staff", old.name)
    out = db.session.execute(select(AnnualOutcome).where(AnnualOutcome.year == 2024)).scalar_one()
    assert (out.person_id, out.org_id) == (old_id, world.p1.nodes["T1"].id)      # history not rewritten
    user = db.session.execute(select(User).where(User.username == "t1staff")).scalar_one()
    assert (user.person_id, user.org_id) == (new_id, t2d1)
    grants = {(g.role, g.org_id) for g in db.session.execute(
        select(RoleGrant).where(RoleGrant.user_id == user.id)).scalars()}
    assert grants == {("staff", t2)}
    actions = [e.org_id for e in db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "person.transfer")).scalars()]
    assert sorted(actions) == sorted([world.p1.nodes["T1"].id, t2])
    # The counters follow the person: the 2024 不称职 earned at T1 counts at T2.
    assert person_counters(new_id, new.root_id)["buchenzhi_streak"] == 1
    ctx.pop()

    # Grants changed: the old token is dead.
    assert client.get("/api/v1/auth/me", headers=staff_token).status_code == 401
    # T1 still sees the closed row (its history); T2 sees the new one, not the old.
    t1 = api_token("t1admin")
    assert client.get(f"/api/v1/people/{old_id}", headers=t1).get_json()["active"] is False
    assert client.get(f"/api/v1/people/{new_id}", headers=t1).status_code == 404
    t2h = api_token("t2admin")
    assert client.get(f"/api/v1/people/{new_id}", headers=t2h).status_code == 200
    assert client.get(f"/api/v1/people/{old_id}", headers=t2h).status_code == 404
    # T2's alert list reads the grade earned at T1 (which T2 cannot see): a second 不称职 means dismissal.
    alerts = client.get(f"/api/v1/annual/alerts/{t2}?year=2025", headers=t2h).get_json()["alerts"]
    assert [(r["person_id"], r["unit_id"]) for r in alerts["dismissal_risk"]] == [(new_id, t2)]
    assert client.get(f"/api/v1/annual/alerts/{t2}?year=2025", headers=t1).status_code == 404
    # A closed row cannot be transferred again.
    again = client.post(f"/api/v1/people/{old_id}/transfer", headers=k1, json={"to_unit_id": t2, "reason": "再调"})
    assert again.status_code == 422


def test_transfer_outside_scope_is_404_and_writes_nothing(app, client, world, api_token):
    pid = _pid(app, world, "d2staff")
    t1, t2a, t1s = api_token("t1admin"), api_token("t2admin"), api_token("t1staff")
    before = _snapshot(app)
    for target in (world.p1.nodes["T2"].id, world.p1.nodes["T3"].id, world.p2.nodes["T1"].id):
        resp = client.post(f"/api/v1/people/{pid}/transfer", headers=t1, json={"to_unit_id": target, "reason": "调动"})
        assert resp.status_code == 404, (target, resp.get_json())
    # Someone else's person (T2 admin cannot see T1's people).
    resp = client.post(f"/api/v1/people/{pid}/transfer", headers=t2a,
                       json={"to_unit_id": world.p1.nodes["T2"].id, "reason": "调动"})
    assert resp.status_code == 404
    # In scope but without the roster permission on the person's unit: 403.
    resp = client.post(f"/api/v1/people/{pid}/transfer", headers=t1s,
                       json={"to_unit_id": world.p1.nodes["T1"].id, "reason": "调动"})
    assert resp.status_code == 403
    assert _snapshot(app) == before


def test_transfer_bad_input_nothing_half_written(app, client, world, api_token):
    _county_admin(app, world)
    k1 = api_token("k1admin")
    pid = _pid(app, world, "deputy")
    ctx = _sys(app)
    db.session.add(Person(root_id=world.p1.nodes["P"].id, org_id=world.p1.nodes["T2"].id,
                          unit_id=world.p1.nodes["T2"].id, staff_no="deputy", name="已在T2"))
    db.session.commit()
    ctx.pop()
    before = _snapshot(app)
    t2 = world.p1.nodes["T2"].id
    cases = [({"to_unit_id": t2, "reason": "调动"}, 409, "staff_no"),                       # number taken in T2
             ({"to_unit_id": t2, "staff_no": "x9", "to_org_id": world.p1.nodes["T1-D1"].id, "reason": "调动"},
              422, "to_org_id"),                                                              # not a T2 department
             ({"to_unit_id": world.p1.nodes["K1"].id, "staff_no": "x9", "reason": "调动"}, 422, "to_unit_id"),
             ({"to_unit_id": t2, "staff_no": "x9"}, 422, "reason"),
             ({"to_unit_id": world.p1.nodes["T1"].id, "staff_no": "x9", "reason": "调动"}, 422, "to_unit_id")]
    for payload, status, field in cases:
        resp = client.post(f"/api/v1/people/{pid}/transfer", headers=k1, json=payload)
        assert resp.status_code == status, (payload, resp.get_json())
        assert field in str(resp.get_json()), (field, resp.get_json())
    assert _snapshot(app) == before
    # With another staff number it goes through; the deputy's 分管 charges in T1 end.
    resp = client.post(f"/api/v1/people/{pid}/transfer", headers=k1,
                       json={"to_unit_id": t2, "staff_no": "x9", "position_role": "deputy", "reason": "调动"})
    assert resp.status_code == 201, resp.get_json()
    ctx = _sys(app)
    assert not db.session.execute(select(LeaderCharge).where(LeaderCharge.leader_id == pid)).scalars().all()
    leader = db.session.execute(select(User).where(User.username == "t1leader")).scalar_one()
    roles = {(g.role, g.org_id) for g in db.session.execute(select(RoleGrant).where(RoleGrant.user_id == leader.id)).scalars()}
    assert roles == {("staff", t2), ("leader", t2)}
    ctx.pop()


def test_transfer_refused_when_the_account_holds_more(app, client, world, api_token):
    """The person's account also holds a county role: a unit admin above
    both units may not take it over by transferring the person."""
    _county_admin(app, world)
    ctx = _sys(app)
    staff = db.session.execute(select(User).where(User.username == "t1staff")).scalar_one()
    auth_service.grant_role(staff, Role.supervisor, db.session.get(OrgNode, world.p1.nodes["K1"].id), check=False)
    db.session.commit()
    ctx.pop()
    k1, pid = api_token("k1admin"), _pid(app, world, "d1staff")
    before = _snapshot(app)
    resp = client.post(f"/api/v1/people/{pid}/transfer", headers=k1,
                       json={"to_unit_id": world.p1.nodes["T2"].id, "reason": "调动"})
    assert resp.status_code == 403
    assert _snapshot(app) == before


def test_transfer_page_and_cli(app, world, runner):
    _county_admin(app, world)
    pid = _pid(app, world, "d2staff")
    b = _fresh_login(app, "k1admin")
    html = b.get(f"/people/persons/{pid}/transfer").get_data(as_text=True)
    assert 'id="transfer-form"' in html
    t2 = world.p1.nodes["T2"].id
    assert f'value="{t2}:{world.p1.nodes["T2-D1"].id}"' in html
    resp = b.post(f"/people/persons/{pid}/transfer", {"target": f"{t2}:{t2}", "reason": ""})
    assert resp.status_code == 422 and 'id="t-reason"' in resp.get_data(as_text=True)
    resp = b.post(f"/people/persons/{pid}/transfer", {"target": f"{t2}:{world.p1.nodes['T2-D1'].id}",
                                                     "reason": "调令", "staff_no": "T2-88"})
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:300]
    new_page = b.get(resp.headers["Location"]).get_data(as_text=True)
    assert "T2-88" in new_page and "调令" in new_page

    # A unit admin of T1 alone sees the person page but no unit to transfer to.
    b1 = _fresh_login(app, "t1admin")
    html = b1.get(f"/people/persons/{_pid(app, world, 'head')}/transfer").get_data(as_text=True)
    assert 'id="transfer-form"' not in html and 'id="transfer-form-card"' in html
    assert _fresh_login(app, "t1staff").get(f"/people/persons/{pid}/transfer").status_code == 403

    # CLI: the same service.
    res = runner.invoke(args=["people", "transfer", "T1", "head", "T2", "--reason", "调令", "--staff-no", "T2-01"])
    assert res.exit_code == 0, res.output
    assert "T2-01" in res.output
    res = runner.invoke(args=["people", "transfer", "T1", "head", "T2", "--reason", "调令"])
    assert res.exit_code != 0 and "Error" in res.output and "Traceback" not in res.output
    ctx = _sys(app)
    assert db.session.execute(select(func.count()).select_from(PersonTransfer)).scalar() == 2
    ctx.pop()


def test_values_unique_in_the_province_move_to_the_new_row(app, client, world, api_token):
    """A column unique in the province (the roster's ID number, when the
    Person model has it) cannot sit on both rows: it moves to the new one."""
    import pytest

    from kaohe.people.transfers import _province_unique_keys

    if "id_number" not in {c.key for c in Person.__mapper__.column_attrs}:
        pytest.skip("the Person model has no ID number column on this branch")
    assert "id_number" in _province_unique_keys()
    _county_admin(app, world)
    pid = _pid(app, world, "d2staff")
    ctx = _sys(app)
    db.session.get(Person, pid).id_number = "11010519491231002X"
    db.session.commit()
    ctx.pop()
    resp = client.post(f"/api/v1/people/{pid}/transfer", headers=api_token("k1admin"),
                       json={"to_unit_id": world.p1.nodes["T2"].id, "reason": "调动"})
    assert resp.status_code == 201, resp.get_json()
    ctx = _sys(app)
    assert db.session.get(Person, pid).id_number is None
    assert db.session.get(Person, resp.get_json()["person_id"]).id_number == "11010519491231002X"
    ctx.pop()
