"""The org tree through the API and the pages: create, rename, mark a unit,
move a subtree (everything keyed to it follows), and bad input that must be
a clear 4xx with nothing half written."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kaohe.audit.models import AuditEntry
from kaohe.extensions import db
from kaohe.tenancy.models import OrgNode
from kaohe.tenancy.scope import Scope, apply_scope

from .conftest import PageClient, fingerprint


def _audit(app, action, target_id):
    with app.app_context():
        apply_scope(Scope.system("t"))
        rows = db.session.execute(select(AuditEntry).where(AuditEntry.action == action,
                                                           AuditEntry.target_id == str(target_id))
                                  .order_by(AuditEntry.seq)).scalars().all()
        out = [{"before": r.before, "after": r.after, "actor": r.actor_name, "org_id": r.org_id} for r in rows]
        db.session.remove()
    return out


def _node(app, node_id):
    with app.app_context():
        apply_scope(Scope.system("t"))
        n = db.session.get(OrgNode, node_id)
        out = {"path": n.path, "parent_id": n.parent_id, "depth": n.depth, "name": n.name,
               "is_assessment_unit": n.is_assessment_unit, "version": n.version, "code": n.code}
        db.session.remove()
    return out


def test_create_rename_mark_unit_with_audit(app, world, bearer, backend):
    h = bearer("policy")
    c = app.test_client()
    resp = c.post("/api/v1/orgs", headers=h, json={"parent_id": world.ids["P1-K1"], "kind": "township",
                                                   "code": "T9", "name": "新镇", "name_en": "New Town"})
    assert resp.status_code == 201, resp.get_json()
    node = resp.get_json()
    assert node["path"] == f"/{world.ids['P1-P']}/{world.ids['P1-C1']}/{world.ids['P1-K1']}/{node['id']}/"
    assert node["depth"] == 3 and node["is_assessment_unit"] is False
    created = _audit(app, "org.create", node["id"])
    assert len(created) == 1 and created[0]["after"]["code"] == "T9" and created[0]["actor"] == "policy"

    resp = c.patch(f"/api/v1/orgs/{node['id']}", headers=h,
                   json={"name": "更名镇", "is_assessment_unit": True, "version": node["version"]})
    assert resp.status_code == 200, resp.get_json()
    upd = _audit(app, "org.update", node["id"])
    assert upd[-1]["before"] == {"name": "新镇", "is_assessment_unit": False}
    assert upd[-1]["after"] == {"name": "更名镇", "is_assessment_unit": True}
    # A stale version is a 409 that names the newer one; nothing changes.
    before = fingerprint(app)
    resp = c.patch(f"/api/v1/orgs/{node['id']}", headers=h, json={"name": "又改", "version": node["version"]})
    assert resp.status_code == 409 and "version" in resp.get_json()["errors"]
    assert fingerprint(app) == before
    # A department cannot be an assessment unit.
    dept = c.post("/api/v1/orgs", headers=h, json={"parent_id": node["id"], "kind": "department",
                                                   "code": "T9-D1", "name": "科室"}).get_json()
    resp = c.patch(f"/api/v1/orgs/{dept['id']}", headers=h, json={"is_assessment_unit": True})
    assert resp.status_code == 422 and "is_assessment_unit" in resp.get_json()["errors"]


def test_page_forms_create_and_edit(app, world, backend):
    pc = PageClient(app).login("policy")
    k1 = world.ids["P1-K1"]
    resp = pc.post(f"/orgs/{k1}/children", {"kind": "township", "code": "T8", "name": "页面镇"})
    assert resp.status_code == 302
    new_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    assert _node(app, new_id)["name"] == "页面镇"
    resp = pc.post(f"/orgs/{new_id}/edit", {"name": "页面镇二", "code": "T8", "is_assessment_unit": "on"})
    assert resp.status_code == 302
    assert _node(app, new_id)["is_assessment_unit"] is True
    # Bad input re-renders the page with the field message, status 422, nothing written.
    before = fingerprint(app)
    resp = pc.post(f"/orgs/{k1}/children", {"kind": "department", "code": "X", "name": "错"})
    assert resp.status_code == 422
    assert "cannot sit under" in resp.get_data(as_text=True)
    resp = pc.post(f"/orgs/{k1}/children", {"kind": "township", "code": "T1", "name": "重码"})
    assert resp.status_code == 409
    assert "already used" in resp.get_data(as_text=True)
    resp = pc.post(f"/orgs/{k1}/children", {"kind": "township", "code": "", "name": ""})
    assert resp.status_code == 422
    assert fingerprint(app) == before


def test_move_township_to_another_county(app, world, iso, bearer, backend):
    """T2 (with its department, people, accounts and grants) moves from K1 to
    K2: paths are rewritten, K2's supervisor now sees all of it and K1's
    supervisor gets 404 for all of it."""
    c = app.test_client()
    policy = bearer("policy")
    k2sup = c.post("/api/v1/users", headers=policy, json={
        "username": "k2sup@P", "display_name": "K2 督导", "password": "k2sup-password-1",
        "org_id": world.ids["P1-K2"], "grants": [{"role": "supervisor", "org_id": world.ids["P1-K2"]}]})
    assert k2sup.status_code == 201, k2sup.get_json()
    t2, t2d1 = world.ids["P1-T2"], world.ids["P1-T2-D1"]
    old = {"t2": _node(app, t2), "d1": _node(app, t2d1)}
    k1h, k2h = bearer("countysup"), bearer("k2sup@P", "k2sup-password-1")
    t2admin_id = c.get("/api/v1/users?q=t2admin", headers=policy).get_json()[0]["id"]
    keyed = [f"/api/v1/orgs/{t2}", f"/api/v1/orgs/{t2d1}", f"/api/v1/people/{iso.person['T2']}",
             f"/api/v1/users/{iso.user['T2']}", f"/api/v1/users/{t2admin_id}", f"/api/v1/jobs/{iso.job['T2']}"]
    # Inside the scope: 200, or 403 where a supervisor's role may not read it
    # (people and accounts, the same rule as the pages); outside: 404.
    for url in keyed:
        assert c.get(url, headers=k1h).status_code in (200, 403), url
        assert c.get(url, headers=k2h).status_code == 404, url

    resp = c.post(f"/api/v1/orgs/{t2}/move", headers=policy, json={"parent_id": world.ids["P1-K2"]})
    assert resp.status_code == 200, resp.get_json()
    new = {"t2": _node(app, t2), "d1": _node(app, t2d1)}
    k2_path = _node(app, world.ids["P1-K2"])["path"]
    assert new["t2"]["parent_id"] == world.ids["P1-K2"]
    assert new["t2"]["path"] == f"{k2_path}{t2}/" and new["d1"]["path"] == f"{k2_path}{t2}/{t2d1}/"
    assert new["t2"]["depth"] == old["t2"]["depth"] and new["d1"]["depth"] == old["d1"]["depth"]
    moved = _audit(app, "org.move", t2)
    assert moved[-1]["before"] == {"parent_id": world.ids["P1-K1"], "path": old["t2"]["path"]}
    assert moved[-1]["after"] == {"parent_id": world.ids["P1-K2"], "path": new["t2"]["path"]}

    # Fresh tokens: scopes are computed per request anyway, but be explicit.
    for url in keyed:
        assert c.get(url, headers=k2h).status_code in (200, 403), url
        assert c.get(url, headers=k1h).status_code == 404, url
    listed = {o["id"] for o in c.get("/api/v1/orgs", headers=k1h).get_json()}
    assert t2 not in listed and t2d1 not in listed
    listed = {o["id"] for o in c.get("/api/v1/orgs", headers=k2h).get_json()}
    assert {t2, t2d1} <= listed
    # The township's own admin still sees their township (grant keyed by id).
    t2a = bearer("t2admin")
    assert c.get(f"/api/v1/orgs/{t2d1}", headers=t2a).status_code == 200
    assert {p["id"] for p in c.get("/api/v1/people", headers=t2a).get_json()} >= {iso.person["T2"]}
    # And the page of the county supervisor follows too.
    pc = PageClient(app).login("countysup")
    assert pc.get(f"/orgs/{t2}").status_code == 404
    assert PageClient(app).login("k2sup@P", "k2sup-password-1").get(f"/orgs/{t2}").status_code == 200
    # The chain is intact after the move.
    assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0


def test_move_through_the_page(app, world, backend):
    pc = PageClient(app).login("policy")
    t4 = world.ids["P1-T4"]
    resp = pc.post(f"/orgs/{t4}/move", {"parent_id": world.ids["P1-K1"]})
    assert resp.status_code == 302
    assert _node(app, t4)["parent_id"] == world.ids["P1-K1"]


@pytest.mark.parametrize("case", ["self", "child", "grandchild", "agency-cycle"])
def test_cycles_are_refused(app, world, bearer, backend, case):
    h = bearer("policy")
    c = app.test_client()
    if case == "agency-cycle":
        # Agencies nest, so kinds alone would allow this one.
        a = c.post("/api/v1/orgs", headers=h, json={"parent_id": world.ids["P1-P"], "kind": "agency",
                                                    "code": "A1", "name": "省直单位"}).get_json()
        b = c.post("/api/v1/orgs", headers=h, json={"parent_id": a["id"], "kind": "agency",
                                                    "code": "A1-1", "name": "下属单位"}).get_json()
        node, parent = a["id"], b["id"]
    else:
        node = world.ids["P1-K1"]
        parent = {"self": node, "child": world.ids["P1-T1"], "grandchild": world.ids["P1-T1-D1"]}[case]
    before = fingerprint(app)
    resp = c.post(f"/api/v1/orgs/{node}/move", headers=h, json={"parent_id": parent})
    assert resp.status_code == 422, resp.get_json()
    assert "cycle" in resp.get_json()["errors"]["parent_id"][0]
    assert fingerprint(app) == before


def test_bad_moves(app, world, bearer, backend):
    h = bearer("policy")
    c = app.test_client()
    before = fingerprint(app)
    cases = [
        (world.ids["P1-T1"], world.ids["P1-T2"], 422, "parent_id"),      # township under township
        (world.ids["P1-P"], world.ids["P1-C1"], 422, "parent_id"),       # the province itself
        (world.ids["P1-T1"], world.ids["P2-K1"], 404, None),             # another province: invisible
        (world.ids["P1-T1"], 999999, 404, None),                         # unknown parent
        (999999, world.ids["P1-K1"], 404, None),                         # unknown node
    ]
    for node, parent, status, field in cases:
        resp = c.post(f"/api/v1/orgs/{node}/move", headers=h, json={"parent_id": parent})
        assert resp.status_code == status, (node, parent, resp.get_json())
        if field:
            assert field in resp.get_json()["errors"]
    resp = c.post(f"/api/v1/orgs/{world.ids['P1-T1']}/move", headers=h, json={"parent_id": "K2"})
    assert resp.status_code == 422 and "parent_id" in resp.get_json()["errors"]
    assert fingerprint(app) == before


def test_duplicates_and_unknown_references(app, world, bearer, backend):
    h = bearer("policy")
    c = app.test_client()
    before = fingerprint(app)
    resp = c.post("/api/v1/orgs", headers=h, json={"parent_id": world.ids["P1-K1"], "kind": "township",
                                                   "code": "T2", "name": "重码"})
    assert resp.status_code == 409 and "code" in resp.get_json()["errors"]
    resp = c.patch(f"/api/v1/orgs/{world.ids['P1-T1']}", headers=h, json={"code": "T2"})
    assert resp.status_code == 409 and "code" in resp.get_json()["errors"]
    resp = c.post("/api/v1/orgs", headers=h, json={"parent_id": 999999, "kind": "township", "code": "T7",
                                                   "name": "无父"})
    assert resp.status_code == 404
    body = {"username": "T1ADMIN", "display_name": "重名", "password": "a-long-password-1",
            "org_id": world.ids["P1-T1"]}
    resp = c.post("/api/v1/users", headers=h, json=body)
    # A name outside the province's namespace: 422 whether or not it is taken (in-namespace
    # duplicates are 409: tests/foundation/test_username_namespace.py).
    assert resp.status_code == 422 and "username" in resp.get_json()["errors"]
    resp = c.post("/api/v1/users", headers=h, json={**body, "username": "fresh-user@P", "org_id": 999999})
    assert resp.status_code == 404
    # A grant on a node of another province: 404, and the account is not left behind.
    resp = c.post("/api/v1/users", headers=h, json={**body, "username": "fresh-user@P",
                                                    "grants": [{"role": "staff", "org_id": world.ids["P2-T1"]}]})
    assert resp.status_code == 404
    # A role the grantor may not hand out: 422 naming the field, nothing written.
    resp = c.post("/api/v1/users", headers=h, json={**body, "username": "fresh-user@P",
                                                    "grants": [{"role": "platform_operator", "org_id": None}]})
    assert resp.status_code == 422, resp.get_json()
    assert fingerprint(app) == before
    # CLI: an unknown org code is one line and exit 1.
    result = app.test_cli_runner().invoke(args=["users", "create", "cli-user", "--org", "NOPE",
                                                "--role", "staff", "--password", "a-long-password-1"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["Error: The input is not valid. org: unknown org code NOPE"]
    assert fingerprint(app) == before


def test_malformed_and_oversize_bodies(app, world, bearer, backend):
    h = bearer("policy")
    c = app.test_client()
    before = fingerprint(app)
    url = "/api/v1/orgs"
    resp = c.post(url, headers={**h, "Content-Type": "application/json"}, data=b'{"parent_id": 1, "kind": ')
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.get_json()["code"] == 400
    resp = c.post(url, headers={**h, "Content-Type": "application/json"}, data=b"[1, 2, 3]")
    assert resp.status_code == 422
    resp = c.post(url, headers={**h, "Content-Type": "application/json"}, data="\xff\xfe".encode("latin-1"))
    assert 400 <= resp.status_code < 500
    # Unknown fields: 422 naming them.
    resp = c.post(url, headers=h, json={"parent_id": world.ids["P1-K1"], "kind": "township", "code": "T6",
                                        "name": "x", "root_id": world.ids["P2-P"], "path": "/1/"})
    assert resp.status_code == 422
    assert set(resp.get_json()["errors"]) == {"root_id", "path"}
    # Wrong types and missing fields: 422 with field messages.
    resp = c.post(url, headers=h, json={"parent_id": "abc", "kind": "castle"})
    assert resp.status_code == 422
    assert {"parent_id", "kind", "code", "name"} <= set(resp.get_json()["errors"])
    # Oversize JSON: 413.
    app.config["KAOHE_MAX_JSON_BYTES"] = 2048
    resp = c.post(url, headers=h, json={"parent_id": world.ids["P1-K1"], "kind": "township", "code": "T5",
                                        "name": "x" * 5000})
    assert resp.status_code == 413, resp.get_data(as_text=True)
    assert resp.get_json()["code"] == 413
    # Oversize form posts on pages: 413 too.
    app.config["MAX_CONTENT_LENGTH"] = 4096
    pc = PageClient(app).login("policy")
    resp = pc.post(f"/orgs/{world.ids['P1-K1']}/children", {"kind": "township", "code": "T5", "name": "x" * 10000})
    assert resp.status_code == 413
    assert fingerprint(app) == before
