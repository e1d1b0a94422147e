"""policy slice tables: settings per (node, key, year), the per-province
policy token, organisational-performance grades, quota approvals, pools and
allocations.

Revision ID: b2_policy
Revises: 29d942a1a23f
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa

from kaohe.core import rls

revision = "b2_policy"
down_revision = "29d942a1a23f"
branch_labels = None
depends_on = None

TABLES = ["policy_setting", "org_performance_grade", "quota_approval", "quota_pool", "quota_allocation"]


def _policy(table: str, using: str, check: str) -> None:
    """Replace the standard policy with separate read / write conditions."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP POLICY IF EXISTS kaohe_scope ON {table}")
    op.execute(f"CREATE POLICY kaohe_scope ON {table} USING ({using}) WITH CHECK ({check})")


def upgrade():
    op.create_table('policy_version',
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('root_id', name=op.f('pk_policy_version'))
    )
    op.create_table('org_performance_grade',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('grade', sa.String(length=16), nullable=False),
    sa.Column('major_contribution', sa.Boolean(), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.Column('graded_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('graded_by_name', sa.String(length=120), nullable=True),
    sa.Column('graded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.CheckConstraint("grade in ('youxiu','lianghao','yiban','jiaocha')", name=op.f('ck_org_performance_grade_grade')),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_org_performance_grade_root_id_org_id_org_node'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_performance_grade')),
    sa.UniqueConstraint('root_id', 'id', name='uq_org_performance_grade_root_id_id'),
    sa.UniqueConstraint('root_id', 'org_id', 'year', name='uq_org_performance_grade_org_year')
    )
    with op.batch_alter_table('org_performance_grade', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_org_performance_grade_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_org_performance_grade_root_id'), ['root_id'], unique=False)

    op.create_table('policy_setting',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('has_value', sa.Boolean(), nullable=False),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('min_value', sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=True),
    sa.Column('max_value', sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=True),
    sa.Column('allowed', sa.JSON(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('updated_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('updated_by_name', sa.String(length=120), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.CheckConstraint('year >= 0', name=op.f('ck_policy_setting_year')),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_policy_setting_root_id_org_id_org_node'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_setting')),
    sa.UniqueConstraint('root_id', 'id', name='uq_policy_setting_root_id_id'),
    sa.UniqueConstraint('root_id', 'org_id', 'key', 'year', name='uq_policy_setting_node_key_year')
    )
    with op.batch_alter_table('policy_setting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_setting_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_policy_setting_root_id'), ['root_id'], unique=False)
        batch_op.create_index('ix_policy_setting_root_org', ['root_id', 'org_id'], unique=False)

    op.create_table('quota_allocation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('child_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('allocated_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('allocated_by_name', sa.String(length=120), nullable=True),
    sa.Column('allocated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.CheckConstraint('count >= 0', name=op.f('ck_quota_allocation_count')),
    sa.ForeignKeyConstraint(['root_id', 'child_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_quota_allocation_root_id_child_id_org_node'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_quota_allocation_root_id_org_id_org_node'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_allocation')),
    sa.UniqueConstraint('root_id', 'id', name='uq_quota_allocation_root_id_id'),
    sa.UniqueConstraint('root_id', 'org_id', 'child_id', 'year', name='uq_quota_allocation_parent_child_year')
    )
    with op.batch_alter_table('quota_allocation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quota_allocation_child_id'), ['child_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quota_allocation_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quota_allocation_root_id'), ['root_id'], unique=False)

    op.create_table('quota_approval',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('rate', sa.Numeric(precision=6, scale=4, asdecimal=False), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('approver_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('decided_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_by_name', sa.String(length=120), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.CheckConstraint("status in ('approved','refused','revoked')", name=op.f('ck_quota_approval_status')),
    sa.ForeignKeyConstraint(['root_id', 'approver_org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_quota_approval_root_id_approver_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_quota_approval_root_id_org_id_org_node'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_approval')),
    sa.UniqueConstraint('root_id', 'id', name='uq_quota_approval_root_id_id')
    )
    with op.batch_alter_table('quota_approval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quota_approval_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_quota_approval_org_year', ['org_id', 'year'], unique=False)
        batch_op.create_index(batch_op.f('ix_quota_approval_root_id'), ['root_id'], unique=False)

    op.create_table('quota_pool',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('allocated', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_quota_pool_root_id_org_id_org_node'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_pool')),
    sa.UniqueConstraint('root_id', 'id', name='uq_quota_pool_root_id_id'),
    sa.UniqueConstraint('root_id', 'org_id', 'year', name='uq_quota_pool_org_year')
    )
    with op.batch_alter_table('quota_pool', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quota_pool_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quota_pool_root_id'), ['root_id'], unique=False)

    for table in TABLES:
        rls.apply_table(op, table, "org")
    rls.apply_table(op, "policy_version", "root")
    org_write = rls.policy_expr("org")
    # Ancestors' settings are the sources of inherited policy: readable below them.
    _policy("policy_setting",
            "kaohe_all_roots() OR (root_id = kaohe_root() AND (" + rls.ORG_IN_SCOPE.format(col="org_id")
            + " OR org_id = ANY (kaohe_ancestors())))",
            org_write)
    # An allocation is visible to the parent's subtree and to the receiving child's.
    _policy("quota_allocation",
            "kaohe_all_roots() OR (root_id = kaohe_root() AND (" + rls.ORG_IN_SCOPE.format(col="org_id")
            + " OR " + rls.ORG_IN_SCOPE.format(col="child_id") + "))",
            org_write)


def downgrade():
    for table in ["quota_allocation", "quota_pool", "quota_approval", "org_performance_grade", "policy_setting",
                  "policy_version"]:
        op.drop_table(table)
