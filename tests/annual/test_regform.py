"""The 公务员年度考核登记表 (issue 17): filled from the annual procedure,
as .docx (opened with python-docx here) and as a print page; the office
sees every form, a person only their own."""
import datetime as dt
import io

from kaohe.extensions import db

from .conftest import YEAR, seed_unit


def _procedure(world):
    from kaohe.annual.models import AnnualAssessment, AnnualOutcome, AnnualReview, AnnualSummary
    from kaohe.core.db import utcnow
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope
    from sqlalchemy import select

    ids, aid = seed_unit(world)
    apply_scope(Scope.system("t"))
    t1 = db.session.get(OrgNode, world.ids["P1-T1"])
    a = db.session.get(AnnualAssessment, aid)
    a.status, a.confirmed_at = "notified", dt.datetime(YEAR + 1, 1, 8, 9, 0)
    pid = ids["d1staff"]
    db.session.add(AnnualSummary(root_id=t1.root_id, org_id=t1.id, assessment_id=aid, person_id=pid,
                                 text="全年完成乡村振兴台账整理，参与防汛值守。", submitted_at=utcnow()))
    r = db.session.execute(select(AnnualReview).where(AnnualReview.assessment_id == aid,
                                                      AnnualReview.person_id == pid)).scalar_one()
    r.comment, r.recommended_grade, r.reviewer = "工作踏实，按时完成任务。", "chenzhi", "李分管"
    db.session.add(AnnualOutcome(root_id=t1.root_id, org_id=t1.id, assessment_id=aid, person_id=pid, year=YEAR,
                                 grade="chenzhi", code="2", notice_on=dt.date(YEAR + 1, 1, 10),
                                 acknowledged_at=dt.datetime(YEAR + 1, 1, 11, 3, 0)))
    db.session.commit()
    return ids


def test_regform_docx_and_print_page(app, world, login_as):
    from docx import Document

    with app.app_context():
        ids = _procedure(world)
        db.session.remove()
    t1 = world.ids["P1-T1"]
    admin = login_as("t1admin")
    resp = admin.get(f"/annual/unit/{t1}/{YEAR}/regform/{ids['d1staff']}.docx")
    assert resp.status_code == 200 and resp.mimetype.endswith("wordprocessingml.document")
    doc = Document(io.BytesIO(resp.data))
    text = "\n".join(p.text for p in doc.paragraphs) + "\n" + "\n".join(
        c.text for t in doc.tables for row in t.rows for c in row.cells)
    assert f"公务员年度考核登记表（{YEAR}年度）" in text
    for expected in ("全年完成乡村振兴台账整理", "工作踏实，按时完成任务。", "考核等次建议：称职", "考核等次：称职",
                     "本人已阅知考核结果。", f"{YEAR + 1}年1月11日", "李分管"):
        assert expected in text, expected
    # The unit's batch: one document, a form per active person.
    batch = admin.get(f"/annual/unit/{t1}/{YEAR}/regforms.docx")
    doc = Document(io.BytesIO(batch.data))
    assert len(doc.tables) == len(ids)
    page = admin.get(f"/annual/unit/{t1}/{YEAR}/regforms")
    assert page.status_code == 200 and page.get_data(as_text=True).count('class="regform"') == len(ids)
    # A person: their own form, not a colleague's.
    staff = login_as("t1staff")
    assert staff.get(f"/annual/unit/{t1}/{YEAR}/regform/{ids['d1staff']}").status_code == 200
    assert staff.get(f"/annual/unit/{t1}/{YEAR}/regform/{ids['head']}.docx").status_code == 403
    assert staff.get(f"/annual/unit/{t1}/{YEAR}/regforms.docx").status_code == 403
    # Another unit's office: the unit does not exist for it.
    assert login_as("t3admin").get(f"/annual/unit/{t1}/{YEAR}/regforms").status_code == 404
