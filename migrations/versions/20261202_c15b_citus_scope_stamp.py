"""tenancy: on Citus, kaohe_scope() judges a value's freshness on a worker by the
distributed transaction's stamp (the coordinator's), not by the worker
transaction's own start, which is later when a long job reaches a worker late
(the annual computation of a 100,000-person province failed with "kaohe.scope is
not for this transaction").  Unchanged on plain PostgreSQL.

Revision ID: c15b_citus_scope_stamp
Revises: p12c_period_pay
Create Date: 2026-12-02
"""
from alembic import op

from kaohe.core import citus, scopesig

revision = "c15b_citus_scope_stamp"
down_revision = "p12c_period_pay"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    bind = op.get_bind()
    if citus.citus_present(bind) and citus.plan(bind).done_distributed:
        # the Citus body (the key read from its shard on each node, the transaction stamp), the
        # per-row policy functions and their nested-execution setting
        citus.install_scope_functions(bind)
    else:
        op.execute(scopesig.VERIFY_SQL)


def downgrade():
    pass   # the new body is a superset (identical on plain PostgreSQL)
