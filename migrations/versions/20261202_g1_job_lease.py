"""jobs: a lease on running jobs (worker, heartbeat_at), so a job whose worker
died is detected and failed instead of "running" forever

Revision ID: g1_job_lease
Revises: f9_principal_account
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "g1_job_lease"
down_revision = "f9_principal_account"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("worker")
