"""annual slice tables

Revision ID: d4_annual
Revises: c3_routine
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa

from kaohe.core import rls

revision = "d4_annual"
down_revision = "c3_routine"
branch_labels = None
depends_on = None

TABLES = ['annual_assessment', 'special_campaign', 'annual_adjustment', 'annual_outcome', 'annual_record', 'annual_review', 'annual_routine_import', 'annual_run', 'annual_summary', 'annual_talk', 'special_result', 'annual_appeal', 'annual_result']


def upgrade():

    op.create_table('annual_assessment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('org_grade', sa.String(length=16), nullable=True),
    sa.Column('major_contribution', sa.Boolean(), nullable=False),
    sa.Column('current_run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('policy', sa.JSON(), nullable=True),
    sa.Column('quota', sa.JSON(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by', sa.String(length=80), nullable=True),
    sa.Column('publicity_start', sa.Date(), nullable=True),
    sa.Column('publicity_end', sa.Date(), nullable=True),
    sa.Column('notified_on', sa.Date(), nullable=True),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('filed_by', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_annual_assessment_root_id_org_id_org_node')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annual_assessment')),
    sa.UniqueConstraint('org_id', 'year', name='uq_annual_assessment_org_id_year'),
    sa.UniqueConstraint('root_id', 'id', name='uq_annual_assessment_root_id_id')
    )
    with op.batch_alter_table('annual_assessment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annual_assessment_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_assessment_root_id'), ['root_id'], unique=False)

    op.create_table('special_campaign',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('result_type', sa.String(length=16), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_special_campaign_root_id_org_id_org_node')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_special_campaign')),
    sa.UniqueConstraint('root_id', 'id', name='uq_special_campaign_root_id_id')
    )
    with op.batch_alter_table('special_campaign', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_special_campaign_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_special_campaign_root_id'), ['root_id'], unique=False)

    op.create_table('annual_adjustment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('assessment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('grade', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decided_by', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'assessment_id'], ['annual_assessment.root_id', 'annual_assessment.id'], name='fk_annual_adjustment_assessment', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_annual_adjustment_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_annual_adjustment_person'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annual_adjustment')),
    sa.UniqueConstraint('assessment_id', 'person_id', name='uq_annual_adjustment_assessment_id_person_id')
    )
    with op.batch_alter_table('annual_adjustment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annual_adjustment_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_adjustment_root_id'), ['root_id'], unique=False)

    op.create_table('annual_outcome',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('assessment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('computed_grade', sa.String(length=16), nullable=True),
    sa.Column('grade', sa.String(length=16), nullable=True),
    sa.Column('code', sa.String(length=4), nullable=False),
    sa.Column('adjusted', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('pay_cents', sa.BigInteger(), nullable=True),
    sa.Column('notice_on', sa.Date(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('changed_by_appeal', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'assessment_id'], ['annual_assessment.root_id', 'annual_assessment.id'], name='fk_annual_outcome_assessment', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_annual_outcome_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_annual_outcome_person'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annual_outcome')),
    sa.UniqueConstraint('assessment_id', 'person_id', name='uq_annual_outcome_assessment_id_person_id'),
    sa.UniqueConstraint('root_id', 'id', name='uq_annual_outcome_root_id_id')
    )
    with op.batch_alter_table('annual_outcome', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annual_outcome_assessment_id'), ['assessment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_outcome_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_outcome_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_annual_outcome_person_year', ['person_id', 'year'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_outcome_root_id'), ['root_id'], unique=False)

    op.create_table('annual_record',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sanction_kind', sa.String(length=16), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('days', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_annual_record_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_annual_record_person'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annual_record')),
    sa.UniqueConstraint('root_id', 'id', name='uq_annual_record_root_id_id')
    )
    with op.batch_alter_table('annual_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annual_record_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_annual_record_org_year', ['org_id', 'year'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_record_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_record_root_id'), ['root_id'], unique=False)

    op.create_table('annual_review',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('assessment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('leader_score', sa.Float(), nullable=True),
    sa.Column('recommended_grade', sa.String(length=16), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('reviewer', sa.String(length=80), nullable=True),
    sa.Column('votes_youxiu', sa.Integer(), nullable=False),
    sa.Column('votes_chenzhi', sa.Integer(), nullable=False),
    sa.Column('votes_jibenchenzhi', sa.Integer(), nullable=False),
    sa.Column('votes_buchenzhi', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'assessment_id'], ['annual_assessment.root_id', 'annual_assessment.id'], name='fk_annual_review_assessment', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_annual_review_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_annual_review_person'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annual_review')),
    sa.UniqueConstraint('assessment_id', 'person_id', name='uq_annual_review_assessment_id_person_id')
    )
    with op.batch_alter_table('annual_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annual_review_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_review_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_review_root_id'), ['root_id'], unique=False)

    op.create_table('annual_routine_import',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('period_no', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('grade', sa.String(length=16), nullable=True),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_annual_routine_import_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_annual_routine_import_person', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annual_routine_import')),
    sa.UniqueConstraint('person_id', 'year', 'period_no', name='uq_annual_routine_import_person_id_year_period_no')
    )
    with op.batch_alter_table('annual_routine_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annual_routine_import_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_annual_routine_import_org_year', ['org_id', 'year'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_routine_import_root_id'), ['root_id'], unique=False)

    op.create_table('annual_run',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('assessment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.Column('quota', sa.JSON(), nullable=True),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=True),
    sa.Column('created_by', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'assessment_id'], ['annual_assessment.root_id', 'annual_assessment.id'], name='fk_annual_run_assessment', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_annual_run_root_id_org_id_org_node')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annual_run')),
    sa.UniqueConstraint('assessment_id', 'seq', name='uq_annual_run_assessment_id_seq'),
    sa.UniqueConstraint('root_id', 'id', name='uq_annual_run_root_id_id')
    )
    with op.batch_alter_table('annual_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annual_run_assessment_id'), ['assessment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_run_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_run_root_id'), ['root_id'], unique=False)

    op.create_table('annual_summary',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('assessment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'assessment_id'], ['annual_assessment.root_id', 'annual_assessment.id'], name='fk_annual_summary_assessment', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_annual_summary_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_annual_summary_person'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annual_summary')),
    sa.UniqueConstraint('assessment_id', 'person_id', name='uq_annual_summary_assessment_id_person_id')
    )
    with op.batch_alter_table('annual_summary', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annual_summary_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_summary_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_summary_root_id'), ['root_id'], unique=False)

    op.create_table('annual_talk',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('leader_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('held_on', sa.Date(), nullable=True),
    sa.Column('record', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_annual_talk_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_annual_talk_person'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annual_talk')),
    sa.UniqueConstraint('person_id', 'year', 'kind', name='uq_annual_talk_person_id_year_kind')
    )
    with op.batch_alter_table('annual_talk', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annual_talk_leader_person_id'), ['leader_person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_talk_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_talk_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_talk_root_id'), ['root_id'], unique=False)

    op.create_table('special_result',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('grade', sa.String(length=16), nullable=True),
    sa.Column('points', sa.Float(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('updated_by', sa.String(length=80), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'campaign_id'], ['special_campaign.root_id', 'special_campaign.id'], name='fk_special_result_campaign', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_special_result_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_special_result_person'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_special_result')),
    sa.UniqueConstraint('campaign_id', 'person_id', name='uq_special_result_campaign_id_person_id')
    )
    with op.batch_alter_table('special_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_special_result_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_special_result_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_special_result_root_id'), ['root_id'], unique=False)
        batch_op.create_index('ix_special_result_year_person', ['year', 'person_id'], unique=False)

    op.create_table('annual_appeal',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('outcome_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('decider_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stage', sa.String(length=8), nullable=False),
    sa.Column('route', sa.String(length=16), nullable=True),
    sa.Column('follows_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('grade_appealed', sa.String(length=16), nullable=False),
    sa.Column('grounds', sa.Text(), nullable=False),
    sa.Column('filed_on', sa.Date(), nullable=False),
    sa.Column('file_by', sa.Date(), nullable=False),
    sa.Column('decide_by', sa.Date(), nullable=False),
    sa.Column('extended', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('new_grade', sa.String(length=16), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('decided_by', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'decider_org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_annual_appeal_root_id_decider_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_annual_appeal_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'outcome_id'], ['annual_outcome.root_id', 'annual_outcome.id'], name='fk_annual_appeal_outcome', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['root_id', 'person_id'], ['person.root_id', 'person.id'], name='fk_annual_appeal_person'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annual_appeal')),
    sa.UniqueConstraint('root_id', 'id', name='uq_annual_appeal_root_id_id')
    )
    with op.batch_alter_table('annual_appeal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annual_appeal_decider_org_id'), ['decider_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_appeal_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_appeal_outcome_id'), ['outcome_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_appeal_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_appeal_root_id'), ['root_id'], unique=False)

    op.create_table('annual_result',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rank_group', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('grade', sa.String(length=16), nullable=True),
    sa.Column('code', sa.String(length=4), nullable=False),
    sa.Column('eligible_youxiu', sa.Boolean(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=True),
    sa.Column('talks', sa.JSON(), nullable=True),
    sa.Column('explain', sa.JSON(), nullable=True),
    sa.Column('root_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['root_id', 'org_id'], ['org_node.root_id', 'org_node.id'], name=op.f('fk_annual_result_root_id_org_id_org_node')),
    sa.ForeignKeyConstraint(['root_id', 'run_id'], ['annual_run.root_id', 'annual_run.id'], name='fk_annual_result_run', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annual_result')),
    sa.UniqueConstraint('run_id', 'person_id', name='uq_annual_result_run_id_person_id')
    )
    with op.batch_alter_table('annual_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annual_result_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_annual_result_root_run', ['root_id', 'run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_result_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annual_result_root_id'), ['root_id'], unique=False)
    for table in TABLES:
        rls.apply_table(op, table, "org")


def downgrade():
    for table in reversed(TABLES):
        op.drop_table(table)
