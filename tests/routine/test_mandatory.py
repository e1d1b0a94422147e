"""Finding 4 (issue 12): a scheme without the province's mandatory common
indicators cannot be active, whichever way it is activated (API, page,
opening a period), and the demo's three schemes rate ZZ/ZF/LZ."""
from __future__ import annotations

from sqlalchemy import select

from kaohe.extensions import db

from .conftest import SCHEME, transition

API = "/api/v1/routine"


def _make_zz_mandatory(rt, world):
    from kaohe.policy import settings
    from kaohe.tenancy.scope import Scope, apply_scope

    with rt.app.app_context():
        apply_scope(Scope.system("t"))
        from kaohe.tenancy.models import OrgNode
        prov = db.session.get(OrgNode, world.p1.nodes["P"].id)
        settings.set_value(prov, "indicators.common", {"add": [
            {"code": "ZZ", "name": "政治素质", "category": "de", "mandatory": True, "max_points": 20}]})
        db.session.commit()
        db.session.remove()


def test_a_scheme_without_the_mandatory_indicators_cannot_be_active(rt, world, login):
    _make_zz_mandatory(rt, world)
    scheme = rt.client.get(f"{API}/units/{rt.unit_id}/schemes", headers=rt.h("admin")).get_json()[0]
    body = {k: scheme[k] for k in ("code", "name", "job_category", "basis", "total", "sections", "rater_weights")}
    # API: the old scheme (no ZZ) is refused, naming the indicator
    resp = rt.client.put(f"{API}/schemes/{scheme['id']}", json={**body, "version": scheme["version"]},
                         headers=rt.h("admin"))
    assert resp.status_code == 422, resp.get_json()
    assert "ZZ" in resp.get_json()["errors"]["sections"][0]
    new = {**body, "code": "other"}
    resp = rt.client.post(f"{API}/units/{rt.unit_id}/schemes", json=new, headers=rt.h("admin"))
    assert resp.status_code == 422 and "mandatory" in resp.get_json()["errors"]["sections"][0]
    # an inactive draft may be saved
    resp = rt.client.post(f"{API}/units/{rt.unit_id}/schemes", json={**new, "active": False}, headers=rt.h("admin"))
    assert resp.status_code == 201, resp.get_json()
    # opening a period with the old (active) scheme is refused, naming the scheme
    resp = rt.client.post(f"{API}/periods", json={"unit_id": rt.unit_id, "year": rt.year + 1, "seq": 1},
                          headers=rt.h("admin"))
    pid = resp.get_json()["id"]
    r = rt.client.post(f"{API}/periods/{pid}/transition", json={"to": "open"}, headers=rt.h("admin"))
    assert r.status_code == 422 and "general" in r.get_json()["errors"]["state"][0] \
        and "ZZ" in r.get_json()["errors"]["state"][0]
    # with ZZ in the common section (ZZ 20 replaces ethics 20) the scheme is accepted
    sections = [dict(s) for s in SCHEME["sections"]]
    sections[0]["indicators"] = ["ZZ", "discipline", "integrity"]
    resp = rt.client.put(f"{API}/schemes/{scheme['id']}", json={**body, "sections": sections,
                                                                 "version": scheme["version"]}, headers=rt.h("admin"))
    assert resp.status_code == 200, resp.get_json()
    r = rt.client.post(f"{API}/periods/{pid}/transition", json={"to": "open"}, headers=rt.h("admin"))
    assert r.status_code == 200, r.get_json()


def test_demo_schemes_rate_the_mandatory_indicators(app):
    from kaohe.demo import build_demo
    from kaohe.routine.indicators import library
    from kaohe.routine.models import Period, Result, Scheme
    from kaohe.routine import calc
    from kaohe.tenancy.models import OrgNode

    with app.app_context():
        build_demo(log=lambda *_a: None)
        db.session.flush()
        unit = db.session.execute(select(OrgNode).where(OrgNode.code == "630122100")).scalar_one()
        lib = library(unit)
        assert {c for c, i in lib.items() if i.get("mandatory")} == {"ZZ", "ZF", "LZ"}
        schemes = db.session.execute(select(Scheme).where(Scheme.org_id == unit.id)).scalars().all()
        assert len(schemes) == 3
        for s in schemes:
            assert s.active and calc.missing_mandatory({"sections": s.sections}, lib) == [], s.code
        # the finished quarters were rated in full: nobody scored from incomplete inputs
        final = [p.id for p in db.session.execute(select(Period).where(
            Period.org_id == unit.id, Period.state == "final")).scalars()]
        assert len(final) == 2
        for score, grade, flags in db.session.execute(select(Result.score, Result.grade, Result.flags).where(
                Result.period_id.in_(final))):
            assert ("incomplete" in flags) == (grade is None) == (score is None)
        db.session.rollback()
