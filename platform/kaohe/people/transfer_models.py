"""A person's transfer from one assessment unit to another (调动).

How a transfer is represented (issue 13): the person's row in the old unit
stays where it is, closed (``active`` false), and a NEW person row is opened
in the new unit on the transfer date; this table links the two.  So every
history row (routine results, ratings, annual outcomes, talks, appeals)
keeps pointing at the row of the unit where it was earned, that unit keeps
seeing it with the person's name, and the new unit's lists start with the
new row on the transfer date.  Readers that need the person's whole career
(the multi-year counters: salary step, 级别, 三等功, dismissal review) follow
the chain ``person_id`` → ``from_person_id`` (``kaohe.annual.history``).

The row belongs to the new unit (``org_id``); ``from_unit_id`` names the old
one.  One transfer per closed row and per opened row."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, ForeignKeyConstraint, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import IdType, TenantMixin, tenant_fk, utcnow
from ..extensions import db


class PersonTransfer(TenantMixin, db.Model):
    __tablename__ = "person_transfer"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    person_id: Mapped[int] = mapped_column(IdType, nullable=False)          # the row opened in the new unit
    from_person_id: Mapped[int] = mapped_column(IdType, nullable=False)     # the row closed in the old unit
    from_unit_id: Mapped[int] = mapped_column(IdType, nullable=False, index=True)
    from_org_id: Mapped[int] = mapped_column(IdType, nullable=False)
    to_org_id: Mapped[int] = mapped_column(IdType, nullable=False)          # department (or the unit)
    from_staff_no: Mapped[str] = mapped_column(String(32), nullable=False)
    staff_no: Mapped[str] = mapped_column(String(32), nullable=False)
    transfer_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    account_id: Mapped[int | None] = mapped_column(IdType)                 # the account that moved with the person
    grants_revoked: Mapped[list | None] = mapped_column(JSON)               # [{role, org}] of the old unit
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("root_id", "id", name="uq_person_transfer_root_id_id"),
        UniqueConstraint("root_id", "person_id", name="uq_person_transfer_root_id_person_id"),
        UniqueConstraint("root_id", "from_person_id", name="uq_person_transfer_root_id_from_person_id"),
        tenant_fk("org_id"),
        ForeignKeyConstraint(["root_id", "from_unit_id"], ["org_node.root_id", "org_node.id"],
                             name="fk_person_transfer_from_unit"),
        ForeignKeyConstraint(["root_id", "person_id"], ["person.root_id", "person.id"],
                             name="fk_person_transfer_person"),
        ForeignKeyConstraint(["root_id", "from_person_id"], ["person.root_id", "person.id"],
                             name="fk_person_transfer_from_person"),
    )
