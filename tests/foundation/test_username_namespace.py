"""Issue 11, finding 8: creating an account is no oracle for usernames of
another province.  Names created by an administrator who is not a platform
operator lie in the namespace of their province (``name@<province code>``,
``kaohe.auth.namespace``); a name outside it is refused with the same answer
whether or not it exists anywhere, on the API and the page."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kaohe.auth.models import User
from kaohe.auth.namespace import domain, in_namespace, qualify
from kaohe.extensions import db
from kaohe.people.accounts import username_for

from .conftest import PageClient, node_id

BODY = {"display_name": "Probe", "password": "probe-password-123"}


def test_namespaces_never_overlap():
    assert domain("zhang@P") == "p" and domain("a@b@P2-P") == "p2-p" and domain("plain") is None
    assert in_namespace("zhang@p", "P") and not in_namespace("zhang@P2-P", "P")
    assert not in_namespace("x@P@P2-P", "P") and in_namespace("x@P@P2-P", "P2-P")
    assert qualify("T1-0007", "P") == "T1-0007@P" and qualify("T1-0007@p", "P") == "T1-0007@p"
    assert len(qualify("x" * 70, "P2-P")) == 64 and qualify("x" * 70, "P2-P").endswith("@P2-P")
    assert username_for("{unit}-{staff_no}", "T1", "7", "P") == "T1-7@P"
    assert username_for("{staff_no}@{unit}", "T1", "7", "P") == "7@T1@P"


def _api(app, bearer, name, actor="t1admin", org="T1"):
    resp = app.test_client().post("/api/v1/users", headers=bearer(actor),
                                  json={**BODY, "username": name, "org_id": node_id(app.world, org)})
    return resp.status_code, resp.get_json()


@pytest.fixture
def wapp(app, world):
    app.world = world
    return app


def test_unit_admin_cannot_tell_another_provinces_name_from_a_free_one(wapp, bearer, backend):
    taken_elsewhere = _api(wapp, bearer, "p2-t1admin")      # exists in the other province
    never_used = _api(wapp, bearer, "never-used-name")       # exists nowhere
    assert taken_elsewhere == never_used
    assert taken_elsewhere[0] == 422 and "username" in taken_elsewhere[1]["errors"]
    # the same with the other province's namespace spelled out, and with case changed
    assert _api(wapp, bearer, "P2-T1ADMIN") == never_used
    assert _api(wapp, bearer, "someone@P2-P") == _api(wapp, bearer, "nobody-at-all@P2-P")
    # inside its own namespace the admin creates accounts; a collision there is its own province's name
    assert _api(wapp, bearer, "fresh@P")[0] == 201
    assert _api(wapp, bearer, "FRESH@p")[0] == 409
    # a supervisor or policy admin is held to the namespace too
    assert _api(wapp, bearer, "p2-t1admin", actor="policy", org="P") == _api(
        wapp, bearer, "free-name", actor="policy", org="P")


def test_page_answers_alike_for_taken_elsewhere_and_never_used(wapp, backend):
    pc = PageClient(wapp).login("t1admin")
    org = node_id(wapp.world, "T1")
    page = pc.get("/users/new").get_data(as_text=True)
    assert "@P" in page   # the form says what names end with

    def attempt(name):
        resp = pc.post("/users/new", {**BODY, "username": name, "org_id": org})
        html = resp.get_data(as_text=True)
        start = html.find('id="err-username"')
        return resp.status_code, html[start:html.find("</p>", start)] if start >= 0 else None

    taken, free = attempt("p2-t1admin"), attempt("never-used-name")
    assert taken == free and taken[0] == 422 and taken[1]
    assert pc.post("/users/new", {**BODY, "username": "page-made@P", "org_id": org}).status_code == 302


def test_operator_may_create_any_name_but_not_into_another_provinces_namespace(wapp, bearer, backend):
    assert _api(wapp, bearer, "p1-chosen-by-operator", actor="operator")[0] == 201
    code, body = _api(wapp, bearer, "intruder@P2-P", actor="operator", org="T1")
    assert code == 422 and "username" in body["errors"]
    assert _api(wapp, bearer, "rightful@P2-P", actor="operator", org="P2-T1")[0] == 201


def test_provisioned_names_lie_in_the_province_namespace(wapp, bearer, backend):
    resp = wapp.test_client().post(f"/api/v1/people/units/{node_id(wapp.world, 'T1')}/accounts",
                                   headers=bearer("t1admin"), json={"staff_nos": ["d2staff"]})
    assert resp.status_code in (200, 201), resp.get_json()
    with wapp.app_context():
        from kaohe.tenancy.scope import Scope, apply_scope

        apply_scope(Scope.system("t"))
        names = db.session.execute(select(User.username).where(User.username.like("T1-%"))).scalars().all()
    assert names == ["T1-d2staff@P"]


def test_province_codes_name_disjoint_namespaces(app, world, backend):
    from kaohe.core.errors import Conflict, Invalid
    from kaohe.tenancy import service as org_service
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        apply_scope(Scope.system("t"))
        with pytest.raises(Conflict):        # "p2-p" would share P2-P's namespace
            org_service.create_province(code="p2-p", name="重名省")
        with pytest.raises(Invalid):         # "@" would make the namespace ambiguous
            org_service.create_province(code="X@Y", name="符号省")
        db.session.rollback()
