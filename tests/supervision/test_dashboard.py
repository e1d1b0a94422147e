"""The supervision dashboard over the world's tree: access, drill-down,
figures, a bounded number of queries, flags on constructed cases,
reminders, exports."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import event, select

from kaohe.audit.models import AuditEntry
from kaohe.extensions import db
from kaohe.supervision import dashboard as dash
from kaohe.supervision.board import clear_cache
from kaohe.supervision.models import Reminder

from . import helpers as h


@pytest.fixture(autouse=True)
def _no_cache(app):
    app.config["KAOHE_DASHBOARD_CACHE_SECONDS"] = 0
    clear_cache()
    yield
    clear_cache()


def build(app, code, **kw):
    ctx, token = h.system(app)
    try:
        board = dash.build(h.node(code), today=h.TODAY, year=2026, **kw)
    finally:
        h.done(ctx, token, commit=False)
    return board


def row(board, code):
    return next(r for r in board.children if r["code"] == code)


def test_access_and_isolation(world, login, backend):
    b = login("countysup")
    assert b.get(f"/supervision/orgs/{world.ids['P1-K1']}").status_code == 200
    assert b.get(f"/supervision/orgs/{world.ids['P1-T1']}").status_code == 200
    for other in ("P1-K2", "P1-C1", "P1-T3", "P2-K1", "P2-T1"):
        assert b.get(f"/supervision/orgs/{world.ids[other]}").status_code == 404, other
        assert b.get(f"/supervision/exports/roster?org_id={world.ids[other]}").status_code == 404, other
        assert b.get(f"/supervision/exports/supervision.dashboard?org_id={world.ids[other]}").status_code == 404
    assert b.get(f"/supervision/orgs/{world.ids['P1-T1-D1']}").status_code == 404
    b.post("/logout")
    unit_admin = login("t1admin")
    assert unit_admin.get(f"/supervision/orgs/{world.ids['P1-T1']}").status_code == 403
    assert unit_admin.get(f"/supervision/orgs/{world.ids['P1-K1']}").status_code == 404


def test_api_isolation(world, client, api_token, backend):
    h_ = api_token("countysup")
    ok = client.get(f"/api/v1/supervision/dashboard?org_id={world.ids['P1-K1']}", headers=h_)
    assert ok.status_code == 200
    assert {c["code"] for c in ok.get_json()["children"]} == {"T1", "T2"}
    for other in ("P1-K2", "P2-K1"):
        assert client.get(f"/api/v1/supervision/dashboard?org_id={world.ids[other]}", headers=h_).status_code == 404
        resp = client.post("/api/v1/supervision/exports/roster", headers=h_, json={"org_id": world.ids[other]})
        assert resp.status_code == 404
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/supervision/dashboard", "/api/v1/supervision/reminders",
                 "/api/v1/supervision/exports/{kind}", "/api/v1/supervision/exports/files/{job_id}"):
        assert path in spec["paths"], path


def test_drill_down_province_to_township(world, login, backend):
    b = login("policy")
    html = b.get(f"/supervision/orgs/{world.ids['P1-P']}").get_data(as_text=True)
    assert 'id="row-C1"' in html and 'id="row-C2"' in html and "P2-" not in html
    html = b.get(f"/supervision/orgs/{world.ids['P1-C1']}").get_data(as_text=True)
    assert 'id="row-K1"' in html and 'id="row-K2"' in html
    html = b.get(f"/supervision/orgs/{world.ids['P1-K1']}").get_data(as_text=True)
    assert 'id="row-T1"' in html and 'id="row-T2"' in html
    # the breadcrumb leads back up
    assert f'/supervision/orgs/{world.ids["P1-C1"]}' in html and f'/supervision/orgs/{world.ids["P1-P"]}' in html
    html = b.get(f"/supervision/orgs/{world.ids['P1-T1']}").get_data(as_text=True)
    assert 'id="row-T1"' in html


def test_figures(world, app, backend):
    ctx, token = h.system(app)
    t1, t2 = h.node("T1"), h.node("T2")
    from kaohe.people.models import Person

    t1_people = db.session.execute(select(Person).where(Person.unit_id == t1.id)).scalars().all()
    h.add_period(t1, t1_people, scores=[92, 85, 85, 70, 61, 50], grades=["hao", "jiaohao", "jiaohao", "yiban",
                                                                           "yiban", "jiaocha"],
                 computed=True, state="review", rated=4, work_records=5)
    t2_people = h.add_people(t2, 3, "t2-")
    h.done(ctx, token)
    board = build(app, "K1")
    r1, r2 = row(board, "T1"), row(board, "T2")
    assert r1["people"] == 6 and r1["participants"] == 6 and r1["rated"] == 4 and r1["work_records"] == 5
    assert r1["routine_grades"] == {"hao": 1, "jiaohao": 2, "yiban": 2, "jiaocha": 1}
    assert r1["computed"] == 1 and r1["final"] == 0
    assert {o["code"] for o in r1["overdue"]} == {"period_overdue", "ratings_missing"}
    assert r1["lagging"]
    assert r2["people"] == 3 and r2["with_period"] == 0 and r2["not_opened"] == 1
    assert [o["code"] for o in r2["overdue"]] == ["not_opened"] and r2["lagging"]
    assert board.totals["units"] == 2 and board.totals["people"] == 9
    assert board.period_key == "quarter-3"
    # the county rolls up the same figures one level higher
    c1 = row(build(app, "C1"), "K1")
    assert c1["people"] == 9 and c1["rated"] == 4 and c1["units"] == 2


def count_queries(app, fn):
    n = [0]

    def before(conn, cursor, statement, params, context, executemany):
        if not statement.lstrip().upper().startswith(("SELECT SET_CONFIG", "SAVEPOINT", "RELEASE")):
            n[0] += 1

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return n[0]


def test_query_count_does_not_grow_with_units(world, app, backend):
    ctx, token = h.system(app)
    k2 = h.node("K2")
    h.add_townships(k2, 3, prefix="S")
    k3 = h.node("K3")
    h.add_townships(k3, 30, prefix="M")
    h.done(ctx, token)
    counts = {}
    for code in ("K2", "K3"):
        ctx, token = h.system(app)
        node = h.node(code)
        boards = []
        counts[code] = count_queries(app, lambda: boards.append(dash.build(node, today=h.TODAY, year=2026)))
        assert boards[0].queries <= 30
        assert len(boards[0].children) == (4 if code == "K2" else 31)
        h.done(ctx, token, commit=False)
    assert counts["K2"] == counts["K3"], counts


def test_flags_fire_on_constructed_cases_and_stay_quiet_otherwise(world, app, backend):
    ctx, token = h.system(app)
    k2, k3 = h.node("K2"), h.node("K3")
    quiet = h.node("T1")
    from kaohe.people.models import Person

    ppl = db.session.execute(select(Person).where(Person.unit_id == quiet.id)).scalars().all()
    for seq in (1, 2, 3):   # a normal unit: varied scores, 好 rotates, publicised
        grades = ["jiaohao"] * 6
        grades[seq] = "hao"
        h.add_period(quiet, ppl, seq=seq, scores=[80 + i + seq for i in range(6)], grades=grades, computed=True,
                     state="final", publicity=(dt.date(2026, 3 * seq + 1, 5), dt.date(2026, 3 * seq + 1, 8)))
    # 1) same people at the cap every period (5 people, cap 40% → 2)
    fixed = h.add_people(h.node("T4"), 5, "fx-")
    for seq in (1, 2, 3):
        h.add_period(h.node("T4"), fixed, seq=seq, scores=[90, 91, 80, 81, 82 + seq],
                     grades=["hao", "hao", "jiaohao", "jiaohao", "jiaohao"], computed=True, state="final",
                     publicity=(dt.date(2026, 3 * seq + 1, 5), dt.date(2026, 3 * seq + 1, 8)))
    # 2) identical scores, 3) all ≥ 95, 4) computed never publicised, 5) a burst of ratings
    t_ident, t_high, t_silent, t_burst = h.add_townships(k3, 4, people_per_unit=0, prefix="F")
    h.add_period(t_ident, h.add_people(t_ident, 4, "id-"), seq=1, scores=[88] * 4, grades=["jiaohao"] * 4,
                 computed=True, state="final", publicity=(dt.date(2026, 4, 5), dt.date(2026, 4, 8)))
    h.add_period(t_high, h.add_people(t_high, 4, "hi-"), seq=1, scores=[96, 97, 98, 99], grades=["hao"] * 4,
                 computed=True, state="final", publicity=(dt.date(2026, 4, 5), dt.date(2026, 4, 8)))
    silent = h.add_people(t_silent, 3, "si-")
    h.add_period(t_silent, silent, seq=1, scores=[70, 80, 90], grades=["yiban", "jiaohao", "hao"], computed=True,
                 state="review")
    burst_people = h.add_people(t_burst, 12, "bu-")
    t0 = dt.datetime(2026, 4, 2, 9, 0, tzinfo=dt.timezone.utc)
    h.add_period(t_burst, burst_people, seq=1, rating_times=[t0 + dt.timedelta(seconds=10 * i) for i in range(12)],
                 rater=burst_people[0])
    h.done(ctx, token)

    board = build(app, "P", period_key="quarter-1")
    fired = {(f["unit_code"], f["code"]) for f in board.flags}
    assert ("T4", "same_people_at_cap") in fired
    assert ("F000", "identical_scores") in fired
    assert ("F001", "all_high") in fired
    assert ("F002", "computed_not_publicised") in fired
    assert ("F003", "ratings_burst") in fired
    assert not any(code == "T1" for code, _ in fired), fired   # the normal unit stays quiet
    assert len(fired) == 5, fired
    burst = next(f for f in board.flags if f["code"] == "ratings_burst")
    assert burst["params"]["rater"] == "bu-0" and burst["params"]["n"] == 12
    # and the page explains them
    from kaohe.supervision.calc import flag_message

    assert all(flag_message(f) for f in board.flags)


def test_reminder_sent_audited_and_shown_to_the_unit(world, login, app, backend):
    b = login("countysup")
    page = b.get(f"/supervision/orgs/{world.ids['P1-K1']}")
    assert page.status_code == 200
    resp = b.post(f"/supervision/orgs/{world.ids['P1-K1']}/remind",
                  {"target_id": world.ids["P1-T2"], "topic": "ratings", "message": "请尽快完成第三季度评鉴"})
    assert resp.status_code == 302
    # bad input: empty message, unknown topic, a unit outside the subtree
    bad = b.post(f"/supervision/orgs/{world.ids['P1-K1']}/remind",
                 {"target_id": world.ids["P1-T2"], "topic": "nonsense", "message": ""})
    assert bad.status_code == 302
    assert b.post(f"/supervision/orgs/{world.ids['P1-K1']}/remind",
                  {"target_id": world.ids["P1-T4"], "topic": "general", "message": "x"}).status_code == 404
    ctx, token = h.system(app)
    rems = db.session.execute(select(Reminder)).scalars().all()
    assert [(r.org_id, r.topic, r.from_org_id) for r in rems] == [(world.ids["P1-T2"], "ratings", world.ids["P1-K1"])]
    audit = db.session.execute(select(AuditEntry).where(AuditEntry.action == "supervision.reminder.send")).scalars().all()
    assert len(audit) == 1 and audit[0].after["message"] == "请尽快完成第三季度评鉴"
    rem_id = rems[0].id
    h.done(ctx, token, commit=False)
    b.post("/logout")
    t1 = login("t1admin")
    assert "请尽快完成第三季度评鉴" not in t1.get("/").get_data(as_text=True)   # not their unit
    t1.post("/logout")
    t2 = login("t2admin")
    home = t2.get("/").get_data(as_text=True)
    assert "请尽快完成第三季度评鉴" in home and f"reminder-{rem_id}" in home
    assert t2.post(f"/supervision/reminders/{rem_id}/acknowledge", {"next": "/"}).status_code == 302
    assert "请尽快完成第三季度评鉴" not in t2.get("/").get_data(as_text=True)
    ctx, token = h.system(app)
    assert db.session.get(Reminder, rem_id).acknowledged_at is not None
    h.done(ctx, token, commit=False)


def test_reminder_api(world, client, api_token, backend):
    hdr = api_token("countysup")
    resp = client.post("/api/v1/supervision/reminders", headers=hdr,
                       json={"org_id": world.ids["P1-T1"], "topic": "publicity", "message": "公示尚未开始"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["sender_name"] == "countysup"
    bad = client.post("/api/v1/supervision/reminders", headers=hdr,
                      json={"org_id": world.ids["P1-T1"], "topic": "x", "message": ""})
    assert bad.status_code == 422 and {"topic", "message"} <= set(bad.get_json()["errors"])
    assert client.post("/api/v1/supervision/reminders", headers=hdr,
                       json={"org_id": world.ids["P1-T3"], "message": "x"}).status_code == 404
    listed = client.get(f"/api/v1/supervision/reminders?org_id={world.ids['P1-K1']}", headers=hdr).get_json()
    assert [r["message"] for r in listed] == ["公示尚未开始"]
    board = client.get(f"/api/v1/supervision/dashboard?org_id={world.ids['P1-K1']}", headers=hdr).get_json()
    t1 = next(c for c in board["children"] if c["code"] == "T1")
    assert t1["reminders_sent"] == 1 and t1["reminders_unread"] == 1


def test_dashboard_export_has_rows_flags_and_charts(world, login, app, backend):
    from openpyxl import load_workbook

    ctx, token = h.system(app)
    h.add_townships(h.node("K1"), 2, prefix="E")
    h.done(ctx, token)
    b = login("countysup")
    resp = b.get(f"/supervision/exports/supervision.dashboard?org_id={world.ids['P1-K1']}&year=2026")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.data))
    # a Chinese page's export: sheets and headers in Chinese only (issue 16: one language at a time)
    assert wb.sheetnames[0] == "看板" and "提示" in wb.sheetnames
    ws = wb["看板"]
    codes = [r[0].value for r in ws.iter_rows(min_row=2)]
    assert {"T1", "T2", "E000", "E001"} <= set(codes)
    assert len(wb["等次分布"]._charts) == 1
    # a county-wide roster export (large ones run as a job)
    resp = b.get(f"/supervision/exports/roster?org_id={world.ids['P1-K1']}")
    wb = load_workbook(io.BytesIO(resp.data))
    assert wb.active.max_row == 1 + 6 + 8


def test_large_export_runs_as_a_job(world, login, app, backend, monkeypatch):
    from openpyxl import load_workbook

    from kaohe.supervision import views

    monkeypatch.setattr(views, "SYNC_MAX_ROWS", 2)
    b = login("countysup")
    resp = b.get(f"/supervision/exports/roster?org_id={world.ids['P1-K1']}")
    assert resp.status_code == 302 and "/jobs/" in resp.headers["Location"]
    job_id = resp.headers["Location"].rsplit("/", 1)[-1]
    status = b.get(f"/jobs/{job_id}/status").get_json()
    assert status["status"] == "done" and status["result"]["rows"] == 6
    f = b.get(status["result"]["next_url"])
    assert f.status_code == 200
    assert load_workbook(io.BytesIO(f.data)).active.max_row == 7
    b.post("/logout")
    other = login("t3admin")
    assert other.get(status["result"]["next_url"]).status_code == 404


def test_export_headers_in_the_page_language(world, login, app, backend, monkeypatch):
    """Issue 16: an export's column headers are in the language of the page it
    was started from, also when it runs as a job."""
    import re

    from openpyxl import load_workbook

    from kaohe.supervision import views

    b = login("countysup")
    url = f"/supervision/exports/supervision.dashboard?org_id={world.ids['P1-K1']}&year=2026"
    zh = [c.value for c in next(load_workbook(io.BytesIO(b.get(url).data)).worksheets[0].iter_rows(max_row=1))]
    assert "编码" in zh and "优秀名额" in zh and "好" in zh
    assert not [h for h in zh if re.search(r"[A-Za-z]", str(h))], zh
    b.get("/lang/en?next=/")
    wb = load_workbook(io.BytesIO(b.get(url).data))
    assert wb.sheetnames[:2] == ["Dashboard", "Flags"] and "Grades" in wb.sheetnames
    en = [c.value for c in next(wb.worksheets[0].iter_rows(max_row=1))]
    assert "Code" in en and "Excellent quota" in en and "Good" in en
    assert not [h for h in en if re.search(r"[\u3400-\u9fff]", str(h))], en
    monkeypatch.setattr(views, "SYNC_MAX_ROWS", -1)   # the dashboard counts 0 rows up front
    resp = b.get(url)
    assert resp.status_code == 302
    status = b.get(f"/jobs/{resp.headers['Location'].rsplit('/', 1)[-1]}/status").get_json()
    f = b.get(status["result"]["next_url"])
    assert [c.value for c in next(load_workbook(io.BytesIO(f.data)).worksheets[0].iter_rows(max_row=1))] == en


def test_result_exports_over_a_subtree(world, login, app, backend):
    """Period results, annual results with A1517 codes, 公示 list, appeals and pay, for a county."""
    from openpyxl import load_workbook

    from kaohe.annual.models import AnnualAppeal, AnnualAssessment, AnnualOutcome

    ctx, token = h.system(app)
    h.add_townships(h.node("K1"), 2, prefix="R")
    t1 = h.node("T1")
    from kaohe.people.models import Person

    ppl = db.session.execute(select(Person).where(Person.unit_id == t1.id).order_by(Person.staff_no)).scalars().all()
    a = AnnualAssessment(root_id=t1.root_id, org_id=t1.id, year=2026, status="filed",
                         publicity_start=dt.date(2026, 12, 1), publicity_end=dt.date(2026, 12, 8))
    db.session.add(a)
    db.session.flush()
    codes = ["1", "2", "2", "3", "5A", "6A"]
    grades = {"1": "youxiu", "2": "chenzhi", "3": "jibenchenzhi"}
    outs = []
    for p, code in zip(ppl, codes):
        o = AnnualOutcome(root_id=t1.root_id, org_id=p.org_id, assessment_id=a.id, person_id=p.id, year=2026,
                          score=80, grade=grades.get(code), computed_grade=grades.get(code), code=code,
                          pay_cents=200000 if code in grades else None)
        db.session.add(o)
        outs.append(o)
    db.session.flush()
    db.session.add(AnnualAppeal(root_id=t1.root_id, org_id=t1.id, outcome_id=outs[3].id, person_id=ppl[3].id,
                                decider_org_id=t1.id, stage="review", grade_appealed="jibenchenzhi", grounds="x",
                                filed_on=dt.date(2026, 12, 10), file_by=dt.date(2027, 1, 9),
                                decide_by=dt.date(2027, 1, 9)))
    h.done(ctx, token)
    b = login("countysup")
    k1 = world.ids["P1-K1"]

    def sheet(kind, **params):
        q = "&".join(f"{k}={v}" for k, v in params.items())
        resp = b.get(f"/supervision/exports/{kind}?org_id={k1}&{q}")
        assert resp.status_code == 200, (kind, resp.status_code)
        wb = load_workbook(io.BytesIO(resp.data))
        return wb, [[c.value for c in r] for r in wb.active.iter_rows(min_row=2)]

    wb, rows = sheet("routine.results", year=2026, period="quarter-3")
    assert len(rows) == 8 and {r[0] for r in rows} == {"R000", "R001"} and rows[0][8] in ("好", "较好")
    assert len(wb["等次分布 Grades"]._charts) == 1
    wb, rows = sheet("annual.results", year=2026)
    assert sorted(r[9] for r in rows) == sorted(codes)
    assert {r[9]: r[10] for r in rows}["5A"] == "不定等次（试用期）"
    _, rows = sheet("annual.publicity", year=2026)
    assert [(r[0], r[5], r[6]) for r in rows] == [("T1", "优秀", dt.datetime(2026, 12, 1))]
    _, rows = sheet("annual.appeals")
    assert len(rows) == 1 and rows[0][4] == "复核" and rows[0][5] == "基本称职"
    _, rows = sheet("annual.pay", year=2026)
    assert len(rows) == 4 and all(r[7] == 2000 for r in rows)
    page = b.get(f"/supervision/orgs/{k1}").get_data(as_text=True)
    for kind in ("roster", "routine.results", "annual.results", "annual.publicity", "annual.appeals", "annual.pay"):
        assert f'data-export="{kind}"' in page
    # another county's results are out of reach
    assert b.get(f"/supervision/exports/annual.results?org_id={world.ids['P1-K2']}").status_code == 404


def test_snapshot_gives_the_live_figures_with_fewer_queries(world, app, runner, backend):
    from kaohe.supervision import snapshot
    from kaohe.supervision.models import UnitStat

    ctx, token = h.system(app)
    h.add_townships(h.node("K3"), 12, prefix="N")
    h.done(ctx, token)
    live = build(app, "C2", period_key="quarter-3", use_snapshot=False)
    assert build(app, "C2", period_key="quarter-3", use_snapshot=True).extra["source"] == "live"  # none yet
    result = runner.invoke(args=["supervision", "refresh", "--org", "C2", "--year", "2026", "--period", "quarter-3"])
    assert result.exit_code == 0, result.output
    assert "13 units" in result.output
    snap = build(app, "C2", period_key="quarter-3", use_snapshot=True)
    assert snap.extra["source"] == "snapshot"
    assert snap.queries < live.queries
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("last_reminder",)} for r in rows]  # noqa: E731
    assert strip(snap.children) == strip(live.children)
    assert snap.totals["people"] == live.totals["people"] and snap.charts == live.charts
    assert [f["code"] for f in snap.flags] == [f["code"] for f in live.flags]
    # a stale snapshot is not used
    app.config["KAOHE_DASHBOARD_SNAPSHOT_SECONDS"] = -1
    assert build(app, "C2", period_key="quarter-3", use_snapshot=True).extra["source"] == "live"
    ctx, token = h.system(app)
    assert db.session.execute(select(UnitStat)).scalars().first().period_key == "quarter-3"
    h.done(ctx, token, commit=False)
    bad = runner.invoke(args=["supervision", "refresh", "--org", "NOPE"])
    assert bad.exit_code != 0 and "NOPE" in bad.output


def test_supervisor_home_says_which_units_lag(world, app, login, monkeypatch, backend):
    """The county supervisor's home page summarises the dashboard: how many
    units below lag and what is overdue, with a link to the dashboard."""
    import datetime as dt

    from kaohe.core import clock
    from kaohe.people.models import Person

    monkeypatch.setattr(clock, "utcnow", lambda: dt.datetime(2026, 11, 22, 4, 0, tzinfo=dt.timezone.utc))
    ctx, token = h.system(app)
    t1 = h.node("T1")
    people = db.session.execute(select(Person).where(Person.unit_id == t1.id)).scalars().all()
    h.add_period(t1, people, scores=[92, 85, 85, 70, 61, 50], grades=["hao", "jiaohao", "jiaohao", "yiban",
                                                                        "yiban", "jiaocha"],
                 computed=True, state="review", rated=4, work_records=5)
    h.done(ctx, token)
    home = login("countysup").get("/").get_data(as_text=True)
    assert 'data-testid="supervision-panel"' in home
    panel = home.split('data-testid="supervision-panel"', 1)[1].split("</ul>", 1)[0]
    assert "2 个中有 2 个进度滞后" in panel or "2 of 2 lagging" in panel, panel
    assert f"/supervision/orgs/{world.ids['P1-K1']}" in panel


def test_refresh_stores_the_nodes_board_and_reminders_are_added_live(world, app, runner, monkeypatch, backend):
    """The refresh job also stores the refreshed node's assembled board: its
    page then reads one row (plus the live reminders), with the same figures
    as a live build; a reminder sent after the refresh shows at once."""
    import datetime as dt

    from kaohe.core import clock
    from kaohe.supervision import service as sup_service

    monkeypatch.setattr(clock, "utcnow", lambda: dt.datetime(2026, 11, 22, 4, 0, tzinfo=dt.timezone.utc))
    ctx, token = h.system(app)
    units = h.add_townships(h.node("K3"), 12, prefix="N")
    target_id = units[3].id
    h.done(ctx, token)
    result = runner.invoke(args=["supervision", "refresh", "--org", "C2", "--year", "2026"])
    assert result.exit_code == 0, result.output
    live = build(app, "C2", use_snapshot=False)
    stored = build(app, "C2", use_snapshot=True)
    assert stored.extra["source"] == "snapshot" and stored.queries <= 2 < live.queries
    assert stored.children == live.children and stored.totals == live.totals
    assert stored.flags == live.flags and stored.charts == live.charts and stored.period_keys == live.period_keys
    ctx, token = h.system(app)
    from kaohe.tenancy.models import OrgNode

    sup_service.send_reminder(from_node=h.node("C2"), target=db.session.get(OrgNode, target_id), topic="ratings",
                              message="请尽快完成评鉴")
    h.done(ctx, token)
    live, stored = build(app, "C2", use_snapshot=False), build(app, "C2", use_snapshot=True)
    assert stored.extra["source"] == "snapshot"
    assert row(stored, "K3")["reminders_sent"] == row(live, "K3")["reminders_sent"] == 1
    assert stored.totals["reminders_unread"] == live.totals["reminders_unread"] == 1
    assert row(stored, "K3")["last_reminder"] == row(live, "K3")["last_reminder"]
    # Another day: the stored board is not used (overdue counts depend on the date).
    ctx, token = h.system(app)
    assert dash.build(h.node("C2"), today=h.TODAY + dt.timedelta(days=1), year=2026, use_cache=False,
                      use_snapshot=True).queries > 2
    h.done(ctx, token, commit=False)


def test_refresh_stores_boards_for_large_nodes_below_too(world, app, runner, monkeypatch, backend):
    """A province refresh also stores the board of every node below it that is
    too large for a live build, with the figures a live build gives."""
    import datetime as dt

    from kaohe.core import clock

    monkeypatch.setattr(clock, "utcnow", lambda: dt.datetime(2026, 11, 22, 4, 0, tzinfo=dt.timezone.utc))
    app.config["KAOHE_DASHBOARD_LIVE_MAX_UNITS"] = 5
    ctx, token = h.system(app)
    h.add_townships(h.node("K3"), 12, prefix="N")
    h.done(ctx, token)
    assert runner.invoke(args=["supervision", "refresh", "--org", "P", "--year", "2026"]).exit_code == 0
    for code in ("C2", "K3"):          # 13 units each: above the limit of 5
        stored, live = build(app, code, use_snapshot=True), build(app, code, use_snapshot=False)
        assert stored.queries <= 2 < live.queries, code
        assert stored.children == live.children and stored.totals == live.totals, code
    assert build(app, "C1", use_snapshot=True).queries > 2   # 3 units: no stored board
