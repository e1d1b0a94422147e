"""The township admin's roster journey in a real browser: download the
template, upload a roster with one bad row, read the per-row report, fix
the row, upload again and import."""
from __future__ import annotations

import datetime as dt
import io

from openpyxl import Workbook, load_workbook

from .helpers import org_id

DUOBA = "630122100"


def _departments(live_server):
    from sqlalchemy import select

    from kaohe.extensions import db
    from kaohe.people.roster_service import unit_departments
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    with live_server.app.app_context():
        apply_scope(Scope.system("e2e"))
        unit = db.session.execute(select(OrgNode).where(OrgNode.code == DUOBA)).scalar_one()
        codes = [d.code for d in unit_departments(unit)]
        db.session.remove()
        return codes


def _workbook(path, header, rows):
    wb = Workbook()
    ws = wb.active
    ws.title = "人员 People"
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)


def test_township_admin_imports_roster_after_fixing_a_bad_row(page, live_server, login_as, shot, tmp_path):
    depts = _departments(live_server)
    assert depts, "the demo township has departments"
    login_as(page, "duoba_admin")
    page.goto(live_server.url("/people/"))
    page.wait_for_load_state("networkidle")
    assert f"/people/units/{org_id(live_server, DUOBA)}" in page.url
    shot(page, "roster")

    # the template comes from the page
    with page.expect_download() as dl:
        page.locator("a[href$='template.xlsx']").click()
    template = tmp_path / "template.xlsx"
    dl.value.save_as(template)
    header = [c.value for c in load_workbook(template)["人员 People"][1]]
    assert header[0].startswith("工号")

    def row(no, name, dept, sup="", **more):
        values = {"工号": no, "姓名": name, "性别": "女", "科室编码": dept, "岗位": "科员", "人员类别": "一般干部",
                  "职位类别": "综合管理", "职务角色": "工作人员", "入职日期": dt.date(2026, 9, 1), **more}
        return [values.get(h.split("\n")[0], None) for h in header]

    bad = tmp_path / "roster-bad.xlsx"
    _workbook(bad, header, [row("E2E001", "测试甲", depts[0]), row("E2E002", "测试乙", "NO-SUCH-DEPT"),
                            row("E2E003", "测试丙", depts[-1])])
    page.set_input_files("#roster-file", str(bad))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#problems")
    problems = page.locator("#problems tbody tr")
    assert problems.count() == 1
    assert problems.first.get_attribute("data-code") == "unknown_department"
    assert "NO-SUCH-DEPT" in problems.first.inner_text()
    assert page.locator("#apply-import").count() == 0     # nothing can be imported yet
    shot(page, "report")

    good = tmp_path / "roster-fixed.xlsx"
    _workbook(good, header, [row("E2E001", "测试甲", depts[0]), row("E2E002", "测试乙", depts[0]),
                             row("E2E003", "测试丙", depts[-1])])
    page.set_input_files("#reupload-form #roster-file", str(good))
    page.click("#reupload-form button[type=submit]")
    page.wait_for_selector("#apply-import")
    assert page.locator("#error-count").inner_text().strip() == "0"
    shot(page, "clean")
    page.click("#apply-import")
    page.wait_for_selector("#n-created", timeout=30_000)
    assert page.locator("#n-created").inner_text().strip() == "3"
    shot(page, "imported")
    page.get_by_role("link", name="See the roster").or_(page.locator("a.button.primary[href*='/people/units/']")).first.click()
    page.wait_for_load_state("networkidle")
    page.fill("#q", "E2E00")
    page.locator("form[role=search] button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#roster-table tbody tr").count() == 3
    shot(page, "roster-after")

    # A second file: the check lists every change before anything is written (issue 13 / 14.3):
    # E2E001 moves, E2E002's post is cleared with 清空, E2E003 leaves with 离开, empty cells keep values.
    sparse = [[None] * len(header) for _ in range(3)]
    col = {h.split("\n")[0]: i for i, h in enumerate(header)}
    for r, (no, name, extra) in zip(sparse, [("E2E001", "测试甲", {"科室编码": depts[-1]}),
                                              ("E2E002", "测试乙", {"岗位": "清空"}),
                                              ("E2E003", "测试丙", {"离开": "离开"})]):
        for k, v in {"工号": no, "姓名": name, **extra}.items():
            r[col[k]] = v
    second = tmp_path / "roster-changes.xlsx"
    _workbook(second, header, sparse)
    page.goto(live_server.url(f"/people/units/{org_id(live_server, DUOBA)}"))
    page.set_input_files("#upload-form #roster-file", str(second))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#change-list")
    for kind, n in (("updated", "2"), ("moved", "1"), ("cleared", "1"), ("removed", "1")):
        assert page.locator(f"#count-{kind}").inner_text().strip() == n, kind
    page.locator("#change-kinds a[data-kind='updated']").click()
    page.wait_for_selector("#change-list li[data-field='post']")
    assert "→" in page.locator("#change-list li[data-field='post']").inner_text()
    shot(page, "changes")
    page.click("#apply-import")
    page.wait_for_selector("#n-created", timeout=30_000)
    assert page.locator("#n-updated").inner_text().strip() == "2"
    shot(page, "changes-made")
    assert not page.js_errors, page.js_errors
