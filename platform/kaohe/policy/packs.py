"""``policy.yaml`` in tenant packs: read, validate across the whole pack,
apply (sync the node's rows, audited, only what changed) and write back.

Format (see tenants/README.md)::

    settings:                      # rows for all years
      quota.base_rate:
        value: 0.20
        bounds: {min: 0.10, max: 0.30}   # for the levels below
      quota.rounding:
        value: floor
        locked: true                     # enforced for every level below
      routine.cycle:
        bounds: {allowed: [quarter, month]}
    years:                         # rows for one assessment year (win over the above)
      2027:
        quota.base_rate: {value: 0.18}

A node's policy.yaml states all of that node's rows: loading makes the
node's stored rows equal to the file (a node in the pack without the file
has no rows).  Nodes in the database but not in the pack are left alone.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..audit.service import current_actor, record
from ..core.errors import Invalid
from ..extensions import db
from ..tenancy import packs as tpacks
from ..tenancy.packs import PackError, PackNode
from . import registry as reg
from .models import ALL_YEARS, PolicySetting
from .resolve import Bounds, Layer, _collect_bounds, bound_violation, bump_version, merge_rows, resolve_key

FILE = "policy.yaml"
ROW_KEYS = {"value", "locked", "bounds", "note"}


@dataclass
class RowSpec:
    key: str
    year: int
    has_value: bool = False
    value: Any = None
    locked: bool = False
    min_value: float | None = None
    max_value: float | None = None
    allowed: list | None = None
    note: str | None = None

    def state(self) -> tuple:
        return (self.has_value, self.value if self.has_value else None, self.locked, self.min_value,
                self.max_value, self.allowed, self.note)


@dataclass
class PolicyFile:
    source: str
    rows: dict[tuple[str, int], RowSpec] = field(default_factory=dict)


def _err(source: str, msg: str) -> PackError:
    return PackError({source: [msg]})


def _parse_row(source: str, key: str, year: int, spec: Any) -> RowSpec:
    where = f"{key}" + (f" (year {year})" if year else "")
    if key not in reg.REGISTRY:
        raise _err(source, f"{where}: unknown setting")
    setting = reg.REGISTRY[key]
    if not isinstance(spec, dict) or not spec:
        raise _err(source, f"{where}: expected a mapping with value, locked and/or bounds")
    unknown = set(spec) - ROW_KEYS
    if unknown:
        raise _err(source, f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    row = RowSpec(key, year)
    if "value" in spec:
        try:
            row.value = reg.validate_value(key, spec["value"])
        except Invalid as exc:
            raise _err(source, f"{where}: {'; '.join(exc.errors.get(key, []))}") from None
        row.has_value = True
    if "locked" in spec:
        if not isinstance(spec["locked"], bool):
            raise _err(source, f"{where}: locked must be true or false")
        if spec["locked"] and setting.kind == reg.PROVINCE_ONLY:
            raise _err(source, f"{where}: a province-only setting cannot be locked (it always is)")
        row.locked = spec["locked"]
    if "note" in spec:
        if not isinstance(spec["note"], str):
            raise _err(source, f"{where}: note must be text")
        row.note = spec["note"] or None
    if "bounds" in spec:
        b = spec["bounds"]
        if setting.kind != reg.BOUNDED:
            raise _err(source, f"{where}: this setting cannot be bounded (it is {setting.kind})")
        if not isinstance(b, dict) or not b or set(b) - {"min", "max", "allowed"}:
            raise _err(source, f"{where}: bounds must be a mapping of min/max or allowed")
        if setting.bound == reg.BOUND_CHOICE:
            allowed = b.get("allowed")
            if set(b) != {"allowed"} or not isinstance(allowed, list) or not allowed:
                raise _err(source, f"{where}: bounds of a choice are a non-empty list 'allowed'")
            bad = [a for a in allowed if a not in setting.choices]
            if bad:
                raise _err(source, f"{where}: unknown allowed value(s) {', '.join(map(str, bad))}")
            row.allowed = [c for c in setting.choices if c in allowed]
        else:
            if "allowed" in b:
                raise _err(source, f"{where}: bounds of a number are min and/or max")
            lo, hi = setting.number_range
            for side in ("min", "max"):
                x = b.get(side)
                if x is None:
                    continue
                if isinstance(x, bool) or not isinstance(x, (int, float)) or not lo <= x <= hi:
                    raise _err(source, f"{where}: bounds.{side} must be a number between {lo:g} and {hi:g}")
                setattr(row, f"{side}_value", float(x))
            if row.min_value is not None and row.max_value is not None and row.min_value > row.max_value:
                raise _err(source, f"{where}: bounds.min is greater than bounds.max")
    if not row.has_value and not row.locked and row.min_value is None and row.max_value is None \
            and row.allowed is None:
        raise _err(source, f"{where}: states nothing (give a value, locked: true or bounds)")
    return row


def parse(path: Path, data: Any) -> PolicyFile:
    source = str(path)
    pf = PolicyFile(source)
    if data is None:
        return pf
    if not isinstance(data, dict) or set(data) - {"settings", "years"}:
        raise _err(source, "expected top-level keys 'settings' and/or 'years'")
    for key, spec in (data.get("settings") or {}).items():
        pf.rows[(key, ALL_YEARS)] = _parse_row(source, str(key), ALL_YEARS, spec)
    years = data.get("years") or {}
    if not isinstance(years, dict):
        raise _err(source, "years: expected a mapping of year → settings")
    for y, block in years.items():
        if isinstance(y, bool) or not isinstance(y, int) or not 2000 <= y <= 2100:
            raise _err(source, f"years: {y!r} is not a year between 2000 and 2100")
        if not isinstance(block, dict):
            raise _err(source, f"years.{y}: expected a mapping of settings")
        for key, spec in block.items():
            pf.rows[(str(key), y)] = _parse_row(source, str(key), y, spec)
    return pf


# -- whole-pack validation (no database) ----------------------------------

def validate_pack(top: PackNode) -> None:
    """Locks, bounds, level and additive rules across the pack, checked as
    the service checks them, before anything is written."""
    def rows_of(p: PackNode) -> dict:
        pf = p.extra.get(FILE)
        return pf.rows if pf else {}

    def walk(p: PackNode, chain: list[PackNode]) -> None:
        rows = rows_of(p)
        if rows and p.kind != "province":
            for (key, year), r in rows.items():
                if reg.REGISTRY[key].kind == reg.PROVINCE_ONLY:
                    raise _err(p.extra[FILE].source, f"{key}: only the province may set this (province-only setting)")
        for (key, year), r in rows.items():
            years = (ALL_YEARS,) if year == ALL_YEARS else (ALL_YEARS, year)
            setting = reg.REGISTRY[key]
            layers = []
            for anc in chain:
                found = [rows_of(anc)[(key, y)] for y in years if (key, y) in rows_of(anc)]
                layers.append(merge_rows(len(layers), found) if found else Layer(len(layers)))
            source = p.extra[FILE].source
            for i, lay in enumerate(layers):
                if lay.locked:
                    raise _err(source, f"{key}: locked by {chain[i].name} ({chain[i].code}), "
                                       f"it cannot be overridden here")
            above = _collect_bounds(layers)
            if r.has_value and setting.kind == reg.BOUNDED:
                side = bound_violation(setting, r.value, above)
                if side:
                    who = chain[above[f"{side}_by"]]
                    raise _err(source, f"{key}: the value breaks the {side} bound set by {who.name} ({who.code})")
            if above and (r.min_value is not None or r.max_value is not None or r.allowed is not None):
                if (r.min_value is not None and "min" in above and r.min_value < above["min"]) or \
                        (r.max_value is not None and "max" in above and r.max_value > above["max"]) or \
                        (r.allowed is not None and "allowed" in above
                         and any(a not in above["allowed"] for a in r.allowed)):
                    raise _err(source, f"{key}: bounds wider than those set above")
            if r.has_value and setting.kind == reg.ADDITIVE:
                inherited, _ = resolve_key(setting, layers + [Layer(len(layers))])
                by_code = {i["code"]: i for i in inherited}
                for code in r.value.get("remove", []):
                    if code not in by_code:
                        raise _err(source, f"{key}: cannot remove {code}: it is not inherited here")
                    if by_code[code].get("mandatory"):
                        raise _err(source, f"{key}: cannot remove {code}: it is mandatory")
                for item in r.value.get("add", []):
                    if item["code"] in by_code:
                        raise _err(source, f"{key}: item {item['code']} is already inherited")
        for child in p.children:
            walk(child, chain + [p])

    walk(top, [])


# -- applying and writing --------------------------------------------------

def _row_state(r: PolicySetting) -> tuple:
    return (r.has_value, r.value if r.has_value else None, r.locked, r.min_value, r.max_value, r.allowed, r.note)


def _audit_state(state: tuple | None) -> dict | None:
    if state is None:
        return None
    has_value, value, locked, lo, hi, allowed, note = state
    out: dict[str, Any] = {}
    if has_value:
        out["value"] = value
    if locked:
        out["locked"] = True
    b = {k: v for k, v in (("min", lo), ("max", hi), ("allowed", allowed)) if v is not None}
    if b:
        out["bounds"] = b
    if note:
        out["note"] = note
    return out


def apply(node, pf: PolicyFile | None) -> int:
    """Make ``node``'s rows equal to the file; returns the number of changed rows."""
    pf = pf or PolicyFile("")
    existing = {(r.key, r.year): r for r in db.session.execute(
        select(PolicySetting).where(PolicySetting.root_id == node.root_id, PolicySetting.org_id == node.id)).scalars()}
    changes = 0
    actor = current_actor()
    now = dt.datetime.now(dt.timezone.utc)
    for k, row in existing.items():
        if k not in pf.rows:
            before = _audit_state(_row_state(row))
            db.session.delete(row)
            record("policy.pack.remove", root_id=node.root_id, org_id=node.id, target_type="policy_setting",
                   target_id=f"{node.id}:{k[0]}:{k[1]}", before=before, after=None, reason=pf.source or None)
            changes += 1
    for k, spec in pf.rows.items():
        row = existing.get(k)
        if row is not None and _row_state(row) == spec.state():
            continue
        before = _audit_state(_row_state(row)) if row is not None else None
        if row is None:
            row = PolicySetting(root_id=node.root_id, org_id=node.id, key=spec.key, year=spec.year)
            db.session.add(row)
        row.has_value, row.value, row.locked = spec.has_value, spec.value if spec.has_value else None, spec.locked
        row.min_value, row.max_value, row.allowed, row.note = spec.min_value, spec.max_value, spec.allowed, spec.note
        row.updated_by, row.updated_by_name, row.updated_at = actor.id, actor.name, now
        db.session.flush()
        record("policy.pack.set", root_id=node.root_id, org_id=node.id, target_type="policy_setting",
               target_id=f"{node.id}:{spec.key}:{spec.year}", before=before, after=_audit_state(spec.state()),
               reason=pf.source or None)
        changes += 1
    if changes:
        db.session.flush()
        bump_version(node.root_id)
    # The service's validator, against what is stored above (the pack is
    # applied from the province down, so the levels above are already the
    # pack's): bounds of every year, the province's rate ceiling.
    from .settings import value_problem
    names = None
    for spec in pf.rows.values():
        if not spec.has_value:
            continue
        if names is None:
            from .labels import names_on_path
            names = names_on_path(node)
        msg = value_problem(node, spec.key, spec.value, spec.year, names=names, check_below=False)
        if msg:
            where = spec.key + (f" (year {spec.year})" if spec.year else "")
            raise PackError({pf.source or node.code: [f"{where}: {msg}"]})
    return changes


def write(node) -> dict | None:
    rows = db.session.execute(select(PolicySetting).where(
        PolicySetting.root_id == node.root_id, PolicySetting.org_id == node.id)).scalars().all()
    if not rows:
        return None
    order = {k: i for i, k in enumerate(reg.REGISTRY)}
    out: dict[str, Any] = {}
    for r in sorted(rows, key=lambda r: (r.year, order.get(r.key, 10 ** 6), r.key)):
        spec: dict[str, Any] = {}
        if r.has_value:
            spec["value"] = r.value
        if r.locked:
            spec["locked"] = True
        b = {k: v for k, v in (("min", r.min_value), ("max", r.max_value), ("allowed", r.allowed)) if v is not None}
        if b:
            spec["bounds"] = b
        if r.note:
            spec["note"] = r.note
        if not spec:
            continue
        if r.year == ALL_YEARS:
            out.setdefault("settings", {})[r.key] = spec
        else:
            out.setdefault("years", {}).setdefault(r.year, {})[r.key] = spec
    return out or None


def register() -> None:
    tpacks.FILE_READERS[FILE] = (parse, apply)
    tpacks.FILE_WRITERS[FILE] = write
    if validate_pack not in tpacks.PACK_VALIDATORS:
        tpacks.PACK_VALIDATORS.append(validate_pack)
    if apply_missing not in tpacks.PACK_NODE_HOOKS:
        tpacks.PACK_NODE_HOOKS.append(apply_missing)


def apply_missing(node, pnode: PackNode) -> int:
    """A node in the pack without a policy.yaml has no rows (removes stale
    ones).  One query per load finds the nodes that have rows at all."""
    if FILE in pnode.extra:
        return 0
    cache = db.session.info.setdefault("kaohe_policy_pack_nodes", {})
    if node.root_id not in cache:
        cache[node.root_id] = set(db.session.execute(select(PolicySetting.org_id).where(
            PolicySetting.root_id == node.root_id).distinct()).scalars())
    if node.id not in cache[node.root_id]:
        return 0
    return apply(node, None)


register()
