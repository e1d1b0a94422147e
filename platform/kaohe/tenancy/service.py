"""Business operations on the org tree.  They validate, change, audit and
flush; the caller commits."""
from __future__ import annotations

from sqlalchemy import func, select, update

from ..audit.service import record
from ..core.db import allocate_ids
from ..core.errors import Conflict, Invalid
from ..extensions import db
from .models import CHILD_KINDS, OrgKind, OrgNode


def snapshot(node: OrgNode) -> dict:
    return {"code": node.code, "name": node.name, "name_en": node.name_en, "kind": node.kind,
            "is_assessment_unit": node.is_assessment_unit, "parent_id": node.parent_id, "path": node.path}


def _check_code_free(root_id: int, code: str, exclude_id: int | None = None) -> None:
    stmt = select(OrgNode.id).where(OrgNode.root_id == root_id, OrgNode.code == code).execution_options(
        kaohe_unscoped=True)
    found = db.session.execute(stmt).scalar_one_or_none()
    if found is not None and found != exclude_id:
        raise Conflict({"code": [f"The code {code} is already used in this province."]})


def node_by_code(code: str, province_code: str | None = None, *, field: str = "org") -> OrgNode:
    """The org node with ``code`` (org codes are unique within a province): for
    the command line, which names nodes by code.  Several provinces may use
    the same code; then ``province_code`` decides.  422 on ``field`` when it
    names no node or several."""
    stmt = select(OrgNode).where(OrgNode.code == code)
    if province_code:
        stmt = stmt.where(OrgNode.root_id.in_(select(OrgNode.id).where(
            OrgNode.parent_id.is_(None), OrgNode.code == province_code)))
    found = db.session.execute(stmt).scalars().all()
    if len(found) != 1:
        raise Invalid({field: [f"unknown code {code}" if not found else
                               f"code {code} exists in several provinces; add --province"]})
    return found[0]


def create_province(*, code: str, name: str, name_en: str | None = None) -> OrgNode:
    code = code.strip()
    if "@" in code:
        raise Invalid({"code": ["A province code cannot contain @ (it ends the province's usernames)."]})
    # Unique without case: a province's code names its account namespace (kaohe.auth.namespace).
    if db.session.execute(select(OrgNode.id).where(OrgNode.parent_id.is_(None),
                                                   func.lower(OrgNode.code) == code.lower())).first():
        raise Conflict({"code": [f"A province with code {code} exists."]})
    (node_id,) = allocate_ids(db.session, "org_node", 1)
    node = OrgNode(id=node_id, root_id=node_id, parent_id=None, path=f"/{node_id}/", depth=0,
                   kind=OrgKind.province.value, code=code, name=name.strip(), name_en=name_en,
                   is_assessment_unit=False)
    db.session.add(node)
    db.session.flush()
    record("org.create", root_id=node.root_id, org_id=node.id, target_type="org", target_id=node.id,
           after=snapshot(node))
    return node


def create_child(parent: OrgNode, *, kind: str, code: str, name: str, name_en: str | None = None,
                 is_assessment_unit: bool = False, sort_order: int = 0, node_id: int | None = None) -> OrgNode:
    try:
        kind_e = OrgKind(kind)
    except ValueError:
        raise Invalid({"kind": [f"Unknown kind {kind!r}."]})
    if kind_e not in CHILD_KINDS[OrgKind(parent.kind)]:
        allowed = ", ".join(sorted(k.value for k in CHILD_KINDS[OrgKind(parent.kind)])) or "none"
        raise Invalid({"kind": [f"A {kind} cannot sit under a {parent.kind} (allowed: {allowed})."]})
    code = (code or "").strip()
    if not code:
        raise Invalid({"code": ["A code is required."]})
    _check_code_free(parent.root_id, code)
    if node_id is None:
        (node_id,) = allocate_ids(db.session, "org_node", 1)
    node = OrgNode(id=node_id, root_id=parent.root_id, parent_id=parent.id, path=f"{parent.path}{node_id}/",
                   depth=parent.depth + 1, kind=kind_e.value, code=code, name=name.strip(), name_en=name_en,
                   is_assessment_unit=bool(is_assessment_unit), sort_order=sort_order)
    db.session.add(node)
    db.session.flush()
    record("org.create", root_id=node.root_id, org_id=node.id, target_type="org", target_id=node.id,
           after=snapshot(node))
    return node


def update_node(node: OrgNode, *, name: str | None = None, name_en: str | None = None, code: str | None = None,
                is_assessment_unit: bool | None = None, sort_order: int | None = None,
                expected_version: int | None = None) -> OrgNode:
    if expected_version is not None and expected_version != node.version:
        raise Conflict({"version": [f"The node was changed meanwhile (now version {node.version})."]})
    before = snapshot(node)
    if name is not None:
        if not name.strip():
            raise Invalid({"name": ["The name may not be empty."]})
        node.name = name.strip()
    if name_en is not None:
        node.name_en = name_en.strip() or None
    if code is not None and code.strip() != node.code:
        if not code.strip():
            raise Invalid({"code": ["The code may not be empty."]})
        _check_code_free(node.root_id, code.strip(), exclude_id=node.id)
        node.code = code.strip()
    if is_assessment_unit is not None:
        if is_assessment_unit and node.kind == OrgKind.department.value:
            raise Invalid({"is_assessment_unit": ["A department is part of a unit, not a unit itself."]})
        node.is_assessment_unit = bool(is_assessment_unit)
    if sort_order is not None:
        node.sort_order = sort_order
    after = snapshot(node)
    if after != before:
        db.session.flush()
        b, a = _diff(before, after)
        record("org.update", root_id=node.root_id, org_id=node.id, target_type="org", target_id=node.id,
               before=b, after=a)
    return node


def _diff(before: dict, after: dict) -> tuple[dict, dict]:
    keys = [k for k in before if before[k] != after.get(k)]
    return {k: before[k] for k in keys}, {k: after[k] for k in keys}


def move_node(node: OrgNode, new_parent: OrgNode) -> OrgNode:
    """Re-hang a subtree.  One UPDATE rewrites the paths below; rows keyed to
    these nodes reference ids, so they follow without being touched."""
    if node.parent_id is None:
        raise Invalid({"parent_id": ["A province cannot be moved."]})
    if new_parent.root_id != node.root_id:
        raise Invalid({"parent_id": ["A node cannot move to another province."]})
    if new_parent.path.startswith(node.path):
        raise Invalid({"parent_id": ["A node cannot move under itself or its own descendant (a cycle)."]})
    if OrgKind(node.kind) not in CHILD_KINDS[OrgKind(new_parent.kind)]:
        raise Invalid({"parent_id": [f"A {node.kind} cannot sit under a {new_parent.kind}."]})
    if new_parent.id == node.parent_id:
        return node
    before = snapshot(node)
    old_path, new_path = node.path, f"{new_parent.path}{node.id}/"
    delta = new_parent.depth + 1 - node.depth
    db.session.flush()
    db.session.execute(
        update(OrgNode)
        .where(OrgNode.root_id == node.root_id, OrgNode.path.like(old_path + "%"))
        .values(path=new_path + func.substr(OrgNode.path, len(old_path) + 1), depth=OrgNode.depth + delta,
                version=OrgNode.version + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(OrgNode).where(OrgNode.id == node.id).values(parent_id=new_parent.id)
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()
    node = db.session.get(OrgNode, node.id)
    after = snapshot(node)
    from ..core import hooks

    hooks.fire("org.moved", node=node, old_path=old_path, new_path=new_path, old_parent_id=before["parent_id"])
    record("org.move", root_id=node.root_id, org_id=node.id, target_type="org", target_id=node.id,
           before={"parent_id": before["parent_id"], "path": old_path},
           after={"parent_id": after["parent_id"], "path": after["path"]})
    return node


def children(node: OrgNode) -> list[OrgNode]:
    return list(db.session.execute(
        select(OrgNode).where(OrgNode.parent_id == node.id).order_by(OrgNode.sort_order, OrgNode.code)
    ).scalars())


def subtree(node: OrgNode, max_depth: int | None = None) -> list[OrgNode]:
    stmt = select(OrgNode).where(OrgNode.root_id == node.root_id, OrgNode.path.like(node.path + "%"))
    if max_depth is not None:
        stmt = stmt.where(OrgNode.depth <= node.depth + max_depth)
    return list(db.session.execute(stmt.order_by(OrgNode.depth, OrgNode.sort_order, OrgNode.code)).scalars())


def ancestors(node: OrgNode) -> list[OrgNode]:
    ids = node.ancestor_ids
    if not ids:
        return []
    rows = {n.id: n for n in db.session.execute(select(OrgNode).where(OrgNode.id.in_(ids))).scalars()}
    return [rows[i] for i in ids if i in rows]
