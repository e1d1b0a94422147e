"""The documents offices print (issue 17), in the browser: the 年度考核登记表
of a demo unit as A4 print pages, and the one-page unit report."""
from __future__ import annotations

from playwright.sync_api import expect

from .helpers import org_id

DUOBA = "630122100"


def _assessment_year(live_server, unit_id):
    from sqlalchemy import select

    from kaohe.annual.models import AnnualAssessment
    from kaohe.extensions import db
    from kaohe.tenancy.scope import Scope, apply_scope

    with live_server.app.app_context():
        apply_scope(Scope.system("e2e"))
        year = db.session.execute(select(AnnualAssessment.year).where(AnnualAssessment.org_id == unit_id)
                                  .order_by(AnnualAssessment.year)).scalars().first()
        db.session.remove()
        return year


def test_registration_forms_print_and_unit_report(page, login_as, live_server, shot):
    unit = org_id(live_server, DUOBA)
    year = _assessment_year(live_server, unit)
    assert year, "the demo has an annual assessment in 多巴镇"
    login_as(page, "duoba_admin")
    page.goto(live_server.url(f"/annual/unit/{unit}/{year}"))
    page.click("text=年度考核登记表（打印、.docx）")
    # the click only starts the navigation; a unit's forms are a long page, so
    # wait for the document to load before counting (CI once counted 0 here)
    page.wait_for_url("**/regforms")
    page.wait_for_load_state("load")
    expect(page.locator("article.regform").first).to_be_visible()
    assert page.locator("article.regform").count() > 10
    assert "公务员年度考核登记表" in page.locator("article.regform").first.inner_text()
    shot(page, "regforms")
    page.emulate_media(media="print")
    shot(page, "regforms-print")
    page.emulate_media(media="screen")
    with page.expect_download() as dl:
        page.click("text=下载 .docx")
    assert dl.value.suggested_filename.endswith(".docx")
    page.goto(live_server.url(f"/supervision/report/{unit}?year={year}"))
    assert "单位考核情况报告" in page.content()
    shot(page, "unit-report")
