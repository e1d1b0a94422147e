"""Issue 13: the platform operator creates a province from a tenant pack in
the pages (not only `kaohe tenants load`) and its first policy
administrator, who sets a password at the first sign-in.  Operator only."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from kaohe.audit.models import AuditEntry
from kaohe.auth.models import RoleGrant, User
from kaohe.extensions import db
from kaohe.tenancy.models import OrgNode
from kaohe.tenancy.scope import Scope, apply_scope
from kaohe.testing.world import PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"|name="csrf-token" content="([^"]+)"')


class Browser:
    def __init__(self, app, username=None, password=PASSWORD):
        self.c = app.test_client()
        if username:
            resp = self.post("/login", {"username": username, "password": password}, page="/login")
            assert resp.status_code in (302, 303), resp.status_code

    def token(self, page):
        m = CSRF.search(self.c.get(page).get_data(as_text=True))
        return m.group(1) or m.group(2)

    def get(self, url):
        return self.c.get(url)

    def post(self, url, data, page="/login"):
        return self.c.post(url, data={**data, "csrf_token": self.token(page)})


def _pack(root, code="990000", bad=False):
    (root / "t").mkdir(parents=True)
    (root / "t" / "org.yaml").write_text(
        f"code: '{code}'\nkind: province\nname: 测试省\nname_en: Test province\n", encoding="utf-8")
    county = root / "t" / "991000-County"
    county.mkdir()
    kind = "galaxy" if bad else "county"
    (county / "org.yaml").write_text(f"code: '991000'\nkind: {kind}\nname: 测试县\n"
                                     "children:\n  - {code: '991001', kind: township, name: 测试镇, "
                                     "is_assessment_unit: true}\n", encoding="utf-8")


def _count(app, model, *where):
    with app.app_context():
        apply_scope(Scope.system("test"))
        n = db.session.execute(select(func.count()).select_from(model).where(*where)).scalar()
        db.session.remove()
    return n


def test_operator_loads_a_pack_and_creates_the_first_admin(app, world, tmp_path):
    good, bad = tmp_path / "good", tmp_path / "bad"
    _pack(good)
    _pack(bad, code="980000", bad=True)
    app.config["KAOHE_TENANTS_DIR"] = str(bad)
    op = Browser(app, "operator")
    html = op.get("/platform/provinces").get_data(as_text=True)
    assert "测试省" in html and 'id="load-t"' in html
    nodes = _count(app, OrgNode)
    resp = op.post("/platform/provinces/load", {"pack": "t"}, page="/platform/provinces")
    assert resp.status_code == 422 and 'id="pack-errors"' in resp.get_data(as_text=True)
    assert "galaxy" in resp.get_data(as_text=True)
    assert _count(app, OrgNode) == nodes                                          # nothing half written
    assert op.post("/platform/provinces/load", {"pack": "../etc"}, page="/platform/provinces").status_code == 422

    app.config["KAOHE_TENANTS_DIR"] = str(good)
    resp = op.post("/platform/provinces/load", {"pack": "t"}, page="/platform/provinces")
    assert resp.status_code == 200 and 'id="load-report"' in resp.get_data(as_text=True)
    assert _count(app, OrgNode) == nodes + 3
    again = op.post("/platform/provinces/load", {"pack": "t"}, page="/platform/provinces")
    assert again.status_code == 200 and _count(app, OrgNode) == nodes + 3        # idempotent
    with app.app_context():
        apply_scope(Scope.system("test"))
        prov = db.session.execute(select(OrgNode).where(OrgNode.code == "990000")).scalar_one().id
        db.session.remove()

    bad_form = op.post(f"/platform/provinces/{prov}/admins", {"username": "x", "display_name": "", "mode": "code"},
                       page="/platform/provinces")
    assert bad_form.status_code == 422 and _count(app, User, User.username == "x") == 0
    resp = op.post(f"/platform/provinces/{prov}/admins",
                   {"username": "tp_policy", "display_name": "测试省政策管理员", "mode": "code", "days": "7"},
                   page="/platform/provinces")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    code = re.search(r'id="admin-code">([A-Z0-9]+)<', resp.get_data(as_text=True)).group(1)
    with app.app_context():
        apply_scope(Scope.system("test"))
        user = db.session.execute(select(User).where(User.username == "tp_policy")).scalar_one()
        assert user.must_change_password and user.activation_hash and code not in user.activation_hash
        assert {(g.role, g.org_id) for g in db.session.execute(
            select(RoleGrant).where(RoleGrant.user_id == user.id)).scalars()} == {("policy_admin", prov)}
        db.session.remove()
    assert _count(app, AuditEntry, AuditEntry.action == "province.first_admin") == 1
    # The same username again: refused, nothing written.
    dup = op.post(f"/platform/provinces/{prov}/admins",
                  {"username": "tp_policy", "display_name": "重复", "mode": "code"}, page="/platform/provinces")
    assert dup.status_code == 422

    # The new administrator activates with the code and is in the province.
    new = Browser(app)
    resp = new.post("/activate", {"username": "tp_policy", "code": code, "password": "a-new-password-1",
                                  "password2": "a-new-password-1"}, page="/activate")
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:300]
    assert "测试县" in new.get(f"/orgs/{prov}").get_data(as_text=True)
    # With an initial password instead: the first sign-in goes to the password page.
    op.post(f"/platform/provinces/{prov}/admins", {"username": "tp_policy2", "display_name": "二号", "mode": "password",
                                                   "password": "initial-password-9"}, page="/platform/provinces")
    second = Browser(app, "tp_policy2", "initial-password-9")
    resp = second.get("/")
    assert resp.status_code in (302, 303) and "/account/password" in resp.headers["Location"]


def test_provinces_api_operator_only(app, client, world, api_token, tmp_path):
    _pack(tmp_path)
    app.config["KAOHE_TENANTS_DIR"] = str(tmp_path)
    for name in ("policy", "t1admin", "countysup"):
        h = api_token(name)
        assert client.get("/api/v1/platform/packs", headers=h).status_code == 403
        assert client.post("/api/v1/platform/packs/load", headers=h, json={"pack": "t"}).status_code == 403
        assert client.post(f"/api/v1/platform/provinces/{world.p1.nodes['P'].id}/admins", headers=h,
                           json={"username": "evil", "display_name": "x"}).status_code == 403
        pages = Browser(app, name)
        assert pages.get("/platform/provinces").status_code == 403
    assert _count(app, OrgNode, OrgNode.code == "990000") == 0
    assert client.get("/api/v1/platform/packs").status_code == 401

    op = api_token("operator")
    packs = client.get("/api/v1/platform/packs", headers=op).get_json()
    assert [(p["name"], p["code"], p["province_id"]) for p in packs] == [("t", "990000", None)]
    assert client.post("/api/v1/platform/packs/load", headers=op, json={"pack": "nope"}).status_code == 422
    report = client.post("/api/v1/platform/packs/load", headers=op, json={"pack": "t"}).get_json()
    assert report["created"] == 3
    prov = report["root_id"]
    resp = client.post(f"/api/v1/platform/provinces/{prov}/admins", headers=op,
                       json={"username": "tp_api", "display_name": "接口", "mode": "password"})
    assert resp.status_code == 422 and "password" in str(resp.get_json()["errors"])
    resp = client.post(f"/api/v1/platform/provinces/{prov}/admins", headers=op,
                       json={"username": "tp_api", "display_name": "接口"})
    assert resp.status_code == 201 and len(resp.get_json()["code"]) == 10
    county = client.get("/api/v1/orgs?code=991000", headers=op).get_json()[0]["id"]
    assert client.post(f"/api/v1/platform/provinces/{county}/admins", headers=op,
                       json={"username": "tp_api2", "display_name": "接口"}).status_code == 404
