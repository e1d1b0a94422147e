"""annual_leave: leave recorded as date ranges (start, end, kind) per person
and year; eligibility counts calendar and working days from them.

Existing day counts (annual_record rows of kind "leave") are kept as they
are, as a legacy figure: the annual computation uses it only for a person
and year without any range, and the leave page shows it as such.  They are
not converted: a count cannot be turned into dates without inventing them.

Revision ID: p12b_annual_leave
Revises: a13_transfer_history
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa

from kaohe.core import citus, rls

revision = "p12b_annual_leave"
down_revision = "a13_transfer_history"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "annual_leave",
        sa.Column("id", ID, nullable=False),
        sa.Column("person_id", ID, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("root_id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["root_id", "org_id"], ["org_node.root_id", "org_node.id"],
                                name="fk_annual_leave_root_id_org_id_org_node"),
        sa.ForeignKeyConstraint(["root_id", "person_id"], ["person.root_id", "person.id"],
                                name="fk_annual_leave_person", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_annual_leave"),
    )
    with op.batch_alter_table("annual_leave", schema=None) as batch_op:
        batch_op.create_index("ix_annual_leave_org_id", ["org_id"], unique=False)
        batch_op.create_index("ix_annual_leave_root_id", ["root_id"], unique=False)
        batch_op.create_index("ix_annual_leave_root_id_person_id_year", ["root_id", "person_id", "year"],
                              unique=False)
        batch_op.create_index("ix_annual_leave_org_year", ["org_id", "year"], unique=False)
    citus.tenant_primary_key(op, "annual_leave")
    rls.apply_table(op, "annual_leave", "org")


def downgrade():
    op.drop_table("annual_leave")
