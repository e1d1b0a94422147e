"""auth: read the caller (credential, account state, grants, node paths) in one statement

Revision ID: f6_auth_principal
Revises: e5_supervision
Create Date: 2026-12-01
"""
from alembic import op

from kaohe.auth import principal

revision = "f6_auth_principal"
down_revision = "e5_supervision"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(principal.FUNCTIONS_SQL)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(principal.DROP_SQL)
