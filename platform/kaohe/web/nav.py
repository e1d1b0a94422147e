"""Navigation by role: each slice adds entries; a person sees only those
their grants allow."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import url_for
from flask_babel import lazy_gettext as _l

from ..auth.roles import Perm
from ..auth.service import has_perm


@dataclass
class NavItem:
    key: str
    label: object
    endpoint: str
    perm: Perm | None = None
    order: int = 100
    visible: Callable[[], bool] | None = None
    hint: object = None  # one line under the home-page shortcut tile


NAV: list[NavItem] = [
    NavItem("home", _l("Home"), "web.home", None, 0),
    NavItem("orgs", _l("Org tree"), "web.org_root", Perm.view, 10, hint=_l("Units, departments and assessment units")),
    NavItem("users", _l("Accounts"), "web.users", Perm.user_manage, 80, hint=_l("Log-ins and roles")),
    NavItem("audit", _l("Audit log"), "web.audit", Perm.audit_read, 90, hint=_l("Who changed what, and when")),
]


def add_nav(item: NavItem) -> None:
    if not any(n.key == item.key for n in NAV):
        NAV.append(item)


def nav_items() -> list[dict]:
    out = []
    for item in sorted(NAV, key=lambda n: n.order):
        if item.perm is not None and not has_perm(item.perm):
            continue
        if item.visible is not None and not item.visible():
            continue
        out.append({"key": item.key, "label": item.label, "url": url_for(item.endpoint), "hint": item.hint})
    return out
