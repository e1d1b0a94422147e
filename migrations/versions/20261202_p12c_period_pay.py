"""routine_result.pay_cents: performance pay paid with a routine period
(policy routine.period_pay_share; seed 001 「月度考核，当月兑现」)

Revision ID: p12c_period_pay
Revises: p12b_annual_leave
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa

revision = "p12c_period_pay"
down_revision = "p12b_annual_leave"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("routine_result") as b:
        b.add_column(sa.Column("pay_cents", sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table("routine_result") as b:
        b.drop_column("pay_cents")
