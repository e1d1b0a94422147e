"""Alert lists (issue 17): salary step, 级别, 三等功 and dismissal review due
this year, who is at risk, and results awaiting 补定 — for a unit and a
county, as a page, an xlsx and the API, only for the office and supervisors."""
import io

from kaohe.annual.calc.counters import year_alerts
from kaohe.extensions import db

from .conftest import YEAR, seed_unit


def test_year_alerts_rules():
    two = [(YEAR - 1, "chenzhi"), (YEAR, "chenzhi")]
    assert year_alerts(two, YEAR, graded_this_year=True) == ["salary_step"]
    assert year_alerts(two, YEAR - 1, graded_this_year=True) == []
    five = [(y, "chenzhi") for y in range(YEAR - 4, YEAR + 1)]
    assert "level" in year_alerts(five, YEAR, graded_this_year=True)
    merit = [(y, "youxiu") for y in range(YEAR - 2, YEAR + 1)]
    assert "merit_third_class" in year_alerts(merit, YEAR, graded_this_year=True)
    assert year_alerts(merit[:2], YEAR, graded_this_year=False) == ["merit_next"]
    bad = [(YEAR - 1, "buchenzhi"), (YEAR, "buchenzhi")]
    assert "dismissal" in year_alerts(bad, YEAR, graded_this_year=True)
    assert year_alerts(bad[:1], YEAR, graded_this_year=False) == ["dismissal_risk"]
    assert year_alerts([], YEAR, graded_this_year=False, pending_regrade=True) == ["regrade"]
    # Later years never count for an earlier list.
    assert year_alerts(two + [(YEAR + 1, "chenzhi")], YEAR, graded_this_year=True) == ["salary_step"]


def _history(world):
    from kaohe.annual import service
    from kaohe.annual.models import AnnualOutcome
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    ids, aid = seed_unit(world)
    apply_scope(Scope.system("t"))
    t1 = db.session.get(OrgNode, world.ids["P1-T1"])
    grades = {"head": ["chenzhi", "chenzhi"], "deputy": ["youxiu", "youxiu"], "d1head": ["buchenzhi", "buchenzhi"],
              "d2head": ["buchenzhi", None]}
    for key, gs in grades.items():
        for y, g in zip((YEAR - 1, YEAR), gs):
            a = service.get_or_open(t1, y)
            if y == YEAR:
                a.status = "filed"
            db.session.flush()
            db.session.add(AnnualOutcome(root_id=t1.root_id, org_id=t1.id, assessment_id=a.id, person_id=ids[key],
                                         year=y, grade=g, code="9" if g is None else "1"))
    # Third year of 优秀 for deputy: the year before last.
    a0 = service.get_or_open(t1, YEAR - 2)
    db.session.flush()
    db.session.add(AnnualOutcome(root_id=t1.root_id, org_id=t1.id, assessment_id=a0.id, person_id=ids["deputy"],
                                 year=YEAR - 2, grade="youxiu", code="1"))
    db.session.commit()
    return ids


def test_alert_list_unit_and_county(app, world, client, api_token, login_as):
    from openpyxl import load_workbook

    with app.app_context():
        ids = _history(world)
        db.session.remove()
    t1, k1, k3 = world.ids["P1-T1"], world.ids["P1-K1"], world.ids["P1-K3"]
    body = client.get(f"/api/v1/annual/alerts/{t1}?year={YEAR}", headers=api_token("t1admin")).get_json()
    names = {k: {r["person_id"] for r in rows} for k, rows in body["alerts"].items()}
    assert names["salary_step"] == {ids["head"]}
    assert names["merit_third_class"] == {ids["deputy"]}   # three years 优秀: an odd count, no step this year
    assert names["dismissal"] == {ids["d1head"]}
    assert names["regrade"] == {ids["d2head"]}
    # The county sees the same people under it; another county nothing of T1; staff may not look.
    county = client.get(f"/api/v1/annual/alerts/{k1}?year={YEAR}", headers=api_token("countysup")).get_json()
    assert {r["person_id"] for r in county["alerts"]["dismissal"]} == {ids["d1head"]}
    assert client.get(f"/api/v1/annual/alerts/{t1}?year={YEAR}", headers=api_token("t3admin")).status_code == 404
    assert client.get(f"/api/v1/annual/alerts/{t1}?year={YEAR}", headers=api_token("t1staff")).status_code == 403
    assert client.get(f"/api/v1/annual/alerts/{k3}?year={YEAR}", headers=api_token("p2-t1admin")).status_code == 404
    # The page in Chinese and the xlsx.
    b = login_as("countysup")
    page = b.get(f"/annual/alerts/{k1}?year={YEAR}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "连续两年不称职" in text and "待补定" in text
    x = b.get(f"/annual/alerts/{k1}.xlsx?year={YEAR}")
    assert x.status_code == 200
    rows = list(load_workbook(io.BytesIO(x.data), read_only=True).active.iter_rows(values_only=True))
    assert len(rows) >= 6 and any("辞退" in str(r[0]) for r in rows[1:])
