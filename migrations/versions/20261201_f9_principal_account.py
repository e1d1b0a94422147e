"""auth: the principal functions also return the account's columns, so a request
loads its account without a second statement

Revision ID: f9_principal_account
Revises: f8_supervision_board
Create Date: 2026-12-01
"""
import importlib.util
import pathlib

from alembic import op

from kaohe.auth import principal

revision = "f9_principal_account"
down_revision = "f8_supervision_board"
branch_labels = None
depends_on = None


def _f6_functions() -> str:
    spec = importlib.util.spec_from_file_location(
        "_f6_auth_principal", pathlib.Path(__file__).with_name("20261201_f6_auth_principal.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.FUNCTIONS_SQL


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # The result type changes, which CREATE OR REPLACE cannot do.
        op.execute(principal.DROP_SQL)
        op.execute(principal.functions_sql(legacy=True))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(principal.DROP_SQL)
        op.execute(_f6_functions())
