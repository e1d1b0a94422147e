"""Issue 13: a real province from an empty PostgreSQL database, with no demo data.

An empty PostgreSQL database is migrated by the owner role and served as the
non-owner app role (RLS in force; no SQLite here); tenants/national is loaded
and the operator created from the command line; in the browser the operator
loads a small non-demo province pack (with two mandatory common indicators of
its own) from the provinces page and creates the province's first policy admin
(initial password, changed at the first sign-in); the policy admin creates a
county supervisor and a township admin; the township admin imports a 60-person
roster (with its 分管 sheet), provisions accounts and downloads the activation
sheet, adds the unit's own indicator and a scheme rating the province's
mandatory indicators in the pages, creates and opens the quarter; a staff
member activates at phone width, signs attendance and writes a work record;
the township admin gives the department heads the leader role on their account
pages; a department head rates the staff member in the rating page (seeing the
work record).  The other supervisor ratings of the 60 people go through the
API with a token (bulk work an office does not click through one by one; the
same rule serves both).  The quarter is computed, reviewed and publicised (公示)
in the period page; the year is computed, confirmed, publicised, notified and
filed (备案) in the annual page.  Official acts are dated by the server's
today: the test moves it with ``kaohe.annual.service.as_of`` (a process-wide
stack, so the live server's threads see it): 公示 60 days ago, the notices 45
days ago (after the 公示's working days), filing today (the review and appeal
windows closed).  Screenshots at each step (test-artifacts/screenshots/)."""
from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from kaohe.core.clock import local_today

from .conftest import DESKTOP, PHONE, LiveServer, _QuietHandler, _context_page

REPO = Path(__file__).resolve().parents[2]
PW = "journey-password-1"
YEAR = local_today().year
QUARTER = (local_today().month - 1) // 3 + 1

PACK = {
    "org.yaml": "code: ZT\nkind: province\nname: 试验省\nname_en: Trial Province\n",
    "ZT01-county/org.yaml": "code: ZT01\nkind: county\nname: 试验县\nname_en: Trial County\n",
    "ZT01-county/ZT0101-town/org.yaml": ("code: ZT0101\nkind: township\nname: 试验镇\nname_en: Trial Town\n"
                                         "is_assessment_unit: true\n"),
    "ZT01-county/ZT0101-town/D1/org.yaml": "code: ZT0101-D1\nkind: department\nname: 党政办\nname_en: Office\n",
    "ZT01-county/ZT0101-town/D2/org.yaml": "code: ZT0101-D2\nkind: department\nname: 经济办\nname_en: Economy\n",
    # The province's own rule: two common indicators every scheme must rate.
    "policy.yaml": ("settings:\n  indicators.common:\n    value:\n      add:\n"
                    "        - {code: ZZ, name: 政治素质, name_en: Political quality, category: de, max_points: 20, "
                    "mandatory: true}\n"
                    "        - {code: LZ, name: 廉洁自律, name_en: Integrity, category: lian, max_points: 10, "
                    "mandatory: true}\n"),
}


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory):
    """An empty PostgreSQL database: migrated by the owner role, served as
    the non-owner app role (RLS in force).  No SQLite here."""
    import os
    import uuid

    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from kaohe import create_app
    from kaohe.extensions import db
    from kaohe.testing import databases

    if os.environ.get("KAOHE_TEST_SKIP_PG") == "1":      # the explicit opt-out of tests/conftest.py only
        pytest.skip("KAOHE_TEST_SKIP_PG=1")
    tmp = tmp_path_factory.mktemp("real")
    name = f"kaohe_real_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        owner_url, app_url = databases.create_pg_database(name)
    except databases.PgUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    app = create_app({
        "SECRET_KEY": "real-secret", "INSTANCE_PATH": str(tmp), "SQLALCHEMY_DATABASE_URI": app_url,
        "KAOHE_MIGRATE_DATABASE_URL": owner_url, "KAOHE_JOBS_MODE": "thread", "KAOHE_TENANTS_DIR": str(tmp / "packs"),
        "KAOHE_LOGIN_IP_LIMIT": "100000 per minute",
    })
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    with app.app_context():
        upgrade(revision="heads")
        db.session.remove()
    pack = tmp / "packs" / "trial"
    for rel, text in PACK.items():
        (pack / rel).parent.mkdir(parents=True, exist_ok=True)
        (pack / rel).write_text(text, encoding="utf-8")
    runner = app.test_cli_runner()
    for args in (["tenants", "load", str(REPO / "tenants" / "national")],
                 ["users", "create", "operator", "--password", PW]):
        res = runner.invoke(args=args)
        assert res.exit_code == 0, (args, res.output)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="real-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, "127.0.0.1", server.server_port)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        databases.drop_pg_database(name)


def _node(server, code):
    from sqlalchemy import select

    from kaohe.extensions import db
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    with server.app.app_context():
        apply_scope(Scope.system("e2e"))
        node_id = db.session.execute(select(OrgNode.id).where(OrgNode.code == code)).scalar_one()
        db.session.remove()
        return node_id


def _people(server) -> dict[str, int]:
    """staff number → person id, for the whole roster."""
    from sqlalchemy import select

    from kaohe.extensions import db
    from kaohe.people.models import Person
    from kaohe.tenancy.scope import Scope, apply_scope

    with server.app.app_context():
        apply_scope(Scope.system("e2e"))
        out = dict(db.session.execute(select(Person.staff_no, Person.id)).all())
        db.session.remove()
        return out


def _user(server, username) -> int:
    from sqlalchemy import select

    from kaohe.auth.models import User
    from kaohe.extensions import db
    from kaohe.tenancy.scope import Scope, apply_scope

    with server.app.app_context():
        apply_scope(Scope.system("e2e"))
        uid = db.session.execute(select(User.id).where(User.username == username)).scalar_one()
        db.session.remove()
        return uid


def _person(server, staff_no) -> int:
    return _people(server)[staff_no]


def _login(page, server, username, password=PW):
    page.goto(server.url("/login"))
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form.login button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/login" not in page.url, f"login as {username} failed"


def _logout(page, server):
    page.context.clear_cookies()


def _new_account(page, server, username, org_code, role):
    page.goto(server.url("/users/new"))
    page.fill("#u-username", username)
    page.fill("#u-name", username)
    page.fill("#u-pw", PW)
    page.select_option("#u-org", str(_node(server, org_code)))
    page.select_option("#u-role", role)
    with page.expect_navigation():
        page.click("#user-new button[type=submit]")
    assert "/users/" in page.url and "/new" not in page.url, page.url


def _move(page, to):
    """The period page's transition button to state ``to``."""
    with page.expect_navigation():
        page.click(f"form[action$='/transition'] button[data-to={to}]")
    assert page.locator("div.flash-ok").count() and not page.locator("div.flash-error").count(), \
        page.inner_text("main")[:1500]


def _compute(page, period_url):
    with page.expect_navigation():
        page.click("#compute form button[type=submit]")
    deadline = time.time() + 60
    while not page.locator("#results tr[data-person]").count():
        assert time.time() < deadline, "the computation did not finish"
        time.sleep(0.5)
        page.goto(period_url)


def _activate(page, server, username, code):
    page.goto(server.url("/activate"))
    page.fill("#a-username", username)
    page.fill("#a-code", code)
    page.fill("#a-pw", PW)
    page.fill("#a-pw2", PW)
    with page.expect_navigation():
        page.click("#activate-form button[type=submit]")
    assert "/activate" not in page.url, page.url
    page.context.clear_cookies()


def _roster(path: Path, header, charge_sheet: str, charge_header):
    def row(no, name, dept, role, rank, sup):
        values = {"工号": no, "姓名": name, "性别": "男" if int(no[1:]) % 2 else "女", "科室编码": dept, "岗位": "科员",
                  "人员类别": rank, "职位类别": "综合管理", "职务角色": role, "入职日期": dt.date(2015, 7, 1),
                  "直接上级工号": sup}
        return [values.get(h.split("\n")[0]) for h in header]
    rows = [row("S001", "镇长甲", None, "主要领导", "领导班子", None),
            row("S002", "副镇长乙", None, "分管领导", "领导班子", "S001"),
            row("S003", "副镇长丙", None, "分管领导", "领导班子", "S001"),
            row("S004", "主任丁", "ZT0101-D1", "科室负责人", "一般干部", "S002"),
            row("S005", "主任戊", "ZT0101-D2", "科室负责人", "一般干部", "S003")]
    for i in range(6, 61):
        dept, head = ("ZT0101-D1", "S004") if i % 2 else ("ZT0101-D2", "S005")
        rows.append(row(f"S{i:03d}", f"干部{i:02d}", dept, "工作人员", "一般干部", head))
    wb = Workbook()
    ws = wb.active
    ws.title = "人员 People"
    ws.append(header)
    for r in rows:
        ws.append(r)
    # 分管: each deputy is in charge of one department (their heads are rated by them).
    ws = wb.create_sheet(charge_sheet)
    ws.append(charge_header)
    for leader, dept in (("S002", "ZT0101-D1"), ("S003", "ZT0101-D2")):
        values = {"分管领导工号": leader, "科室编码": dept}
        ws.append([values.get((h or "").split("\n")[0]) for h in charge_header])
    wb.save(path)
    return len(rows)


@pytest.mark.pg
@pytest.mark.browser
def test_real_province_from_an_empty_database(chromium, empty_server, request, tmp_path):
    from .conftest import SCREENSHOTS, _save, _slug

    server = empty_server
    stem = _slug(request.node.nodeid)

    def shot(page, name):
        return _save(page, SCREENSHOTS / f"{stem}-{name}.png")

    desk_gen = _context_page(chromium, request, DESKTOP)
    page = next(desk_gen)
    try:
        # The operator loads the province's pack in the pages and creates its first policy admin.
        _login(page, server, "operator")
        page.goto(server.url("/platform/provinces"))
        shot(page, "00-operator-provinces")
        page.click("#load-trial")
        page.wait_for_selector("#load-report")
        shot(page, "00-pack-loaded")
        page.fill("#a-username-ZT", "zt-policy")
        page.fill("#a-name-ZT", "试验省政策管理员")
        page.check("#admin-form-ZT input[value=password]")
        page.fill("#a-pw-ZT", "first-password-1")
        page.click("#admin-form-ZT button[type=submit]")
        page.wait_for_selector("#admin-created")
        shot(page, "00-first-policy-admin")
        _logout(page, server)

        # The policy admin sets a password at the first sign-in, then creates a county
        # supervisor and a township admin.
        _login(page, server, "zt-policy", "first-password-1")
        assert "/account/password" in page.url, page.url
        page.fill("#n-pw", PW)
        page.fill("#n-pw2", PW)
        with page.expect_navigation():
            page.click("#password-form button[type=submit]")
        shot(page, "01-policy-admin-home")
        _new_account(page, server, "zt01-sup@ZT", "ZT01", "supervisor")
        _new_account(page, server, "zt0101-admin@ZT", "ZT0101", "unit_admin")
        shot(page, "02-township-admin-created")
        _logout(page, server)

        # The township admin imports a 60-person roster.
        _login(page, server, "zt0101-admin@ZT")
        unit = _node(server, "ZT0101")
        page.goto(server.url(f"/people/units/{unit}"))
        with page.expect_download() as dl:
            page.locator("a[href$='template.xlsx']").click()
        template = tmp_path / "template.xlsx"
        dl.value.save_as(template)
        twb = load_workbook(template)
        header = [c.value for c in twb["人员 People"][1]]
        charges = next(n for n in twb.sheetnames if n.startswith("分管"))
        roster = tmp_path / "roster.xlsx"
        assert _roster(roster, header, charges, [c.value for c in twb[charges][1]]) == 60
        page.set_input_files("#roster-file", str(roster))
        page.click("#upload-form button[type=submit]")
        page.wait_for_selector("#apply-import", timeout=30_000)
        assert page.locator("#error-count").inner_text().strip() == "0"
        shot(page, "03-roster-checked")
        page.click("#apply-import")
        page.wait_for_selector("#n-created", timeout=60_000)
        assert page.locator("#n-created").inner_text().strip() == "60"
        shot(page, "04-roster-imported")

        # Accounts for everyone, and the activation sheet as xlsx.
        page.goto(server.url(f"/units/{unit}/accounts"))
        shot(page, "05-accounts-page")
        with page.expect_download() as dl:
            page.click("#provision-form button[value=xlsx]")
        sheet = tmp_path / "sheet.xlsx"
        dl.value.save_as(sheet)
        wb = load_workbook(sheet)
        codes = {}
        for ws in wb.worksheets:
            for r in ws.iter_rows(min_row=2, values_only=True):
                codes[r[3]] = r[4]
        assert len(codes) == 60 and all(codes.values())
        # Provisioning again: no second account, no new code; the printable sheet says so.
        page.goto(server.url(f"/units/{unit}/accounts"))
        page.click("#provision-form button[value=sheet]")
        page.wait_for_selector(".sheet-dept")
        shot(page, "06-activation-sheet-again")
        assert all(not t.strip() for t in page.locator("td.code").all_inner_texts())
        assert "已有账号" in page.inner_text("main") or "has an account" in page.inner_text("main")

        # What a quarter needs, in the pages: the unit's own indicator, a scheme that rates the
        # province's two mandatory common indicators (ZZ, LZ) and it, then the quarter, opened.
        page.goto(server.url(f"/routine/units/{unit}/indicators"))
        assert "政治素质" in page.inner_text("main") and "廉洁自律" in page.inner_text("main")
        page.fill("#f-code", "GZ")
        page.fill("#f-name", "工作实绩")
        page.select_option("#f-dimension", "ji")
        page.select_option("#f-kind", "scored")
        page.fill("#f-max", "70")
        with page.expect_navigation():
            page.click("main form.form button[type=submit]")
        assert "工作实绩" in page.inner_text("main")
        shot(page, "10-indicator-library")
        page.goto(server.url(f"/routine/units/{unit}/schemes"))
        page.fill("#f-code", "general")
        page.fill("#f-name", "一般干部方案")
        page.select_option("#f-basis", "points")
        page.fill("#f-total", "100")
        page.fill("#f-sections", "common | 公共项目 | 30 | ZZ, LZ\nwork | 业务工作 | 70 | GZ")
        for kind in ("self", "peer", "democratic"):
            if page.locator(f"#f-w_{kind}").count():
                page.fill(f"#f-w_{kind}", "0")
        page.fill("#f-w_supervisor", "1")
        page.select_option("#f-lsm", "derived")
        with page.expect_navigation():
            page.click("main form.form button[type=submit]")
        assert "一般干部方案" in page.inner_text("main"), page.inner_text("main")[:2000]
        shot(page, "11-scheme")
        page.goto(server.url(f"/routine/units/{unit}"))
        page.fill("#f-year", str(YEAR))
        page.fill("#f-seq", str(QUARTER))
        page.select_option("#f-cycle", "quarter")
        with page.expect_navigation():
            page.click("main form.inline-form button[type=submit]")
        assert "/routine/periods/" in page.url, page.url
        period_url = page.url.split("?")[0].split("#")[0]
        period_id = int(period_url.rstrip("/").rsplit("/", 1)[1])
        _move(page, "open")
        shot(page, "12-quarter-open")
    finally:
        next(desk_gen, None)

    # A staff member activates at phone width and signs attendance.
    phone_gen = _context_page(chromium, request, PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    phone = next(phone_gen)
    try:
        phone.goto(server.url("/activate"))
        phone.fill("#a-username", "ZT0101-S010@ZT")
        phone.fill("#a-code", codes["ZT0101-S010@ZT"])
        phone.fill("#a-pw", "my-own-password-9")
        phone.fill("#a-pw2", "my-own-password-9")
        shot(phone, "07-activate-phone")
        with phone.expect_navigation():
            phone.click("#activate-form button[type=submit]")
        assert "/activate" not in phone.url
        overflow = phone.evaluate("() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)")
        assert overflow <= 1
        phone.goto(server.url("/routine/"))
        assert phone.locator("form[action$='/routine/sign']").count() >= 1
        shot(phone, "08-staff-home-phone")
        with phone.expect_navigation():
            phone.locator("form[action$='/routine/sign'] button").first.click()
        shot(phone, "09-signed-in-phone")
        # ... and writes this month's work record.
        phone.goto(server.url(f"/routine/periods/{period_id}/records"))
        month = local_today().replace(day=1).isoformat()
        form = phone.locator(f"form:has(input[name=on_date][value='{month}'])")
        form.locator("textarea[name=done]").fill("完成辖区防汛物资清点，走访农户12户")
        with phone.expect_navigation():
            form.locator("button[type=submit]").click()
        form = phone.locator(f"form:has(input[name=on_date][value='{month}'])")
        assert "完成辖区防汛物资清点" in form.locator("textarea[name=done]").input_value()
        shot(phone, "13-work-record-phone")
        assert not phone.js_errors, phone.js_errors
    finally:
        next(phone_gen, None)

    # The leaders activate their accounts; the head of 经济办 rates the staff member in the
    # rating page, seeing the work record.  The other supervisor ratings of the 60 people go
    # through the API (an office would not click 60 forms in a test; the rule is the same).
    desk_gen = _context_page(chromium, request, DESKTOP)
    page = next(desk_gen)
    try:
        for no in ("S001", "S002", "S003", "S004", "S005"):
            _activate(page, server, f"ZT0101-{no}@ZT", codes[f"ZT0101-{no}@ZT"])
        # The roster gives the town's leaders (镇长, 副镇长) the leader role; the township admin
        # gives it to the two department heads on their account pages.
        _login(page, server, "zt0101-admin@ZT")
        for no in ("S004", "S005"):
            page.goto(server.url(f"/users/{_user(server, f'ZT0101-{no}@ZT')}"))
            page.select_option("#g-role", "leader")
            page.select_option("#g-org", str(unit))
            with page.expect_navigation():
                page.click("form:has(#g-role) button[type=submit]")
        shot(page, "14-department-head-leader-role")
        _logout(page, server)
        _login(page, server, "ZT0101-S005@ZT")
        staff = _person(server, "S010")
        page.goto(server.url(f"/routine/periods/{period_id}/rate/{staff}/supervisor"))
        assert "完成辖区防汛物资清点" in page.inner_text("main")
        page.fill("input[name=s_ZZ]", "19")
        page.fill("input[name=s_LZ]", "10")
        page.fill("input[name=s_GZ]", "66")
        shot(page, "15-leader-rates")
        with page.expect_navigation():
            page.click("main form.form button[type=submit]")
        assert "/routine/" in page.url and "/rate/" not in page.url, page.url
        _logout(page, server)

        client = server.app.test_client()
        by_id = {v: k for k, v in _people(server).items()}
        for no in ("S001", "S002", "S003", "S004", "S005"):
            resp = client.post("/api/v1/auth/token", json={"username": f"ZT0101-{no}@ZT", "password": PW})
            assert resp.status_code == 201, resp.get_json()
            auth = {"Authorization": f"Bearer {resp.get_json()['token']}"}
            todo = client.get(f"/api/v1/routine/periods/{period_id}/todo", headers=auth).get_json()
            for t in todo:
                if t["done"]:
                    continue
                n = int(by_id[t["person_id"]][1:])          # distinct scores: no tie at the cap line
                body = {"ratee_id": t["person_id"], "rater_kind": t["kind"],
                        "scores": {"ZZ": 18, "LZ": 10, "GZ": round(70 - n * 0.5, 1)}}
                resp = client.post(f"/api/v1/routine/periods/{period_id}/ratings", json=body, headers=auth)
                assert resp.status_code == 200, resp.get_json()

        # The township admin: rating → compute → review → 公示.
        _login(page, server, "zt0101-admin@ZT")
        page.goto(period_url)
        _move(page, "rating")
        _compute(page, period_url)
        shot(page, "16-quarter-computed")
        _move(page, "review")
        _move(page, "publicised")
        shot(page, "17-quarter-publicised")

        # The year: compute → confirm → 公示 (started 60 days ago by the server's clock, so its
        # working days are over) → written notices (45 days ago, so the review and appeal windows
        # have closed) → filed with the level above today.
        from kaohe.annual.service import as_of

        year_url = server.url(f"/annual/unit/{unit}/{YEAR}")
        page.goto(year_url)
        page.click("button[value=compute]")
        deadline = time.time() + 90
        while True:
            page.goto(year_url)
            if page.locator("table.results").count():
                break
            assert time.time() < deadline, "the annual computation did not finish"
            time.sleep(1)
        shot(page, "18-year-computed")
        while page.locator("tr.tie form").count():
            form = page.locator("tr.tie form").first
            form.locator("select[name=grade]").select_option("chenzhi")
            form.locator("input[name=reason]").fill("考核委员会表决：名额线并列，按票数确定")
            form.locator("button").click()
            page.wait_for_load_state("networkidle")
        with page.expect_navigation():
            page.click("form[action$='/confirm'] button")
        shot(page, "19-year-confirmed")
        with as_of(local_today() - dt.timedelta(days=60)):
            with page.expect_navigation():
                page.click("form[action$='/publish'] button")
        shot(page, "20-year-publicised")
        with as_of(local_today() - dt.timedelta(days=45)):
            with page.expect_navigation():
                page.click("form[action$='/notify'] button")
        assert page.locator("form[action$='/file']").count() == 1, page.inner_text("main")[:800]
        shot(page, "21-year-notified")
        with page.expect_navigation():
            page.click("form[action$='/file'] button")
        assert page.locator("div.flash-ok").count() and not page.locator("div.flash-error").count(), \
            page.inner_text("main")[:800]
        shot(page, "22-year-filed")
        assert not page.js_errors, page.js_errors
    finally:
        next(desk_gen, None)

    from sqlalchemy import select

    from kaohe.annual.models import AnnualAssessment
    from kaohe.extensions import db
    from kaohe.people.models import Person
    from kaohe.routine.models import Attendance, Period
    from kaohe.tenancy.scope import Scope, apply_scope

    with server.app.app_context():
        apply_scope(Scope.system("e2e"))
        pid = db.session.execute(select(Person.id).where(Person.staff_no == "S010")).scalar_one()
        assert db.session.execute(select(Attendance).where(Attendance.person_id == pid)).scalar_one()
        assert db.session.get(Period, period_id).state == "publicised"
        a = db.session.execute(select(AnnualAssessment).where(AnnualAssessment.org_id == unit,
                                                              AnnualAssessment.year == YEAR)).scalar_one()
        assert a.status == "filed", a.status
        db.session.remove()
