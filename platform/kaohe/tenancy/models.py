"""The org tree: province → city → county → township → department, plus
agencies with their divisions at any level.  A materialized path of ids
(``/1/5/23/``) makes subtree tests a prefix match on both databases."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import IdType, tenant_fk, utcnow
from ..extensions import db


class OrgKind(str, enum.Enum):
    province = "province"
    city = "city"
    county = "county"
    township = "township"
    agency = "agency"
    department = "department"


# Which kinds may sit directly under which.
CHILD_KINDS: dict[OrgKind, set[OrgKind]] = {
    OrgKind.province: {OrgKind.city, OrgKind.county, OrgKind.agency},
    OrgKind.city: {OrgKind.county, OrgKind.township, OrgKind.agency},
    OrgKind.county: {OrgKind.township, OrgKind.agency},
    OrgKind.township: {OrgKind.department},
    OrgKind.agency: {OrgKind.department, OrgKind.agency},
    OrgKind.department: set(),
}

KIND_LABELS = {
    OrgKind.province: ("省", "Province"),
    OrgKind.city: ("市州", "City / prefecture"),
    OrgKind.county: ("县区", "County / district"),
    OrgKind.township: ("乡镇街道", "Township / subdistrict"),
    OrgKind.agency: ("机关单位", "Agency"),
    OrgKind.department: ("科室处室", "Department / division"),
}


class OrgNode(db.Model):
    __tablename__ = "org_node"
    # Scoped by its own path: visible in the subtree of a grant, and its
    # ancestors are visible as the sources of inherited policy.
    __tenant__ = "org_node"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    root_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    parent_id: Mapped[int | None] = mapped_column(IdType, index=True)
    path: Mapped[str] = mapped_column(String(512), nullable=False)
    depth: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    code: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    name_en: Mapped[str | None] = mapped_column(String(160))
    is_assessment_unit: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_org_node_root_id_id"),
        UniqueConstraint("root_id", "code", name="uq_org_node_root_id_code"),
        tenant_fk("parent_id"),
        CheckConstraint("kind in ('province','city','county','township','agency','department')", name="kind"),
        Index("ix_org_node_root_path", "root_id", "path", postgresql_ops={"path": "text_pattern_ops"}),
    )
    __mapper_args__ = {"version_id_col": version}

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/")[:-1]] if self.path else []

    @property
    def path_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/")] if self.path else []

    def display_name(self, locale: str = "zh") -> str:
        if locale.startswith("en") and self.name_en:
            return self.name_en
        return self.name

    def __repr__(self) -> str:
        return f"<OrgNode {self.id} {self.code} {self.name} {self.path}>"
