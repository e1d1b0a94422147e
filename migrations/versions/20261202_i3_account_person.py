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
    # Plain ALTERs, not batch mode: on SQLite a batch rebuild of user_account
    # drops the expression index uq_user_account_username_lower (reflection
    # skips expression-based indexes).
    op.add_column("user_account", sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                            server_default=sa.false()))
    op.add_column("user_account", sa.Column("activation_hash", sa.String(length=64), nullable=True))
    op.add_column("user_account", sa.Column("activation_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("uq_user_account_root_id_person_id", "user_account", ["root_id", "person_id"], unique=True)


def downgrade():
    op.drop_index("uq_user_account_root_id_person_id", table_name="user_account")
    op.drop_column("user_account", "activation_expires_at")
    op.drop_column("user_account", "activation_hash")
    op.drop_column("user_account", "must_change_password")
