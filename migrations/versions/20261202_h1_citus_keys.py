"""Citus-ready keys: root_id in every tenant table's primary key and unique constraints

Distributed by root_id on Citus, a table must carry root_id in its PRIMARY KEY and
in every UNIQUE constraint (kaohe.core.citus).  On PostgreSQL the primary key of
every distributed tenant table becomes (id, root_id) (id first: a look-up by id
alone still uses it); SQLite keeps id alone (the rowid alias that numbers new
rows).  On both, the unique constraints that left root_id out gain it in front.
Nothing else changes: each old constraint already implied the province through
its foreign keys, so no existing row can violate the new ones.

Revision ID: h1_citus_keys
Revises: g2_audit_mac
Create Date: 2026-12-02
"""
from alembic import op
from sqlalchemy import text

from kaohe.core import citus

revision = "h1_citus_keys"
down_revision = "g2_audit_mac"
branch_labels = None
depends_on = None

# (table, old name, columns without root_id, new name)
UNIQUES = [
    ('annual_assessment', 'uq_annual_assessment_org_id_year',
     ['org_id', 'year'], 'uq_annual_assessment_root_id_org_id_year'),
    ('annual_run', 'uq_annual_run_assessment_id_seq',
     ['assessment_id', 'seq'], 'uq_annual_run_root_id_assessment_id_seq'),
    ('annual_result', 'uq_annual_result_run_id_person_id',
     ['run_id', 'person_id'], 'uq_annual_result_root_id_run_id_person_id'),
    ('annual_adjustment', 'uq_annual_adjustment_assessment_id_person_id',
     ['assessment_id', 'person_id'], 'uq_annual_adjustment_root_id_assessment_id_person_id'),
    ('annual_outcome', 'uq_annual_outcome_assessment_id_person_id',
     ['assessment_id', 'person_id'], 'uq_annual_outcome_root_id_assessment_id_person_id'),
    ('annual_summary', 'uq_annual_summary_assessment_id_person_id',
     ['assessment_id', 'person_id'], 'uq_annual_summary_root_id_assessment_id_person_id'),
    ('annual_review', 'uq_annual_review_assessment_id_person_id',
     ['assessment_id', 'person_id'], 'uq_annual_review_root_id_assessment_id_person_id'),
    ('annual_routine_import', 'uq_annual_routine_import_person_id_year_period_no',
     ['person_id', 'year', 'period_no'], 'uq_annual_routine_import_root_id_person_id_year_period_no'),
    ('special_result', 'uq_special_result_campaign_id_person_id',
     ['campaign_id', 'person_id'], 'uq_special_result_root_id_campaign_id_person_id'),
    ('annual_talk', 'uq_annual_talk_person_id_year_kind',
     ['person_id', 'year', 'kind'], 'uq_annual_talk_root_id_person_id_year_kind'),
    ('person', 'uq_person_unit_id_staff_no',
     ['unit_id', 'staff_no'], 'uq_person_root_id_unit_id_staff_no'),
    ('leader_charge', 'uq_leader_charge_leader_id_department_id',
     ['leader_id', 'department_id'], 'uq_leader_charge_root_id_leader_id_department_id'),
    ('routine_indicator', 'uq_routine_indicator_org_id_code',
     ['org_id', 'code'], 'uq_routine_indicator_root_id_org_id_code'),
    ('routine_scheme', 'uq_routine_scheme_org_id_code',
     ['org_id', 'code'], 'uq_routine_scheme_root_id_org_id_code'),
    ('routine_peer_group', 'uq_routine_peer_group_org_id_name',
     ['org_id', 'name'], 'uq_routine_peer_group_root_id_org_id_name'),
    ('routine_peer_member', 'uq_routine_peer_member_group_id_person_id',
     ['group_id', 'person_id'], 'uq_routine_peer_member_root_id_group_id_person_id'),
    ('routine_period', 'uq_routine_period_org_id_year_cycle_seq',
     ['org_id', 'year', 'cycle', 'seq'], 'uq_routine_period_root_id_org_id_year_cycle_seq'),
    ('routine_participant', 'uq_routine_participant_period_id_person_id',
     ['period_id', 'person_id'], 'uq_routine_participant_root_id_period_id_person_id'),
    ('routine_attendance', 'uq_routine_attendance_person_id_day',
     ['person_id', 'day'], 'uq_routine_attendance_root_id_person_id_day'),
    ('routine_work_record', 'uq_routine_work_record_person_id_kind_on_date',
     ['person_id', 'kind', 'on_date'], 'uq_routine_work_record_root_id_person_id_kind_on_date'),
    ('routine_rating', 'uq_routine_rating_period_id_ratee_id_rater_id_rater_kind',
     ['period_id', 'ratee_id', 'rater_id', 'rater_kind'], 'uq_routine_rating_root_period_ratee_rater_kind'),
    ('routine_metric', 'uq_routine_metric_period_id_person_id_indicator_code',
     ['period_id', 'person_id', 'indicator_code'], 'uq_routine_metric_root_id_period_id_person_id_indicator_code'),
    ('routine_result', 'uq_routine_result_period_id_person_id',
     ['period_id', 'person_id'], 'uq_routine_result_root_id_period_id_person_id'),
    ('routine_cap_decision', 'uq_routine_cap_decision_period_id_group_key',
     ['period_id', 'group_key'], 'uq_routine_cap_decision_root_id_period_id_group_key'),
    ('routine_reminder', 'uq_routine_reminder_person_id_kind_day',
     ['person_id', 'kind', 'day'], 'uq_routine_reminder_root_id_person_id_kind_day'),
    ('supervision_unit_stat', 'uq_supervision_unit_stat_org_id_year_period_key',
     ['org_id', 'year', 'period_key'], 'uq_supervision_unit_stat_root_id_org_id_year_period_key'),
    ('supervision_board', 'uq_supervision_board_org_id_year_period_key',
     ['org_id', 'year', 'period_key'], 'uq_supervision_board_root_id_org_id_year_period_key'),
]

_PK_SQL = """
SELECT t.relname, con.conname,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i)
FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = 'public' AND con.contype = 'p'
  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = 'root_id')
"""


def _primary_keys(with_root: bool):
    for table, name, cols in op.get_bind().execute(text(_PK_SQL)).all():
        if citus.kind_of(table, True) != "distributed":
            continue
        if with_root and "root_id" not in cols and list(cols) == ["id"]:
            op.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            op.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" PRIMARY KEY (id, root_id)')
        elif not with_root and list(cols) == ["id", "root_id"]:
            op.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            op.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" PRIMARY KEY (id)')


def _swap(to_new: bool):
    for table, old, cols, new in UNIQUES:
        drop, add, add_cols = (old, new, ["root_id", *cols]) if to_new else (new, old, cols)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(drop, type_="unique")
            batch_op.create_unique_constraint(add, add_cols)


def upgrade():
    _swap(True)
    if op.get_bind().dialect.name == "postgresql":
        _primary_keys(True)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _primary_keys(False)
    _swap(False)
