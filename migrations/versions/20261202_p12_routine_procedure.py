"""routine: per-person exemptions from complete inputs, and talk records

Revision ID: p12_routine_procedure
Revises: k1_ballots
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa

from kaohe.core import citus, rls

revision = "p12_routine_procedure"
down_revision = "k1_ballots"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _tenant_cols(table):
    return [sa.Column("root_id", ID, nullable=False), sa.Column("org_id", ID, nullable=False),
            sa.ForeignKeyConstraint(["root_id", "org_id"], ["org_node.root_id", "org_node.id"],
                                    name=f"fk_{table}_root_id_org_id_org_node")]


def upgrade():
    op.create_table(
        "routine_exemption",
        sa.Column("id", ID, nullable=False),
        sa.Column("period_id", ID, nullable=False),
        sa.Column("person_id", ID, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("missing", sa.JSON(), nullable=True),
        sa.Column("by_name", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant_cols("routine_exemption"),
        sa.ForeignKeyConstraint(["root_id", "period_id"], ["routine_period.root_id", "routine_period.id"],
                                name="fk_routine_exemption_period", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["root_id", "person_id"], ["person.root_id", "person.id"],
                                name="fk_routine_exemption_person", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_routine_exemption"),
        sa.UniqueConstraint("root_id", "period_id", "person_id", name="uq_routine_exemption_root_id_period_id_person_id"),
    )
    with op.batch_alter_table("routine_exemption", schema=None) as batch_op:
        batch_op.create_index("ix_routine_exemption_org_id", ["org_id"], unique=False)
        batch_op.create_index("ix_routine_exemption_root_id", ["root_id"], unique=False)
        batch_op.create_index("ix_routine_exemption_period_id", ["period_id"], unique=False)
    op.create_table(
        "routine_talk_record",
        sa.Column("id", ID, nullable=False),
        sa.Column("task_id", ID, nullable=False),
        sa.Column("person_id", ID, nullable=False),
        sa.Column("talked_on", sa.Date(), nullable=False),
        sa.Column("talked_by", sa.String(length=120), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("follow_up", sa.Text(), nullable=True),
        sa.Column("by_name", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant_cols("routine_talk_record"),
        sa.ForeignKeyConstraint(["root_id", "person_id"], ["person.root_id", "person.id"],
                                name="fk_routine_talk_record_person", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_routine_talk_record"),
    )
    with op.batch_alter_table("routine_talk_record", schema=None) as batch_op:
        batch_op.create_index("ix_routine_talk_record_org_id", ["org_id"], unique=False)
        batch_op.create_index("ix_routine_talk_record_root_id", ["root_id"], unique=False)
        batch_op.create_index("ix_routine_talk_record_task_id", ["task_id"], unique=False)
    citus.tenant_primary_key(op, "routine_exemption")
    citus.tenant_primary_key(op, "routine_talk_record")
    rls.apply_table(op, "routine_exemption", "org")
    rls.apply_table(op, "routine_talk_record", "org")


def downgrade():
    op.drop_table("routine_talk_record")
    op.drop_table("routine_exemption")
