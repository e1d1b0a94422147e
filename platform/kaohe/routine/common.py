"""What every routine operation shares: today's business date, the error
helpers, the optimistic-lock check, the policy a unit runs under now and the
one frozen into a period."""
from __future__ import annotations

import datetime as dt

from ..core.clock import local_today
from ..core.errors import Conflict, Invalid
from ..policy.resolve import effective_policy
from ..tenancy.models import OrgNode
from . import calc
from .models import Period


def today() -> dt.date:
    return local_today()


def invalid(field: str, message: str):
    return Invalid({field: [message]})


def check_version(obj, expected: int | None, dump) -> None:
    if expected is not None and int(expected) != obj.version:
        raise Conflict({"version": [f"Someone else changed this first (now version {obj.version}); "
                                    "review the newer value and try again."],
                        "current": {"version": obj.version, **dump(obj)}},
                       "The record was changed by someone else.")


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
