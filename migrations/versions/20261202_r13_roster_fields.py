"""people: what a real roster holds (staff category, ID number, birth date,
political status, post and rank, work start date) and the list of changes
a checked roster file makes

* ``person``: the new columns (nullable) and a unique index (root_id,
  id_number): one ID number per province (NULLs repeat freely);
* ``roster_import.changes``: the plan the check listed and the import carries out.

Revision ID: r13_roster_fields
Revises: g12_annual_procedure
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "r13_roster_fields"
down_revision = "g12_annual_procedure"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("person") as b:
        b.add_column(sa.Column("staff_category", sa.String(length=16), nullable=True))
        b.add_column(sa.Column("id_number", sa.String(length=18), nullable=True))
        b.add_column(sa.Column("birth_date", sa.Date(), nullable=True))
        b.add_column(sa.Column("political_status", sa.String(length=20), nullable=True))
        b.add_column(sa.Column("post_rank", sa.String(length=40), nullable=True))
        b.add_column(sa.Column("work_start_date", sa.Date(), nullable=True))
        b.create_index("uq_person_root_id_id_number", ["root_id", "id_number"], unique=True)
    with op.batch_alter_table("roster_import") as b:
        b.add_column(sa.Column("changes", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("roster_import") as b:
        b.drop_column("changes")
    with op.batch_alter_table("person") as b:
        b.drop_index("uq_person_root_id_id_number")
        b.drop_column("work_start_date")
        b.drop_column("post_rank")
        b.drop_column("political_status")
        b.drop_column("birth_date")
        b.drop_column("id_number")
        b.drop_column("staff_category")
