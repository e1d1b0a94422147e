from __future__ import annotations

from urllib.parse import urlparse

from flask import abort, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select

from ..audit.models import AuditEntry
from ..auth import service as auth_service
from ..auth.models import RoleGrant, User
from ..auth.roles import GRANTABLE_BY, Perm, Role
from ..auth.schemas import UserCreateSchema
from ..auth import capabilities as caps
from ..auth.manage import may_manage
from ..auth.namespace import suffix
from ..auth.ratelimit import limiter, login_ip_limit
from ..auth.service import current_grants, has_perm
from ..core.errors import KaoheError
from ..extensions import db
from ..jobs.api import job_status
from ..people import accounts as person_accounts
from ..people.models import Person
from ..tenancy import service as org_service
from ..tenancy.models import CHILD_KINDS, OrgKind, OrgNode
from ..tenancy.schemas import OrgCreateSchema, OrgUpdateSchema
from ..tenancy.scope import current_scope, get_in_scope, org_filter
from ..web import bp
from ..web.forms import parse_form
from ..web.i18n import SUPPORTED


def _safe_next(target: str | None) -> str:
    if not target:
        return url_for("web.home")
    from urllib.parse import unquote

    # Only plain paths of this site: no scheme or host, and nothing a browser
    # might read as one ("//x", "/\\x", encoded slashes, control characters).
    decoded = unquote(target)
    parts = urlparse(target)
    if (parts.scheme or parts.netloc or not target.startswith("/") or decoded.startswith("//")
            or "\\" in decoded or any(ord(ch) < 32 for ch in decoded)):
        return url_for("web.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_ip_limit, methods=["POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("web.home"))
    error = None
    status = 200
    if request.method == "POST":
        username = request.form.get("username", "")
        try:
            user = auth_service.authenticate(username, request.form.get("password", ""))
        except auth_service.LoginLocked:
            db.session.commit()
            error, status = _("Too many failed attempts. Please wait and try again later."), 429
        else:
            if user is None:
                db.session.commit()
                error, status = _("Wrong username or password."), 401
            else:
                lang = session.get("lang")
                session.clear()  # a fresh session: no fixation
                if lang:
                    session["lang"] = lang
                login_user(user)
                db.session.commit()
                return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error), status


@bp.route("/logout", methods=["POST"])
def logout():
    user = db.session.get(User, current_user.id)
    auth_service.rotate_session(user)  # every outstanding cookie of this account dies
    db.session.commit()
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("web.login"))


@bp.route("/lang/<code>")
def set_lang(code):
    if code in SUPPORTED:
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next") or request.referrer and urlparse(request.referrer).path))


def _granted_nodes() -> list[OrgNode]:
    ids = [gr.org_id for gr in current_grants() if gr.org_id]
    if not ids:
        return []
    return list(db.session.execute(select(OrgNode).where(OrgNode.id.in_(ids)).order_by(OrgNode.path)).scalars())


def _depth_first(top: OrgNode, nodes: list[OrgNode]) -> list[OrgNode]:
    """Nodes in reading order (each followed by its children), keeping the
    siblings' order as given (sort order, then code)."""
    kids: dict[int | None, list[OrgNode]] = {}
    for n in nodes:
        kids.setdefault(n.parent_id, []).append(n)
    out: list[OrgNode] = []
    stack = [top]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(reversed(kids.get(n.id, [])))
    return out


@bp.route("/")
def home():
    nodes = _granted_nodes()
    scope = current_scope()
    roots = []
    if scope.all_roots:
        roots = list(db.session.execute(select(OrgNode).where(OrgNode.parent_id.is_(None)).order_by(OrgNode.code)).scalars())
    trees = []
    for node in nodes:
        below = _depth_first(node, org_service.subtree(node, max_depth=2))
        trees.append((node, below))
    person, person_orgs = None, {}
    if current_user.person_id:
        person = db.session.execute(select(Person).where(Person.id == current_user.person_id)).scalar_one_or_none()
        if person is not None:
            person_orgs = {n.id: n for n in db.session.execute(
                select(OrgNode).where(OrgNode.id.in_({person.org_id, person.unit_id}))).scalars()}
    from ..web.home_panels import panels

    return render_template("home.html", grants=current_grants(), trees=trees, roots=roots, person=person,
                           person_orgs=person_orgs, panels=panels())


@bp.route("/orgs")
def org_root():
    nodes = _granted_nodes()
    if current_scope().all_roots and not nodes:
        nodes = list(db.session.execute(select(OrgNode).where(OrgNode.parent_id.is_(None))).scalars())
    if len(nodes) == 1:
        return redirect(url_for("web.org_page", org_id=nodes[0].id))
    return render_template("org_index.html", nodes=nodes)


def _org_context(node: OrgNode) -> dict:
    kids = org_service.children(node)
    counts = dict(db.session.execute(
        select(OrgNode.parent_id, func.count()).where(OrgNode.parent_id.in_([k.id for k in kids]))
        .group_by(OrgNode.parent_id)).all()) if kids else {}
    people = db.session.execute(
        select(func.count()).select_from(Person).where(
            Person.root_id == node.root_id, Person.active.is_(True),
            Person.org_id.in_(select(OrgNode.id).where(OrgNode.path.like(node.path + "%"))))
    ).scalar_one()
    crumbs = [a for a in org_service.ancestors(node)]
    can_manage = has_perm(Perm.org_manage, node)
    move_targets = []
    if can_manage and node.parent_id is not None:
        parent_kinds = [k.value for k, v in CHILD_KINDS.items() if OrgKind(node.kind) in v]
        scope = current_scope()
        stmt = select(OrgNode).where(OrgNode.kind.in_(parent_kinds), OrgNode.root_id == node.root_id,
                                     OrgNode.id != node.parent_id, ~OrgNode.path.like(node.path + "%"))
        if not scope.all_roots:
            stmt = stmt.where(org_filter(OrgNode.id, scope))
        move_targets = [t for t in db.session.execute(stmt.order_by(OrgNode.path).limit(500)).scalars()
                        if has_perm(Perm.org_manage, t)]
    return {"node": node, "children": kids, "child_counts": counts, "people_count": people,
            "crumbs": crumbs, "can_manage": can_manage, "move_targets": move_targets,
            "child_kinds": sorted(k.value for k in CHILD_KINDS[OrgKind(node.kind)]),
            "visible_crumb": lambda a: current_scope().covers(a.root_id, a.path)}


@bp.route("/orgs/<int:org_id>")
def org_page(org_id):
    node = get_in_scope(OrgNode, org_id)
    return render_template("org.html", **_org_context(node), errors={}, form={})


def _org_form_error(node, errors, form, status=422):
    flash(_("Please correct the marked fields."), "error")
    return render_template("org.html", **_org_context(node), errors=errors, form=form), status


@bp.route("/orgs/<int:org_id>/edit", methods=["POST"])
def org_edit(org_id):
    node = get_in_scope(OrgNode, org_id)
    if not has_perm(Perm.org_manage, node):
        abort(403)
    data, errors = parse_form(OrgUpdateSchema(), request.form, bools=("is_assessment_unit",))
    if errors:
        return _org_form_error(node, errors, request.form)
    try:
        org_service.update_node(node, expected_version=data.pop("version", None), **data)
        db.session.commit()
    except KaoheError as exc:
        db.session.rollback()
        node = get_in_scope(OrgNode, org_id)
        return _org_form_error(node, exc.errors or {"_": [exc.message]}, request.form, exc.status)
    flash(_("Saved."), "ok")
    return redirect(url_for("web.org_page", org_id=node.id))


@bp.route("/orgs/<int:org_id>/children", methods=["POST"])
def org_add_child(org_id):
    node = get_in_scope(OrgNode, org_id)
    if not has_perm(Perm.org_manage, node):
        abort(403)
    form = request.form.to_dict()
    form["parent_id"] = str(node.id)
    data, errors = parse_form(OrgCreateSchema(), form, bools=("is_assessment_unit",))
    if errors:
        return _org_form_error(node, errors, request.form)
    data.pop("parent_id")
    try:
        child = org_service.create_child(node, **data)
        db.session.commit()
    except KaoheError as exc:
        db.session.rollback()
        node = get_in_scope(OrgNode, org_id)
        return _org_form_error(node, exc.errors or {"_": [exc.message]}, request.form, exc.status)
    flash(_("Created %(name)s.", name=child.name), "ok")
    return redirect(url_for("web.org_page", org_id=child.id))


@bp.route("/orgs/<int:org_id>/move", methods=["POST"])
def org_move(org_id):
    node = get_in_scope(OrgNode, org_id)
    if not has_perm(Perm.org_manage, node):
        abort(403)
    target = get_in_scope(OrgNode, request.form.get("parent_id"))
    if not has_perm(Perm.org_manage, target):
        abort(403)
    try:
        org_service.move_node(node, target)
        db.session.commit()
    except KaoheError as exc:
        db.session.rollback()
        node = get_in_scope(OrgNode, org_id)
        return _org_form_error(node, exc.errors or {"_": [exc.message]}, request.form, exc.status)
    flash(_("Moved."), "ok")
    return redirect(url_for("web.org_page", org_id=org_id))


# -- accounts ---------------------------------------------------------------

@bp.route("/users")
def users():
    if not caps.can(caps.ACCOUNTS_READ):
        abort(403)
    q = request.args.get("q", "").strip().lower()
    rows = db.session.execute(caps.accounts_statement(q).limit(500)).scalars().all()
    orgs = {n.id: n for n in db.session.execute(
        select(OrgNode).where(OrgNode.id.in_({u.org_id for u in rows if u.org_id}))).scalars()}
    return render_template("users.html", users=rows, orgs=orgs, q=q)


def _grantable_roles() -> list[str]:
    roles: set[Role] = set()
    for gr in current_grants():
        roles |= GRANTABLE_BY[gr.role]
    return [r.value for r in Role if r in roles]


def _manageable_orgs(limit: int = 1000) -> list[OrgNode]:
    scope = current_scope()
    stmt = select(OrgNode)
    if not scope.all_roots:
        stmt = stmt.where(OrgNode.root_id == scope.root_id, org_filter(OrgNode.id, scope))
    return [n for n in db.session.execute(stmt.order_by(OrgNode.path).limit(limit)).scalars()
            if has_perm(Perm.user_manage, n)]


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    if not has_perm(Perm.user_manage):
        abort(403)
    errors, form = {}, request.form
    if request.method == "POST":
        data, errors = parse_form(UserCreateSchema(), request.form)
        role = request.form.get("role") or ""
        if data is not None:
            org = get_in_scope(OrgNode, data["org_id"])
            if not has_perm(Perm.user_manage, org):
                abort(403)
            try:
                user = auth_service.create_user(username=data["username"], display_name=data["display_name"],
                                                password=data["password"], org=org, email=data.get("email"))
                if role:
                    if role not in [r.value for r in Role]:
                        raise KaoheError({"role": ["Unknown role."]})
                    auth_service.grant_role(user, Role(role), org)
                db.session.commit()
                flash(_("Account %(name)s created.", name=user.username), "ok")
                return redirect(url_for("web.user_page", user_id=user.id))
            except KaoheError as exc:
                db.session.rollback()
                errors = exc.errors or {"_": [exc.message]}
        flash(_("Please correct the marked fields."), "error")
    return render_template("user_new.html", errors=errors, form=form, orgs=_manageable_orgs(),
                           roles=_grantable_roles(), name_suffix=_username_suffix()), (422 if errors else 200)


def _username_suffix() -> str | None:
    """What the names an administrator creates end with (None: any name,
    for the platform operator); see ``kaohe.auth.namespace``."""
    scope = current_scope()
    if scope.all_roots or scope.root_id is None:
        return None
    code = db.session.execute(select(OrgNode.code).where(OrgNode.id == scope.root_id)
                              .execution_options(kaohe_unscoped=True)).scalar_one_or_none()
    return suffix(code) if code is not None else None


@bp.route("/users/<int:user_id>")
def user_page(user_id):
    user = get_in_scope(User, user_id)
    if not caps.can_read_account(user, get_in_scope(OrgNode, user.org_id) if user.org_id else None):
        abort(403)
    grant_orgs = {n.id: n for n in db.session.execute(
        select(OrgNode).where(OrgNode.id.in_([g.org_id for g in user.grants if g.org_id]))).scalars()}
    home = grant_orgs.get(user.org_id) or (db.session.get(OrgNode, user.org_id) if user.org_id else None)
    person = db.session.get(Person, user.person_id) if user.person_id else None
    units = [o for o in _manageable_orgs() if o.is_assessment_unit]
    # the person's record page is for the unit's admins: link it only for them
    person_unit = db.session.get(OrgNode, person.unit_id) if person is not None else None
    person_link = person_unit is not None and has_perm(Perm.unit_admin, person_unit)
    return render_template("user.html", user=user, grant_orgs=grant_orgs, home=home, orgs=_manageable_orgs(),
                           roles=_grantable_roles(), errors={}, can_manage=may_manage(user), person=person,
                           person_link=person_link, link_units=units)


@bp.route("/users/<int:user_id>/person", methods=["POST"])
def user_person(user_id):
    """Link the account to a person (unit + staff number), or unlink it:
    the same schema and service as ``PUT/DELETE /api/v1/users/<id>/person``."""
    user = get_in_scope(User, user_id)
    if not may_manage(user):
        abort(403)
    try:
        if request.form.get("action") == "unlink":
            person_accounts.unlink(user)
            msg = _("The account is no longer linked to a person.")
        else:
            data, errors = parse_form(person_accounts.PersonLinkSchema(), request.form)
            if data is None:
                raise KaoheError(errors)
            person = person_accounts.find_person(data, get_in_scope)
            if not has_perm(Perm.user_manage, get_in_scope(OrgNode, person.unit_id)):
                abort(403)
            person_accounts.link(user, person)
            msg = _("The account is linked to %(name)s (%(staff_no)s).", name=person.name, staff_no=person.staff_no)
        db.session.commit()
        flash(msg, "ok")
    except KaoheError as exc:
        db.session.rollback()
        flash("; ".join(m for msgs in (exc.errors or {}).values() for m in msgs) or exc.message, "error")
    return redirect(url_for("web.user_page", user_id=user_id))


@bp.route("/users/<int:user_id>/grants", methods=["POST"])
def user_grant(user_id):
    user = get_in_scope(User, user_id)
    org = get_in_scope(OrgNode, request.form.get("org_id", type=int))
    if not has_perm(Perm.user_manage, org) or not may_manage(user):
        abort(403)
    try:
        role = Role(request.form.get("role", ""))
    except ValueError:
        flash(_("Unknown role."), "error")
        return redirect(url_for("web.user_page", user_id=user.id))
    try:
        auth_service.grant_role(user, role, org)
        db.session.commit()
        flash(_("Role granted."), "ok")
    except KaoheError as exc:
        db.session.rollback()
        flash("; ".join(m for msgs in exc.errors.values() for m in msgs) or exc.message, "error")
    return redirect(url_for("web.user_page", user_id=user_id))


@bp.route("/users/<int:user_id>/grants/<int:grant_id>/delete", methods=["POST"])
def user_grant_delete(user_id, grant_id):
    user = get_in_scope(User, user_id)
    grant = get_in_scope(RoleGrant, grant_id)
    if grant.user_id != user.id or grant.org_id is None:
        abort(404)
    org = get_in_scope(OrgNode, grant.org_id)
    if not has_perm(Perm.user_manage, org) or not may_manage(user):
        abort(403)
    auth_service.revoke_grant(grant, org)
    db.session.commit()
    flash(_("Role revoked."), "ok")
    return redirect(url_for("web.user_page", user_id=user_id))


# -- audit and jobs ---------------------------------------------------------

@bp.route("/audit")
def audit():
    if not has_perm(Perm.audit_read):
        abort(403)
    scope = current_scope()
    stmt = select(AuditEntry)
    if not scope.all_roots:
        stmt = stmt.where(AuditEntry.root_id == scope.root_id, org_filter(AuditEntry.org_id, scope))
    before_id = request.args.get("before_id", type=int)
    if before_id:
        stmt = stmt.where(AuditEntry.id < before_id)
    action = request.args.get("action", "").strip()
    if action:
        stmt = stmt.where(AuditEntry.action.like(action + "%"))
    rows = db.session.execute(stmt.order_by(AuditEntry.id.desc()).limit(100)).scalars().all()
    orgs = {n.id: n for n in db.session.execute(
        select(OrgNode).where(OrgNode.id.in_({r.org_id for r in rows}))).scalars()}
    from ..people.models import Person
    from . import audit_labels

    pids = audit_labels.person_ids(rows)
    names = dict(db.session.execute(select(Person.id, Person.name).where(Person.id.in_(pids))).all()) if pids else {}
    return render_template("audit.html", entries=rows, orgs=orgs, action=action, names=names,
                           action_label=audit_labels.action_label, target_label=audit_labels.target_label,
                           fields=lambda d: audit_labels.fields(d, names))


@bp.route("/jobs/<job_id>")
def job_page(job_id):
    return render_template("job.html", job=job_status(job_id))


@bp.route("/jobs/<job_id>/retry", methods=["POST"])
def job_retry_page(job_id):
    from ..core.errors import KaoheError
    from ..jobs.api import retry_job
    from ..web.messages import localize_message

    try:
        new_id = retry_job(job_id)
    except KaoheError as exc:
        db.session.rollback()
        for msgs in (exc.errors or {"_": [exc.message]}).values():
            for m in msgs:
                flash(localize_message(m), "error")
        return redirect(url_for("web.job_page", job_id=job_id))
    return redirect(url_for("web.job_page", job_id=new_id))


@bp.route("/jobs/<job_id>/status")
def job_status_fragment(job_id):
    data = job_status(job_id)
    if request.headers.get("HX-Request"):
        return render_template("_job_progress.html", job=data)
    return jsonify({k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()})
