"""Isolation cases of the routine slice for tests/foundation/test_isolation.py.

Objects of the slice (made by ``_routine_objects``, once per test, at every
unit of the matrix: T1, T2, T3, T4 and P2-T1) are built through the slice's
own services so they are valid, and carry ``isomark-<KEY>-`` markers so the
leak checks mean something:

- base: an indicator library (one data-fed indicator among them), a scheme,
  a second person ("isomark-<KEY>-peer") and a peer group of the two, a
  pending attendance correction, an open task;
- open: the current quarter, open, with a self rating of the iso person, a
  deduction event about them and a work record of the person the T1 leader
  supervises (T1: d1head; elsewhere: the iso person);
- review: a period of last year in review, computed, with a tie at the 好
  cap line waiting for a decision;
- final: a period of last year that went through publicity to final.

Placeholders: {period_open} {period_review} {period_final} {indicator}
{scheme} {group} {correction} {task} {event} {rating} {record} and {charge}
(the person the T1 leader rates as supervisor: d1head in T1).
"""
from __future__ import annotations

import datetime as dt

TODAY = dt.date.today()
YEAR = TODAY.year
QUARTER = (TODAY.month - 1) // 3 + 1
LAST = YEAR - 1
FINAL_DAY = f"{LAST}-08-03"            # inside the final period (last year's Q3)
YESTERDAY = (TODAY - dt.timedelta(days=1)).isoformat()
NODES = ("T1", "T2", "T3", "T4", "P2-T1")


def _library(key: str) -> list[dict]:
    m = f"isomark-{key}-"
    return [
        {"code": "ethics", "name": m + "ethics", "dimension": "de", "kind": "graded",
         "levels": {"you": 20, "liang": 16, "zhong": 12, "cha": 6}},
        {"code": "work", "name": m + "work", "dimension": "ji", "kind": "scored", "max": 50},
        {"code": "cases", "name": m + "cases", "dimension": "ji", "kind": "data", "max": 10,
         "formula": {"type": "ratio", "target": 20}},
        {"code": "discipline", "name": m + "discipline", "dimension": "qin", "kind": "deduction", "max": 10,
         "per": 2, "cap": 10},
        {"code": "integrity", "name": m + "integrity", "dimension": "lian", "kind": "veto", "veto": "zero"},
        {"code": "democratic", "name": m + "democratic", "dimension": "de", "kind": "scored", "max": 10},
        {"code": "innovation", "name": m + "innovation", "dimension": "ji", "kind": "bonus", "per": 1, "cap": 3},
    ]


SECTIONS = [
    {"code": "common", "name": "公共项目", "points": 30, "indicators": ["ethics", "discipline", "integrity"]},
    {"code": "business", "name": "业务工作", "points": 60, "indicators": ["work", "cases"]},
    {"code": "eval", "name": "综合评议", "points": 10, "indicators": ["democratic"], "raters": {"democratic": 1.0}},
    {"code": "extra", "name": "加分", "extra": True, "indicators": ["innovation"]},
]


def _scheme(name: str, code: str = "general") -> dict:
    return {"code": code, "name": name, "job_category": "general", "basis": "points", "total": 100,
            "rater_weights": {"supervisor": 0.7, "self": 0.1, "peer": 0.2}, "sections": SECTIONS}


SUPERVISOR_SCORES = {"ethics": "you", "work": 45}


def _run(app, label, fn):
    from kaohe.audit.service import Actor, reset_actor, set_actor
    from kaohe.extensions import db
    from kaohe.tenancy.scope import Scope, apply_scope

    with app.app_context():
        apply_scope(Scope.system(label))
        token = set_actor(Actor(None, "test"))
        try:
            out = fn()
            db.session.commit()
        finally:
            reset_actor(token)
            db.session.remove()
    return out


def _base(app, iso):
    """Library, scheme, a second person and a peer group, a pending correction
    and an open task at every unit."""
    from sqlalchemy import select

    from kaohe.extensions import db
    from kaohe.people.models import Person
    from kaohe.routine import indicators, schemes
    from kaohe.routine.models import Correction, Indicator, Task
    from kaohe.tenancy.models import OrgNode

    def build():
        out = {}
        for key in NODES:
            unit = db.session.get(OrgNode, iso.node[key])
            pid = iso.person[key]
            staff = {p.staff_no: p for p in db.session.execute(
                select(Person).where(Person.root_id == unit.root_id, Person.unit_id == unit.id)).scalars()}
            peer = Person(root_id=unit.root_id, org_id=unit.id, unit_id=unit.id, staff_no=f"isopeer-{key}",
                          name=f"isomark-{key}-peer")
            db.session.add(peer)
            db.session.flush()
            for ind in _library(key):
                indicators.save_indicator(unit, dict(ind))
            scheme = schemes.save_scheme(unit, _scheme(f"isomark-{key}-scheme"))
            group = schemes.save_peer_group(unit, f"isomark-{key}-group", [pid, peer.id])
            # T1: someone the T1 leader (deputy) supervises and rates; t1staff's person.
            charge = staff["d1head"] if key == "T1" else db.session.get(Person, pid)
            own = staff["d1staff"].id if key == "T1" else pid
            day = dt.date.fromisoformat(YESTERDAY)
            corr = Correction(root_id=unit.root_id, org_id=charge.org_id, person_id=charge.id, day=day,
                              reason=f"isomark-{key}-correction",
                              sign_in_at=dt.datetime.fromisoformat(f"{YESTERDAY}T08:30:00+08:00"))
            task = Task(root_id=unit.root_id, org_id=unit.id, kind="routine.criticism_talk",
                        title=f"isomark-{key}-task", person_id=own, assignee_person_id=own, due_on=TODAY,
                        status="open")
            db.session.add_all([corr, task])
            db.session.flush()
            work = db.session.execute(select(Indicator.id).where(Indicator.org_id == unit.id,
                                                                 Indicator.code == "work")).scalar_one()
            out[key] = {"indicator": work, "scheme": scheme.id, "group": group.id, "correction": corr.id,
                        "task": task.id, "charge": charge.id, "peer": peer.id}
        return out
    return _run(app, "iso-routine-base", build)


def _open_period(app, iso, base):
    """The current quarter, open: a self rating, a deduction, a work record."""
    from kaohe.extensions import db
    from kaohe.people.models import Person
    from kaohe.routine import events, periods, ratings, work_records
    from kaohe.tenancy.models import OrgNode

    def build():
        out = {}
        for key in NODES:
            unit = db.session.get(OrgNode, iso.node[key])
            person = db.session.get(Person, iso.person[key])
            p = periods.create_period(unit, YEAR, QUARTER, "quarter")
            periods.transition(p, "open")
            rating = ratings.submit_rating(p, person.id, person.id, "self", dict(SUPERVISOR_SCORES),
                                           comment=f"isomark-{key}-rating")
            ev = events.record_event(p, person.id, "discipline", TODAY, f"isomark-{key}-event")
            rec = work_records.save_work_record(p, db.session.get(Person, base[key]["charge"]), TODAY,
                                           f"isomark-{key}-record", f"isomark-{key}-plan")
            out[key] = {"period_open": p.id, "rating": rating.id, "event": ev.id, "record": rec.id}
        return out
    return _run(app, "iso-routine-open", build)


def _review_period(app, iso):
    """Last year's Q2 in review, computed, with an undecided tie between the
    iso person and the peer (group of the unit's own node)."""
    from kaohe.extensions import db
    from kaohe.routine import compute, events, inputs, periods
    from kaohe.tenancy.models import OrgNode

    def build():
        out = {}
        for key in NODES:
            unit = db.session.get(OrgNode, iso.node[key])
            p = periods.create_period(unit, LAST, 2, "quarter")
            for to in ("open", "rating"):
                periods.transition(p, to)
            for row in inputs.input_status(p):   # nobody rated here: the office records why (issue 12)
                if not row["exempted"]:
                    inputs.exempt(p, row["person_id"], f"isomark-{key}: no ratings in the fixture")
            periods.transition(p, "review")
            events.record_event(p, iso.person[key], "discipline", p.starts_on, f"isomark-{key}-review-event")
            summary = compute.compute_period(p)
            peer = _base_cache(app)[key]["peer"]
            p.compute_summary = {**summary, "ties": [{"group": "isotie", "line": 80.0, "slots": 1,
                                                      "candidates": sorted([iso.person[key], peer]),
                                                      "resolved": False}]}
            db.session.flush()
            out[key] = {"period_review": p.id}
        return out
    return _run(app, "iso-routine-review", build)


def _final_period(app, iso):
    """Last year's Q3, computed, publicised (long ago) and final."""
    from kaohe.extensions import db
    from kaohe.routine import compute, inputs, periods
    from kaohe.tenancy.models import OrgNode

    def build():
        out = {}
        for key in NODES:
            unit = db.session.get(OrgNode, iso.node[key])
            p = periods.create_period(unit, LAST, 3, "quarter")
            for to in ("open", "rating"):
                periods.transition(p, to)
            for row in inputs.input_status(p):   # nobody rated here: the office records why (issue 12)
                if not row["exempted"]:
                    inputs.exempt(p, row["person_id"], f"isomark-{key}: no ratings in the fixture")
            compute.compute_period(p)
            periods.transition(p, "review")
            periods.transition(p, "publicised", on=p.ends_on + dt.timedelta(days=10))
            periods.transition(p, "final")
            out[key] = {"period_final": p.id}
        return out
    return _run(app, "iso-routine-final", build)


def _base_cache(app):
    return app.extensions["iso_routine"]["base"]


def _routine_objects(app, iso, part):
    cache = app.extensions.setdefault("iso_routine", {})
    if "base" not in cache:
        cache["base"] = _base(app, iso)
    if part not in cache:
        if part == "open":
            cache[part] = _open_period(app, iso, cache["base"])
        elif part == "review":
            cache[part] = _review_period(app, iso)
        elif part == "final":
            cache[part] = _final_period(app, iso)
    return cache[part]


PARTS = {"indicator": "base", "scheme": "base", "group": "base", "correction": "base", "task": "base",
         "charge": "base", "period_open": "open", "rating": "open", "event": "open", "record": "open",
         "period_review": "review", "period_final": "final"}


def _target(name):
    part = PARTS[name]
    return lambda app, iso, world, key: _routine_objects(app, iso, part)[key][name]


def T(*names) -> dict:
    return {n: _target(n) for n in names}


OPEN = "/routine/periods/{period_open}"
REVIEW = "/routine/periods/{period_review}"
FINAL = "/routine/periods/{period_final}"
API = "/api/v1/routine"


def cases(case):
    return [
        # -- pages: the assessment office -------------------------------------------------
        case("routine.assignments", "POST", "/routine/units/{org}/assignments", actor="t1admin", ok=302,
             body={"person_id": "{person}", "scheme_id": "{scheme}", "personal": ""}, denied=("countysup",),
             targets=T("scheme")),
        case("routine.period_page", "GET", REVIEW, actor="t1admin", denied=("countysup", "t1staff"),
             targets=T("period_review")),
        case("routine.period_page", "GET", OPEN, actor="t1admin", denied=("t1leader",),
             targets=T("period_open")),
        case("routine.period_person", "GET", REVIEW + "/people/{person}", actor="t1admin",
             denied=("countysup", "t1leader"), targets=T("period_review")),
        case("routine.period_transition", "POST", OPEN + "/transition", actor="t1admin", ok=302,
             body={"to": "rating"}, denied=("countysup", "t1staff"), targets=T("period_open")),
        case("routine.period_compute", "POST", REVIEW + "/compute", actor="t1admin", ok=302, body={},
             denied=("countysup", "t1leader"), targets=T("period_review")),
        case("routine.period_event", "POST", OPEN + "/events", actor="t1admin", ok=302,
             body={"person_id": "{person}", "indicator_code": "discipline", "occurred_on": TODAY.isoformat(),
                   "evidence": "isomark late for the duty roster"},
             denied=("countysup", "t1staff"), targets=T("period_open")),
        case("routine.event_void", "POST", "/routine/events/{event}/void", actor="t1admin", ok=302,
             body={"reason": "recorded twice"}, denied=("countysup", "t1staff"), targets=T("event")),
        # no file uploaded: the page redirects with the message (nothing imported)
        case("routine.period_metrics", "POST", OPEN + "/metrics", actor="t1admin", ok=302, body={},
             denied=("countysup",), targets=T("period_open")),
        case("routine.period_tie", "POST", REVIEW + "/ties", actor="t1admin", ok=302,
             body={"group": "isotie", "chosen": "{person}", "reason": "more cases closed"},
             denied=("countysup",), targets=T("period_review")),
        case("routine.period_feedback", "POST", REVIEW + "/feedback/{person}", actor="t1admin", ok=302,
             body={"feedback": "keep up the work"}, denied=("countysup", "t1staff"), targets=T("period_review")),
        case("routine.period_amend", "POST", FINAL + "/amend", actor="t1admin", ok=302,
             body={"what": "event", "person_id": "{person}", "indicator_code": "discipline",
                   "occurred_on": FINAL_DAY, "evidence": "found in the duty log", "reason": "late record"},
             denied=("countysup",), targets=T("period_final")),
        # -- pages: staff and raters -------------------------------------------------------
        case("routine.records", "GET", OPEN + "/records", actor="t1staff", targets=T("period_open")),
        case("routine.records", "POST", OPEN + "/records", actor="t1staff", ok=302,
             body={"on_date": TODAY.isoformat(), "kind": "monthly", "plan": "plan",
                   "done": "isomark visited the villages"}, targets=T("period_open")),
        case("routine.my_result", "GET", FINAL + "/result", actor="t1staff", targets=T("period_final")),
        case("routine.rate", "GET", OPEN + "/rate/{charge}/supervisor", actor="t1leader", denied=("t1staff",),
             targets=T("period_open", "charge")),
        case("routine.rate", "POST", OPEN + "/rate/{charge}/supervisor", actor="t1leader", ok=302,
             body={"s_ethics": "you", "s_work": "45", "comment": "solid quarter", "comment_visible": "on"},
             denied=("t1staff",), targets=T("period_open", "charge")),
        # the supervisor of the person who asked (T1: the deputy supervises d1head)
        case("routine.correction_decide", "POST", "/routine/corrections/{correction}/decide", actor="t1leader",
             ok=302, body={"approve": "1"}, targets=T("correction")),
        # -- API: library, schemes, assignments, peer groups ---------------------------------
        case("routine_api.Indicators", "POST", API + "/units/{org}/indicators", actor="t1admin", ok=201,
             body={"code": "isonew", "name": "isomark new indicator", "dimension": "ji", "kind": "scored",
                   "max": 5}, denied=("countysup", "t1staff")),
        case("routine_api.indicator_put", "PUT", API + "/indicators/{indicator}", actor="t1admin",
             body={"code": "work", "name": "工作实绩（改）", "dimension": "ji", "kind": "scored", "max": 50},
             denied=("countysup", "t1leader"), targets=T("indicator")),
        case("routine_api.Schemes", "POST", API + "/units/{org}/schemes", actor="t1admin", ok=201,
             body=_scheme("isomark new scheme", "isonew"), denied=("countysup",), targets=T("scheme")),
        case("routine_api.scheme_put", "PUT", API + "/schemes/{scheme}", actor="t1admin",
             body=_scheme("一般干部方案（改）"), denied=("countysup", "t1staff"), targets=T("scheme")),
        case("routine_api.Assignments", "PUT", API + "/units/{org}/assignments", actor="t1admin",
             body={"person_id": "{person}", "scheme_id": "{scheme}", "personal": []},
             denied=("countysup",), targets=T("scheme")),
        # member_ids is a list (placeholders fill only top-level values): an empty
        # group is refused after the scoped look-up and the permission check
        case("routine_api.PeerGroups", "POST", API + "/units/{org}/peer-groups", actor="t1admin", ok=422,
             body={"name": "isomark new group", "member_ids": []}, denied=("countysup",)),
        case("routine_api.peer_group_put", "PUT", API + "/peer-groups/{group}", actor="t1admin", ok=422,
             body={"name": "isomark renamed group", "member_ids": []}, denied=("countysup",),
             targets=T("group")),
        # -- API: periods ----------------------------------------------------------------------
        case("routine_api.Periods", "POST", API + "/periods", actor="t1admin", ok=201,
             body={"unit_id": "{org}", "year": YEAR + 2, "seq": 1, "cycle": "quarter"},
             denied=("countysup", "t1leader")),
        case("routine_api.periods_list", "GET", API + "/periods?unit_id={org}", actor="t1admin", leak=True,
             targets=T("period_open")),
        case("routine_api.periods_list", "GET", API + "/periods?unit_id={org}", actor="t1staff", leak=True,
             targets=T("period_final")),
        case("routine_api.period_get", "GET", API + "/periods/{period_open}", actor="t1staff",
             targets=T("period_open")),
        case("routine_api.period_transition", "POST", API + "/periods/{period_open}/transition", actor="t1admin",
             body={"to": "rating"}, denied=("countysup", "t1leader"), targets=T("period_open")),
        case("routine_api.period_compute", "POST", API + "/periods/{period_review}/compute", actor="t1admin",
             ok=202, denied=("countysup", "t1staff"), targets=T("period_review")),
        case("routine_api.period_board", "GET", API + "/periods/{period_open}/completeness", actor="t1admin",
             leak=True, denied=("countysup", "t1staff"), targets=T("period_open")),
        case("routine_api.period_todo", "GET", API + "/periods/{period_open}/todo", actor="t1leader", leak=True,
             targets=T("period_open")),
        # -- API: ratings ----------------------------------------------------------------------
        case("routine_api.rating_submit", "POST", API + "/periods/{period_open}/ratings", actor="t1leader",
             body={"ratee_id": "{charge}", "rater_kind": "supervisor", "scores": SUPERVISOR_SCORES,
                   "comment": "solid quarter"},
             denied=("t1staff", "t1admin"), targets=T("period_open", "charge")),
        case("routine_api.ratings_mine", "GET", API + "/periods/{period_open}/ratings/mine", actor="t1leader",
             leak=True, targets=T("period_open")),
        case("routine_api.ratings_about", "GET", API + "/periods/{period_open}/ratings?ratee_id={person}",
             actor="t1admin", leak=True, denied=("t1staff", "t1leader"), targets=T("period_open")),
        case("routine_api.rating_adjust", "PUT", API + "/ratings/{rating}/adjust", actor="t1admin",
             body={"scores": {"work": 40}, "reason": "the record shows less", "version": 1},
             denied=("countysup", "t1staff"), targets=T("rating")),
        # -- API: events and metrics ---------------------------------------------------------------
        case("routine_api.Events", "GET", API + "/periods/{period_open}/events", actor="t1admin", leak=True,
             denied=("countysup", "t1staff"), targets=T("period_open")),
        case("routine_api.Events", "POST", API + "/periods/{period_open}/events", actor="t1admin", ok=201,
             body={"person_id": "{person}", "indicator_code": "discipline", "occurred_on": TODAY.isoformat(),
                   "evidence": "isomark late for the duty roster"},
             denied=("countysup", "t1leader"), targets=T("period_open")),
        case("routine_api.event_void", "POST", API + "/events/{event}/void", actor="t1admin",
             body={"reason": "recorded twice"}, denied=("countysup", "t1staff"), targets=T("event")),
        case("routine_api.metrics_import", "POST", API + "/periods/{period_open}/metrics", actor="t1admin",
             body={"source": "case system", "rows": [{"staff_no": "d1staff", "indicator_code": "cases",
                                                      "value": 12}]},
             denied=("countysup", "t1staff"), targets=T("period_open")),
        # JSON instead of a file upload: refused (422) after the look-up and the permission check
        case("routine_api.metrics_import_xlsx", "POST", API + "/periods/{period_open}/metrics.xlsx",
             actor="t1admin", ok=422, body={}, denied=("countysup",), targets=T("period_open")),
        # -- API: results, ties, feedback, amendments ------------------------------------------------
        case("routine_api.results_list", "GET", API + "/periods/{period_review}/results", actor="t1admin",
             leak=True, denied=("countysup", "t1staff"), targets=T("period_review")),
        case("routine_api.result_mine", "GET", API + "/periods/{period_final}/results/me", actor="t1staff",
             targets=T("period_final")),
        # `chosen` is a list (placeholders fill only top-level values): choosing nobody
        # for the one place is refused after the look-up and the permission check
        case("routine_api.tie_resolve", "POST", API + "/periods/{period_review}/ties", actor="t1admin", ok=422,
             body={"group": "isotie", "chosen": [], "reason": "more cases closed"},
             denied=("countysup",), targets=T("period_review")),
        case("routine_api.result_feedback", "PUT", API + "/periods/{period_review}/results/{person}/feedback",
             actor="t1admin", body={"feedback": "keep up the work"}, denied=("countysup", "t1staff"),
             targets=T("period_review")),
        case("routine_api.period_amend", "POST", API + "/periods/{period_final}/amendments", actor="t1admin",
             ok=201, body={"what": "event", "reason": "late record", "person_id": "{person}",
                           "indicator_code": "discipline", "occurred_on": FINAL_DAY,
                           "evidence": "found in the duty log"},
             denied=("countysup", "t1leader"), targets=T("period_final")),
        # -- API: self service --------------------------------------------------------------------------
        case("routine_api.attendance_sign", "POST", API + "/me/attendance", actor="t1staff", body={"what": "in"}),
        case("routine_api.correction_request", "POST", API + "/me/corrections", actor="t1staff", ok=201,
             body={"day": YESTERDAY, "reason": "county meeting", "sign_in_at": f"{YESTERDAY}T08:55:00+08:00"}),
        case("routine_api.correction_decide", "POST", API + "/corrections/{correction}/decision",
             actor="t1leader", body={"approve": True}, denied=("t1staff", "t1admin"), targets=T("correction")),
        case("routine_api.MyRecords", "GET", API + "/periods/{period_open}/records/mine", actor="t1staff",
             leak=True, targets=T("period_open")),
        case("routine_api.MyRecords", "PUT", API + "/periods/{period_open}/records/mine", actor="t1staff",
             body={"on_date": TODAY.isoformat(), "kind": "monthly", "plan": "plan",
                   "done": "isomark visited the villages"}, targets=T("period_open")),
        case("routine_api.record_comment", "POST", API + "/records/{record}/comment", actor="t1leader",
             body={"comment": "well documented", "visible": True}, denied=("t1staff", "t1admin"),
             targets=T("record")),
        case("routine_api.task_close", "POST", API + "/tasks/{task}/close", actor="t1staff",
             body={"note": "talk held"}, denied=("t1leader", "t1admin"), targets=T("task")),
    ]
