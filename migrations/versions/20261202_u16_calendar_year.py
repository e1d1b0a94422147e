"""calendar_year: a year's public holidays and make-up working days entered by
the province (used before the chinese_calendar package for that year)

Revision ID: u16_calendar_year
Revises: i3_account_person
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa

from kaohe.core import rls

revision = "u16_calendar_year"
down_revision = "i3_account_person"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "calendar_year",
        sa.Column("root_id", ID, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("workdays", sa.JSON(), nullable=False),
        sa.Column("updated_by_name", sa.String(120), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("year >= 2000 AND year <= 2100", name=op.f("ck_calendar_year_year")),
        sa.PrimaryKeyConstraint("root_id", "year", name=op.f("pk_calendar_year")),
    )
    rls.apply_table(op, "calendar_year", "root")


def downgrade():
    op.drop_table("calendar_year")
