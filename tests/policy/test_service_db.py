"""The cascade against a real database (both backends): set / lock / bound /
clear through the service, resolution with provenance, caching, year
versioning and snapshots, audit entries."""
from __future__ import annotations

from sqlalchemy import event, func, select

import pytest

from kaohe.audit.models import AuditEntry
from kaohe.core.errors import Invalid
from kaohe.extensions import db
from kaohe.policy import resolve, settings
from kaohe.policy.models import PolicySetting
from kaohe.policy.resolve import effective_policy

from .conftest import node


def _count_queries():
    counter = {"n": 0}

    def before(conn, cursor, statement, params, context, executemany):
        counter["n"] += 1
    return counter, before


def test_values_locks_bounds_and_provenance(world, sys_ctx):
    with sys_ctx():
        P, C1, K1, T1, K2 = (node(world, k) for k in ("P1-P", "P1-C1", "P1-K1", "P1-T1", "P1-K2"))
        settings.set_value(P, "quota.base_rate", 0.15)
        settings.set_bounds(P, "quota.base_rate", min_value=0.10, max_value=0.30)
        settings.set_value(K1, "quota.base_rate", 0.25)
        db.session.commit()

        pol = effective_policy(T1, 2026)
        assert pol["quota.base_rate"] == 0.25
        prov = pol.provenance("quota.base_rate")
        assert (prov["source"], prov["inherited"], prov["locked_by"]) == (K1.id, True, None)
        assert (prov["bounds"]["min"], prov["bounds"]["min_by"]) == (0.10, P.id)
        assert effective_policy(K2, 2026)["quota.base_rate"] == 0.15

        # outside the province's bounds: refused, naming the bound and who set it
        with pytest.raises(Invalid) as exc:
            settings.set_value(T1, "quota.base_rate", 0.35)
        msg = exc.value.errors["quota.base_rate"][0]
        assert "30%" in msg and P.code in msg and "maximum" in msg
        db.session.rollback()

        # the city locks: the county's override below is cleared and listed in the audit entry
        C1 = node(world, "P1-C1")
        cleared = settings.lock(C1, "quota.base_rate")
        db.session.commit()
        assert [c["code"] for c in cleared] == [node(world, "P1-K1").code]
        entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "policy.lock")).scalar_one()
        assert entry.after["cleared_below"][0]["value"] == 0.25
        T1 = node(world, "P1-T1")
        pol = effective_policy(T1, 2026)
        assert pol["quota.base_rate"] == 0.15
        assert pol.provenance("quota.base_rate")["locked_by"] == C1.id
        assert pol.locked_above("quota.base_rate") == C1.id
        with pytest.raises(Invalid) as exc:
            settings.set_value(node(world, "P1-K1"), "quota.base_rate", 0.2)
        assert "locked by" in exc.value.errors["quota.base_rate"][0] and C1.code in exc.value.errors["quota.base_rate"][0]
        db.session.rollback()

        settings.unlock(node(world, "P1-C1"), "quota.base_rate")
        settings.set_value(node(world, "P1-K1"), "quota.base_rate", 0.2)
        assert settings.clear_value(node(world, "P1-K1"), "quota.base_rate") is True
        db.session.commit()
        assert effective_policy(node(world, "P1-T1"), 2026)["quota.base_rate"] == 0.15
        actions = [a for (a,) in db.session.execute(select(AuditEntry.action).where(
            AuditEntry.action.like("policy.%")).order_by(AuditEntry.id))]
        assert actions == ["policy.set", "policy.bound", "policy.set", "policy.lock", "policy.unlock",
                           "policy.set", "policy.clear"]


def test_province_only_unknown_key_wrong_type(world, sys_ctx):
    with sys_ctx():
        K1 = node(world, "P1-K1")
        for key, value, words in [
            ("quota.hard_max_rate", 0.25, "province"),
            ("quota.nonsense", 1, "unknown setting"),
            ("quota.base_rate", "high", "number"),
            ("routine.grade_bands", {"hao": 90, "jiaohao": 95, "yiban": 60}, "fall"),
        ]:
            with pytest.raises(Invalid) as exc:
                settings.set_value(K1, key, value)
            assert key in exc.value.errors and words in exc.value.errors[key][0]
        with pytest.raises(Invalid):
            settings.set_bounds(K1, "routine.low_streak", min_value=1, max_value=2)   # not a bounded key
        db.session.rollback()
        assert db.session.execute(select(func.count()).select_from(PolicySetting)).scalar() == 0


def test_bounds_must_nest_and_respect_existing_overrides(world, sys_ctx):
    with sys_ctx():
        P, K1, T1 = (node(world, k) for k in ("P1-P", "P1-K1", "P1-T1"))
        settings.set_bounds(P, "quota.rounding", allowed=["floor", "half_up"])
        with pytest.raises(Invalid):
            settings.set_value(T1, "quota.rounding", "ceil")
        with pytest.raises(Invalid):
            settings.set_bounds(K1, "quota.rounding", allowed=["ceil"])      # wider than the province's
        settings.set_value(T1, "quota.rounding", "half_up")
        with pytest.raises(Invalid) as exc:
            settings.set_bounds(K1, "quota.rounding", allowed=["floor"])     # T1 already uses half_up
        assert T1.code in exc.value.errors["quota.rounding"][0]
        db.session.commit()
        assert effective_policy(node(world, "P1-T1"), 2026)["quota.rounding"] == "half_up"


def test_year_specific_values_and_frozen_snapshot(world, sys_ctx):
    with sys_ctx():
        P, T1 = node(world, "P1-P"), node(world, "P1-T1")
        settings.set_value(P, "annual.special_weight", 0.1)
        settings.set_value(T1, "annual.special_weight", 0.05, year=2027)
        db.session.commit()
        snap_2026 = effective_policy(T1, 2026).snapshot()
        assert snap_2026["annual.special_weight"] == 0.1
        pol27 = effective_policy(T1, 2027)
        assert pol27["annual.special_weight"] == 0.05
        assert pol27.provenance("annual.special_weight")["source_year"] == 2027
        import json
        json.dumps(snap_2026)            # plain JSON
        # a later edit never changes the frozen snapshot
        settings.set_value(node(world, "P1-P"), "annual.special_weight", 0.2)
        db.session.commit()
        assert snap_2026["annual.special_weight"] == 0.1
        assert effective_policy(node(world, "P1-T1"), 2026)["annual.special_weight"] == 0.2
        # values handed out are copies: mutating one does not touch the cache
        pol = effective_policy(node(world, "P1-T1"), 2026)
        pol["quota.rate_by_org_grade"]["youxiu"] = 0.9
        assert effective_policy(node(world, "P1-T1"), 2026)["quota.rate_by_org_grade"]["youxiu"] == 0.2


def test_resolution_is_one_query_cold_and_cached_warm(world, sys_ctx, app):
    with sys_ctx():
        P, T1 = node(world, "P1-P"), node(world, "P1-T1")
        for n in (P, node(world, "P1-C1"), node(world, "P1-K1"), T1):
            settings.set_value(n, "routine.low_score", 50 + n.depth)
        db.session.commit()
        T1 = node(world, "P1-T1")
        resolve.cache_clear()
        counter, hook = _count_queries()
        event.listen(db.engine, "before_cursor_execute", hook)
        try:
            effective_policy(T1, 2026)
            cold = counter["n"]
            effective_policy(T1, 2026)
            same_tx = counter["n"] - cold
            db.session.commit()
            T1.path  # reload the expired node outside the measurement
            before = counter["n"]
            effective_policy(T1, 2026)
            new_tx = counter["n"] - before
        finally:
            event.remove(db.engine, "before_cursor_execute", hook)
        # token + settings (+ the scope set_config on PostgreSQL at transaction start)
        extra = 1 if db.engine.dialect.name == "postgresql" else 0
        assert cold <= 2 + extra
        assert same_tx == 0
        assert new_tx <= 1 + extra
        assert effective_policy(T1, 2026)["routine.low_score"] == 50 + T1.depth
        # a change elsewhere in the province invalidates the cache
        settings.set_value(node(world, "P1-P"), "routine.low_streak", 4)
        db.session.commit()
        assert effective_policy(node(world, "P1-T1"), 2026)["routine.low_streak"] == 4


def test_additive_library(world, sys_ctx):
    with sys_ctx():
        P, K1, T1 = (node(world, k) for k in ("P1-P", "P1-K1", "P1-T1"))
        settings.set_value(P, "indicators.common", {"add": [
            {"code": "ZZ", "name": "政治素质", "category": "de", "mandatory": True},
            {"code": "KQ", "name": "考勤", "category": "qin"}]})
        settings.set_value(K1, "indicators.common", {"add": [{"code": "K-1", "name": "县特色", "category": "ji"}],
                                                   "remove": ["KQ"]})
        with pytest.raises(Invalid) as exc:
            settings.set_value(T1, "indicators.common", {"remove": ["ZZ"]})
        assert "mandatory" in exc.value.errors["indicators.common"][0]
        with pytest.raises(Invalid):
            settings.set_value(T1, "indicators.common", {"add": [{"code": "ZZ", "name": "x", "category": "de"}]})
        db.session.commit()
        items = effective_policy(node(world, "P1-T1"), 2026)["indicators.common"]
        assert [(i["code"], i["source"]) for i in items] == [("ZZ", P.id), ("K-1", K1.id)]
