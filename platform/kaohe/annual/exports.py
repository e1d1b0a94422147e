"""The unit's annual roster with the national result codes (A1517) as xlsx,
streamed row by row (openpyxl write-only)."""
from __future__ import annotations

import io

from openpyxl import Workbook
from sqlalchemy import select

from ..extensions import db
from ..people.models import Person
from ..tenancy.models import OrgNode
from .calc.codes import CODE_LABELS, GRADE_LABELS
from .models import AnnualAssessment, AnnualOutcome, AnnualResult

HEADER = ["序号 No.", "工号 Staff no.", "姓名 Name", "部门 Department", "职务 Post", "得分 Score", "名次 Rank",
          "等次 Grade", "结果代码 A1517", "代码含义 Meaning", "调整理由 Reason", "绩效奖金(元) Pay", "通知日期 Notice",
          "签收 Acknowledged"]


def roster_xlsx(a: AnnualAssessment, unit: OrgNode) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(f"{a.year}年度考核")
    ws.append([f"{unit.name} {a.year}年度考核结果 / Annual assessment {a.year}"])
    ws.append(HEADER)
    ranks = dict(db.session.execute(select(AnnualResult.person_id, AnnualResult.rank).where(
        AnnualResult.root_id == a.root_id, AnnualResult.run_id == a.current_run_id)).all()) if a.current_run_id else {}
    outs = db.session.execute(select(AnnualOutcome).where(AnnualOutcome.root_id == a.root_id,
                                                          AnnualOutcome.assessment_id == a.id)).scalars().all()
    if outs:
        rows = [(o.person_id, o.score, o.grade, o.code, o.reason, o.pay_cents, o.notice_on, o.acknowledged_at)
                for o in outs]
    else:   # not confirmed yet: the current computation
        rows = [(r.person_id, r.score, r.grade, r.code, None, None, None, None)
                for r in db.session.execute(select(AnnualResult).where(
                    AnnualResult.root_id == a.root_id, AnnualResult.run_id == a.current_run_id)).scalars()]
    people = {p.id: p for p in db.session.execute(select(Person).where(Person.unit_id == unit.id)).scalars()}
    depts = {n.id: n.name for n in db.session.execute(select(OrgNode).where(
        OrgNode.path.like(unit.path + "%"), OrgNode.root_id == unit.root_id)).scalars()}
    rows.sort(key=lambda r: (ranks.get(r[0]) is None, ranks.get(r[0]) or 0, people[r[0]].staff_no if r[0] in people else ""))
    for i, (pid, score, grade, code, reason, pay, notice, ack) in enumerate(rows, 1):
        p = people.get(pid)
        ws.append([i, p.staff_no if p else "", p.name if p else pid, depts.get(p.org_id, "") if p else "",
                   (p.post or "") if p else "", score, ranks.get(pid), GRADE_LABELS[grade][0] if grade else "",
                   code, CODE_LABELS.get(code, ("", ""))[0], reason or "",
                   None if pay is None else pay / 100, notice.isoformat() if notice else "",
                   ack.strftime("%Y-%m-%d %H:%M") if ack else ""])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
