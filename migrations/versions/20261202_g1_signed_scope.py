"""tenancy: a scope the app role cannot forge (one signed setting, verified in
the policies); the principal look-ups become SECURITY DEFINER functions of the
owner instead of widening kaohe.all_roots

- kaohe_scope_key: the scope key's HMAC pads, readable by the owner only
  (written from the app's configuration at every upgrade by migrations/env.py).
- kaohe_scope(): SECURITY DEFINER, verifies ``kaohe.scope`` and returns its fields.
- kaohe_root() & co. keep their names and types and now read the verified
  scope; kaohe_all_roots() is also true for the schema owner (this role).
- Every kaohe_* call in every policy is wrapped as ``(SELECT kaohe_x())``
  (evaluated once per query).

Revision ID: g1_signed_scope
Revises: f9_principal_account
Create Date: 2026-12-02
"""
from alembic import op
from flask import current_app
from sqlalchemy import text

from kaohe.auth import principal
from kaohe.core import rls, scopesig

revision = "g1_signed_scope"
down_revision = "f9_principal_account"
branch_labels = None
depends_on = None


def _rewrite_policies(bind, fn) -> None:
    rows = bind.execute(text("SELECT tablename, policyname, qual, with_check FROM pg_policies "
                             "WHERE schemaname = current_schema() ORDER BY tablename, policyname")).all()
    for table, name, qual, check in rows:
        parts = []
        if qual is not None:
            parts.append(f"USING ({fn(qual)})")
        if check is not None:
            parts.append(f"WITH CHECK ({fn(check)})")
        if parts:
            op.execute(f'ALTER POLICY "{name}" ON "{table}" ' + " ".join(parts))


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    owner = bind.execute(text("SELECT current_user")).scalar_one()
    op.execute(scopesig.KEY_TABLE_SQL)
    op.execute(scopesig.TYPE_SQL)
    op.execute(scopesig.VERIFY_SQL)
    op.execute(scopesig.accessors_sql(owner))
    op.execute(principal.DROP_SQL)
    op.execute(principal.FUNCTIONS_SQL)
    _rewrite_policies(bind, rls.once_per_query)
    scopesig.sync_key(bind, scopesig.derive_key(current_app.config))


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(rls.FUNCTIONS_SQL)  # the helpers read the plain settings again (wrapped calls still work)
    op.execute(principal.DROP_SQL)
    op.execute(principal.functions_sql(legacy=True))
    op.execute("DROP FUNCTION IF EXISTS kaohe_scope()")
    op.execute("DROP TYPE IF EXISTS kaohe_scope_t")
    op.execute(f"DROP TABLE IF EXISTS {scopesig.KEY_TABLE}")
