"""annual: filing with open appeal cases (the recorded decision, the cases
open at filing, when the filing was last updated) and corrections (补定)
after the written notice

Revision ID: g12_annual_procedure
Revises: u16_calendar_year
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "g12_annual_procedure"
down_revision = "u16_calendar_year"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("annual_assessment") as b:
        b.add_column(sa.Column("filed_open_reason", sa.Text(), nullable=True))
        b.add_column(sa.Column("filed_open_cases", sa.JSON(), nullable=True))
        b.add_column(sa.Column("filing_updated_at", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("corrections", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("annual_assessment") as b:
        b.drop_column("corrections")
        b.drop_column("filing_updated_at")
        b.drop_column("filed_open_cases")
        b.drop_column("filed_open_reason")
