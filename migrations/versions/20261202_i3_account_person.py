"""Accounts for the roster: one account per person, activation codes, forced password change

* ``user_account``: a unique index on (root_id, person_id): a person has at most
  one account (NULLs repeat freely);
* ``must_change_password``: the account must set a new password at its next
  sign-in (provisioned with an initial password, or reset);
* ``activation_hash`` / ``activation_expires_at``: a one-time activation code
  (SHA-256 of it only) and when it stops working.

Revision ID: i3_account_person
Revises: p12_routine_procedure
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "i3_account_person"
down_revision = "p12_routine_procedure"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("activation_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("activation_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("uq_user_account_root_id_person_id", ["root_id", "person_id"], unique=True)


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_index("uq_user_account_root_id_person_id")
        batch_op.drop_column("activation_expires_at")
        batch_op.drop_column("activation_hash")
        batch_op.drop_column("must_change_password")
