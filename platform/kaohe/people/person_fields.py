"""A person's record fields (staff category, ID number, birth date, gender,
political status, post and rank, work start date, post), edited one person
at a time from the person page or the API: one marshmallow schema for both,
the ID rules of the roster import (check digit, birth date and gender
agreeing, one number per province), optimistic locking, an audit entry with
the ID number masked.  Flush, never commit."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates
from sqlalchemy import select

from ..audit.service import record
from ..core.errors import Conflict, Invalid
from ..extensions import db
from ..tenancy.models import OrgNode
from ..web.messages import N_
from . import id_number as idn
from .models import Person
from .roster_format import GENDER_CHOICES, POLITICAL_CHOICES, STAFF_CATEGORY_CHOICES, jsonable

EDITABLE = ("staff_category", "id_number", "birth_date", "gender", "political_status", "post_rank",
            "work_start_date", "post")
_ID_TEXT = {"id_shape": N_("Not an 18-character ID number (17 digits and a digit or X)."),
            "id_birth": N_("The ID number holds no valid birth date."),
            "id_checksum": N_("The ID number fails its check digit (GB 11643): check for a typing mistake.")}


def _blank_none(value):
    return None if isinstance(value, str) and value.strip() == "" else value


class PersonFieldsSchema(Schema):
    """Only the fields sent change; an empty value (null or "") clears one."""

    staff_category = fields.Str(allow_none=True, validate=validate.OneOf(list(STAFF_CATEGORY_CHOICES)),
                                metadata={"description": "civil_servant | referenced | worker | institution | "
                                                         "contract"})
    id_number = fields.Str(allow_none=True, metadata={"description": "18 characters, GB 11643 check digit"})
    birth_date = fields.Date(allow_none=True)
    gender = fields.Str(allow_none=True, validate=validate.OneOf(list(GENDER_CHOICES)))
    political_status = fields.Str(allow_none=True, validate=validate.OneOf(list(POLITICAL_CHOICES)))
    post_rank = fields.Str(allow_none=True, validate=validate.Length(max=40))
    work_start_date = fields.Date(allow_none=True)
    post = fields.Str(allow_none=True, validate=validate.Length(max=80))
    expected_version = fields.Int(metadata={"description": "the version you edited (409 when it changed)"})

    def load(self, data, *args, **kw):   # an empty form field is "no value"
        if hasattr(data, "items"):
            data = {k: _blank_none(v) for k, v in data.items() if k in self.fields}
        return super().load(data, *args, **kw)

    @validates("id_number")
    def _id(self, value, **_kw):
        if value is None:
            return
        code = idn.problem(idn.normalise(value))
        if code:
            raise ValidationError(_ID_TEXT[code])


def update_fields(person: Person, data: dict) -> Person:
    """Change the sent fields of ``person``; Invalid with field messages, or
    Conflict when ``expected_version`` is stale."""
    expected = data.pop("expected_version", None)
    if expected is not None and expected != person.version:
        raise Conflict({"expected_version": [N_("Someone changed this person meanwhile; reload and try again.")]})
    new = {f: getattr(person, f) for f in EDITABLE}
    new.update({k: v for k, v in data.items() if k in EDITABLE})
    if new["id_number"]:
        new["id_number"] = idn.normalise(new["id_number"])
        number = new["id_number"]
        errors: dict[str, list[str]] = {}
        born, sex = idn.birth_date(number), idn.gender(number)
        if "birth_date" in data and data["birth_date"] is not None and data["birth_date"] != born:
            errors["birth_date"] = [N_("The birth date does not match the ID number.")]
        if "gender" in data and data["gender"] is not None and data["gender"] != sex:
            errors["gender"] = [N_("The gender does not match the ID number.")]
        if errors:
            raise Invalid(errors)
        new["birth_date"], new["gender"] = born, sex
        if number != person.id_number and _taken(person, number):
            raise Invalid({"id_number": [N_("This ID number already belongs to another person of the province.")]})
    before = {f: getattr(person, f) for f in EDITABLE if getattr(person, f) != new[f]}
    after = {f: new[f] for f in before}
    if not after:
        return person
    for f, v in after.items():
        setattr(person, f, v)
    db.session.flush()

    def shown(values):
        return {f: (idn.mask(v) if f == "id_number" else jsonable(v)) for f, v in values.items()}
    record("people.person.update", root_id=person.root_id, org_id=person.org_id, target_type="person",
           target_id=person.id, before=shown(before), after=shown(after))
    return person


def _taken(person: Person, number: str) -> bool:
    """Whether another person of the province holds ``number`` (read under the
    province's scope: other units are outside a unit admin's view; the answer
    names nobody)."""
    from ..tenancy.scope import Scope, scoped

    with scoped(Scope.province(person.root_id, label="person-id-number")):
        return db.session.execute(select(Person.id).where(
            Person.root_id == person.root_id, Person.id_number == number, Person.id != person.id)
        ).first() is not None


def unit_of(person: Person) -> OrgNode:
    return db.session.get(OrgNode, person.unit_id)
