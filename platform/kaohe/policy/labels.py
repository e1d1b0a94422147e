"""Names and years in policy messages and data: the node path of a node,
a node's label in a message and its reference in API data, and the check
of an assessment year."""
from __future__ import annotations

from sqlalchemy import select

from ..core.errors import Invalid
from ..extensions import db
from ..tenancy.models import OrgNode
from ..web.messages import N_, register_templates
from .models import ALL_YEARS

MIN_YEAR, MAX_YEAR = 2000, 2100
M_YEAR_RANGE = N_("must be between %(min)s and %(max)s")
register_templates(M_YEAR_RANGE)


def check_year(year: int | None, *, allow_all: bool = True, field: str = "year") -> int:
    if year is None or year == ALL_YEARS:
        if allow_all:
            return ALL_YEARS
        raise Invalid({field: [N_("a year is required")]})
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise Invalid({field: [N_("must be a year such as 2026")]}) from None
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Invalid({field: [M_YEAR_RANGE % {"min": MIN_YEAR, "max": MAX_YEAR}]})
    return year


def path_nodes(node: OrgNode) -> list[OrgNode]:
    """The node's ancestors and itself, province first (one query)."""
    ids = node.path_ids
    rows = {n.id: n for n in db.session.execute(select(OrgNode).where(OrgNode.id.in_(ids))).scalars()}
    return [rows[i] for i in ids if i in rows]

def node_label(n: OrgNode | None) -> str:
    if n is None:
        return "the national default"
    return f"{n.name} ({n.code})"

def names_on_path(node: OrgNode) -> dict[int, OrgNode]:
    return {n.id: n for n in path_nodes(node)}

def node_ref(n: OrgNode | None) -> dict | None:
    if n is None:
        return None
    return {"id": n.id, "code": n.code, "name": n.name, "name_en": n.name_en, "kind": n.kind}
