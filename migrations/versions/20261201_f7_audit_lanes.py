"""audit: one hash chain per (province, lane) instead of per province

The lane is the entry's owning org (0 = the province itself).  Existing
entries and heads become lane 0, so the old per-province chains stay valid
as they are: ``lane`` is added with a constant default, which PostgreSQL
stores in the catalogue without rewriting a row (no UPDATE reaches
audit_log, whose trigger would refuse it).  SQLite rebuilds both tables
(batch mode; it has no trigger).  RLS, FORCE and the append-only grants are
table properties that survive the constraint changes; they are re-applied
at the end anyway (idempotent).

Revision ID: f7_audit_lanes
Revises: f6_auth_principal
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

from kaohe.core import rls

revision = "f7_audit_lanes"
down_revision = "f6_auth_principal"
branch_labels = None
depends_on = None


def _reapply_rls():
    rls.apply_table(op, "audit_head", "root")
    rls.apply_table(op, "audit_log", "org", append_only=True)


def upgrade():
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lane", sa.BigInteger(), server_default="0", nullable=False,
                                      autoincrement=False))
        batch_op.drop_constraint("pk_audit_head", type_="primary")
        batch_op.create_primary_key("pk_audit_head", ["root_id", "lane"])
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lane", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.drop_constraint("uq_audit_log_root_id_seq", type_="unique")
        batch_op.create_unique_constraint("uq_audit_log_root_id_lane_seq", ["root_id", "lane", "seq"])
    _reapply_rls()


def downgrade():
    # Merging lanes back into one chain per province would mean renumbering
    # and re-hashing the append-only log, i.e. forging it.  Only a log that
    # never left lane 0 goes back; otherwise restore a backup.
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":  # FORCE RLS binds the owner too: count every province
        bind.execute(sa.text("SELECT set_config('kaohe.all_roots', 'on', true)"))
    lanes = bind.execute(sa.text("SELECT (SELECT count(*) FROM audit_log WHERE lane <> 0) + "
                                 "(SELECT count(*) FROM audit_head WHERE lane <> 0)")).scalar()
    if lanes:
        raise RuntimeError(f"cannot downgrade f7_audit_lanes: {lanes} audit entries/heads are in lanes other "
                           "than 0, and merging them into one chain would rewrite the append-only log; "
                           "restore a backup taken before the upgrade instead")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint("uq_audit_log_root_id_lane_seq", type_="unique")
        batch_op.create_unique_constraint("uq_audit_log_root_id_seq", ["root_id", "seq"])
        batch_op.drop_column("lane")
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_constraint("pk_audit_head", type_="primary")
        batch_op.create_primary_key("pk_audit_head", ["root_id"])
        batch_op.drop_column("lane")
    _reapply_rls()
