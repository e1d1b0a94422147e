"""The value types of policy settings: strict marshmallow fields and the
schemas of structured values (score bands, grade scales, weights, rates,
the indicator library's items, dates).  Used by the registry's declarations;
every path that writes a setting validates through them."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..web.messages import N_
from .vocabulary import ROUTINE_GRADES, RATER_KINDS, INDICATOR_CATEGORIES

# -- marshmallow fields for the value types -------------------------------

class StrictInt(fields.Integer):
    def __init__(self, **kw):
        super().__init__(strict=True, **kw)

    def _deserialize(self, value, attr, data, **kw):
        if isinstance(value, bool):
            raise ValidationError("must be a whole number")
        return super()._deserialize(value, attr, data, **kw)


class StrictFloat(fields.Float):
    def _deserialize(self, value, attr, data, **kw):
        if isinstance(value, (bool, str)):
            raise ValidationError("must be a number")
        return super()._deserialize(value, attr, data, **kw)


class StrictBool(fields.Boolean):
    truthy = {True}
    falsy = {False}


class Rate(StrictFloat):
    """A share between 0 and 1 (0.2 = 20%)."""

    def __init__(self, **kw):
        super().__init__(allow_nan=False, validate=validate.Range(min=0, max=1, error="must be between 0 and 1"),
                         **kw)


def choice_field(choices, **kw):
    return fields.String(validate=validate.OneOf(choices, error="must be one of {choices}"), **kw)


class _Strict(Schema):
    class Meta:
        unknown = "raise"


class RoutineBandsSchema(_Strict):
    hao = StrictInt(required=True, validate=validate.Range(0, 100))
    jiaohao = StrictInt(required=True, validate=validate.Range(0, 100))
    yiban = StrictInt(required=True, validate=validate.Range(0, 100))

    @validates_schema
    def _order(self, data, **kw):
        if not data["hao"] > data["jiaohao"] > data["yiban"]:
            raise ValidationError("thresholds must fall: hao > jiaohao > yiban")


class GradeScaleEntrySchema(_Strict):
    """One routine grade as a unit names it (seed 001: 优秀/良好/及格/不及格)."""

    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,19}$",
                                                                 error="lower-case letters, digits, _ (max 20)"))
    name = fields.String(required=True, validate=validate.Length(1, 12))
    name_en = fields.String(validate=validate.Length(max=40))
    # the lowest score of this grade; omitted everywhere = routine.grade_bands
    min_score = StrictFloat(allow_nan=False, validate=validate.Range(0, 100))
    # the national grade it counts as (the 好 cap, vetoes and the annual read ranks)
    rank = choice_field(ROUTINE_GRADES)


def check_grade_scale(entries: list) -> None:
    """The rules of ``routine.grade_scale`` (raises ValidationError naming the rule)."""
    if not 2 <= len(entries) <= len(ROUTINE_GRADES):
        raise ValidationError(N_("List 2 to 4 grades, best first."))
    codes = [e["code"] for e in entries]
    names = [e["name"] for e in entries]
    if len(set(codes)) != len(codes) or len(set(names)) != len(names):
        raise ValidationError(N_("Each grade needs its own code and name."))
    ranked = [e for e in entries if e.get("rank")]
    if ranked and len(ranked) != len(entries):
        raise ValidationError(N_("State the national grade of every grade or of none."))
    if not ranked and len(entries) != len(ROUTINE_GRADES):
        raise ValidationError(N_("With fewer than 4 grades, state the national grade (hao, jiaohao, yiban, "
                                 "jiaocha) each counts as."))
    if ranked:
        idx = [ROUTINE_GRADES.index(e["rank"]) for e in entries]
        if idx != sorted(set(idx)):
            raise ValidationError(N_("The national grades must fall best first, each used once (hao, jiaohao, yiban, jiaocha)."))
    given = [e.get("min_score") for e in entries[:-1]]
    if entries[-1].get("min_score") not in (None, 0, 0.0):
        raise ValidationError(N_("The lowest grade has no lower bound (it takes every score below the one above)."))
    if any(g is not None for g in given):
        if any(g is None for g in given):
            raise ValidationError(N_("Give the lowest score of every grade but the last, or of none (then the "
                                     "routine grade thresholds apply)."))
        if any(not a > b for a, b in zip(given, given[1:])) or given[-1] <= 0:
            raise ValidationError(N_("Lowest scores must fall from the best grade down and stay above 0."))


class GradeScaleField(fields.List):
    def __init__(self, **kw):
        super().__init__(fields.Nested(GradeScaleEntrySchema), validate=check_grade_scale, **kw)


class AnnualBandsSchema(_Strict):
    chenzhi = StrictInt(required=True, validate=validate.Range(0, 100))
    jibenchenzhi = StrictInt(required=True, validate=validate.Range(0, 100))

    @validates_schema
    def _order(self, data, **kw):
        if not data["chenzhi"] > data["jibenchenzhi"]:
            raise ValidationError("thresholds must fall: chenzhi > jibenchenzhi")


def _sum_is_one(data, keys):
    total = sum(Decimal(str(data[k])) for k in keys if k in data)
    if total != Decimal(1):
        raise ValidationError(f"the weights must add up to 1 (they add up to {total})")


class RaterWeightsSchema(_Strict):
    supervisor = Rate(required=True)
    self = Rate(required=True, data_key="self")
    peer = Rate(required=True)
    democratic = Rate(required=True)

    @validates_schema
    def _sum(self, data, **kw):
        _sum_is_one(data, RATER_KINDS)


class AnnualWeightsSchema(_Strict):
    routine = Rate(required=True)
    review = Rate(required=True)

    @validates_schema
    def _sum(self, data, **kw):
        total = Decimal(str(data["routine"])) + Decimal(str(data["review"]))
        if total > 1:
            raise ValidationError(f"routine + review must not exceed 1 (it is {total})")


class OrgGradeRatesSchema(_Strict):
    youxiu = Rate(required=True)
    lianghao = Rate(required=True)
    yiban = Rate(required=True)
    jiaocha = Rate(required=True)
    major_contribution = Rate(required=True)


class PayCoefficientsSchema(_Strict):
    youxiu = StrictFloat(required=True, validate=validate.Range(0, 10))
    chenzhi = StrictFloat(required=True, validate=validate.Range(0, 10))
    jibenchenzhi = StrictFloat(required=True, validate=validate.Range(0, 10))
    buchenzhi = StrictFloat(required=True, validate=validate.Range(0, 10))


class IndicatorItemSchema(_Strict):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,40}$",
                                                                 error="letters, digits, _ . - (max 40)"))
    name = fields.String(required=True, validate=validate.Length(1, 80))
    name_en = fields.String(validate=validate.Length(max=120))
    category = choice_field(INDICATOR_CATEGORIES, required=True)
    max_points = StrictFloat(validate=validate.Range(0, 100))
    mandatory = StrictBool(load_default=False)
    # what 优/良/中/差 mean for this indicator (optional, shown to raters)
    standards = fields.Dict(keys=choice_field(("you", "liang", "zhong", "cha")),
                            values=fields.String(validate=validate.Length(max=200)))


class AdditiveSchema(_Strict):
    """The stored form of an additive key at one node."""

    add = fields.List(fields.Nested(IndicatorItemSchema), load_default=list)
    remove = fields.List(fields.String(), load_default=list)

    @validates_schema
    def _unique(self, data, **kw):
        codes = [i["code"] for i in data.get("add", [])]
        dup = sorted({c for c in codes if codes.count(c) > 1})
        if dup:
            raise ValidationError({"add": {i: {"code": [f"item code {c} listed twice"]}
                                           for i, c in enumerate(codes) if c in dup}})


def _iso_date(value: str) -> str:
    try:
        dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{value!r} is not a date (YYYY-MM-DD)")
    return value


class DateList(fields.List):
    def __init__(self, **kw):
        super().__init__(fields.String(validate=_iso_date), **kw)
