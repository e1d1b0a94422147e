"""Small helpers shared by the browser journeys."""
from __future__ import annotations


def org_id(live_server, code: str) -> int:
    """The id of an org node of the demo province by its code."""
    from sqlalchemy import select

    from kaohe.extensions import db
    from kaohe.tenancy.models import OrgNode
    from kaohe.tenancy.scope import Scope, apply_scope

    with live_server.app.app_context():
        apply_scope(Scope.system("e2e"))
        node_id = db.session.execute(select(OrgNode.id).where(OrgNode.code == code)).scalar_one()
        db.session.remove()
        return node_id


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than the viewport (0 = fits)."""
    return page.evaluate("() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)")
