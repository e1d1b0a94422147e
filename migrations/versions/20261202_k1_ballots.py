"""ballots and notify: anonymous democratic evaluation sessions (民主测评) and
notification channels (WeCom / DingTalk robots) with their delivery log

Revision ID: k1_ballots
Revises: g1_job_lease
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa

from kaohe.core import citus, rls

revision = "k1_ballots"
down_revision = "g1_job_lease"
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
        "ballot_session",
        sa.Column("id", ID, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("closes_at", TS, nullable=False),
        sa.Column("candidate_ids", sa.JSON(), nullable=False),
        sa.Column("codes_issued", sa.Integer(), nullable=False),
        sa.Column("ballots_cast", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(80), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        *_tenant("ballot_session"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ballot_session")),
        sa.UniqueConstraint("root_id", "id", name="uq_ballot_session_root_id_id"),
        sa.UniqueConstraint("root_id", "key", name="uq_ballot_session_root_id_key"),
    )
    _indexes("ballot_session")
    op.create_table(
        "ballot_code",
        sa.Column("id", ID, nullable=False),
        sa.Column("session_id", ID, nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        *_tenant("ballot_code"),
        sa.ForeignKeyConstraint(["root_id", "session_id"], ["ballot_session.root_id", "ballot_session.id"],
                                name="fk_ballot_code_session", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ballot_code")),
        sa.UniqueConstraint("root_id", "session_id", "code_hash", name="uq_ballot_code_root_id_session_id_code_hash"),
    )
    _indexes("ballot_code")
    op.create_table(
        "ballot",
        sa.Column("id", ID, nullable=False, autoincrement=False),
        sa.Column("session_id", ID, nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        *_tenant("ballot"),
        sa.ForeignKeyConstraint(["root_id", "session_id"], ["ballot_session.root_id", "ballot_session.id"],
                                name="fk_ballot_session", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ballot")),
    )
    _indexes("ballot", [(op.f("ix_ballot_session_id"), ["session_id"])])
    op.create_table(
        "ballot_throttle",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("last_failure_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_ballot_throttle")),
    )
    op.create_table(
        "notify_channel",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_tenant("notify_channel"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_channel")),
        sa.UniqueConstraint("root_id", "id", name="uq_notify_channel_root_id_id"),
    )
    _indexes("notify_channel")
    op.create_table(
        "notify_delivery",
        sa.Column("id", ID, nullable=False),
        sa.Column("channel_id", ID, nullable=False),
        sa.Column("topic", sa.String(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        *_tenant("notify_delivery"),
        sa.ForeignKeyConstraint(["root_id", "channel_id"], ["notify_channel.root_id", "notify_channel.id"],
                                name="fk_notify_delivery_channel", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_delivery")),
        sa.UniqueConstraint("root_id", "channel_id", "topic", "day", name="uq_notify_delivery_root_id_channel_id_topic_day"),
    )
    _indexes("notify_delivery", [("ix_notify_delivery_root_status", ["root_id", "status"])])
    for table in ("ballot_session", "ballot_code", "ballot", "notify_channel", "notify_delivery"):
        citus.tenant_primary_key(op, table)   # (id, root_id) on PostgreSQL: distributable by root_id
        rls.apply_table(op, table, "org")
    rls.grant_plain_table(op, "ballot_throttle")


def downgrade():
    for table in ("notify_delivery", "notify_channel", "ballot_throttle", "ballot", "ballot_code", "ballot_session"):
        op.drop_table(table)
