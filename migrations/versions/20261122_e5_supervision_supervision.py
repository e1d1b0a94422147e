"""supervision slice tables (and the people slice's roster imports)

Revision ID: e5_supervision
Revises: d4_annual
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa

from kaohe.core import rls

revision = "e5_supervision"
down_revision = "d4_annual"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "roster_import",
        sa.Column("id", ID, nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("deactivate_missing", sa.Boolean(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("root_id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["root_id", "org_id"], ["org_node.root_id", "org_node.id"],
                                name=op.f("fk_roster_import_root_id_org_id_org_node")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_import")),
        sa.UniqueConstraint("root_id", "id", name="uq_roster_import_root_id_id"),
    )
    with op.batch_alter_table("roster_import", schema=None) as batch_op:
        batch_op.create_index("ix_roster_import_org_created", ["org_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_roster_import_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_roster_import_root_id"), ["root_id"], unique=False)

    op.create_table(
        "supervision_reminder",
        sa.Column("id", ID, nullable=False),
        sa.Column("from_org_id", ID, nullable=False),
        sa.Column("sender_id", ID, nullable=True),
        sa.Column("sender_name", sa.String(length=120), nullable=False),
        sa.Column("topic", sa.String(length=24), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", ID, nullable=True),
        sa.Column("root_id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["root_id", "from_org_id"], ["org_node.root_id", "org_node.id"],
                                name="fk_supervision_reminder_from_org"),
        sa.ForeignKeyConstraint(["root_id", "org_id"], ["org_node.root_id", "org_node.id"],
                                name=op.f("fk_supervision_reminder_root_id_org_id_org_node")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_reminder")),
        sa.UniqueConstraint("root_id", "id", name="uq_supervision_reminder_root_id_id"),
    )
    with op.batch_alter_table("supervision_reminder", schema=None) as batch_op:
        batch_op.create_index("ix_supervision_reminder_org_created", ["org_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_supervision_reminder_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_supervision_reminder_root_id"), ["root_id"], unique=False)

    op.create_table(
        "supervision_unit_stat",
        sa.Column("id", ID, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("period_key", sa.String(length=24), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("root_id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["root_id", "org_id"], ["org_node.root_id", "org_node.id"],
                                name=op.f("fk_supervision_unit_stat_root_id_org_id_org_node")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_unit_stat")),
        sa.UniqueConstraint("org_id", "year", "period_key", name="uq_supervision_unit_stat_org_id_year_period_key"),
    )
    with op.batch_alter_table("supervision_unit_stat", schema=None) as batch_op:
        batch_op.create_index("ix_supervision_unit_stat_root_year_key", ["root_id", "year", "period_key"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_supervision_unit_stat_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_supervision_unit_stat_root_id"), ["root_id"], unique=False)

    for table in ("roster_import", "supervision_reminder", "supervision_unit_stat"):
        rls.apply_table(op, table, "org")


def downgrade():
    op.drop_table("supervision_unit_stat")
    op.drop_table("supervision_reminder")
    op.drop_table("roster_import")
