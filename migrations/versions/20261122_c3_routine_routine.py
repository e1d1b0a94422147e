"""routine slice tables (平时考核): indicators, schemes, assignments, peer
groups, periods, participants, attendance, corrections, work records,
ratings, events, metrics, results, cap decisions, amendments, tasks and
reminders.  Every table carries root_id and gets forced RLS.

Revision ID: c3_routine
Revises: b2_policy
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa

from kaohe.core import rls

revision = "c3_routine"
down_revision = "b2_policy"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('routine_indicator',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=160), nullable=True),
    sa.Column('dimension', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_routine_indicator_root_id_org_id_org_node')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routine_indicator')),
    sa.UniqueConstraint('org_id', 'code', name='uq_routine_indicator_org_id_code'),
    sa.UniqueConstraint('root_id', 'id', name='uq_routine_indicator_root_id_id')
    )
    with op.batch_alter_table('routine_indicator', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routine_indicator_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_indicator_root_id'), ['root_id'], unique=False)
    op.create_table('routine_peer_group',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_routine_peer_group_root_id_org_id_org_node')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routine_peer_group')),
    sa.UniqueConstraint('org_id', 'name', name='uq_routine_peer_group_org_id_name'),
    sa.UniqueConstraint('root_id', 'id', name='uq_routine_peer_group_root_id_id')
    )
    with op.batch_alter_table('routine_peer_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routine_peer_group_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_peer_group_root_id'), ['root_id'], unique=False)
    op.create_table('routine_period',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('cycle', sa.String(length=12), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('policy', sa.JSON(), nullable=True),
    sa.Column('frozen', sa.JSON(), nullable=True),
    sa.Column('publicity_from', sa.Date(), nullable=True),
    sa.Column('publicity_until', sa.Date(), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('compute_summary', sa.JSON(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finalised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_routine_period_root_id_org_id_org_node')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routine_period')),
    sa.UniqueConstraint('org_id', 'year', 'cycle', 'seq', name='uq_routine_period_org_id_year_cycle_seq'),
    sa.UniqueConstraint('root_id', 'id', name='uq_routine_period_root_id_id')
    )
    with op.batch_alter_table('routine_period', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routine_period_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_period_root_id'), ['root_id'], unique=False)
    op.create_table('routine_scheme',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('job_category', sa.String(length=24), nullable=False),
    sa.Column('basis', sa.String(length=8), nullable=False),
    sa.Column('total', sa.Float(), nullable=False),
    sa.Column('sections', sa.JSON(), nullable=False),
    sa.Column('rater_weights', sa.JSON(), nullable=True),
    sa.Column('leader_score_mode', sa.String(length=8), nullable=True),
    sa.Column('democratic_scope', sa.String(length=12), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_routine_scheme_root_id_org_id_org_node')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routine_scheme')),
    sa.UniqueConstraint('org_id', 'code', name='uq_routine_scheme_org_id_code'),
    sa.UniqueConstraint('root_id', 'id', name='uq_routine_scheme_root_id_id')
    )
    with op.batch_alter_table('routine_scheme', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routine_scheme_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_scheme_root_id'), ['root_id'], unique=False)
    op.create_table('routine_amendment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('what', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('by_name', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_routine_amendment_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'period_id'], ['routine_period.root_id', 'routine_period.id'], name='fk_routine_amendment_period', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routine_amendment'))
    )
    with op.batch_alter_table('routine_amendment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routine_amendment_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_amendment_period_id'), ['period_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_amendment_root_id'), ['root_id'], unique=False)
    op.create_table('routine_assignment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scheme_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('personal', sa.JSON(), nullable=False),
    sa.Column('letter_note', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_routine_assignment_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_routine_assignment_person', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['root_id', 'scheme_id'], ['routine_scheme.root_id', 'routine_scheme.id'], name='fk_routine_assignment_scheme'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routine_assignment')),
    sa.UniqueConstraint('root_id', 'person_id', name='uq_routine_assignment_root_id_person_id')
    )
    with op.batch_alter_table('routine_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routine_assignment_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_assignment_root_id'), ['root_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_assignment_scheme_id'), ['scheme_id'], unique=False)
    op.create_table('routine_attendance',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('sign_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sign_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('corrected', sa.Boolean(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_routine_attendance_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_routine_attendance_person', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routine_attendance')),
    sa.UniqueConstraint('person_id', 'day', name='uq_routine_attendance_person_id_day')
    )
    with op.batch_alter_table('routine_attendance', schema=None) as batch_op:
        batch_op.create_index('ix_routine_attendance_org_day', ['org_id', 'day'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_attendance_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_attendance_root_id'), ['root_id'], unique=False)
    op.create_table('routine_cap_decision',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('group_key', sa.String(length=40), nullable=False),
    sa.Column('candidates', sa.JSON(), nullable=False),
    sa.Column('chosen', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decided_by', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_routine_cap_decision_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'period_id'], ['routine_period.root_id', 'routine_period.id'], name='fk_routine_cap_decision_period', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routine_cap_decision')),
    sa.UniqueConstraint('period_id', 'group_key', name='uq_routine_cap_decision_period_id_group_key')
    )
    with op.batch_alter_table('routine_cap_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routine_cap_decision_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_cap_decision_period_id'), ['period_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_cap_decision_root_id'), ['root_id'], unique=False)
    op.create_table('routine_correction',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('sign_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sign_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('decided_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_routine_correction_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_routine_correction_person', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routine_correction'))
    )
    with op.batch_alter_table('routine_correction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routine_correction_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_correction_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_correction_root_id'), ['root_id'], unique=False)
    op.create_table('routine_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('indicator_code', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('points', sa.Float(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recorded_by_name', sa.String(length=80), nullable=True),
    sa.Column('voided', sa.Boolean(), nullable=False),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_routine_event_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'period_id'], ['routine_period.root_id', 'routine_period.id'], name='fk_routine_event_period', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_routine_event_person'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routine_event'))
    )
    with op.batch_alter_table('routine_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routine_event_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_event_period_id'), ['period_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_event_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_event_root_id'), ['root_id'], unique=False)
    op.create_table('routine_metric',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('indicator_code', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=True),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_routine_metric_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'period_id'], ['routine_period.root_id', 'routine_period.id'], name='fk_routine_metric_period', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_routine_metric_person'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routine_metric')),
    sa.UniqueConstraint('period_id', 'person_id', 'indicator_code', name='uq_routine_metric_period_id_person_id_indicator_code')
    )
    with op.batch_alter_table('routine_metric', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routine_metric_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_metric_period_id'), ['period_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_metric_root_id'), ['root_id'], unique=False)
    op.create_table('routine_participant',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position_role', sa.String(length=16), nullable=False),
    sa.Column('scheme_code', sa.String(length=40), nullable=False),
    sa.Column('personal', sa.JSON(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_routine_participant_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'period_id'], ['routine_period.root_id', 'routine_period.id'], name='fk_routine_participant_period', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_routine_participant_person'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routine_participant')),
    sa.UniqueConstraint('period_id', 'person_id', name='uq_routine_participant_period_id_person_id')
    )
    with op.batch_alter_table('routine_participant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routine_participant_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_participant_period_id'), ['period_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_participant_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_participant_root_id'), ['root_id'], unique=False)
    op.create_table('routine_peer_member',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('group_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'group_id'], ['routine_peer_group.root_id', 'routine_peer_group.id'], name='fk_routine_peer_member_group', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_routine_peer_member_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_routine_peer_member_person', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routine_peer_member')),
    sa.UniqueConstraint('group_id', 'person_id', name='uq_routine_peer_member_group_id_person_id')
    )
    with op.batch_alter_table('routine_peer_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routine_peer_member_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_peer_member_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_peer_member_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_peer_member_root_id'), ['root_id'], unique=False)
    op.create_table('routine_rating',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ratee_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rater_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rater_kind', sa.String(length=12), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('comment_visible', sa.Boolean(), nullable=False),
    sa.Column('proposed_grade', sa.String(length=12), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_routine_rating_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'period_id'], ['routine_period.root_id', 'routine_period.id'], name='fk_routine_rating_period', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['root_id', 'ratee_id'], ['person.root_id', 'person.id'], name='fk_routine_rating_ratee'),
    sa.ForeignKeyConstraint(['root_id', 'rater_id'], ['person.root_id', 'person.id'], name='fk_routine_rating_rater'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routine_rating')),
    sa.UniqueConstraint('period_id', 'ratee_id', 'rater_id', 'rater_kind', name='uq_routine_rating_period_id_ratee_id_rater_id_rater_kind')
    )
    with op.batch_alter_table('routine_rating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routine_rating_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_rating_period_id'), ['period_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_rating_ratee_id'), ['ratee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_rating_rater_id'), ['rater_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_rating_root_id'), ['root_id'], unique=False)
    op.create_table('routine_reminder',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('mailed', sa.Boolean(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_routine_reminder_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_routine_reminder_person', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routine_reminder')),
    sa.UniqueConstraint('person_id', 'kind', 'day', name='uq_routine_reminder_person_id_kind_day')
    )
    with op.batch_alter_table('routine_reminder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routine_reminder_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_reminder_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_reminder_root_id'), ['root_id'], unique=False)
    op.create_table('routine_result',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('grade', sa.String(length=12), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('rank_of', sa.Integer(), nullable=True),
    sa.Column('breakdown', sa.JSON(), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('feedback', sa.Text(), nullable=True),
    sa.Column('feedback_by', sa.String(length=80), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_routine_result_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'period_id'], ['routine_period.root_id', 'routine_period.id'], name='fk_routine_result_period', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_routine_result_person'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routine_result')),
    sa.UniqueConstraint('period_id', 'person_id', name='uq_routine_result_period_id_person_id')
    )
    with op.batch_alter_table('routine_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routine_result_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_result_period_id'), ['period_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_result_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_result_root_id'), ['root_id'], unique=False)
    op.create_table('routine_task',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('assignee_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('assignee_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('assignee_role', sa.String(length=24), nullable=True),
    sa.Column('assignee_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('source_type', sa.String(length=40), nullable=True),
    sa.Column('source_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('closed_type', sa.String(length=40), nullable=True),
    sa.Column('closed_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_routine_task_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_routine_task_person', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routine_task'))
    )
    with op.batch_alter_table('routine_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routine_task_assignee_person_id'), ['assignee_person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_task_assignee_user_id'), ['assignee_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_task_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_task_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_task_root_id'), ['root_id'], unique=False)
        batch_op.create_index('ix_routine_task_source', ['source_type', 'source_id'], unique=False)
    op.create_table('routine_work_record',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('plan', sa.Text(), nullable=True),
    sa.Column('done', sa.Text(), nullable=False),
    sa.Column('supervisor_comment', sa.Text(), nullable=True),
    sa.Column('comment_visible', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_routine_work_record_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'period_id'], ['routine_period.root_id', 'routine_period.id'], name='fk_routine_work_record_period', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_routine_work_record_person'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routine_work_record')),
    sa.UniqueConstraint('person_id', 'kind', 'on_date', name='uq_routine_work_record_person_id_kind_on_date')
    )
    with op.batch_alter_table('routine_work_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routine_work_record_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_work_record_period_id'), ['period_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_work_record_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routine_work_record_root_id'), ['root_id'], unique=False)
    rls.apply_table(op, "routine_indicator", "org")
    rls.apply_table(op, "routine_peer_group", "org")
    rls.apply_table(op, "routine_period", "org")
    rls.apply_table(op, "routine_scheme", "org")
    rls.apply_table(op, "routine_amendment", "org")
    rls.apply_table(op, "routine_assignment", "org")
    rls.apply_table(op, "routine_attendance", "org")
    rls.apply_table(op, "routine_cap_decision", "org")
    rls.apply_table(op, "routine_correction", "org")
    rls.apply_table(op, "routine_event", "org")
    rls.apply_table(op, "routine_metric", "org")
    rls.apply_table(op, "routine_participant", "org")
    rls.apply_table(op, "routine_peer_member", "org")
    rls.apply_table(op, "routine_rating", "org")
    rls.apply_table(op, "routine_reminder", "org")
    rls.apply_table(op, "routine_result", "org")
    rls.apply_table(op, "routine_task", "org")
    rls.apply_table(op, "routine_work_record", "org")


def downgrade():
    op.drop_table("routine_work_record")
    op.drop_table("routine_task")
    op.drop_table("routine_result")
    op.drop_table("routine_reminder")
    op.drop_table("routine_rating")
    op.drop_table("routine_peer_member")
    op.drop_table("routine_participant")
    op.drop_table("routine_metric")
    op.drop_table("routine_event")
    op.drop_table("routine_correction")
    op.drop_table("routine_cap_decision")
    op.drop_table("routine_attendance")
    op.drop_table("routine_assignment")
    op.drop_table("routine_amendment")
    op.drop_table("routine_scheme")
    op.drop_table("routine_period")
    op.drop_table("routine_peer_group")
    op.drop_table("routine_indicator")
