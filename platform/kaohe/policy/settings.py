"""Policy settings along the org tree: set and clear values, lock and
unlock, bounds, each checked against the layers above (locks, bounds,
additive lists), audited, with the policy token bumped; and ``describe``, a
node's effective policy with provenance as data (API, pages, CLI).
Flush, never commit (the request or job commits once)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Sequence

from sqlalchemy import select

from ..audit.service import current_actor, record
from ..core.clock import local_today
from ..core.errors import Invalid
from ..extensions import db
from ..tenancy.models import OrgNode
from . import calc
from . import registry as reg
from .labels import check_year, names_on_path, node_label, node_ref, path_nodes
from .models import ALL_YEARS, PolicySetting
from ..web.messages import N_, register_templates

# refusals with values in them: pages show them in the reader's language (web.messages)
LOCKED = N_("locked by %(who)s: it cannot be changed here")
NOT_INHERITED = N_("cannot remove %(code)s: it is not inherited here")
MANDATORY = N_("cannot remove %(code)s: it is mandatory (set by %(who)s)")
ALREADY_INHERITED = N_("item %(code)s is already inherited from %(who)s")
# (one message per bound: a template "%(name)s must be ..." would also catch other services' messages)
MUST_BE_NUMBER = {"min": N_("the minimum must be a number"), "max": N_("the maximum must be a number")}
BETWEEN = {"min": N_("the minimum must be between %(lo)s and %(hi)s"),
           "max": N_("the maximum must be between %(lo)s and %(hi)s")}
register_templates(LOCKED, NOT_INHERITED, MANDATORY, ALREADY_INHERITED, *BETWEEN.values())
from .resolve import (Layer, _collect_bounds, bound_violation, bump_version, effective_policy, merge_rows,
                      resolve_key)


# -- loading the layers of one key ---------------------------------------------

def _rows_on_path(node: OrgNode, key: str, year: int) -> list[PolicySetting]:
    years = (ALL_YEARS,) if year == ALL_YEARS else (ALL_YEARS, year)
    return list(db.session.execute(
        select(PolicySetting).where(PolicySetting.root_id == node.root_id, PolicySetting.org_id.in_(node.path_ids),
                                    PolicySetting.key == key, PolicySetting.year.in_(years))
    ).scalars())

def _layers(node: OrgNode, rows: Sequence[PolicySetting]) -> list[Layer]:
    by_node: dict[int, list] = {}
    for r in rows:
        by_node.setdefault(r.org_id, []).append(r)
    return [merge_rows(nid, by_node[nid]) if nid in by_node else Layer(nid) for nid in node.path_ids]

def _own_row(node: OrgNode, key: str, year: int, rows: Sequence[PolicySetting]) -> PolicySetting | None:
    return next((r for r in rows if r.org_id == node.id and r.year == year and r.key == key), None)

def _row_state(row: PolicySetting | None) -> dict | None:
    if row is None:
        return None
    out: dict[str, Any] = {}
    if row.has_value:
        out["value"] = row.value
    if row.locked:
        out["locked"] = True
    if row.bounds:
        out["bounds"] = {k: v for k, v in row.bounds.items() if v is not None}
    return out or None

def _stamp(row: PolicySetting) -> None:
    actor = current_actor()
    row.updated_by = actor.id
    row.updated_by_name = actor.name
    row.updated_at = dt.datetime.now(dt.timezone.utc)

def _get_or_new(node: OrgNode, key: str, year: int, rows) -> PolicySetting:
    row = _own_row(node, key, year, rows)
    if row is None:
        row = PolicySetting(root_id=node.root_id, org_id=node.id, key=key, year=year, has_value=False,
                            locked=False)
        db.session.add(row)
    return row

def _drop_if_empty(row: PolicySetting) -> None:
    if not row.has_value and not row.locked and row.bounds is None:
        if row.id is not None:
            db.session.delete(row)
        else:
            db.session.expunge(row)

def _audit(action: str, node: OrgNode, key: str, year: int, before, after, reason=None) -> None:
    record(action, root_id=node.root_id, org_id=node.id, target_type="policy_setting",
           target_id=f"{node.id}:{key}:{year}", before=before, after=after, reason=reason)

def _check_not_locked_above(node: OrgNode, key: str, layers: list[Layer], names) -> None:
    for lay in layers[:-1]:
        if lay.locked:
            raise Invalid({key: [LOCKED % {"who": node_label(names.get(lay.node_id))}]})

def _check_level(node: OrgNode, setting: reg.Setting) -> None:
    if setting.kind == reg.PROVINCE_ONLY and node.parent_id is not None:
        raise Invalid({setting.key: [N_("only the province may set this (province-only setting)")]})

def _bound_message(setting, value, bounds, names) -> str | None:
    side = bound_violation(setting, value, bounds)
    if side is None:
        return None
    who = node_label(names.get(bounds.get(f"{side}_by")))
    if side == "allowed":
        return f"{value!r} is not among the values allowed by {who}: {', '.join(map(str, bounds['allowed']))}"
    fmt = calc.pct if setting.is_rate else (lambda x: f"{x:g}")
    return _limit_message(side, fmt(bounds[side]), names.get(bounds.get(f"{side}_by")))

def _limit_message(side: str, limit: str, by: OrgNode | None, year: int | None = None) -> str:
    """"超出青海省设定的上限 30%" — the bound, and who set it (Chinese, then English)."""
    zh_who = by.name if by is not None else "全国默认"
    when_zh = f"（{year}年）" if year else ""
    when_en = f" (for {year})" if year else ""
    if side == "min":
        return (f"低于{zh_who}设定的下限 {limit}{when_zh} / below the minimum {limit} set by "
                f"{node_label(by)}{when_en}")
    return (f"超出{zh_who}设定的上限 {limit}{when_zh} / above the maximum {limit} set by "
            f"{node_label(by)}{when_en}")

def _check_additive(node, setting, value, layers, names) -> None:
    inherited, _ = resolve_key(setting, layers[:-1] + [Layer(node.id)])
    by_code = {i["code"]: i for i in inherited}
    for code in value.get("remove", []):
        item = by_code.get(code)
        if item is None:
            raise Invalid({setting.key: [NOT_INHERITED % {"code": code}]})
        if item.get("mandatory"):
            raise Invalid({setting.key: [MANDATORY % {"code": code, "who": node_label(names.get(item.get('source')))}]})
    for item in value.get("add", []):
        if item["code"] in by_code:
            raise Invalid({setting.key: [ALREADY_INHERITED % {
                "code": item['code'], "who": node_label(names.get(by_code[item['code']].get('source')))}]})


# -- the one validator of a value (page, API, pack load, CLI) ---------------------

# Rates that no level may set above the province's ``quota.hard_max_rate``
# (the ceiling no approval can exceed): a higher value was accepted and then
# silently computed with the ceiling.
CEILED_BY_HARD_MAX = ("quota.base_rate", "quota.max_rate_without_approval", "quota.rate_by_org_grade")
HARD_MAX = "quota.hard_max_rate"

def _year_groups(rows: Sequence[PolicySetting], year: int) -> list[tuple[int | None, list[PolicySetting]]]:
    """The row sets that apply in each year a value for ``year`` reaches: one
    year, or for an all-years value the all-years rows and every year that
    has year-specific rows above."""
    if year != ALL_YEARS:
        return [(year, [r for r in rows if r.year in (ALL_YEARS, year)])]
    years = sorted({r.year for r in rows if r.year != ALL_YEARS})
    return [(None, [r for r in rows if r.year == ALL_YEARS])] + \
        [(y, [r for r in rows if r.year in (ALL_YEARS, y)]) for y in years]

def _hard_max_limits(node: OrgNode, year: int) -> list[tuple[Decimal, int | None, int | None]]:
    """(ceiling, province id or None for the national default, year or None)
    for every year ``year`` covers."""
    rows = list(db.session.execute(select(PolicySetting).where(
        PolicySetting.root_id == node.root_id, PolicySetting.org_id == node.root_id,
        PolicySetting.key == HARD_MAX, PolicySetting.has_value.is_(True))).scalars())
    out = []
    for y, group in _year_groups(rows, year):
        row = max(group, key=lambda r: r.year, default=None)
        if row is None:
            out.append((Decimal(str(reg.default(HARD_MAX))), None, y))
        else:
            out.append((Decimal(str(row.value)), node.root_id, y))
    return out

def value_problem(node: OrgNode, key: str, value: Any, year: int, *, rows=None, names=None,
                  check_below: bool = True) -> str | None:
    """Why ``value`` may not be stored for ``key`` at ``node`` (None: it may):
    a bound set above (for every year the value applies in), or the
    province's ceiling on excellence rates.  Every write path calls this —
    the service (page, API, CLI) and the pack loader — so nothing stored is
    later clamped silently."""
    setting = reg.get(key)
    names = names if names is not None else names_on_path(node)
    if setting.kind == reg.BOUNDED:
        if rows is None:
            # every year's rows: an all-years value must fit the bounds of each year
            stmt = select(PolicySetting).where(PolicySetting.root_id == node.root_id,
                                               PolicySetting.org_id.in_(node.path_ids), PolicySetting.key == key)
            if year != ALL_YEARS:
                stmt = stmt.where(PolicySetting.year.in_((ALL_YEARS, year)))
            rows = list(db.session.execute(stmt).scalars())
        above_rows = [r for r in rows if r.org_id != node.id]
        for y, group in _year_groups(above_rows, year):
            bounds = _collect_bounds(_layers(node, group)[:-1])
            side = bound_violation(setting, value, bounds)
            if side is None:
                continue
            if side == "allowed":
                return (f"{value!r} 不在{names.get(bounds['allowed_by']).name if names.get(bounds['allowed_by']) else ''}"
                        f"允许的取值内 / {value!r} is not among the values allowed by "
                        f"{node_label(names.get(bounds['allowed_by']))}: {', '.join(map(str, bounds['allowed']))}")
            fmt = calc.pct if setting.is_rate else (lambda x: f"{x:g}")
            return _limit_message(side, fmt(bounds[side]), names.get(bounds[f"{side}_by"]), y)
    if key in CEILED_BY_HARD_MAX:
        numbers = list(value.values()) if isinstance(value, dict) else [value]
        for limit, by, y in _hard_max_limits(node, year):
            if any(Decimal(str(x)) > limit for x in numbers):
                who = names.get(by) if by is not None else None
                return _limit_message("max", calc.pct(limit), who, y) + \
                    "（经审批也不得超过的优秀比例上限 / the ceiling no approval can exceed）"
    if key == HARD_MAX and check_below:
        return _values_above_ceiling(node, Decimal(str(value)), year)
    return None

def _values_above_ceiling(province: OrgNode, ceiling: Decimal, year: int) -> str | None:
    """A lower ceiling must not leave stored rates above it anywhere below."""
    stmt = select(PolicySetting, OrgNode.name, OrgNode.code).join(OrgNode, OrgNode.id == PolicySetting.org_id).where(
        PolicySetting.root_id == province.root_id, PolicySetting.key.in_(CEILED_BY_HARD_MAX),
        PolicySetting.has_value.is_(True), OrgNode.root_id == province.root_id)
    if year != ALL_YEARS:
        stmt = stmt.where(PolicySetting.year.in_((ALL_YEARS, year)))
    for r, name, code in db.session.execute(stmt).all():
        numbers = list(r.value.values()) if isinstance(r.value, dict) else [r.value]
        if any(Decimal(str(x)) > ceiling for x in numbers):
            return (f"{name}（{code}）的 {r.key} 已设定高于 {calc.pct(ceiling)} 的值，请先修改 / "
                    f"{name} ({code}) already sets {r.key} above {calc.pct(ceiling)}; change it first")
    return None


# -- settings ------------------------------------------------------------------

def set_value(node: OrgNode, key: str, value: Any, *, year: int | None = None, note: str | None = None,
              reason: str | None = None) -> PolicySetting:
    """Override ``key`` at ``node`` (for one year, or all years)."""
    setting = reg.get(key)
    year = check_year(year)
    value = reg.validate_value(key, value)
    _check_level(node, setting)
    rows = _rows_on_path(node, key, year)
    layers = _layers(node, rows)
    names = names_on_path(node)
    _check_not_locked_above(node, key, layers, names)
    msg = value_problem(node, key, value, year, rows=None if year == ALL_YEARS else rows, names=names)
    if msg:
        raise Invalid({key: [msg]})
    if setting.kind == reg.ADDITIVE:
        _check_additive(node, setting, value, layers, names)
    row = _get_or_new(node, key, year, rows)
    before = _row_state(row) if row.id is not None else None
    if row.has_value and row.value == value and (note is None or note == row.note):
        return row
    row.has_value, row.value = True, value
    if note is not None:
        row.note = note or None
    _stamp(row)
    db.session.flush()
    _audit("policy.set", node, key, year, before, _row_state(row), reason)
    bump_version(node.root_id)
    return row

def clear_value(node: OrgNode, key: str, *, year: int | None = None, reason: str | None = None) -> bool:
    """Revert to the inherited value.  Returns False when nothing was set."""
    return _undo_own(node, key, year, reason, "policy.clear", "has_value", lambda row: setattr(row, "value", None))

def lock(node: OrgNode, key: str, *, year: int | None = None, reason: str | None = None) -> list[dict]:
    """Enforce ``node``'s value for everything below: overrides, locks and
    bounds of this key below the node are cleared (and listed in the audit
    entry).  Returns what was cleared."""
    setting = reg.get(key)
    year = check_year(year)
    if setting.kind == reg.PROVINCE_ONLY:
        raise Invalid({key: [N_("a province-only setting is always enforced; there is nothing to lock")]})
    rows = _rows_on_path(node, key, year)
    names = names_on_path(node)
    _check_not_locked_above(node, key, _layers(node, rows), names)
    row = _get_or_new(node, key, year, rows)
    if row.locked:
        return []
    below_years = None if year == ALL_YEARS else (ALL_YEARS, year)
    stmt = select(PolicySetting, OrgNode.code).join(OrgNode, OrgNode.id == PolicySetting.org_id).where(
        PolicySetting.root_id == node.root_id, PolicySetting.key == key,
        OrgNode.root_id == node.root_id, OrgNode.path.like(node.path + "%"), OrgNode.id != node.id)
    if below_years is not None:
        stmt = stmt.where(PolicySetting.year.in_(below_years))
    cleared = []
    for below, code in db.session.execute(stmt).all():
        if year != ALL_YEARS and below.year == ALL_YEARS:
            # A lock for one year only hides the all-years row of that year;
            # the row still applies to other years, so it stays.
            continue
        cleared.append({"org_id": below.org_id, "code": code, "year": below.year, **(_row_state(below) or {})})
        db.session.delete(below)
    before = _row_state(row) if row.id is not None else None
    row.locked = True
    _stamp(row)
    db.session.flush()
    _audit("policy.lock", node, key, year, before, {**(_row_state(row) or {}), "cleared_below": cleared}, reason)
    bump_version(node.root_id)
    return cleared

def unlock(node: OrgNode, key: str, *, year: int | None = None, reason: str | None = None) -> bool:
    """Let the levels below override again.  Returns False when nothing was locked."""
    return _undo_own(node, key, year, reason, "policy.unlock", "locked")


def _undo_own(node: OrgNode, key: str, year, reason, action: str, flag: str, also=None) -> bool:
    """Turn off ``flag`` (has_value / locked) on ``node``'s own row of ``key``:
    the shared path of clear and unlock (checks, stamp, drop the row when it
    holds nothing any more, audit, bump)."""
    reg.get(key)
    year = check_year(year)
    rows = _rows_on_path(node, key, year)
    _check_not_locked_above(node, key, _layers(node, rows), names_on_path(node))
    row = _own_row(node, key, year, rows)
    if row is None or not getattr(row, flag):
        return False
    before = _row_state(row)
    setattr(row, flag, False)
    if also is not None:
        also(row)
    _stamp(row)
    after = _row_state(row)
    _drop_if_empty(row)
    db.session.flush()
    _audit(action, node, key, year, before, after, reason)
    bump_version(node.root_id)
    return True

def _num_bound(setting: reg.Setting, name: str, x) -> float | None:
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, (int, float, Decimal)):
        raise Invalid({setting.key: [MUST_BE_NUMBER[name]]})
    lo, hi = setting.number_range or (None, None)
    if lo is not None and not (Decimal(str(lo)) <= Decimal(str(x)) <= Decimal(str(hi))):
        raise Invalid({setting.key: [BETWEEN[name] % {"lo": f"{lo:g}", "hi": f"{hi:g}"}]})
    return float(x)

def set_bounds(node: OrgNode, key: str, *, min_value=None, max_value=None, allowed=None,
               year: int | None = None, reason: str | None = None) -> PolicySetting:
    """Constrain what the nodes below ``node`` may set for ``key``."""
    setting = reg.get(key)
    year = check_year(year)
    if setting.kind != reg.BOUNDED:
        raise Invalid({key: [f"this setting cannot be bounded (it is {setting.kind.replace('_', '-')})"]})
    if setting.bound == reg.BOUND_CHOICE:
        if min_value is not None or max_value is not None:
            raise Invalid({key: ["bounds of a choice are a list of allowed values, not min/max"]})
        if not isinstance(allowed, (list, tuple)) or not allowed:
            raise Invalid({key: [N_("allowed must be a non-empty list of values")]})
        bad = [a for a in allowed if a not in setting.choices]
        if bad:
            raise Invalid({key: [f"unknown value(s) {', '.join(map(str, bad))}; choose from "
                                 f"{', '.join(setting.choices)}"]})
        allowed = [c for c in setting.choices if c in allowed]
    else:
        if allowed is not None:
            raise Invalid({key: ["bounds of a number are min and max, not a list of allowed values"]})
        min_value = _num_bound(setting, "min", min_value)
        max_value = _num_bound(setting, "max", max_value)
        if min_value is None and max_value is None:
            raise Invalid({key: [N_("give a min, a max or both")]})
        if min_value is not None and max_value is not None and min_value > max_value:
            raise Invalid({key: [N_("min must not be greater than max")]})
    rows = _rows_on_path(node, key, year)
    layers = _layers(node, rows)
    names = names_on_path(node)
    _check_not_locked_above(node, key, layers, names)
    above = _collect_bounds(layers[:-1]) or {}
    # New bounds must sit inside the bounds from above.
    if min_value is not None and "min" in above and min_value < above["min"]:
        raise Invalid({key: [_bound_message(setting, min_value if setting.bound == reg.BOUND_NUMBER
                                            else {"min": min_value}, above, names)]})
    if max_value is not None and "max" in above and max_value > above["max"]:
        raise Invalid({key: [_bound_message(setting, max_value if setting.bound == reg.BOUND_NUMBER
                                            else {"max": max_value}, above, names)]})
    if allowed is not None and "allowed" in above:
        outside = [a for a in allowed if a not in above["allowed"]]
        if outside:
            raise Invalid({key: [f"{', '.join(outside)} not allowed by {node_label(names.get(above['allowed_by']))}"]})
    # Overrides already stored below must fit.
    new = {k: v for k, v in (("min", min_value), ("max", max_value), ("allowed", allowed)) if v is not None}
    for k in ("min", "max"):
        new[f"{k}_by"] = node.id
    new["allowed_by"] = node.id
    below = db.session.execute(
        select(PolicySetting, OrgNode.name, OrgNode.code).join(OrgNode, OrgNode.id == PolicySetting.org_id).where(
            PolicySetting.root_id == node.root_id, PolicySetting.key == key, PolicySetting.has_value.is_(True),
            OrgNode.root_id == node.root_id, OrgNode.path.like(node.path + "%"), OrgNode.id != node.id)
    ).all()
    for r, name, code in below:
        if bound_violation(setting, r.value, new):
            raise Invalid({key: [f"{name} ({code}) already sets a value outside these bounds; change it first"]})
    row = _get_or_new(node, key, year, rows)
    before = _row_state(row) if row.id is not None else None
    if (row.min_value, row.max_value, row.allowed) == (min_value, max_value, allowed):
        return row
    row.min_value, row.max_value, row.allowed = min_value, max_value, allowed
    _stamp(row)
    db.session.flush()
    _audit("policy.bound", node, key, year, before, _row_state(row), reason)
    bump_version(node.root_id)
    return row

def clear_bounds(node: OrgNode, key: str, *, year: int | None = None, reason: str | None = None) -> bool:
    reg.get(key)
    year = check_year(year)
    rows = _rows_on_path(node, key, year)
    _check_not_locked_above(node, key, _layers(node, rows), names_on_path(node))
    row = _own_row(node, key, year, rows)
    if row is None or row.bounds is None:
        return False
    before = _row_state(row)
    row.min_value = row.max_value = row.allowed = None
    _stamp(row)
    after = _row_state(row)
    _drop_if_empty(row)
    db.session.flush()
    _audit("policy.unbound", node, key, year, before, after, reason)
    bump_version(node.root_id)
    return True

def node_settings(node: OrgNode, year: int | None = None) -> dict[str, dict[int, PolicySetting]]:
    """The node's own rows: key → {year: row}."""
    stmt = select(PolicySetting).where(PolicySetting.root_id == node.root_id, PolicySetting.org_id == node.id)
    if year is not None:
        stmt = stmt.where(PolicySetting.year.in_((ALL_YEARS, year)))
    out: dict[str, dict[int, PolicySetting]] = {}
    for r in db.session.execute(stmt).scalars():
        out.setdefault(r.key, {})[r.year] = r
    return out


# -- a node's policy as data (API, pages, CLI) ---------------------------------

def describe(node: OrgNode, year: int | None = None, *, can_edit: bool = False) -> dict:
    """The effective policy of ``node`` with provenance, grouped by topic,
    with node names resolved and what the node itself may do with each key."""
    year = check_year(year, allow_all=False) if year is not None else local_today().year
    pol = effective_policy(node, year)
    names = {n.id: n for n in path_nodes(node)}
    own = node_settings(node, year)
    groups = []
    for code, label, settings in reg.settings_by_group():
        items = []
        for s in settings:
            prov = pol.provenance(s.key)
            locked_above = pol.locked_above(s.key)
            bounds = prov["bounds"]
            if bounds:
                bounds = dict(bounds)
                for side in ("min", "max", "allowed"):
                    if f"{side}_by" in bounds:
                        bounds[f"{side}_by"] = node_ref(names.get(bounds[f"{side}_by"]))
            child_bounds = prov["child_bounds"]
            if child_bounds:
                child_bounds = dict(child_bounds)
                for side in ("min", "max", "allowed"):
                    if f"{side}_by" in child_bounds:
                        child_bounds[f"{side}_by"] = node_ref(names.get(child_bounds[f"{side}_by"]))
            rows = own.get(s.key, {})
            own_state = {str(y): _row_state(r) for y, r in sorted(rows.items()) if _row_state(r)}
            settable = (s.kind != reg.PROVINCE_ONLY or node.parent_id is None) and locked_above is None
            items.append({
                "key": s.key, "kind": s.kind, "group": code, "zh": s.zh, "en": s.en, "unit": s.unit,
                "choices": list(s.choices), "bound": s.bound,
                "value": pol[s.key], "default": reg.default(s.key),
                "source": node_ref(names.get(prov["source"])) if prov["source"] else None,
                "source_year": prov["source_year"], "inherited": prov["inherited"],
                "locked_by": node_ref(names.get(prov["locked_by"])) if prov["locked_by"] else None,
                "locked_here": prov["locked_by"] == node.id,
                "bounds": bounds, "child_bounds": child_bounds, "adjusted": prov["adjusted"],
                "contributors": [node_ref(names.get(c)) for c in prov["contributors"]],
                "own": own_state,
                "editable": bool(can_edit and settable),
                "lockable": bool(can_edit and settable and s.kind != reg.PROVINCE_ONLY),
                "boundable": bool(can_edit and settable and s.kind == reg.BOUNDED),
            })
        groups.append({"code": code, "zh": label[0], "en": label[1], "settings": items})
    return {"node": node_ref(node), "year": year, "path": [node_ref(names.get(i)) for i in node.path_ids],
            "groups": groups}
