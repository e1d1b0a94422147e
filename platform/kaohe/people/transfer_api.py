"""REST endpoint of a person's transfer to another unit (the same schema,
rule and service as the person page and ``kaohe people transfer``)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..core.errors import Forbidden
from ..extensions import db
from ..tenancy.models import OrgNode
from ..tenancy.scope import get_in_scope
from . import transfers
from .models import Person

blp_transfer = Blueprint("people_transfer", __name__, url_prefix="/api/v1/people",
                         description="Transfers between assessment units")


class TransferOutSchema(Schema):
    id = fields.Int()
    person_id = fields.Int(metadata={"description": "the person's new row, in the new unit"})
    from_person_id = fields.Int(metadata={"description": "the closed row in the old unit (its history stays there)"})
    from_unit_id = fields.Int()
    to_unit_id = fields.Int(attribute="org_id")
    to_org_id = fields.Int()
    from_staff_no = fields.Str()
    staff_no = fields.Str()
    transfer_date = fields.Date()
    reason = fields.Str()
    account_id = fields.Int(allow_none=True)
    grants_revoked = fields.List(fields.Dict(), allow_none=True)


def run_transfer(person: Person, data: dict, *, check_manage: bool = True):
    """Load the targets in the caller's scope (404 outside it), apply the one
    rule on both units (403), transfer (flush)."""
    to_unit = get_in_scope(OrgNode, data["to_unit_id"])
    to_org = get_in_scope(OrgNode, data["to_org_id"]) if data.get("to_org_id") else None
    from_unit = get_in_scope(OrgNode, person.unit_id)
    if not transfers.may_transfer(from_unit, to_unit):
        raise Forbidden()
    return transfers.transfer(person, to_unit, data, to_org=to_org, check_manage=check_manage)


@blp_transfer.route("/<int:person_id>/transfer", methods=["POST"])
@blp_transfer.arguments(transfers.TransferSchema)
@blp_transfer.response(201, TransferOutSchema)
def person_transfer(data, person_id):
    """Transfer a person to another assessment unit in your scope (the roster
    permission on both units).  The old unit keeps the person's history on a
    closed row; a new row opens in the new unit today; the account follows
    (grants on the old unit revoked, sessions and tokens ended).  A unit
    outside your scope is a 404."""
    person = get_in_scope(Person, person_id)
    row = run_transfer(person, data)
    db.session.commit()
    return row
