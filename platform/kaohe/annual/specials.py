"""Special assessments (专项考核): campaigns run by an organisation (flood
duty, village work teams, ...) and each participant's result, which the
annual score takes in (``annual.special_mode``)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..web.messages import N_
from ..audit.service import record
from ..core.errors import Invalid
from ..extensions import db
from ..people.models import Person
from ..tenancy.models import OrgNode
from .calc.codes import ROUTINE_GRADES
from .models import SpecialCampaign, SpecialResult
from .service import actor_name


def create_campaign(org: OrgNode, *, name: str, year: int, kind: str, result_type: str, starts_on: dt.date,
                    ends_on: dt.date, description: str | None = None) -> SpecialCampaign:
    errors = {}
    if not (name or "").strip():
        errors["name"] = ["A name is required."]
    if result_type not in ("grade", "comment", "points"):
        errors["result_type"] = ["Choose grade, comment/report or add/subtract points."]
    if ends_on < starts_on:
        errors["ends_on"] = ["The window ends before it starts."]
    if errors:
        raise Invalid(errors)
    c = SpecialCampaign(root_id=org.root_id, org_id=org.id, name=name.strip(), year=year, kind=kind or "other",
                        result_type=result_type, starts_on=starts_on, ends_on=ends_on, description=description,
                        created_by=actor_name())
    db.session.add(c)
    db.session.flush()
    record("annual.special.create", root_id=org.root_id, org_id=org.id, target_type="special_campaign",
           target_id=c.id, after={"name": c.name, "year": year, "result_type": result_type})
    return c


def set_special_result(c: SpecialCampaign, person: Person, *, grade=None, points=None, score=None,
                       comment=None) -> SpecialResult:
    camp_node = db.session.get(OrgNode, c.org_id)
    unit = db.session.get(OrgNode, person.unit_id)
    errors = {}
    if unit is None or not unit.path.startswith(camp_node.path):
        errors["person_id"] = ["The person is outside the campaign's organisation."]
    if c.status != "open":
        errors["campaign"] = ["The campaign is closed."]
    if c.result_type == "grade" and grade not in ROUTINE_GRADES:
        errors["grade"] = [N_("Choose Good, Fairly good, Average or Poor.")]
    if c.result_type == "points":
        if points is None or not -100 <= float(points) <= 100:
            errors["points"] = ["Points are between -100 and 100."]
    if c.result_type == "comment" and not (comment or "").strip():
        errors["comment"] = ["A comment or report is required."]
    if score is not None and not 0 <= float(score) <= 100:
        errors["score"] = ["The score is between 0 and 100."]
    if errors:
        raise Invalid(errors)
    r = db.session.execute(select(SpecialResult).where(SpecialResult.root_id == c.root_id,
                                                       SpecialResult.campaign_id == c.id,
                                                       SpecialResult.person_id == person.id)).scalar_one_or_none()
    before = None
    if r is None:
        r = SpecialResult(root_id=c.root_id, org_id=c.org_id, campaign_id=c.id, person_id=person.id, year=c.year)
        db.session.add(r)
    else:
        before = {"grade": r.grade, "points": r.points, "score": r.score}
    r.grade = grade if c.result_type == "grade" else None
    r.points = float(points) if points not in (None, "") else None
    r.score = float(score) if score not in (None, "") else None
    r.comment = comment
    r.updated_by = actor_name()
    db.session.flush()
    record("annual.special.result", root_id=c.root_id, org_id=c.org_id, target_type="person", target_id=person.id,
           before=before, after={"campaign": c.id, "grade": r.grade, "points": r.points, "score": r.score})
    return r


def close_campaign(c: SpecialCampaign) -> None:
    c.status = "closed"
    record("annual.special.close", root_id=c.root_id, org_id=c.org_id, target_type="special_campaign",
           target_id=c.id)
    db.session.flush()
