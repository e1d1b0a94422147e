"""Isolation cases of the people (roster import) and supervision slices for
tests/foundation/test_isolation.py.

Objects of the slices are made once per test (before the first fingerprint)
at every unit of the matrix by ``_objects``, through the slices' own
services: a clean, checked roster import (status ``valid``), a reminder sent
from the unit's county, and a finished ``roster`` export job with its file.
Everything made carries ``isomark-<node key>-`` so the list checks mean
something.
"""
from __future__ import annotations

import io

NODES = ("T1", "T2", "T3", "T4", "P2-T1")


def _roster_workbook(key: str) -> bytes:
    """A clean roster for any unit: one newcomer directly in the unit."""
    from openpyxl import Workbook

    from kaohe.people.roster_format import PEOPLE_COLUMNS

    values = {"staff_no": "ISO-NEW-1", "name": f"isomark-{key}-newcomer", "gender": "男", "post": "科员",
              "rank_group": "一般干部", "job_category": "综合管理", "position_role": "工作人员"}
    wb = Workbook()
    ws = wb.active
    ws.title = "人员 People"
    ws.append([c.header for c in PEOPLE_COLUMNS])
    ws.append([values.get(c.key) for c in PEOPLE_COLUMNS])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _objects(app, iso, world):
    cache = app.extensions.setdefault("iso_people_supervision", {})
    if cache:
        return cache
    from kaohe.audit.service import Actor, reset_actor, set_actor
    from kaohe.extensions import db
    from kaohe.jobs import queue
    from kaohe.people import roster_service
    from kaohe.supervision import service as sup_service
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        token = set_actor(Actor(None, "test"))
        try:
            apply_scope(Scope.system("iso-people-supervision"))
            made = {}
            for key in NODES:
                unit = db.session.get(OrgNode, iso.node[key])
                county = db.session.get(OrgNode, unit.parent_id)
                imp = roster_service.upload(unit, filename=f"isomark-{key}-roster.xlsx", data=_roster_workbook(key))
                roster_service.check(imp)
                assert imp.status == "valid", (key, imp.errors)
                rem = sup_service.send_reminder(from_node=county, target=unit, topic="ratings",
                                                message=f"isomark-{key}-reminder")
                made[key] = {"import": imp.id, "reminder": rem.id, "root": unit.root_id, "path": unit.path,
                             "unit": unit.id}
            db.session.commit()
            # A finished export of each unit's roster, run by the slice's own job (sync mode).
            for key in NODES:
                m = made[key]
                job_id = queue.submit("supervision.export", root_id=m["root"], org_id=m["unit"],
                                      scope=Scope.for_paths(m["root"], [m["path"]]),
                                      params={"kind": "roster", "org_id": m["unit"], "params": {},
                                              "filename": f"isomark-{key}-export.xlsx"})
                apply_scope(Scope.system("iso-people-supervision"))
                job = db.session.get(queue.Job, job_id)
                assert job.status == "done", (key, job.status, job.message)
                cache[key] = {"import": m["import"], "reminder": m["reminder"], "export": job_id}
            db.session.commit()
        finally:
            reset_actor(token)
            db.session.remove()
    return cache


def _target(name):
    return lambda app, iso, world, key: _objects(app, iso, world)[key][name]


PS = {n: _target(n) for n in ("import", "reminder", "export")}

REMIND_BODY = {"topic": "ratings", "message": "请尽快完成本季度评鉴"}


def cases(case):
    return [
        # -- people: roster import API ------------------------------------------------
        case("people.roster_template", "GET", "/api/v1/people/roster-template?unit_id={org}", actor="t1admin",
             denied=("countysup", "t1leader")),
        # The API client posts JSON, which cannot carry the workbook: on the own unit the
        # upload is refused for the missing file (422) after the scoped look-up and the
        # permission check; the unit goes in the query string (form fields need multipart).
        case("people.import_upload", "POST", "/api/v1/people/imports?unit_id={org}", actor="t1admin", ok=422,
             denied=("countysup", "t1leader")),
        case("people.import_list", "GET", "/api/v1/people/imports?unit_id={org}", actor="t1admin", leak=True,
             denied=("countysup", "t1leader"), targets=PS),
        case("people.import_get", "GET", "/api/v1/people/imports/{import}", actor="t1admin", leak=True,
             denied=("countysup", "t1leader"), targets=PS),
        case("people.import_apply", "POST", "/api/v1/people/imports/{import}/apply", actor="t1admin", ok=202,
             denied=("countysup", "t1leader"), targets=PS),
        # -- people: a person's record fields (issue 13) -------------------------------
        case("people.PersonRecord", "PATCH", "/api/v1/people/{person}", actor="t1admin", ok=(200, 422),
             body={"post_rank": "一级科员"}, denied=("countysup", "t1leader", "t1staff")),
        case("roster.person_page", "GET", "/people/persons/{person}", actor="t1admin", leak=True,
             denied=("countysup", "t1leader", "t1staff")),
        case("roster.person_page", "POST", "/people/persons/{person}", actor="t1admin", ok=(200, 302, 422),
             body={"post_rank": "一级科员"}, denied=("countysup", "t1leader", "t1staff")),
        # -- people: roster import pages ----------------------------------------------
        case("roster.import_page", "GET", "/people/imports/{import}", actor="t1admin", leak=True,
             denied=("countysup", "t1leader"), targets=PS),
        case("roster.import_apply", "POST", "/people/imports/{import}/apply", actor="t1admin", ok=302, body={},
             denied=("countysup", "t1leader"), targets=PS),
        # -- supervision API ------------------------------------------------------------
        case("supervision_api.dashboard_get", "GET", "/api/v1/supervision/dashboard?org_id={org}",
             actor="countysup", leak=True, denied=("t1admin", "t1leader"), targets=PS),
        case("supervision_api.dashboard_get", "GET", "/api/v1/supervision/dashboard?org_id={parent}&year=2026",
             actor="k1policy", leak=True, targets=PS),
        case("supervision_api.reminder_create", "POST", "/api/v1/supervision/reminders", actor="countysup",
             ok=201, body={"org_id": "{org}", **REMIND_BODY}, denied=("t1admin", "t1leader")),
        case("supervision_api.reminder_create", "POST", "/api/v1/supervision/reminders", actor="countysup",
             ok=201, body={"org_id": "{org}", "from_org_id": "{parent}", **REMIND_BODY}),
        case("supervision_api.reminder_list", "GET", "/api/v1/supervision/reminders?org_id={org}",
             actor="t1admin", leak=True, denied=("t1staff", "t1leader"), targets=PS),
        case("supervision_api.reminder_list", "GET", "/api/v1/supervision/reminders?org_id={parent}",
             actor="countysup", leak=True, targets=PS),
        case("supervision_api.reminder_ack", "POST", "/api/v1/supervision/reminders/{reminder}/acknowledge",
             actor="t1admin", denied=("t1staff", "t1leader"), targets=PS),
        case("supervision_api.export_kinds", "GET", "/api/v1/supervision/exports?org_id={org}", actor="t1admin"),
        case("supervision_api.export_create", "POST", "/api/v1/supervision/exports/roster", actor="t1admin",
             ok=202, body={"org_id": "{org}"}, denied=("t1staff", "t1leader")),
        case("supervision_api.export_create", "POST", "/api/v1/supervision/exports/supervision.dashboard",
             actor="countysup", ok=202, body={"org_id": "{parent}", "params": {"year": "2026"}}),
        case("supervision_api.export_download", "GET", "/api/v1/supervision/exports/files/{export}",
             actor="t1admin", denied=("t1staff", "t1leader"), targets=PS),
        case("supervision_api.export_download", "GET", "/api/v1/supervision/exports/files/{export}",
             actor="countysup", targets=PS),
        # -- supervision pages ----------------------------------------------------------
        case("supervision.remind", "POST", "/supervision/orgs/{parent}/remind", actor="countysup", ok=302,
             body={"target_id": "{org}", **REMIND_BODY}),
        # the unit itself as the supervising node: in scope for t1admin (403); for
        # countysup the reminder is refused (a unit cannot remind itself) and nothing is written
        case("supervision.remind", "POST", "/supervision/orgs/{org}/remind", actor="countysup", ok=302,
             body={"target_id": "{org}", **REMIND_BODY}, denied=("t1admin",)),
        case("supervision.reminder_ack", "POST", "/supervision/reminders/{reminder}/acknowledge", actor="t1admin",
             ok=302, body={"next": "/"}, denied=("t1staff", "t1leader"), targets=PS),
        case("supervision.export_start", "GET", "/supervision/exports/roster?org_id={org}", actor="t1admin",
             denied=("t1staff", "t1leader")),
        case("supervision.export_start", "GET", "/supervision/exports/roster?org_id={parent}", actor="countysup"),
        case("supervision.export_start", "GET", "/supervision/exports/supervision.dashboard?org_id={org}&year=2026",
             actor="countysup", denied=("t1admin",)),
        case("supervision.export_file", "GET", "/supervision/exports/files/{export}", actor="t1admin",
             denied=("t1staff", "t1leader"), targets=PS),
        case("supervision.export_file", "GET", "/supervision/exports/files/{export}", actor="countysup",
             targets=PS),
    ]
