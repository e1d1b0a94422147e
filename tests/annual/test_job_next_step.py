"""Issue 16: a finished computation's page says what happened in the page's
language and offers the next step (the unit's annual page), not only the
home page."""
import re

from kaohe.extensions import db

from .conftest import YEAR, seed_unit


def test_finished_compute_job_links_to_the_unit_and_speaks_chinese(app, world, login_as):
    with app.app_context():
        seed_unit(world)
        db.session.remove()
    t1 = world.ids["P1-T1"]
    admin = login_as("t1admin")
    r = admin.post(f"/annual/unit/{t1}/{YEAR}/compute")
    assert r.status_code == 302 and "/jobs/" in r.headers["Location"]
    page = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert f'href="/annual/unit/{t1}/{YEAR}"' in page, "the finished job offers no way to its result"
    assert "units" not in page and "people computed" not in page
    assert re.search(r"1 个单位、\d+ 人已计算", page)
    admin.get("/lang/en")
    page = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert re.search(r"1 units and \d+ people computed", page)
