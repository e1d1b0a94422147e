"""REST API of the notification channels (/api/v1/notify): a unit admin
(or a supervisor on their node) manages the node's robots and reads the log."""
from __future__ import annotations

from flask_smorest import Blueprint

from ..auth.roles import Perm
from ..auth.service import has_perm
from ..core.errors import Forbidden
from ..extensions import db
from ..jobs.queue import dispatch_deferred
from ..tenancy.models import OrgNode
from ..tenancy.scope import get_in_scope
from . import service
from .models import NotifyChannel
from .schemas import ChannelCreateSchema, ChannelSchema, DeliverySchema, TestQueuedSchema

blp = Blueprint("notify_api", __name__, url_prefix="/api/v1/notify",
                description="Notification channels: WeCom / DingTalk group robots (企业微信 / 钉钉)")


def can_manage(node: OrgNode) -> bool:
    return has_perm(Perm.unit_admin, node) or has_perm(Perm.supervise, node)


def _node(org_id) -> OrgNode:
    node = get_in_scope(OrgNode, org_id)
    if not can_manage(node):
        raise Forbidden()
    return node


def _channel(channel_id) -> NotifyChannel:
    ch = get_in_scope(NotifyChannel, channel_id)
    _node(ch.org_id)
    return ch


@blp.route("/orgs/<int:org_id>/channels")
@blp.response(200, ChannelSchema(many=True))
def channels_list(org_id):
    """The node's channels (addresses and secrets masked)."""
    return service.channels_of(_node(org_id))


@blp.route("/orgs/<int:org_id>/channels", methods=["POST"])
@blp.arguments(ChannelCreateSchema)
@blp.response(201, ChannelSchema)
def channels_create(args, org_id):
    """Add a robot webhook to the node."""
    ch = service.add_channel(_node(org_id), **args)
    db.session.commit()
    return ch


@blp.route("/channels/<int:channel_id>", methods=["DELETE"])
@blp.response(204)
def channel_delete(channel_id):
    """Remove a channel (and its log)."""
    service.remove_channel(_channel(channel_id))
    db.session.commit()


@blp.route("/channels/<int:channel_id>/test", methods=["POST"])
@blp.response(202, TestQueuedSchema)
def channel_test(channel_id):
    """Send a test message (as a job with retry)."""
    job_ids = service.send_test(_channel(channel_id))
    db.session.commit()
    dispatch_deferred()
    return {"job_ids": job_ids}


@blp.route("/orgs/<int:org_id>/deliveries")
@blp.response(200, DeliverySchema(many=True))
def deliveries_list(org_id):
    """The latest 50 messages to the node's channels and what became of them."""
    return service.deliveries_of(_node(org_id))
