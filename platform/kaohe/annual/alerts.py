"""Alert lists (issue 17): for a unit or everything under a county, the
people whose multi-year counters fall due this year (salary step, 级别,
三等功, dismissal review) or are at risk, and results that await 补定.
Set-based: one query for the people, a few for their career's grades
(``annual.history``: transfers and imported years), one for the year's outcomes; the rule per person is ``calc.counters.year_alerts``."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..people.models import Person
from ..tenancy.models import OrgNode
from .calc.counters import DUE_KINDS, RISK_KINDS, counters, year_alerts
from .history import career_grades
from .models import AnnualAssessment, AnnualOutcome

KINDS = DUE_KINDS + RISK_KINDS
PUBLISHED = ("publicised", "notified", "filed")


def alert_list(node: OrgNode, year: int) -> dict:
    """{kind: [row]} for ``node``'s subtree and ``year``; a row is a dict with
    person_id, name, staff_no, unit_id, unit_name, grades (year → grade),
    good_years, youxiu_streak, buchenzhi_streak."""
    people = db.session.execute(
        select(Person.id, Person.name, Person.staff_no, Person.unit_id, OrgNode.name)
        .join(OrgNode, (OrgNode.id == Person.unit_id) & (OrgNode.root_id == Person.root_id))
        .where(Person.root_id == node.root_id, Person.active.is_(True), OrgNode.path.like(node.path + "%"))
        .order_by(OrgNode.path, Person.staff_no)).all()
    ids = [p[0] for p in people]
    # The whole career's grades: earlier units' (transfers) and imported years too.
    history = {pid: [(y, g) for y, g, _src in rows if y <= year]
               for pid, rows in career_grades(node.root_id, ids).items()}
    regrade: set[int] = set()
    graded: set[int] = set()
    for i in range(0, len(ids), 900):
        chunk = ids[i:i + 900]
        for pid, grade, status in db.session.execute(
                select(AnnualOutcome.person_id, AnnualOutcome.grade, AnnualAssessment.status)
                .join(AnnualAssessment, (AnnualAssessment.id == AnnualOutcome.assessment_id)
                      & (AnnualAssessment.root_id == AnnualOutcome.root_id))
                .where(AnnualOutcome.root_id == node.root_id, AnnualOutcome.person_id.in_(chunk),
                       AnnualOutcome.year == year)):
            if grade is not None:
                graded.add(pid)
            if grade is None and status in PUBLISHED:
                regrade.add(pid)
    out: dict[str, list[dict]] = {k: [] for k in KINDS}
    for pid, name, staff_no, unit_id, unit_name in people:
        h = history.get(pid, [])
        kinds = year_alerts(h, year, graded_this_year=pid in graded, pending_regrade=pid in regrade)
        if not kinds:
            continue
        c = counters([(y, g) for y, g in h if y <= year])
        row = {"person_id": pid, "name": name, "staff_no": staff_no, "unit_id": unit_id, "unit_name": unit_name,
               "grades": {y: g for y, g in sorted(h)}, "good_years": c["good_years"],
               "youxiu_streak": c["youxiu_streak"], "buchenzhi_streak": c["buchenzhi_streak"]}
        for k in kinds:
            out[k].append(row)
    return out
