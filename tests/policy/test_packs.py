"""policy.yaml in tenant packs: the shipped packs load (twice = no change),
round trip load → export → load keeps the state, malformed packs are refused
naming the file and key with nothing loaded, a changed file updates only what
changed."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from kaohe.audit.models import AuditEntry
from kaohe.extensions import db
from kaohe.policy import registry as reg
from kaohe.policy.models import PolicySetting
from kaohe.tenancy.models import OrgNode
from kaohe.tenancy.scope import Scope, apply_scope

TENANTS = Path(__file__).resolve().parents[2] / "tenants"


def _state(app, code="630000"):
    with app.app_context():
        apply_scope(Scope.system("t"))
        root = db.session.execute(select(OrgNode).where(OrgNode.code == code, OrgNode.parent_id.is_(None))).scalar_one()
        rows = db.session.execute(select(PolicySetting, OrgNode.code).join(OrgNode, OrgNode.id == PolicySetting.org_id)
                                  .where(PolicySetting.root_id == root.id)).all()
        out = {(c, r.key, r.year): (r.has_value, r.value, r.locked, r.min_value, r.max_value, r.allowed, r.note)
               for r, c in rows}
        db.session.remove()
        return out


def _load(runner, path):
    return runner.invoke(args=["tenants", "load", str(path)])


def test_qinghai_pack_loads_idempotently_and_round_trips(app, runner, tmp_path):
    r = _load(runner, TENANTS / "qinghai-demo")
    assert r.exit_code == 0, r.output
    state = _state(app)
    assert ("630000", "annual.weights", 0) in state and state[("630000", "annual.weights", 0)][2] is True
    assert state[("630122", "quota.base_rate", 0)][3:5] == (0.15, 0.25)
    r = _load(runner, TENANTS / "qinghai-demo")
    assert r.exit_code == 0 and "extra_changes 0" in r.output
    assert _state(app) == state

    out = tmp_path / "export"
    r = runner.invoke(args=["tenants", "export", "630000", str(out)])
    assert r.exit_code == 0, r.output
    r = _load(runner, out)
    assert r.exit_code == 0 and "extra_changes 0" in r.output, r.output
    assert _state(app) == state

    # a county exported alone is wrapped in its ancestor chain and loads to the same state
    out2 = tmp_path / "county"
    r = runner.invoke(args=["tenants", "export", "630122", str(out2)])
    assert r.exit_code == 0, r.output
    assert (out2 / "org.yaml").exists() and yaml.safe_load((out2 / "org.yaml").read_text())["kind"] == "province"
    r = _load(runner, out2)
    assert r.exit_code == 0 and "extra_changes 0" in r.output, r.output
    assert _state(app) == state

    # policy show with provenance
    r = runner.invoke(args=["policy", "show", "630122100", "--year", "2026"])
    assert r.exit_code == 0, r.output
    assert "locked by 630000" in r.output and "min 15% by 630122" in r.output
    r = runner.invoke(args=["policy", "show", "630122100", "--json"])
    import json
    view = json.loads(r.output)
    rates = [s for g in view["groups"] for s in g["settings"] if s["key"] == "quota.base_rate"][0]
    assert rates["value"] == 0.2 and rates["source"]["code"] == "630122100"
    r = runner.invoke(args=["policy", "show", "NOPE"])
    assert r.exit_code != 0 and "unknown org code" in r.output and "Traceback" not in r.output


def test_changed_file_updates_only_what_changed(app, runner, tmp_path):
    pack = tmp_path / "qh"
    shutil.copytree(TENANTS / "qinghai-demo", pack)
    assert _load(runner, pack).exit_code == 0
    before = _state(app)
    f = pack / "630100-Xining" / "630122-Huangzhong" / "policy.yaml"
    data = yaml.safe_load(f.read_text())
    data["settings"]["annual.publicity_working_days"]["value"] = 6
    f.write_text(yaml.safe_dump(data, allow_unicode=True))
    r = _load(runner, pack)
    assert r.exit_code == 0 and "extra_changes 1" in r.output, r.output
    after = _state(app)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert changed == {("630122", "annual.publicity_working_days", 0)}
    with app.app_context():
        apply_scope(Scope.system("t"))
        e = db.session.execute(select(AuditEntry).where(AuditEntry.action == "policy.pack.set")
                               .order_by(AuditEntry.id.desc())).scalars().first()
        assert (e.before["value"], e.after["value"]) == (7, 6)


BAD = [
    ("630100-Xining/policy.yaml", {"settings": {"quota.no_such_key": {"value": 1}}}, "quota.no_such_key"),
    ("630100-Xining/policy.yaml", {"settings": {"quota.base_rate": {"value": "twenty"}}}, "quota.base_rate"),
    ("630100-Xining/policy.yaml", {"settings": {"quota.base_rate": {"value": 0.35}}}, "quota.base_rate"),
    ("630100-Xining/630122-Huangzhong/630122101-Lushaer/policy.yaml", {"settings": {"routine.cycle": {"value": "month"}}},
     "routine.cycle"),
    ("630100-Xining/policy.yaml", {"settings": {"quota.hard_max_rate": {"value": 0.25}}}, "quota.hard_max_rate"),
    ("630100-Xining/policy.yaml", {"settings": {"quota.base_rate": {"bounds": {"min": 0.05}}}}, "quota.base_rate"),
    ("630100-Xining/policy.yaml", {"settings": {"indicators.common": {"value": {"remove": ["ZZ"]}}}},
     "indicators.common"),
    ("630100-Xining/policy.yaml", {"years": {"twenty": {}}}, "years"),
]


@pytest.mark.parametrize("rel,content,key", BAD)
def test_malformed_pack_is_refused_whole(app, runner, tmp_path, rel, content, key):
    pack = tmp_path / "bad"
    shutil.copytree(TENANTS / "qinghai-demo", pack)
    (pack / rel).write_text(yaml.safe_dump(content, allow_unicode=True))
    r = _load(runner, pack)
    assert r.exit_code != 0
    assert rel.split("/")[-2] in r.output and "policy.yaml" in r.output and key in r.output, r.output
    assert "Traceback" not in r.output
    with app.app_context():
        apply_scope(Scope.system("t"))
        assert db.session.execute(select(func.count()).select_from(OrgNode)).scalar() == 0
        assert db.session.execute(select(func.count()).select_from(PolicySetting)).scalar() == 0


def test_national_pack_states_every_national_default(app, runner):
    r = _load(runner, TENANTS / "national")
    assert r.exit_code == 0, r.output
    state = _state(app, "NATIONAL")
    assert {k for (_c, k, _y) in state} == set(reg.REGISTRY)
    for key, setting in reg.REGISTRY.items():
        assert state[("NATIONAL", key, 0)][1] == setting.default, key
    r = _load(runner, TENANTS / "national")
    assert "extra_changes 0" in r.output
