"""Policy pages: a node's policy by topic (edit / lock / bound / revert, one
action each), the 组织绩效 grading page with the resulting rates and quotas,
and the allocation page (allocated vs remaining)."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation

import yaml
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from ..core.clock import local_today
from ..auth.roles import Perm
from ..auth.service import current_grants, has_perm
from ..core.errors import Forbidden, Invalid, KaoheError
from ..extensions import db
from ..tenancy.models import OrgNode
from ..tenancy.scope import get_in_scope
from ..web import add_org_links, register_page_blueprint
from ..web.i18n import pick
from ..web.nav import NavItem, add_nav
from . import calc
from . import packs  # noqa: F401  (registers policy.yaml with tenant packs)
from . import org_grades, quotas, resolve, settings
from . import registry as reg
from .models import QuotaApproval

bp = Blueprint("policy", __name__, url_prefix="/policy")
register_page_blueprint(bp)


# -- formatting helpers for templates -------------------------------------

def _label(code) -> str:
    if isinstance(code, str) and code in reg.CHOICE_LABELS:
        zh, en = reg.CHOICE_LABELS[code]
        return pick(zh, en)
    return str(code)


def fmt_value(value, key: str) -> Markup:
    s = reg.REGISTRY[key]
    if isinstance(value, bool):
        return Markup(escape(_("Yes") if value else _("No")))
    if s.kind == reg.ADDITIVE:
        if not value:
            return Markup(escape(_("(none)")))
        parts = []
        for item in value:
            txt = f"{pick(item['name'], item.get('name_en') or item['name'])}"
            star = Markup(' <span class="badge" title="{}">{}</span>').format(_("mandatory"), _("mandatory")) \
                if item.get("mandatory") else ""
            parts.append(Markup("<li><code>{}</code> {}{}</li>").format(item["code"], txt, star))
        return Markup('<ul class="plain">') + Markup("").join(parts) + Markup("</ul>")
    if key == "routine.grade_scale" and isinstance(value, list):
        return grade_scale_text(value)
    if isinstance(value, dict):
        rows = []
        for k, v in value.items():
            shown = calc.pct(v) if s.unit == "rate" else v
            rows.append(Markup("<li>{}：{}</li>").format(_label(k), shown))
        return Markup('<ul class="plain">') + Markup("").join(rows) + Markup("</ul>")
    if isinstance(value, list):
        if not value:
            return Markup(escape(_("(none)")))
        return Markup("、").join(escape(_label(v)) for v in value)
    if s.unit == "rate":
        return Markup(escape(calc.pct(value)))
    unit = {"days": _("days"), "people": _("people"), "points": _("points"), "yuan": _("yuan"),
            "times": _("times")}.get(s.unit, "")
    return Markup(escape(f"{_label(value)} {unit}".strip()))


def grade_scale_text(value: list) -> Markup:
    """优秀（≥90）、良好（≥75）… with the national grade each counts as."""
    parts = []
    for i, e in enumerate(value):
        rank = e.get("rank") or (reg.ROUTINE_GRADES[i] if len(value) == len(reg.ROUTINE_GRADES) else "")
        low = e.get("min_score")
        bound = f" ≥ {low:g}" if low not in (None, 0) and i < len(value) - 1 else ""
        same = rank and reg.ROUTINE_GRADE_LABELS[rank][0] == e["name"]
        parts.append(Markup("<li>{}{}{}</li>").format(pick(e["name"], e.get("name_en") or e["name"]), bound,
                                                      "" if same or not rank else
                                                      Markup("（{}：{}）").format(_("counts as"), _label(rank))))
    return Markup('<ol class="plain">') + Markup("").join(parts) + Markup("</ol>")


GRADE_ROW_FIELDS = ("code", "name", "name_en", "min_score", "rank")


def grade_scale_from_rows(form) -> list:
    """The grade-scale editor: rows ``grade-<i>-<field>``, blank rows dropped;
    values passed on as typed so the registry's validator names the rule."""
    out = []
    for i in range(len(reg.ROUTINE_GRADES)):
        raw = {f: (form.get(f"grade-{i}-{f}") or "").strip() for f in GRADE_ROW_FIELDS}
        if not any(raw[f] for f in ("code", "name", "name_en", "min_score")):
            continue
        item: dict = {"code": raw["code"], "name": raw["name"]}
        if raw["name_en"]:
            item["name_en"] = raw["name_en"]
        if raw["rank"]:
            item["rank"] = raw["rank"]
        if raw["min_score"]:
            item["min_score"] = _number(raw["min_score"], "routine.grade_scale", False)
        out.append(item)
    return out


def fmt_bound(x, key: str) -> str:
    s = reg.REGISTRY[key]
    return calc.pct(x) if s.unit == "rate" else f"{x:g}"


def node_name(ref) -> str:
    if not ref:
        return _("national default")
    return pick(ref["name"], ref.get("name_en") or ref["name"])


@bp.app_template_global("policy_grade_label")
def policy_grade_label(code):
    if not code:
        return ""
    zh, en = reg.ORG_GRADE_LABELS.get(code, (code, code))
    return pick(zh, en)


@bp.context_processor
def _ctx():
    return {"fmt_value": fmt_value, "fmt_bound": fmt_bound, "node_name": node_name, "choice_label": _label,
            "pct": calc.pct, "reg": reg, "org_grades": reg.ORG_GRADES}


# -- forms -----------------------------------------------------------------

def _percent(raw: str, name: str) -> float:
    try:
        v = Decimal(str(raw).strip().rstrip("%"))
    except (InvalidOperation, ValueError):
        raise Invalid({name: [_("Enter a percentage, e.g. 15")]}) from None
    return float(v / 100)


def _number(raw: str, name: str, integer: bool) -> float | int:
    raw = (raw or "").strip()
    try:
        return int(raw) if integer else float(Decimal(raw))
    except (InvalidOperation, ValueError):
        raise Invalid({name: [_("Enter a whole number") if integer else _("Enter a number")]}) from None


LEVEL_KEYS = ("you", "liang", "zhong", "cha")
ROW_FIELDS = ("code", "name", "name_en", "category", "max_points", "mandatory",
              *(f"std_{lv}" for lv in LEVEL_KEYS))


def additive_from_rows(form) -> dict:
    """The structured indicator editor: rows ``row-<i>-<field>`` (blank rows
    and rows marked for deletion are dropped, ``move=up:<i>``/``down:<i>``
    reorders), inherited items to drop as ``remove`` checkboxes.  Values are
    passed on as typed so the registry's validator names each row's errors."""
    n = min(int(form.get("rows", "0") or 0) if (form.get("rows") or "0").isdigit() else 0, 500)
    rows = []
    for i in range(n):
        raw = {f: (form.get(f"row-{i}-{f}") or "").strip() for f in ROW_FIELDS}
        if form.get(f"row-{i}-delete") or not any(raw[f] for f in ROW_FIELDS if f != "category"):
            continue
        item: dict = {"code": raw["code"], "name": raw["name"], "category": raw["category"],
                      "mandatory": raw["mandatory"] == "on"}
        if raw["name_en"]:
            item["name_en"] = raw["name_en"]
        if raw["max_points"]:
            try:
                item["max_points"] = float(raw["max_points"])
            except ValueError:
                item["max_points"] = raw["max_points"]      # the validator names it
        stds = {lv: raw[f"std_{lv}"] for lv in LEVEL_KEYS if raw[f"std_{lv}"]}
        if stds:
            item["standards"] = stds
        rows.append(item)
    move = form.get("move", "")
    if ":" in move:
        way, _sep, idx = move.partition(":")
        if idx.isdigit():
            i = int(idx)
            j = i - 1 if way == "up" else i + 1
            if 0 <= i < len(rows) and 0 <= j < len(rows):
                rows[i], rows[j] = rows[j], rows[i]
    return {"add": rows, "remove": form.getlist("remove")}


def value_from_form(key: str, form) -> object:
    """Turn the edit form of a setting into a typed value (the registry
    validates it afterwards)."""
    s = reg.get(key)
    d = s.default
    if s.kind == reg.ADDITIVE and form.get("editor") == "rows":
        return additive_from_rows(form)
    if key == "routine.grade_scale":
        return grade_scale_from_rows(form)
    if s.kind == reg.ADDITIVE or key.startswith("calendar."):
        text = form.get("value_text", "")
        if key.startswith("calendar."):
            return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]
        try:
            data = yaml.safe_load(text) if text.strip() else {"add": [], "remove": []}
        except yaml.YAMLError:
            raise Invalid({key: [_("Not valid YAML.")]}) from None
        return data
    if isinstance(d, bool):
        return form.get("value") == "true"
    if isinstance(d, dict):
        out = {}
        for k, v in d.items():
            raw = form.get(f"value.{k}", "")
            if s.unit == "rate":
                out[k] = _percent(raw, key)
            else:
                out[k] = _number(raw, key, s.unit == "points")
        return out
    if isinstance(d, list):
        return form.getlist("value")
    if isinstance(d, str):
        return form.get("value", "")
    if s.unit == "rate":
        return _percent(form.get("value", ""), key)
    return _number(form.get("value", ""), key, isinstance(d, int) and s.unit != "yuan")


def _year_arg() -> int:
    try:
        y = int(request.values.get("year") or local_today().year)
    except ValueError:
        y = local_today().year
    return y if 2000 <= y <= 2100 else local_today().year


def _scope_year() -> int:
    """0 (all years) or the year the change is for."""
    return int(request.form.get("for_year") or 0) if (request.form.get("for_year") or "0").isdigit() else 0


def _top_nodes() -> list[OrgNode]:
    ids = [gr.org_id for gr in current_grants() if gr.org_id]
    if not ids:
        from sqlalchemy import select

        from ..tenancy.scope import current_scope

        if current_scope().all_roots:
            return list(db.session.execute(select(OrgNode).where(OrgNode.parent_id.is_(None))
                                           .order_by(OrgNode.code)).scalars())
        return []
    from sqlalchemy import select

    return list(db.session.execute(select(OrgNode).where(OrgNode.id.in_(ids)).order_by(OrgNode.path)).scalars())


# -- the policy page ---------------------------------------------------------

@bp.route("/")
def index():
    nodes = _top_nodes()
    if len(nodes) == 1:
        return redirect(url_for("policy.node_policy", org_id=nodes[0].id))
    return render_template("policy/index.html", nodes=nodes, target="policy.node_policy")


def _render_policy(node, year, errors=None, status=200, open_key=None, row_errors=None, entered=None):
    can_edit = has_perm(Perm.policy_edit, node)
    view = settings.describe(node, year, can_edit=can_edit)
    return render_template("policy/policy.html", node=node, view=view, year=year, can_edit=can_edit,
                           errors=errors or {}, open_key=open_key, row_errors=row_errors or {},
                           entered=entered, blank_rows=3, level_keys=LEVEL_KEYS,
                           can_supervise=has_perm(Perm.supervise, node), can_open=_can_open), status


def _can_open(node) -> bool:
    """Whether the viewer may open ``node``'s policy page: the rule node_policy
    applies (in scope, Perm.view).  A source the viewer may not open is shown
    as text, never as a link that answers 404 (issue 16)."""
    from ..tenancy.scope import in_scope

    if isinstance(node, dict):  # a node_ref from settings.describe
        node = db.session.get(OrgNode, node["id"])
    return node is not None and in_scope(node) and has_perm(Perm.view, node)


@bp.route("/org/<int:org_id>")
def node_policy(org_id):
    node = get_in_scope(OrgNode, org_id)
    if not has_perm(Perm.view, node):
        abort(403)
    return _render_policy(node, _year_arg())


ACTIONS = ("set", "clear", "lock", "unlock", "bound", "unbound")


@bp.route("/org/<int:org_id>/<key>/<action>", methods=["POST"])
def change(org_id, key, action):
    node = get_in_scope(OrgNode, org_id)
    if action not in ACTIONS:
        abort(404)
    if key not in reg.REGISTRY:
        abort(404)
    if not has_perm(Perm.policy_edit, node):
        abort(403)
    year = _year_arg()
    for_year = _scope_year()
    reason = (request.form.get("reason") or "").strip() or None
    try:
        if action == "set":
            settings.set_value(node, key, value_from_form(key, request.form), year=for_year, reason=reason)
            msg = _("Saved.")
        elif action == "clear":
            settings.clear_value(node, key, year=for_year, reason=reason)
            msg = _("Reverted to the inherited value.")
        elif action == "lock":
            cleared = settings.lock(node, key, year=for_year, reason=reason)
            msg = _("Locked for every level below.") + (
                " " + _("%(n)s override(s) below were cleared.", n=len(cleared)) if cleared else "")
        elif action == "unlock":
            settings.unlock(node, key, year=for_year, reason=reason)
            msg = _("Unlocked: the levels below may override again.")
        elif action == "bound":
            s = reg.REGISTRY[key]
            if s.bound == reg.BOUND_CHOICE:
                settings.set_bounds(node, key, allowed=request.form.getlist("allowed"), year=for_year, reason=reason)
            else:
                lo, hi = request.form.get("min", "").strip(), request.form.get("max", "").strip()
                conv = (lambda r, n: _percent(r, n)) if s.unit == "rate" else (lambda r, n: _number(r, n, False))
                settings.set_bounds(node, key, min_value=conv(lo, key) if lo else None,
                                   max_value=conv(hi, key) if hi else None, year=for_year, reason=reason)
            msg = _("Bounds saved.")
        else:
            settings.clear_bounds(node, key, year=for_year, reason=reason)
            msg = _("Bounds removed.")
        db.session.commit()
    except KaoheError as exc:
        db.session.rollback()
        node = get_in_scope(OrgNode, org_id)
        flash(exc.message if not exc.errors else "; ".join(" ".join(map(str, v)) if isinstance(v, list) else str(v)
                                                          for v in exc.errors.values()), "error")
        return _render_policy(node, year, errors=exc.errors or {key: [exc.message]}, status=exc.status,
                              open_key=key, row_errors=getattr(exc, "row_errors", {}),
                              entered=additive_from_rows(request.form)
                              if request.form.get("editor") == "rows" else None)
    flash(msg, "success")
    return redirect(url_for("policy.node_policy", org_id=org_id, year=year) + f"#k-{key.replace('.', '-')}")


# -- organisational performance and quotas -----------------------------------

@bp.route("/grades")
def grades_index():
    nodes = [n for n in _top_nodes() if has_perm(Perm.supervise, n)]
    if len(nodes) == 1:
        return redirect(url_for("policy.grades", org_id=nodes[0].id))
    return render_template("policy/index.html", nodes=nodes, target="policy.grades")


def _can_grade(unit: OrgNode) -> bool:
    from .api import require_above

    try:
        require_above(Perm.supervise, unit)
        return True
    except Forbidden:
        return False


def _render_grades(node, year, errors=None, status=200):
    grades = org_grades.org_grade_dicts(node, year)
    units = quotas.units_for_quota(node)
    by_unit = {q["org"]["id"]: q for q in quotas.quota_dicts(units, year)}
    by_id = {u.id: u for u in units}
    gradable = {g["org"]["id"]: _can_grade(by_id[g["org"]["id"]]) for g in grades if g["org"]["id"] in by_id}
    pol = resolve.effective_policy(node, year)
    return render_template("policy/grades.html", node=node, year=year, grades=grades, quotas=by_unit,
                           units=units, gradable=gradable, errors=errors or {},
                           rate_table=pol["quota.rate_by_org_grade"], base_rate=pol["quota.base_rate"],
                           ceiling=pol["quota.max_rate_without_approval"], hard_max=pol["quota.hard_max_rate"]), status


@bp.route("/org/<int:org_id>/grades")
def grades(org_id):
    node = get_in_scope(OrgNode, org_id)
    if not (has_perm(Perm.supervise, node) or has_perm(Perm.view, node)):
        abort(403)
    return _render_grades(node, _year_arg())


@bp.route("/org/<int:org_id>/grades/<int:unit_id>", methods=["POST"])
def grade_set(org_id, unit_id):
    node = get_in_scope(OrgNode, org_id)
    unit = get_in_scope(OrgNode, unit_id)
    year = _year_arg()
    try:
        from .api import require_above

        require_above(Perm.supervise, unit)
        grade = request.form.get("grade") or ""
        if grade == "":
            org_grades.clear_org_grade(unit, year)
        else:
            version = request.form.get("version")
            org_grades.set_org_grade(unit, year, grade, major_contribution=request.form.get("major_contribution") == "on",
                                  comment=(request.form.get("comment") or "").strip() or None,
                                  expected_version=int(version) if version and version.isdigit() else None)
        db.session.commit()
    except KaoheError as exc:
        db.session.rollback()
        node = get_in_scope(OrgNode, org_id)
        flash(exc.message, "error")
        return _render_grades(node, year, errors={unit_id: exc.errors or {"_": [exc.message]}}, status=exc.status)
    flash(_("Organisational performance saved."), "success")
    return redirect(url_for("policy.grades", org_id=org_id, year=year) + f"#u-{unit_id}")


@bp.route("/org/<int:org_id>/grades/<int:unit_id>/approve", methods=["POST"])
def approve(org_id, unit_id):
    node = get_in_scope(OrgNode, org_id)
    unit = get_in_scope(OrgNode, unit_id)
    year = _year_arg()
    try:
        from .api import require_above

        approver = require_above(Perm.supervise, unit)
        quotas.approve_rate(unit, year, _percent(request.form.get("rate", ""), "rate"),
                             reason=request.form.get("reason", ""), approver_org=approver)
        db.session.commit()
    except KaoheError as exc:
        db.session.rollback()
        node = get_in_scope(OrgNode, org_id)
        flash(exc.message, "error")
        return _render_grades(node, year, errors={unit_id: exc.errors or {"_": [exc.message]}}, status=exc.status)
    flash(_("Approval recorded."), "success")
    return redirect(url_for("policy.grades", org_id=org_id, year=year) + f"#u-{unit_id}")


@bp.route("/approvals/<int:approval_id>/revoke", methods=["POST"])
def revoke(approval_id):
    approval = get_in_scope(QuotaApproval, approval_id)
    unit = get_in_scope(OrgNode, approval.org_id)
    back = request.form.get("org_id") or unit.parent_id
    try:
        from .api import require_above

        require_above(Perm.supervise, unit)
        quotas.revoke_approval(approval, reason=(request.form.get("reason") or "").strip() or None)
        db.session.commit()
        flash(_("Approval revoked."), "success")
    except KaoheError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("policy.grades", org_id=back, year=approval.year))


# -- allocations ---------------------------------------------------------------

def _render_alloc(node, year, errors=None, status=200):
    overview = quotas.allocation_overview(node, year)
    return render_template("policy/allocations.html", node=node, year=year, o=overview, errors=errors or {},
                           can_allocate=has_perm(Perm.supervise, node)), status


@bp.route("/org/<int:org_id>/allocations")
def allocations(org_id):
    node = get_in_scope(OrgNode, org_id)
    if not has_perm(Perm.supervise, node):
        abort(403)
    return _render_alloc(node, _year_arg())


@bp.route("/org/<int:org_id>/allocations/<int:child_id>", methods=["POST"])
def allocation_set(org_id, child_id):
    node = get_in_scope(OrgNode, org_id)
    if not has_perm(Perm.supervise, node):
        abort(403)
    child = get_in_scope(OrgNode, child_id)
    year = _year_arg()
    try:
        raw = (request.form.get("count") or "").strip()
        if not raw.isdigit():
            raise Invalid({"count": [_("Enter a whole number, 0 or more")]})
        quotas.allocate(node, child, year, int(raw), note=(request.form.get("note") or "").strip() or None)
        db.session.commit()
    except KaoheError as exc:
        db.session.rollback()
        node = get_in_scope(OrgNode, org_id)
        flash(exc.message if not exc.errors else "; ".join(" ".join(v) for v in exc.errors.values()), "error")
        return _render_alloc(node, year, errors={child_id: exc.errors or {"_": [exc.message]}}, status=exc.status)
    flash(_("Allocation saved."), "success")
    return redirect(url_for("policy.allocations", org_id=org_id, year=year))


# -- navigation ------------------------------------------------------------------

add_nav(NavItem("policy", _l("Policy"), "policy.index", Perm.view, 40, hint=_l("Rules in force, where they come from, locks and bounds")))
add_nav(NavItem("org_grades", _l("Org performance & quotas"), "policy.grades_index", Perm.supervise, 45,
                hint=_l("Organisational performance grades and excellence quotas")))


def _org_links(node):
    links = []
    if node.kind != "department" and has_perm(Perm.view, node):
        links.append({"url": url_for("policy.node_policy", org_id=node.id), "label": _("Policy")})
    if has_perm(Perm.supervise, node) and node.kind != "department":
        links.append({"url": url_for("policy.grades", org_id=node.id), "label": _("Org performance & quotas")})
        links.append({"url": url_for("policy.allocations", org_id=node.id), "label": _("Quota allocation")})
    return links


add_org_links(_org_links)


def _home_panel():
    """Supervisors: how many units below them have an org-performance grade
    for this year, with a link to the grading page (two queries)."""
    from sqlalchemy import func, select

    from .models import OrgPerformanceGrade

    nodes = [n for n in _top_nodes() if has_perm(Perm.supervise, n) and n.kind != "department"]
    if not nodes:
        return None
    year = local_today().year
    items = []
    for n in nodes[:5]:
        units = select(OrgNode.id).where(OrgNode.root_id == n.root_id, OrgNode.path.like(n.path + "%"),
                                         OrgNode.id != n.id, OrgNode.is_assessment_unit.is_(True))
        total = db.session.execute(select(func.count()).select_from(units.subquery())).scalar() or 0
        if not total:
            continue
        graded = db.session.execute(select(func.count()).select_from(OrgPerformanceGrade).where(
            OrgPerformanceGrade.root_id == n.root_id, OrgPerformanceGrade.year == year,
            OrgPerformanceGrade.org_id.in_(units))).scalar() or 0
        items.append(Markup('<li><a href="{}">{}</a>: {}</li>').format(
            url_for("policy.grades", org_id=n.id, year=year), pick(n.name, n.name_en or n.name),
            _("%(graded)s of %(total)s units graded for %(year)s", graded=graded, total=total, year=year)))
    if not items:
        return None
    return {"key": "org-grades", "title": pick("组织绩效评定", "Organisational performance"),
            "html": Markup('<ul class="plain">') + Markup("").join(items) + Markup("</ul>")}


def _register_panel():
    from ..web.home_panels import add_panel

    add_panel(_home_panel)


_register_panel()

from . import holiday_views  # noqa: E402,F401  (the holiday calendar page, same blueprint)
