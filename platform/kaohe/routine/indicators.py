"""The indicator library of a unit: the common indicators inherited from the
policy (they cannot be overridden) and the unit's own."""
from __future__ import annotations

from ..web.messages import N_
from sqlalchemy import select

from ..audit.service import record
from ..core.errors import Conflict, Invalid
from ..extensions import db
from ..tenancy.models import OrgNode
from . import calc
from .common import check_version, invalid, live_policy, owned_by_unit, today
from .models import Indicator


def common_indicators(policy: dict) -> dict[str, dict]:
    """The policy's common items ({code, name, category, max_points,
    mandatory}) as indicators: rated 0..max_points in their dimension."""
    out = {}
    for item in policy.get("indicators.common") or []:
        if not isinstance(item, dict) or not item.get("code"):
            continue
        ind = {"code": item["code"], "name": item.get("name"), "name_en": item.get("name_en"),
               "dimension": item.get("dimension") or item.get("category") or "de",
               "kind": item.get("kind") or "scored", "max": item.get("max", item.get("max_points") or 10),
               "mandatory": bool(item.get("mandatory")), "source": "common"}
        for k in ("levels", "per", "cap", "veto", "cap_grade", "formula"):
            if k in item:
                ind[k] = item[k]
        if not calc.validate_indicator(ind):
            out[ind["code"]] = ind
    return out


def library(unit: OrgNode, policy: dict | None = None) -> dict[str, dict]:
    """Common indicators (inherited, cannot be overridden) + the unit's own."""
    policy = policy or live_policy(unit, today().year)
    lib = common_indicators(policy)
    rows = db.session.execute(select(Indicator).where(Indicator.root_id == unit.root_id, Indicator.org_id == unit.id,
                                                      Indicator.active.is_(True)).order_by(Indicator.code)).scalars()
    for ind in rows:
        lib.setdefault(ind.code, ind.as_spec())
    return lib


SPEC_KEYS = ("levels", "max", "per", "cap", "veto", "cap_grade", "formula")


def _indicator_spec(data: dict) -> dict:
    return {k: data[k] for k in SPEC_KEYS if data.get(k) is not None}



def save_indicator(unit: OrgNode, data: dict, indicator: Indicator | None = None,
                   expected_version: int | None = None) -> Indicator:
    owned_by_unit(unit, indicator)
    spec = {"code": data.get("code") or (indicator.code if indicator else None), "kind": data["kind"],
            "dimension": data["dimension"], **_indicator_spec(data)}
    errs = calc.validate_indicator(spec)
    if errs:
        raise Invalid(errs)
    if data.get("code") in common_indicators(live_policy(unit, today().year)):
        raise invalid("code", N_("This code belongs to a common indicator inherited from above; choose another."))
    if indicator is None:
        dup = db.session.execute(select(Indicator.id).where(Indicator.org_id == unit.id,
                                                            Indicator.code == data["code"])).first()
        if dup:
            raise Conflict({"code": [N_("The unit already has an indicator with this code.")]})
        indicator = Indicator(root_id=unit.root_id, org_id=unit.id, code=data["code"])
        db.session.add(indicator)
        before = None
    else:
        check_version(indicator, expected_version, lambda o: o.as_spec())
        before = indicator.as_spec()
    indicator.name = data["name"]
    indicator.name_en = data.get("name_en")
    indicator.dimension = data["dimension"]
    indicator.kind = data["kind"]
    indicator.spec = _indicator_spec(data)
    indicator.description = data.get("description")
    if "active" in data:
        indicator.active = bool(data["active"])
    db.session.flush()
    record("routine.indicator.save", root_id=unit.root_id, org_id=unit.id, target_type="routine_indicator",
           target_id=indicator.id, before=before, after=indicator.as_spec())
    return indicator
