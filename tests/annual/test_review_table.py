"""Issue 16, finding 5: the review entry page is one table saved in one POST
(all rows or none, each bad row named), keyboard-friendly, with an xlsx round
trip through the same validator."""
import io
import re

from sqlalchemy import select

from kaohe.extensions import db

from .conftest import YEAR, seed_unit


def _reviews(app):
    from kaohe.annual.models import AnnualReview
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        apply_scope(Scope.system("t"))
        out = {r.person_id: (r.leader_score, r.recommended_grade, r.votes_youxiu)
               for r in db.session.execute(select(AnnualReview)).scalars()}
        db.session.remove()
    return out


def test_one_table_one_save_per_row_errors_and_xlsx_round_trip(app, world, login_as):
    with app.app_context():
        ids, _ = seed_unit(world)
        db.session.remove()
    url = f"/annual/unit/{world.ids['P1-T1']}/{YEAR}/reviews"
    admin = login_as("t1admin")
    page = admin.get(url).get_data(as_text=True)
    # one form, one save button, a row per person with sized, labelled inputs
    assert page.count("<form") - page.count('enctype="multipart/form-data"') - page.count('action="/logout"') <= 2
    assert len(re.findall(r'data-testid="save-reviews"', page)) == 1
    assert page.count("<tr data-person=") == len(ids)
    assert f'name="ls_{ids["head"]}"' in page and 'size="5"' in page and 'aria-label="head' in page
    assert not re.search(r'tabindex="[1-9]', page)      # natural tab order, row by row

    before = _reviews(app)
    # one bad row: nothing saved, the row named, the entered values kept
    form = {f"ls_{pid}": "77" for pid in ids.values()}
    form[f"ls_{ids['deputy']}"] = "120"
    form[f"vyouxiu_{ids['d1head']}"] = "x"
    r = admin.post(url, form)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'data-testid="review-errors"' in html
    assert re.search(rf'<tr data-person="{ids["deputy"]}" class="has-error">', html)
    assert re.search(rf'<tr data-person="{ids["d1head"]}" class="has-error">', html)
    assert "0 到 100" in html or "between 0 and 100" in html
    assert 'value="120"' in html
    assert _reviews(app) == before
    # all good: saved together
    form[f"ls_{ids['deputy']}"] = "81.5"
    form[f"vyouxiu_{ids['d1head']}"] = "7"
    form[f"rg_{ids['head']}"] = "youxiu"
    assert admin.post(url, form).status_code == 302
    after = _reviews(app)
    assert after[ids["deputy"]][0] == 81.5 and after[ids["head"]] == (77.0, "youxiu", 0)
    assert after[ids["d1head"]][2] == 7

    # xlsx: download, change, upload through the same validator
    from openpyxl import load_workbook

    x = admin.get(url + ".xlsx")
    assert x.status_code == 200
    wb = load_workbook(io.BytesIO(x.data))
    ws = wb.active
    rows = {row[0].value: row for row in ws.iter_rows(min_row=2)}
    assert rows[ids["deputy"]][3].value == 81.5
    rows[ids["d2staff"]][3].value = 64
    rows[ids["d2head"]][3].value = "很好"            # not a number
    buf = io.BytesIO()
    wb.save(buf)
    r = admin.post(url + "/upload", {"file": (io.BytesIO(buf.getvalue()), "reviews.xlsx")},
                   content_type="multipart/form-data")
    assert r.status_code == 422 and re.search(rf'<tr data-person="{ids["d2head"]}" class="has-error">',
                                              r.get_data(as_text=True))
    assert _reviews(app)[ids["d2staff"]][0] == 77.0
    rows[ids["d2head"]][3].value = 70
    buf = io.BytesIO()
    wb.save(buf)
    r = admin.post(url + "/upload", {"file": (io.BytesIO(buf.getvalue()), "reviews.xlsx")},
                   content_type="multipart/form-data")
    assert r.status_code == 302
    assert _reviews(app)[ids["d2staff"]][0] == 64.0 and _reviews(app)[ids["d2head"]][0] == 70.0
    # hostile or wrong files are refused with a message, nothing written
    for data in (b"", b"not a zip", b"PK\x03\x04" + b"\0" * 100):
        r = admin.post(url + "/upload", {"file": (io.BytesIO(data), "x.xlsx")}, content_type="multipart/form-data")
        assert r.status_code == 422 and 'data-testid="review-errors"' in r.get_data(as_text=True)
