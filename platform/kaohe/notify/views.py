"""Page: a node's notification channels (robot webhooks) and the delivery log."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..core.errors import KaoheError
from ..extensions import db
from ..jobs.queue import dispatch_deferred
from ..tenancy.scope import get_in_scope
from ..web import add_org_links, register_page_blueprint
from . import service
from .api import _node, can_manage
from .models import NotifyChannel

bp = Blueprint("notify", __name__, url_prefix="/notify")


@bp.route("/org/<int:org_id>", methods=["GET", "POST"])
def org_page(org_id):
    node = _node(org_id)
    errors: dict = {}
    form = request.form
    if request.method == "POST":
        action = form.get("action", "add")
        try:
            if action == "add":
                service.add_channel(node, kind=form.get("kind", ""), name=form.get("name", ""),
                                    url=form.get("url", ""), secret=form.get("secret"))
                msg = _("The channel is added.")
            else:
                ch = get_in_scope(NotifyChannel, int(form.get("channel_id") or 0))
                if ch.org_id != node.id:
                    abort(404)
                if action == "delete":
                    service.remove_channel(ch)
                    msg = _("The channel is removed.")
                else:
                    service.send_test(ch)
                    msg = _("A test message is on its way; see the log below.")
            db.session.commit()
            dispatch_deferred()
            flash(msg, "success")
            return redirect(url_for("notify.org_page", org_id=node.id))
        except KaoheError as exc:
            db.session.rollback()
            errors = exc.errors or {"_": [exc.message]}
    return render_template("notify/org.html", node=node, channels=service.channels_of(node),
                           deliveries=service.deliveries_of(node), errors=errors, form=form,
                           mask_url=service.mask_url, mask_secret=service.mask_secret), (422 if errors else 200)


def _org_links(node):
    if not can_manage(node):
        return []
    return [{"url": url_for("notify.org_page", org_id=node.id), "label": _("Reminder channels (WeCom / DingTalk)")}]


add_org_links(_org_links)
register_page_blueprint(bp)
