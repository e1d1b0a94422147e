"""Words for roster values on pages (Chinese first, English available): the
enum codes, the fields of a change, and values of the list of changes (a
department by its name, an ID number masked)."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from ..web.i18n import pick
from . import id_number as idn
from .roster_format import PEOPLE_COLUMNS

ENUM_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "gender": {"M": ("男", "Male"), "F": ("女", "Female")},
    "rank_group": {"leader": ("领导班子", "Leadership"), "staff": ("一般干部", "Staff")},
    "job_category": {"general": ("综合管理", "General"), "police": ("公安", "Police"),
                     "service_window": ("窗口服务", "Service window")},
    "position_role": {"head": ("主要领导", "Head"), "deputy": ("分管领导", "Deputy"),
                      "dept_head": ("科室负责人", "Department head"), "staff": ("工作人员", "Staff")},
    "staff_category": {"civil_servant": ("公务员", "Civil servant"),
                       "referenced": ("参照管理", "Managed as civil servant"),
                       "worker": ("工勤", "Service worker"), "institution": ("事业", "Public institution staff"),
                       "contract": ("聘用", "Contract staff")},
    "political_status": {"cpc": ("中共党员", "CPC member"), "cpc_probationary": ("中共预备党员", "CPC probationary member"),
                         "cyl": ("共青团员", "CYL member"), "democratic": ("民主党派", "Democratic party member"),
                         "nonparty": ("无党派人士", "Non-party"), "masses": ("群众", "The masses")},
    "active": {True: ("在册", "On the roster"), False: ("不在册", "Left")},
}
_COLS = {c.key: c for c in PEOPLE_COLUMNS}
FIELD_LABELS: dict[str, tuple[str, str]] = {
    **{c.key: (c.zh, c.en) for c in PEOPLE_COLUMNS},
    "dept": ("科室", "Department"), "supervisor": ("直接上级", "Supervisor"), "active": ("在册", "On the roster"),
}


def field_label(field: str) -> str:
    zh, en = FIELD_LABELS.get(field, (field, field))
    return pick(zh, en)


def enum_label(field: str, code: Any) -> str:
    if code is None:
        return ""
    zh, en = ENUM_LABELS.get(field, {}).get(code, (str(code), str(code)))
    return pick(zh, en)


def value_label(field: str, value: Any, dept_names: dict[str | None, str], reveal: bool = False) -> str:
    """One value of a change in the page's words."""
    if field == "dept":
        return dept_names.get(value, value or "")
    if value is None:
        return _("(empty)")
    if field == "id_number":
        return value if reveal else idn.mask(value)
    if field in ENUM_LABELS:
        return enum_label(field, value)
    return str(value)


def kind_label(kind: str) -> str:
    return {"new": _("New people"), "updated": _("Updated"), "moved": _("Moved"), "cleared": _("Cleared values"),
            "reactivated": _("Back on the roster"), "removed": _("Leave the roster"),
            "charges_added": _("Leader charges added"), "charges_removed": _("Leader charges removed")}.get(kind, kind)


def removal_reason(reason: str) -> str:
    return _("Marked 离开 in the file") if reason == "marker" else _("Missing from the file (option chosen)")
