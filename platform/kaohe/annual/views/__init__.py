"""Pages of the annual assessment, one module per area: ``unit`` (the
units and a unit's assessment from computing to filing), ``records``
(records and reviews), ``person`` (a person's result, my own assessment),
``appeals``, ``specials`` and ``talks``; ``common`` holds the blueprint and
what they share.  Load in scope → check permission → service → one commit;
a rule broken re-renders the page with the message.  Importing this
package registers the pages, the navigation, the home panel and the org
page's link."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from sqlalchemy import func, select

from ...auth.roles import Perm
from ...auth.service import has_perm
from ...core.clock import local_today
from ...extensions import db
from ...web import add_org_links, register_page_blueprint
from ...web.home_panels import add_panel
from ...web.nav import NavItem, add_nav
from ..models import AnnualOutcome, AnnualTalk
from . import alerts, appeals, history, leave, person, records, regform, specials, talks, unit  # noqa: F401  (their routes)
from .common import bp, my_person


def _org_links(node):
    if not node.is_assessment_unit or not has_perm(Perm.view, node):
        return []
    links = [{"url": url_for("annual.unit_page", org_id=node.id, year=local_today().year),
              "label": _("Annual assessment")}]
    if has_perm(Perm.unit_admin, node):
        links.append({"url": url_for("annual.history_page", org_id=node.id),
                      "label": _("Earlier years' annual grades")})
    return links


def _panel():
    p = my_person()
    if p is None:
        return None
    pending = db.session.execute(select(func.count()).select_from(AnnualOutcome).where(
        AnnualOutcome.person_id == p.id, AnnualOutcome.notice_on.is_not(None),
        AnnualOutcome.acknowledged_at.is_(None))).scalar_one()
    talks_due = db.session.execute(select(func.count()).select_from(AnnualTalk).where(
        AnnualTalk.leader_person_id == p.id, AnnualTalk.held_on.is_(None))).scalar_one()
    if not pending and not talks_due:
        return None
    items = []
    if pending:
        items.append({"text": _("An annual result notice awaits your acknowledgement."), "url": url_for("annual.me")})
    if talks_due:
        items.append({"text": _("%(n)s talks to hold and record.", n=talks_due), "url": url_for("annual.talks")})
    html = "<ul>" + "".join(f'<li><a href="{escape(i["url"])}">{escape(i["text"])}</a></li>' for i in items) + "</ul>"
    return {"key": "annual", "title": _("Annual assessment"), "html": html}


add_nav(NavItem("annual", _l("Annual assessment"), "annual.index", None, 40,
                hint=_l("Self-summaries, grades within the quota, publicity and notices")))
add_nav(NavItem("annual_appeals", _l("Reviews & appeals"), "annual.appeals", None, 42, hint=_l("Review and appeal cases with their deadlines"),
                visible=lambda: has_perm(Perm.unit_admin) or has_perm(Perm.supervise)))
add_nav(NavItem("annual_specials", _l("Special assessments"), "annual.specials", None, 41, hint=_l("Campaigns such as flood duty, and their results"),
                visible=lambda: has_perm(Perm.unit_admin) or has_perm(Perm.supervise)))
add_panel(_panel)
add_org_links(_org_links)
add_org_links(alerts.org_link)
register_page_blueprint(bp)
