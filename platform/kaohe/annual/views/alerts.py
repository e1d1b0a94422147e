"""The alert list of a unit or a county (issue 17): who is due a salary
step, a 级别, 三等功 or a dismissal review this year, who is at risk, and
which results await 补定; as a page and as an xlsx download."""
from __future__ import annotations

import io

from flask import abort, render_template, send_file, url_for
from flask_babel import gettext as _

from ...auth.roles import Perm
from ...auth.service import has_perm
from ...tenancy.models import OrgNode
from ...tenancy.scope import get_in_scope
from .. import alerts
from ..calc.codes import GRADE_LABELS
from .common import ALERT_LABELS, L, bp, year_arg

KIND_LABELS = {**ALERT_LABELS,
               "dismissal": ("连续两年不称职：提出辞退审核", "Two consecutive years Incompetent: dismissal review"),
               "dismissal_risk": ("上年不称职，本年尚未定等次：再不称职将辞退",
                                  "Incompetent last year, no grade yet: a second means dismissal"),
               "merit_next": ("连续两年优秀，本年尚未定等次：再优秀记三等功",
                              "Excellent two years in a row, no grade yet: a third gives third-class merit"),
               "regrade": ("本年未定等次，待补定", "No grade this year: to be graded retroactively")}


def may_see(node: OrgNode) -> bool:
    """The office of the unit, or a supervisor of the county or above."""
    return has_perm(Perm.unit_admin, node) or has_perm(Perm.supervise, node)


def _load(org_id):
    node = get_in_scope(OrgNode, org_id)
    if not may_see(node):
        abort(403)
    return node


def kind_label(kind: str) -> str:
    return L(KIND_LABELS, kind)


@bp.route("/alerts/<int:org_id>")
def alerts_page(org_id):
    node = _load(org_id)
    year = year_arg()
    lists = alerts.alert_list(node, year)
    return render_template("annual/alerts.html", node=node, year=year, lists=lists, kinds=alerts.KINDS,
                           kind_label=kind_label, due=set(alerts.DUE_KINDS))


@bp.route("/alerts/<int:org_id>.xlsx")
def alerts_xlsx(org_id):
    from openpyxl import Workbook

    node = _load(org_id)
    year = year_arg()
    lists = alerts.alert_list(node, year)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Alerts"))
    years = sorted({y for rows in lists.values() for r in rows for y in r["grades"]})
    ws.append([_("Alert"), _("Unit"), _("Staff no."), _("Name"), _("Years Competent or better"), _("Excellent in a row"),
               _("Incompetent in a row")] + [str(y) for y in years])
    for kind in alerts.KINDS:
        for r in lists[kind]:
            ws.append([kind_label(kind), r["unit_name"], r["staff_no"], r["name"], r["good_years"], r["youxiu_streak"],
                       r["buchenzhi_streak"]]
                      + [L(GRADE_LABELS, r["grades"].get(y)) if r["grades"].get(y) else "" for y in years])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return send_file(buf, as_attachment=True, download_name=f"alerts-{node.code}-{year}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def org_link(node):
    """The org page's link to the list (units and counties the viewer supervises)."""
    if not may_see(node):
        return []
    return [{"url": url_for("annual.alerts_page", org_id=node.id), "label": _("Alert list (salary steps, rank levels, merit, dismissal)")}]

