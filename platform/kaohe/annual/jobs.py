"""Background jobs of the annual slice."""
from __future__ import annotations

from ..web.messages import N_
from ..audit.service import record
from ..core.errors import Invalid
from ..extensions import db
from ..jobs.queue import job
from ..tenancy.models import OrgNode
from ..tenancy.scope import get_in_scope
from . import engine


@job("annual.compute")
def compute_job(ctx, org_id: int, year: int, strict: bool = False, chunk_units: int = 400):
    """Compute a unit or every unit of a subtree; one commit at the end (by
    the runner), so a failed or killed run leaves the previous results."""
    node = get_in_scope(OrgNode, org_id)
    units = engine.units_under(node)
    if not units:
        raise Invalid({"org": [N_("No assessment unit in this part of the tree.")]})
    ctx.progress(0, len(units), "reading inputs")
    out = engine.compute(units, int(year), progress=ctx.progress, actor=ctx.actor.name, job_id=ctx.job_id,
                         skip_locked=not strict, pipelined=True, chunk_units=int(chunk_units))
    record("annual.compute", root_id=node.root_id, org_id=node.id, target_type="org_node", target_id=node.id,
           after={"year": int(year), "units": out["units"], "people": out["people"], "skipped": out["skipped"][:50],
                  "runs": out["runs"]})
    db.session.flush()
    msg = f"{out['units']} units, {out['people']} people computed"
    if out["skipped"]:
        msg += f"; {len(out['skipped'])} confirmed units left unchanged"
    # the next step: the unit's annual page, or the overview of the subtree's units
    nxt = f"/annual/unit/{node.id}/{int(year)}" if node.is_assessment_unit else f"/annual/?year={int(year)}"
    return {**{k: v for k, v in out.items() if k != "runs"}, "message": msg, "next_url": nxt}
