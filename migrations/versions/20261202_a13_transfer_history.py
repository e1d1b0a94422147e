"""person transfers (a closed row in the old unit, a new row in the new one,
linked) and annual grades of earlier years imported from the unit's records

Revision ID: a13_transfer_history
Revises: r13_roster_fields
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa

from kaohe.core import citus, rls

revision = "a13_transfer_history"
down_revision = "r13_roster_fields"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def _tenant(name):
    return [sa.Column("root_id", ID, nullable=False), sa.Column("org_id", ID, nullable=False),
            sa.ForeignKeyConstraint(["root_id", "org_id"], ["org_node.root_id", "org_node.id"],
                                    name=op.f(f"fk_{name}_root_id_org_id_org_node"))]


def _indexes(name, extra=()):
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{name}_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f(f"ix_{name}_root_id"), ["root_id"], unique=False)
        for ix, cols in extra:
            batch_op.create_index(ix, cols, unique=False)


def upgrade():
    op.create_table(
        "person_transfer",
        sa.Column("id", ID, nullable=False),
        sa.Column("person_id", ID, nullable=False),
        sa.Column("from_person_id", ID, nullable=False),
        sa.Column("from_unit_id", ID, nullable=False),
        sa.Column("from_org_id", ID, nullable=False),
        sa.Column("to_org_id", ID, nullable=False),
        sa.Column("from_staff_no", sa.String(32), nullable=False),
        sa.Column("staff_no", sa.String(32), nullable=False),
        sa.Column("transfer_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("account_id", ID, nullable=True),
        sa.Column("grants_revoked", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(80), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        *_tenant("person_transfer"),
        sa.ForeignKeyConstraint(["root_id", "from_unit_id"], ["org_node.root_id", "org_node.id"],
                                name="fk_person_transfer_from_unit"),
        sa.ForeignKeyConstraint(["root_id", "person_id"], ["person.root_id", "person.id"],
                                name="fk_person_transfer_person"),
        sa.ForeignKeyConstraint(["root_id", "from_person_id"], ["person.root_id", "person.id"],
                                name="fk_person_transfer_from_person"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_transfer")),
        sa.UniqueConstraint("root_id", "id", name="uq_person_transfer_root_id_id"),
        sa.UniqueConstraint("root_id", "person_id", name="uq_person_transfer_root_id_person_id"),
        sa.UniqueConstraint("root_id", "from_person_id", name="uq_person_transfer_root_id_from_person_id"),
    )
    _indexes("person_transfer")
    with op.batch_alter_table("person_transfer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_transfer_from_unit_id"), ["from_unit_id"], unique=False)
    op.create_table(
        "annual_prior_grade",
        sa.Column("id", ID, nullable=False),
        sa.Column("person_id", ID, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(16), nullable=True),
        sa.Column("code", sa.String(4), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("filename", sa.String(255), nullable=True),
        sa.Column("imported_by", sa.String(80), nullable=True),
        sa.Column("imported_at", TS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_tenant("annual_prior_grade"),
        sa.ForeignKeyConstraint(["root_id", "person_id"], ["person.root_id", "person.id"],
                                name="fk_annual_prior_grade_person"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annual_prior_grade")),
        sa.UniqueConstraint("root_id", "id", name="uq_annual_prior_grade_root_id_id"),
        sa.UniqueConstraint("root_id", "person_id", "year", name="uq_annual_prior_grade_root_id_person_id_year"),
    )
    _indexes("annual_prior_grade", [("ix_annual_prior_grade_org_year", ["org_id", "year"])])
    with op.batch_alter_table("annual_prior_grade", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_annual_prior_grade_person_id"), ["person_id"], unique=False)
    for table in ("person_transfer", "annual_prior_grade"):
        citus.tenant_primary_key(op, table)   # (id, root_id) on PostgreSQL: distributable by root_id
        rls.apply_table(op, table, "org")


def downgrade():
    for table in ("annual_prior_grade", "person_transfer"):
        op.drop_table(table)
