"""Tenant packs: the org tree (and, through hooks, policy) as files.

A pack is a directory per org node, nested like the tree.  Each holds
``org.yaml`` (the node) and optionally ``policy.yaml`` (read by the policy
slice).  Leaf nodes such as departments may instead be listed inline under
``children:`` in their parent's org.yaml.  Loading is idempotent: nodes are
matched by code within the province, and only what changed is written (and
audited).  Everything is validated before anything is written."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml
from sqlalchemy import select

from ..core.errors import Invalid
from ..extensions import db
from .models import CHILD_KINDS, OrgKind, OrgNode
from . import service

NODE_KEYS = {"code", "kind", "name", "name_en", "is_assessment_unit", "sort", "children"}
REQUIRED = {"code", "kind", "name"}


@dataclass
class PackNode:
    code: str
    kind: str
    name: str
    name_en: str | None
    is_assessment_unit: bool
    sort: int
    source: str
    directory: Path | None
    children: list["PackNode"] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. parsed policy.yaml


class PackError(Invalid):
    default = "The pack is not valid."


# Other slices register readers for more files in a node directory
# (e.g. policy.yaml): name -> (parse(path, data) -> object, apply(node, obj)).
FILE_READERS: dict[str, tuple[Callable, Callable]] = {}
# Whole-pack checks run after parsing, before anything is written: fn(top PackNode).
PACK_VALIDATORS: list[Callable[["PackNode"], None]] = []
# Called for every node of the pack after the tree is upserted: fn(node, pack_node) -> changes.
PACK_NODE_HOOKS: list[Callable] = []


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise PackError({str(path): [f"not valid YAML: {exc}"]})


def _node_from(data: Any, source: str, directory: Path | None) -> PackNode:
    if not isinstance(data, dict):
        raise PackError({source: ["expected a mapping with code, kind and name"]})
    unknown = set(data) - NODE_KEYS
    if unknown:
        raise PackError({source: [f"unknown key(s): {', '.join(sorted(unknown))}"]})
    missing = REQUIRED - set(data)
    if missing:
        raise PackError({source: [f"missing key(s): {', '.join(sorted(missing))}"]})
    kind = str(data["kind"])
    if kind not in {k.value for k in OrgKind}:
        raise PackError({source: [f"kind: unknown kind {kind!r}"]})
    if not isinstance(data.get("is_assessment_unit", False), bool):
        raise PackError({source: ["is_assessment_unit: must be true or false"]})
    if not isinstance(data.get("sort", 0), int):
        raise PackError({source: ["sort: must be an integer"]})
    node = PackNode(code=str(data["code"]).strip(), kind=kind, name=str(data["name"]).strip(),
                    name_en=data.get("name_en"), is_assessment_unit=bool(data.get("is_assessment_unit", False)),
                    sort=int(data.get("sort", 0)), source=source, directory=directory)
    inline = data.get("children") or []
    if not isinstance(inline, list):
        raise PackError({source: ["children: must be a list"]})
    for i, child in enumerate(inline):
        node.children.append(_node_from(child, f"{source}#children[{i}]", None))
    return node


def read_pack(path: str | Path) -> PackNode:
    """Parse and validate a whole pack (no database access)."""
    root_dir = Path(path)
    if not (root_dir / "org.yaml").exists():
        raise PackError({str(root_dir): ["no org.yaml: not a pack directory"]})

    def walk(directory: Path) -> PackNode:
        node = _node_from(_read_yaml(directory / "org.yaml"), str(directory / "org.yaml"), directory)
        for fname, (parse, _apply) in FILE_READERS.items():
            fpath = directory / fname
            if fpath.exists():
                node.extra[fname] = parse(fpath, _read_yaml(fpath))
        for sub in sorted(p for p in directory.iterdir() if p.is_dir() and (p / "org.yaml").exists()):
            node.children.append(walk(sub))
        return node

    top = walk(root_dir)
    codes: dict[str, str] = {}

    def check(node: PackNode, parent: PackNode | None) -> None:
        if node.code in codes:
            raise PackError({node.source: [f"code {node.code} is also used by {codes[node.code]}"]})
        codes[node.code] = node.source
        if parent is not None and OrgKind(node.kind) not in CHILD_KINDS[OrgKind(parent.kind)]:
            raise PackError({node.source: [f"a {node.kind} cannot sit under a {parent.kind}"]})
        for child in node.children:
            check(child, node)

    if top.kind != OrgKind.province.value:
        raise PackError({top.source: ["the top node of a pack must be a province"]})
    check(top, None)
    for validate in PACK_VALIDATORS:
        validate(top)
    return top


@dataclass
class LoadReport:
    created: int = 0
    updated: int = 0
    moved: int = 0
    unchanged: int = 0
    extra_changes: int = 0
    root_id: int | None = None

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "moved": self.moved,
                "unchanged": self.unchanged, "extra_changes": self.extra_changes, "root_id": self.root_id}


def load_pack(path: str | Path) -> LoadReport:
    """Upsert a pack (flush, no commit).  Runs under a scope that covers the
    province (system scope from the CLI)."""
    top = read_pack(path)
    report = LoadReport()
    province = db.session.execute(
        select(OrgNode).where(OrgNode.parent_id.is_(None), OrgNode.code == top.code)).scalar_one_or_none()
    if province is None:
        province = service.create_province(code=top.code, name=top.name, name_en=top.name_en)
        report.created += 1
    else:
        _update(province, top, report)
    report.root_id = province.root_id
    existing = {n.code: n for n in db.session.execute(
        select(OrgNode).where(OrgNode.root_id == province.root_id)).scalars()}

    applied: list[tuple[OrgNode, PackNode]] = [(province, top)]

    def upsert(parent: OrgNode, pnode: PackNode) -> None:
        node = existing.get(pnode.code)
        if node is None:
            node = service.create_child(parent, kind=pnode.kind, code=pnode.code, name=pnode.name,
                                        name_en=pnode.name_en, is_assessment_unit=pnode.is_assessment_unit,
                                        sort_order=pnode.sort)
            existing[node.code] = node
            report.created += 1
        else:
            if node.kind != pnode.kind:
                raise PackError({pnode.source: [f"node {pnode.code} exists as a {node.kind}, not a {pnode.kind}"]})
            if node.parent_id != parent.id:
                node = service.move_node(node, parent)
                report.moved += 1
                existing.update({n.code: n for n in db.session.execute(
                    select(OrgNode).where(OrgNode.root_id == province.root_id)).scalars()})
            _update(node, pnode, report)
        applied.append((node, pnode))
        for child in pnode.children:
            upsert(node, child)

    for child in top.children:
        upsert(province, child)
    for node, pnode in applied:
        for fname, obj in pnode.extra.items():
            _parse, apply = FILE_READERS[fname]
            report.extra_changes += apply(node, obj) or 0
        for hook in PACK_NODE_HOOKS:
            report.extra_changes += hook(node, pnode) or 0
    return report


def _update(node: OrgNode, pnode: PackNode, report: LoadReport) -> None:
    changes = {}
    if node.name != pnode.name:
        changes["name"] = pnode.name
    if (node.name_en or None) != (pnode.name_en or None):
        changes["name_en"] = pnode.name_en or ""
    if node.is_assessment_unit != pnode.is_assessment_unit:
        changes["is_assessment_unit"] = pnode.is_assessment_unit
    if node.sort_order != pnode.sort:
        changes["sort_order"] = pnode.sort
    if changes:
        service.update_node(node, **changes)
        report.updated += 1
    else:
        report.unchanged += 1


# Exporters for extra files: name -> fn(node) -> data | None
FILE_WRITERS: dict[str, Callable[[OrgNode], Any]] = {}


def export_pack(root: OrgNode, target: str | Path) -> int:
    """Write ``root``'s subtree as a pack.  Leaves without extra files are
    written inline; every other node gets its own directory."""
    target = Path(target)
    nodes = service.subtree(root)
    by_parent: dict[int | None, list[OrgNode]] = {}
    for n in nodes:
        by_parent.setdefault(n.parent_id, []).append(n)
    count = 0

    def as_dict(n: OrgNode) -> dict:
        d: dict[str, Any] = {"code": n.code, "kind": n.kind, "name": n.name}
        if n.name_en:
            d["name_en"] = n.name_en
        if n.is_assessment_unit:
            d["is_assessment_unit"] = True
        if n.sort_order:
            d["sort"] = n.sort_order
        return d

    def extras(n: OrgNode) -> dict:
        out = {}
        for fname, writer in FILE_WRITERS.items():
            data = writer(n)
            if data:
                out[fname] = data
        return out

    def write(n: OrgNode, directory: Path) -> None:
        nonlocal count
        directory.mkdir(parents=True, exist_ok=True)
        d = as_dict(n)
        inline = []
        for c in by_parent.get(n.id, []):
            if not by_parent.get(c.id) and not extras(c):
                inline.append(as_dict(c))
                count += 1
            else:
                write(c, directory / _dirname(c))
        if inline:
            d["children"] = inline
        (directory / "org.yaml").write_text(yaml.safe_dump(d, allow_unicode=True, sort_keys=False), encoding="utf-8")
        for fname, data in extras(n).items():
            (directory / fname).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        count += 1

    # A node below the province is written inside its ancestor chain (each
    # ancestor with its own files, no other children), so the pack loads.
    chain = service.ancestors(root)
    for anc, below in zip(chain, chain[1:] + [root]):
        target.mkdir(parents=True, exist_ok=True)
        (target / "org.yaml").write_text(yaml.safe_dump(as_dict(anc), allow_unicode=True, sort_keys=False),
                                         encoding="utf-8")
        for fname, data in extras(anc).items():
            (target / fname).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        target = target / _dirname(below)
    write(root, target)
    return count


def _dirname(n: OrgNode) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in (n.name_en or n.code))
    return f"{n.code}-{safe}".strip("-")[:80]
