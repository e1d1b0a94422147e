"""Marshmallow schemas of the democratic evaluation (API and pages)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

GRADE_CHOICE = validate.OneOf(("youxiu", "chenzhi", "jibenchenzhi", "buchenzhi"))


class BallotSessionCreateSchema(Schema):
    year = fields.Int(required=True, validate=validate.Range(min=2000, max=2100))
    voters = fields.Int(required=True, validate=validate.Range(min=1, max=2000),
                        metadata={"description": "How many one-time codes to issue."})
    closes_at = fields.AwareDateTime(required=True, default_timezone=None,
                                     metadata={"description": "When voting ends (ISO 8601 with offset)."})
    title = fields.Str(load_default=None, validate=validate.Length(max=120))
    person_ids = fields.List(fields.Int(), load_default=None,
                             metadata={"description": "Whom to evaluate; default everyone active in the unit."})


class BallotCodesSchema(Schema):
    voters = fields.Int(required=True, validate=validate.Range(min=1, max=2000))


class BallotCountsSchema(Schema):
    youxiu = fields.Int()
    chenzhi = fields.Int()
    jibenchenzhi = fields.Int()
    buchenzhi = fields.Int()


class BallotSessionSchema(Schema):
    id = fields.Int()
    org_id = fields.Int()
    year = fields.Int()
    title = fields.Str()
    status = fields.Str(metadata={"description": "open | closed"})
    closes_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    candidate_ids = fields.List(fields.Int())
    codes_issued = fields.Int()
    ballots_cast = fields.Int()
    applied = fields.Bool(metadata={"description": "The counts were written into the annual reviews."})
    threshold = fields.Int(metadata={"description": "Fewest ballots for results to be shown (anonymity)."})
    vote_url = fields.Str(metadata={"description": "The phone page (no account needed)."})
    results = fields.Dict(keys=fields.Str(), values=fields.Nested(BallotCountsSchema), allow_none=True,
                          metadata={"description": "Counts per person id; null while open or below the threshold."})


class BallotSessionIssuedSchema(BallotSessionSchema):
    codes = fields.List(fields.Str(), metadata={"description": "The new codes: shown this once, stored only hashed."})
