"""The appeal box on "my annual assessment" (issue 16, finding 6): the form is
offered only when something can be filed, its button says what it does, and
when nothing can be filed the page says why, in the page's language.  A
基本称职 person gets the form once the province makes 基本称职 appealable."""
import datetime as dt

from sqlalchemy import select

from kaohe.core.clock import local_today
from kaohe.extensions import db

from .conftest import YEAR, seed_unit


def _sys():
    from kaohe.tenancy.scope import Scope, apply_scope

    apply_scope(Scope.system("t"))


def _set_notice(app, pid, day):
    from kaohe.annual.models import AnnualOutcome

    with app.app_context():
        _sys()
        o = db.session.execute(select(AnnualOutcome).where(AnnualOutcome.person_id == pid)).scalar_one()
        o.notice_on = day
        db.session.commit()
        oid = o.id
        db.session.remove()
    return oid


def test_appeal_box_offers_the_form_only_when_filing_is_possible(app, world, login_as):
    with app.app_context():
        # d1staff (the account t1staff) scores 65: 基本称职
        ids, _ = seed_unit(world, {"head": 96, "deputy": 92, "d1head": 88, "d1staff": 65, "d2head": 79,
                                   "d2staff": 74})
        db.session.remove()
    base = f"/annual/unit/{world.ids['P1-T1']}/{YEAR}"
    admin = login_as("t1admin")
    assert admin.post(base + "/compute").status_code == 302
    assert admin.post(base + "/confirm").status_code == 302
    from kaohe.annual import service as annual_service

    with annual_service.as_of(local_today() - dt.timedelta(days=20)):   # official acts are dated "today" (issue 12)
        assert admin.post(base + "/publish", {}).status_code == 302
    assert admin.post(base + "/notify", {}).status_code == 302

    staff = login_as("t1staff")
    page = staff.get(f"/annual/me?year={YEAR}").get_data(as_text=True)
    assert "基本称职" in page
    # national default: only 不称职 may be appealed -- no form, and the reason, in Chinese
    assert "data-appeal-form" not in page
    assert 'data-appeal-closed="grade"' in page and "只有以下等次可以申请复核或提出申诉" in page

    # the province makes 基本称职 appealable after the results were computed
    from kaohe.policy import settings
    from kaohe.tenancy.models import OrgNode

    with app.app_context():
        _sys()
        from kaohe.audit.service import Actor, reset_actor, set_actor

        tok = set_actor(Actor(None, "policy"))
        settings.set_value(db.session.get(OrgNode, world.ids["P1-P"]), "appeal.appealable_grades",
                           ["buchenzhi", "jibenchenzhi"], year=YEAR)
        db.session.commit()
        reset_actor(tok)
        db.session.remove()
    page = staff.get(f"/annual/me?year={YEAR}").get_data(as_text=True)
    assert "data-appeal-form" in page and "提交申诉" in page and ">文件<" not in page
    staff.get("/lang/en")
    page = staff.get(f"/annual/me?year={YEAR}").get_data(as_text=True)
    assert "Submit appeal" in page and ">File<" not in page
    staff.get("/lang/zh")

    # every deadline passed: no form, the last day named
    old = local_today() - dt.timedelta(days=200)
    oid = _set_notice(app, ids["d1staff"], old)
    page = staff.get(f"/annual/me?year={YEAR}").get_data(as_text=True)
    assert "data-appeal-form" not in page and 'data-appeal-closed="deadline"' in page
    assert "已过" in page

    # within the deadline again: a review is filed through the form, then the case is pending
    _set_notice(app, ids["d1staff"], local_today())
    r = staff.post(f"/annual/me/appeal/{oid}", {"stage": "review", "grounds": "本人全年工作量饱满，请求复核等次"})
    assert r.status_code == 302
    page = staff.get(f"/annual/me?year={YEAR}").get_data(as_text=True)
    assert "data-appeal-form" not in page and 'data-appeal-closed="pending"' in page
