"""audit: every entry carries a keyed MAC (HMAC-SHA256 of its hash under the
audit key from the app's configuration, never stored in the database); the
entries already written are signed here, as the owner, with the append-only
trigger held off for this transaction only

Revision ID: g2_audit_mac
Revises: g1_signed_scope
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
from flask import current_app

from kaohe.audit.service import audit_key, entry_mac

revision = "g2_audit_mac"
down_revision = "g1_signed_scope"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mac", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    key = audit_key(current_app.config)
    if pg:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    last = 0
    while True:
        rows = bind.execute(sa.text("SELECT id, hash FROM audit_log WHERE id > :l ORDER BY id LIMIT 5000"),
                            {"l": last}).all()
        if not rows:
            break
        bind.execute(sa.text("UPDATE audit_log SET mac = :m WHERE id = :i"),
                     [{"i": i, "m": entry_mac(key, h)} for i, h in rows])
        last = rows[-1][0]
    if pg:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("mac")
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
