"""Supervision pages: the dashboard with drill-down, reminders, exports."""
from __future__ import annotations

import time

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from ..core.clock import local_today
from ..auth.roles import Perm, Role
from ..auth.service import current_grants, has_perm
from ..core.errors import KaoheError
from ..extensions import db
from ..jobs import queue
from ..jobs.models import Job
from ..tenancy import service as org_service
from ..tenancy.models import OrgNode
from ..tenancy.scope import current_scope, get_in_scope
from ..web import add_org_links, register_page_blueprint
from ..web.home_panels import add_panel
from ..web.i18n import pick, select_locale
from ..web.nav import NavItem, add_nav
from . import builtin_exports  # noqa: F401  (registers the exports)
from . import calc, charts, dashboard as dash, service
from .board import clear_cache
from .facts import unit_total
from .exports import (SYNC_MAX_ROWS, available_exports, export_path, get_spec, may_export, safe_filename, spooled_file,
                      write_xlsx)
from .models import TOPICS, Reminder

bp = Blueprint("supervision", __name__, url_prefix="/supervision")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

TOPIC_LABELS = {
    "general": _l("General"), "work_records": _l("Work records"), "ratings": _l("Ratings"),
    "computation": _l("Computation"), "publicity": _l("Publicity"), "finalise": _l("Finalising results"),
    "appeals": _l("Appeals"), "talks": _l("Talks"), "roster": _l("Roster"),
}
STATE_LABELS = {"draft": ("草稿", "Draft"), "open": ("进行中", "Open"), "rating": ("评鉴中", "Rating"),
                "review": ("审核中", "Review"), "publicised": ("公示中", "Publicised"), "final": ("已确定", "Final")}


def supervised_nodes() -> list[OrgNode]:
    ids = [gr.org_id for gr in current_grants() if gr.org_id and gr.role in (Role.supervisor, Role.policy_admin)]
    if not ids:
        return []
    return list(db.session.execute(select(OrgNode).where(OrgNode.id.in_(ids)).order_by(OrgNode.path)).scalars())


def _node_for_supervision(org_id: int) -> OrgNode:
    node = get_in_scope(OrgNode, org_id)
    if not has_perm(Perm.supervise, node):
        abort(403)
    if node.kind == "department":
        abort(404)
    return node


def _year_arg() -> int | None:
    year = request.args.get("year", type=int)
    if year is not None and not (2000 <= year <= 2100):
        return None
    return year


@bp.route("/")
def index():
    nodes = supervised_nodes()
    if len(nodes) == 1:
        return redirect(url_for("supervision.dashboard_page", org_id=nodes[0].id))
    return render_template("supervision/index.html", nodes=nodes)


@bp.route("/orgs/<int:org_id>")
def dashboard_page(org_id):
    node = _node_for_supervision(org_id)
    fresh = request.args.get("fresh") == "1"
    if fresh and unit_total(node) > current_app.config["KAOHE_DASHBOARD_LIVE_MAX_UNITS"]:
        # A large subtree: recompute its snapshot in the background, with progress.
        job_id = queue.submit("supervision.refresh_stats", root_id=node.root_id, org_id=node.id,
                              scope=current_scope(), created_by=current_user.id,
                              params={"org_id": node.id, "year": _year_arg() or local_today().year,
                                      "period": request.args.get("period") or None})
        return redirect(url_for("web.job_page", job_id=job_id))
    board = dash.build(node, year=_year_arg(), period_key=request.args.get("period") or None,
                       use_cache=not fresh, use_snapshot=False if fresh else None)
    scope = current_scope()
    crumbs = [a for a in org_service.ancestors(node)]
    sent = service.reminders_below(node, limit=10)
    sent_to = {n.id: n for n in db.session.execute(
        select(OrgNode).where(OrgNode.id.in_({r.org_id for r in sent}))).scalars()} if sent else {}
    # The way down to a unit's people: only to units whose annual page the viewer may open (Perm.view).
    unit_ids = [_get(r, "id") for r in board.children if _get(r, "is_unit")]
    unit_nodes = {n.id: n for n in db.session.execute(
        select(OrgNode).where(OrgNode.id.in_(unit_ids))).scalars()} if unit_ids else {}
    return render_template(
        "supervision/dashboard.html", node=node, board=board, crumbs=crumbs,
        can_open_unit=lambda i: i in unit_nodes and has_perm(Perm.view, unit_nodes[i]),
        visible_crumb=lambda a: scope.covers(a.root_id, a.path) and has_perm(Perm.supervise, a),
        chart_options=charts.dashboard_options(board.charts, period_label), grade_label=charts.grade_label,
        flag_message=lambda f: calc.flag_message(f, _), overdue_message=lambda o: calc.overdue_message(o, _),
        topics=TOPICS, topic_labels=TOPIC_LABELS, state_labels=STATE_LABELS, sent=sent, sent_to=sent_to,
        period_label=period_label, age=int(time.time() - board.computed_at),
        routine_grades=calc.ROUTINE_GRADES, annual_grades=calc.ANNUAL_GRADES,
        can_export=may_export(get_spec("supervision.dashboard"), node), exports=available_exports(node))


def _get(row, name):
    return row.get(name) if isinstance(row, dict) else getattr(row, name, None)


def period_label(key: str | None) -> str:
    if not key:
        return ""
    cycle, seq = key.rsplit("-", 1)
    seq = int(seq)
    if cycle == "quarter":
        return _("Q%(n)s", n=seq)
    if cycle == "month":
        return _("Month %(n)s", n=seq)
    if cycle == "half_year":
        return _("First half") if seq == 1 else _("Second half")
    return key


@bp.route("/orgs/<int:org_id>/remind", methods=["POST"])
def remind(org_id):
    node = _node_for_supervision(org_id)
    target = get_in_scope(OrgNode, request.form.get("target_id"))
    back = url_for("supervision.dashboard_page", org_id=node.id, year=request.form.get("year") or None,
                   period=request.form.get("period") or None)
    snapshot = None
    try:
        board = dash.build(node, year=request.form.get("year", type=int),
                           period_key=request.form.get("period") or None)
        row = next((r for r in board.children if r["id"] == target.id), None)
        if row is not None:
            snapshot = {"period": board.period_key, "year": board.year, "completion": row["completion"],
                        "overdue": [calc.overdue_message(o) for o in row["overdue"]],
                        "appeals_open": row["appeals_open"], "talks_due": row["talks_due"]}
        service.send_reminder(from_node=node, target=target, topic=request.form.get("topic", "general"),
                              message=request.form.get("message", ""), snapshot=snapshot)
        db.session.commit()
    except KaoheError as exc:
        db.session.rollback()
        for msgs in (exc.errors or {"_": [exc.message]}).values():
            for m in msgs:
                flash(m, "error")
        return redirect(back)
    clear_cache()
    flash(_("Reminder sent to %(name)s.", name=target.name), "ok")
    return redirect(back)


@bp.route("/reminders/<int:reminder_id>/acknowledge", methods=["POST"])
def reminder_ack(reminder_id):
    rem = get_in_scope(Reminder, reminder_id)
    target = get_in_scope(OrgNode, rem.org_id)
    if not (has_perm(Perm.unit_admin, target) or has_perm(Perm.supervise, target)):
        abort(403)
    service.acknowledge(rem)
    db.session.commit()
    clear_cache()
    flash(_("Marked as seen."), "ok")
    return redirect(request.form.get("next") if (request.form.get("next") or "").startswith("/") and not
                    (request.form.get("next") or "").startswith("//") else url_for("web.home"))


# -- exports ---------------------------------------------------------------------


def export_params() -> dict:
    return {k: v for k, v in request.args.items() if k not in ("org_id", "kind")}


@bp.route("/exports/<kind>")
def export_start(kind):
    spec = get_spec(kind)
    if spec is None:
        abort(404)
    node = get_in_scope(OrgNode, request.args.get("org_id"))
    if not may_export(spec, node):
        abort(403)
    params = export_params()
    locale = select_locale()   # the headers in the page's language
    name = safe_filename(f"{pick(*spec.title)}-{pick(node.name, node.name_en)}-{local_today().isoformat()}") + ".xlsx"
    count = spec.count(node, params) if spec.count else 0
    if count <= SYNC_MAX_ROWS:
        buf = spooled_file()
        write_xlsx(spec, node, params, buf, locale=locale)
        buf.seek(0)
        return send_file(buf, mimetype=XLSX, as_attachment=True, download_name=name)
    job_id = queue.submit("supervision.export", root_id=node.root_id, org_id=node.id, scope=current_scope(),
                          params={"kind": kind, "org_id": node.id, "params": params, "filename": name, "locale": locale},
                          created_by=current_user.id)
    return redirect(url_for("web.job_page", job_id=job_id))


def export_file_response(job_id: str):
    job = db.session.execute(select(Job).where(Job.id == str(job_id)[:36])).scalar_one_or_none()
    if job is None or job.kind != "supervision.export":
        abort(404)
    from ..tenancy.scope import in_scope

    if not in_scope(job):
        abort(404)
    # The file holds the export's rows: only someone who may run that export on
    # its node downloads it (being in scope, e.g. as staff of the unit, is not enough).
    spec = get_spec((job.params or {}).get("kind") or "")
    if spec is None:
        abort(404)
    if not may_export(spec, get_in_scope(OrgNode, job.org_id)):
        abort(403)
    if job.status != "done":
        abort(409, description=_("The export is not finished yet."))
    try:
        path = export_path(job.id)
    except ValueError:
        abort(404)
    if not path.exists():
        abort(404)
    name = (job.result or {}).get("filename") or "export.xlsx"
    return send_file(path, mimetype=XLSX, as_attachment=True, download_name=name)


@bp.route("/exports/files/<job_id>")
def export_file(job_id):
    return export_file_response(job_id)


register_page_blueprint(bp)


def _show_nav() -> bool:
    return bool(supervised_nodes())


add_nav(NavItem("supervision", _l("Supervision"), "supervision.index", Perm.supervise, 20, _show_nav,
                hint=_l("Progress, grade distributions and flags of the units below")))


def _org_dashboard_link(node):
    if node.kind != "department" and has_perm(Perm.supervise, node):
        return [{"url": url_for("supervision.dashboard_page", org_id=node.id), "label": _("Supervision dashboard")}]
    return []


add_org_links(_org_dashboard_link)


def _reminder_panel():
    """Reminders addressed to the nodes this person administers."""
    if not current_user.is_authenticated:
        return None
    ids = [gr.org_id for gr in current_grants()
           if gr.org_id and gr.role in (Role.unit_admin, Role.supervisor, Role.policy_admin)]
    rems = service.reminders_for_nodes(ids)
    if not rems:
        return None
    nodes = {n.id: n for n in db.session.execute(
        select(OrgNode).where(OrgNode.id.in_({r.org_id for r in rems} | {r.from_org_id for r in rems}))).scalars()}
    html = render_template("supervision/_reminders_panel.html", reminders=rems, nodes=nodes,
                           topic_labels=TOPIC_LABELS)
    return {"key": "reminders", "title": _("Reminders from your supervisors"), "html": Markup(html)}


add_panel(_reminder_panel)


def _attention_panel():
    """A supervisor's home: per supervised node, how many units below lag,
    what is overdue, open appeals and flags, from the same (cached)
    dashboard the supervision page shows.  A large subtree is summarised
    only when a dashboard of it is already cached, so the home page never
    pays for a province-wide build."""
    if not current_user.is_authenticated or not has_perm(Perm.supervise):
        return None
    nodes = [n for n in supervised_nodes() if n.kind != "department"][:3]
    if not nodes:
        return None
    limit = current_app.config["KAOHE_DASHBOARD_LIVE_MAX_UNITS"]
    rows = []
    for node in nodes:
        if unit_total(node) <= limit:
            board = dash.build(node, use_snapshot=False)   # small enough to build live (counted just now)
        else:
            board = dash.cached(node)
        if board is None:
            rows.append({"node": node, "board": None})
            continue
        rows.append({"node": node, "board": board,
                     "lagging": sum(1 for c in board.children if c.get("lagging")),
                     "children": len(board.children)})
    html = render_template("supervision/_attention_panel.html", rows=rows, period_label=period_label)
    return {"key": "supervision", "title": _("Units below you"), "html": Markup(html)}


add_panel(_attention_panel)


@bp.app_context_processor
def _chart_helpers():
    def person_history_chart(person_id: int, element_id: str = "person-history"):
        """For result pages: {{ person_history_chart(person.id) }} draws the
        person's routine scores by period (and lists annual grades)."""
        history = charts.person_history(person_id)
        return Markup(render_template("supervision/_person_history.html", history=history,
                                      option=charts.person_history_option(history), element_id=element_id))
    return {"person_history_chart": person_history_chart}


# -- the one-page unit report (issue 17) ---------------------------------------------

def _report_node(org_id: int) -> OrgNode:
    node = get_in_scope(OrgNode, org_id)
    if not node.is_assessment_unit:
        abort(404)
    if not (has_perm(Perm.supervise, node) or has_perm(Perm.unit_admin, node)):
        abort(403)
    return node


@bp.route("/report/<int:org_id>")
def unit_report_page(org_id):
    from .report import unit_report

    node = _report_node(org_id)
    rep = unit_report(node, _year_arg() or local_today().year, request.args.get("period") or None)
    return render_template("supervision/report.html", r=rep, node=node, period_label=period_label,
                           grade_label=charts.grade_label, flag_message=lambda f: calc.flag_message(f, _),
                           overdue_message=lambda o: calc.overdue_message(o, _),
                           routine_grades=calc.ROUTINE_GRADES, annual_grades=calc.ANNUAL_GRADES)


@bp.route("/report/<int:org_id>.xlsx")
def unit_report_xlsx(org_id):
    import io

    from openpyxl import Workbook

    from .report import unit_report

    node = _report_node(org_id)
    r = unit_report(node, _year_arg() or local_today().year, request.args.get("period") or None)
    wb = Workbook()
    ws = wb.active
    ws.title = _("Unit report")[:31]
    ws.append([pick(node.name, node.name_en), r["year"], period_label(r["period_key"])])
    ws.append([])
    c = r["completion"]
    for label, value in ((_("People on the roster"), c["people"]), (_("Participants"), c["participants"]),
                         (_("Rated"), c["rated"]), (_("Computed"), c["computed"]), (_("Publicised"), c["publicised"]),
                         (_("Final"), c["final"]), (_("Annual: filed"), c["annual_filed"])):
        ws.append([label, value])
    ws.append([])
    ws.append([_("Routine grades")] + [grade_label_text(g) for g in calc.ROUTINE_GRADES])
    ws.append([""] + [r["routine_grades"].get(g, 0) for g in calc.ROUTINE_GRADES])
    ws.append([_("Annual grades")] + [grade_label_text(g) for g in calc.ANNUAL_GRADES] + [_("Excellent quota")])
    ws.append([""] + [r["annual_grades"].get(g, 0) for g in calc.ANNUAL_GRADES] + [r["youxiu_quota"]])
    ws.append([])
    ws.append([_("Flags")])
    for f in r["flags"]:
        ws.append([calc.flag_message(f, _)])
    ws.append([])
    t, a = r["talks"], r["appeals"]
    ws.append([_("Talks held"), t["annual_held"] + t["routine_done"], _("Talks due"), t["annual_open"] + t["routine_open"]])
    ws.append([_("Appeals pending"), a["pending"], _("upheld"), a["upheld"], _("reversed"), a["reversed"]])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return send_file(buf, as_attachment=True, download_name=f"report-{node.code}-{r['year']}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def grade_label_text(code: str) -> str:
    return str(charts.grade_label(code))


def _unit_report_link(node):
    if node.is_assessment_unit and (has_perm(Perm.supervise, node) or has_perm(Perm.unit_admin, node)):
        return [{"url": url_for("supervision.unit_report_page", org_id=node.id), "label": _("Unit report (one page)")}]
    return []


add_org_links(_unit_report_link)
