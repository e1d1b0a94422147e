"""The 公务员年度考核登记表 (issue 17): the official annual registration form
of each person, filled from what the annual procedure recorded — the
person's summary (述职), the leader's comment and suggested grade, the
committee's decision (the confirmed grade and any adjustment reason), and
the person's acknowledgement of the written notice (本人意见).

``forms_for`` reads a unit's forms set-based (one query per kind of record,
whatever the headcount); ``regform_docx`` renders them as .docx."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ..core.clock import local_day
from ..extensions import db
from ..people.models import Person
from ..tenancy.models import OrgNode
from .calc.codes import GRADE_LABELS
from .models import AnnualAssessment, AnnualOutcome, AnnualReview, AnnualSummary

GENDER = {"M": "男", "F": "女"}


@dataclass
class RegForm:
    year: int
    person_id: int
    name: str
    gender: str
    staff_no: str
    unit: str
    post: str
    hire_date: dt.date | None
    summary: str
    leader_comment: str
    suggested_grade: str
    reviewer: str
    reviewed_on: dt.date | None
    committee_grade: str
    committee_note: str
    committee_on: dt.date | None
    own_opinion: str
    own_on: dt.date | None
    remark: str


def _date(v) -> dt.date | None:
    """An instant as the business day it fell on (KAOHE_TIMEZONE); a date as it is."""
    return local_day(v) if isinstance(v, dt.datetime) else v


def _grade(code: str | None) -> str:
    return GRADE_LABELS[code][0] if code in GRADE_LABELS else ""


def forms_for(unit: OrgNode, assessment: AnnualAssessment, person_ids: list[int] | None = None) -> list[RegForm]:
    """The forms of ``assessment``'s people (all active people of the unit, or
    ``person_ids``), in staff-number order."""
    P = Person
    q = select(P).where(P.root_id == unit.root_id, P.unit_id == unit.id)
    q = q.where(P.id.in_(person_ids)) if person_ids is not None else q.where(P.active.is_(True))
    people = list(db.session.execute(q.order_by(P.staff_no)).scalars())
    ids = [p.id for p in people]
    if not ids:
        return []

    def by_person(model):
        rows = db.session.execute(select(model).where(model.root_id == unit.root_id,
                                                      model.assessment_id == assessment.id,
                                                      model.person_id.in_(ids))).scalars()
        return {r.person_id: r for r in rows}

    summaries, reviews, outcomes = by_person(AnnualSummary), by_person(AnnualReview), by_person(AnnualOutcome)
    confirmed_on = _date(assessment.confirmed_at)
    out = []
    for p in people:
        s, r, o = summaries.get(p.id), reviews.get(p.id), outcomes.get(p.id)
        note = ""
        if o is not None and o.adjusted and o.reason:
            note = f"经考核委员会研究调整：{o.reason}"
        if o is not None and o.changed_by_appeal:
            note = (note + "；" if note else "") + "经复核（申诉）改变等次"
        remark = ""
        if o is not None and o.grade is None:
            remark = "本年度未确定等次（不定等次或待补定）"
        if o is not None and o.acknowledged_at is not None:
            own, own_on = "本人已阅知考核结果。", _date(o.acknowledged_at)
        else:
            own, own_on = "", None
        out.append(RegForm(
            year=assessment.year, person_id=p.id, name=p.name, gender=GENDER.get(p.gender or "", ""),
            staff_no=p.staff_no, unit=unit.name, post=p.post or "", hire_date=p.hire_date,
            summary=(s.text if s is not None and s.submitted_at is not None else ""),
            leader_comment=(r.comment or "") if r is not None else "",
            suggested_grade=_grade(r.recommended_grade) if r is not None else "",
            reviewer=(r.reviewer or "") if r is not None else "",
            reviewed_on=_date(r.updated_at) if r is not None and (r.comment or r.recommended_grade) else None,
            committee_grade=_grade(o.grade) if o is not None else "",
            committee_note=note, committee_on=confirmed_on if o is not None and o.grade else None,
            own_opinion=own, own_on=own_on, remark=remark))
    return out


def _d(v: dt.date | None) -> str:
    return f"{v.year}年{v.month}月{v.day}日" if v else "年　　月　　日"


def regform_docx(forms: list[RegForm]) -> bytes:
    """One .docx with a form per page (A4), in the layout of the national form."""
    import io

    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    doc = Document()
    sec = doc.sections[0]
    sec.page_height, sec.page_width = Cm(29.7), Cm(21.0)
    sec.left_margin = sec.right_margin = Cm(2.2)
    sec.top_margin = sec.bottom_margin = Cm(2.0)
    style = doc.styles["Normal"]
    style.font.size = Pt(11)
    for i, f in enumerate(forms):
        if i:
            doc.add_page_break()
        title = doc.add_paragraph()
        title.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = title.add_run(f"公务员年度考核登记表（{f.year}年度）")
        run.bold, run.font.size = True, Pt(16)
        t = doc.add_table(rows=0, cols=4)
        t.style = "Table Grid"

        def row(*cells):
            r = t.add_row().cells
            for c, text in zip(r, cells):
                c.text = text
            return r

        row("姓名", f.name, "性别", f.gender)
        row("工号", f.staff_no, "参加工作/入职时间", _d(f.hire_date) if f.hire_date else "")
        r = row("单位及职务职级", f"{f.unit} {f.post}".strip(), "", "")
        r[1].merge(r[3])
        sections = (
            ("个人总结", f.summary, "签名：　　　　　" + _d(None)),
            ("主管领导评语和考核等次建议",
             "\n".join(x for x in (f.leader_comment, f"考核等次建议：{f.suggested_grade}" if f.suggested_grade else "") if x),
             f"签名：{f.reviewer}　　" + _d(f.reviewed_on)),
            ("考核委员会（考核领导小组）意见",
             "\n".join(x for x in (f"考核等次：{f.committee_grade}" if f.committee_grade else "", f.committee_note) if x),
             "（盖章）　　" + _d(f.committee_on)),
            ("本人意见", f.own_opinion, "签名：　　　　　" + _d(f.own_on)),
            ("备注", f.remark, ""),
        )
        for label, body, sign in sections:
            r = row(label, body + ("\n\n" + sign if sign else ""), "", "")
            r[1].merge(r[3])
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
