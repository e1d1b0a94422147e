"""Jobs of the supervision slice: large exports (any registered kind)."""
from __future__ import annotations

from ..core.errors import Invalid
from ..jobs.queue import job
from ..tenancy.models import OrgNode
from ..tenancy.scope import get_in_scope
from . import builtin_exports  # noqa: F401  (registers this slice's exports)
from .exports import export_path, get_spec, remove_quietly, write_xlsx


@job("supervision.export")
def export_job(ctx, kind: str, org_id: int, params: dict | None = None, filename: str | None = None,
               locale: str | None = None):
    spec = get_spec(kind)
    if spec is None:
        raise Invalid({"kind": [f"Unknown export {kind}."]})
    node = get_in_scope(OrgNode, org_id)
    path = export_path(ctx.job_id)
    tmp = path.with_suffix(".part")
    try:
        n = write_xlsx(spec, node, params or {}, str(tmp), lambda done, total: ctx.progress(done, total, "rows"),
                       locale=locale)
        tmp.replace(path)
    except BaseException:
        remove_quietly(tmp)
        raise
    return {"rows": n, "kind": kind, "filename": filename or f"{kind}.xlsx",
            "message": f"{n} rows", "next_url": f"/supervision/exports/files/{ctx.job_id}"}


@job("supervision.refresh_stats")
def refresh_stats(ctx, org_id: int, year: int, period: str | None = None):
    """Recompute the dashboard snapshot of a subtree (one transaction)."""
    from . import snapshot

    node = get_in_scope(OrgNode, org_id)
    out = snapshot.refresh(node, int(year), period or None, progress=ctx.progress)
    out["message"] = f"{out['units']} units in {out['seconds']} s"
    out["next_url"] = f"/supervision/orgs/{node.id}?year={year}" + (f"&period={out['period']}" if out["period"] else "")
    return out
