"""auth: read the caller (credential, account state, grants, node paths) in one statement

Revision ID: f6_auth_principal
Revises: e5_supervision
Create Date: 2026-12-01
"""
from alembic import op

from kaohe.auth import principal

# The functions as this revision made them (frozen here: f9_principal_account
# changed what they return).  They turn kaohe.all_roots on in their body and
# back off before returning: a ``SET kaohe.all_roots`` clause on the function
# would need a superuser (PostgreSQL 15 refuses placeholder parameters in
# CREATE FUNCTION ... SET to other roles), and the deploy owner is not one.
# g1_signed_scope replaces all of this with SECURITY DEFINER functions.
_SET_CLAUSE_SQL = (
    'CREATE OR REPLACE FUNCTION kaohe_token_principal(digest text) RETURNS TABLE (user_id bigint, '
    'user_root_id bigint, active boolean, token_id bigint, expires_at timestamptz, revoked_at '
    'timestamptz, role text, grant_org_id bigint, grant_root_id bigint, path text) LANGUAGE plpgsql '
    "STABLE SET kaohe.all_roots = 'on' AS $$ BEGIN RETURN QUERY SELECT u.id, u.root_id, u.active, "
    't.id, t.expires_at, t.revoked_at, g.role::text, g.org_id, g.root_id, o.path::text FROM '
    'api_token t JOIN user_account u ON u.id = t.user_id LEFT JOIN role_grant g ON g.user_id = u.id '
    'LEFT JOIN org_node o ON o.id = g.org_id WHERE t.token_hash = digest; END $$;\n'
    'CREATE OR REPLACE FUNCTION kaohe_session_principal(uid bigint, session text) RETURNS TABLE '
    '(user_id bigint, user_root_id bigint, active boolean, token_id bigint, expires_at timestamptz, '
    'revoked_at timestamptz, role text, grant_org_id bigint, grant_root_id bigint, path text) '
    "LANGUAGE plpgsql STABLE SET kaohe.all_roots = 'on' AS $$ BEGIN RETURN QUERY SELECT u.id, "
    'u.root_id, u.active, NULL::bigint, NULL::timestamptz, NULL::timestamptz, g.role::text, '
    'g.org_id, g.root_id, o.path::text FROM user_account u LEFT JOIN role_grant g ON g.user_id = '
    'u.id LEFT JOIN org_node o ON o.id = g.org_id WHERE u.id = uid AND u.session_token = session '
    "AND session <> ''; END $$;\n"
)


def body_sets_all_roots(sql: str) -> str:
    """The same functions with the widening done in the body, not a SET clause."""
    return (sql.replace("STABLE SET kaohe.all_roots = 'on' AS $$ BEGIN RETURN QUERY",
                        "STABLE AS $$ DECLARE prev text := current_setting('kaohe.all_roots', true); BEGIN "
                        "PERFORM set_config('kaohe.all_roots', 'on', true); RETURN QUERY")
            .replace("; END $$;", "; PERFORM set_config('kaohe.all_roots', coalesce(prev, ''), true); END $$;"))


FUNCTIONS_SQL = body_sets_all_roots(_SET_CLAUSE_SQL)

revision = "f6_auth_principal"
down_revision = "e5_supervision"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTIONS_SQL)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(principal.DROP_SQL)
