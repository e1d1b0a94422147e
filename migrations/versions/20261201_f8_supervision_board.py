"""supervision: the assembled dashboard of a large subtree, stored by the refresh job

Revision ID: f8_supervision_board
Revises: f7_audit_lanes
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

from kaohe.core import rls

revision = "f8_supervision_board"
down_revision = "f7_audit_lanes"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "supervision_board",
        sa.Column("id", ID, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("period_key", sa.String(length=24), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("root_id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["root_id", "org_id"], ["org_node.root_id", "org_node.id"],
                                name=op.f("fk_supervision_board_root_id_org_id_org_node")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_board")),
        sa.UniqueConstraint("org_id", "year", "period_key", name="uq_supervision_board_org_id_year_period_key"),
    )
    with op.batch_alter_table("supervision_board", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supervision_board_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_supervision_board_root_id"), ["root_id"], unique=False)
    rls.apply_table(op, "supervision_board", "org")


def downgrade():
    op.drop_table("supervision_board")
