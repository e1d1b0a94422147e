"""What every routine operation shares: today's business date, the error
helpers, the optimistic-lock check, the policy a unit runs under now and the
one frozen into a period."""
from __future__ import annotations

import datetime as dt

from ..core.clock import local_today
from ..core.errors import Conflict, Invalid
from ..policy.resolve import effective_policy
from ..tenancy.models import OrgNode
from ..web.messages import N_, register_templates
from . import calc
from .models import Period


# parametrised refusals shared by the routine operations (pages translate them)
M_OUTSIDE = N_("The date must fall inside the period (%(start)s – %(end)s).")
M_CHANGED = N_("Someone else changed this first (now version %(v)s); review the newer value and try again.")
M_RATING_SAVED = N_("This rating was already saved (version %(v)s); review the newer value and submit again "
                    "with its version.")
M_RATER_FIRST = N_("The rater changed this rating first (now version %(v)s).")
register_templates(M_OUTSIDE, M_CHANGED, M_RATING_SAVED, M_RATER_FIRST)
CHANGED = N_("The record was changed by someone else.")
RATING_CHANGED = N_("The rating was changed by someone else.")


def today() -> dt.date:
    return local_today()


def invalid(field: str, message: str):
    return Invalid({field: [message]})


def check_version(obj, expected: int | None, dump) -> None:
    if expected is not None and int(expected) != obj.version:
        raise Conflict({"version": [M_CHANGED % {"v": obj.version}],
                        "current": {"version": obj.version, **dump(obj)}}, CHANGED)


def owned_by_unit(unit: OrgNode, obj):
    """An object given for editing must belong to the unit being edited:
    anything else is 'not found' (it may be visible, but not here)."""
    if obj is not None and (obj.root_id != unit.root_id or obj.org_id != unit.id):
        from werkzeug.exceptions import NotFound

        raise NotFound()
    return obj


# -- policy -------------------------------------------------------------------

def live_policy(unit: OrgNode, year: int) -> dict:
    """The unit's effective policy now (the defaults of this slice fill keys
    the registry does not know yet)."""
    snap = dict(effective_policy(unit, year).snapshot())
    out = dict(calc.POLICY_DEFAULTS)
    out.update({k: v for k, v in snap.items() if k in calc.POLICY_DEFAULTS or k.startswith(("routine.", "calendar."))})
    return out


def period_policy(period: Period) -> dict:
    pol = dict(calc.POLICY_DEFAULTS)
    pol.update(period.policy or {})
    return pol
