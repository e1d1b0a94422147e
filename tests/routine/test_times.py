"""Finding 6 (issue 12): an attendance correction entered 08:25–18:10 is
stored as instants and shown 08:25–18:10 in KAOHE_TIMEZONE, whatever the
server's own time zone (run here as America/New_York)."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import select

from kaohe.core.clock import local_today, tz
from kaohe.extensions import db


@pytest.fixture
def new_york(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_correction_times_survive_the_round_trip(rt, login, login_new, new_york):
    from kaohe.routine.models import Attendance, Correction
    from kaohe.tenancy.scope import Scope, apply_scope

    assert time.strftime("%Z") in ("EST", "EDT")
    staff = login("t1staff")
    day = local_today() - dt.timedelta(days=1)
    resp = staff.post("/routine/correction", {"day": day.isoformat(), "reason": "县里开会",
                                              "sign_in_at": "08:25", "sign_out_at": "18:10"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    head = login_new("rt_d1head")
    page = head.get("/routine/").get_data(as_text=True)
    assert "08:25" in page and "18:10" in page
    with rt.app.app_context():
        apply_scope(Scope.system("t"))
        c = db.session.execute(select(Correction)).scalar_one()
        cid, version = c.id, c.version
        db.session.remove()
    resp = head.post(f"/routine/corrections/{cid}/decide", {"approve": "1", "version": str(version)})
    assert resp.status_code in (302, 303)
    with rt.app.app_context():
        apply_scope(Scope.system("t"))
        att = db.session.execute(select(Attendance).where(Attendance.day == day)).scalar_one()
        shown = []
        for t in (att.sign_in_at, att.sign_out_at):
            t = t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)   # SQLite hands back naive UTC
            shown.append(t.astimezone(tz()).strftime("%Y-%m-%d %H:%M"))
        assert shown == [f"{day} 08:25", f"{day} 18:10"]
        db.session.remove()
