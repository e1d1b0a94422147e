"""Roster import jobs: checking a workbook, and writing a clean one.  Both
re-read the stored file, so any worker can run them."""
from __future__ import annotations

from ..core.errors import Invalid
from ..extensions import db
from ..jobs import health
from ..jobs.queue import job
from ..tenancy.scope import get_in_scope
from . import roster_service
from .models import RosterImport


def _next_url(imp_id: int) -> str:
    return f"/people/imports/{imp_id}"


@job("people.roster_check")
def roster_check(ctx, import_id: int):
    imp = get_in_scope(RosterImport, import_id)
    imp.status = "checking"
    report = roster_service.check(imp, lambda n: ctx.progress(n, 0, "checking"))
    ctx.progress(report.rows_total, report.rows_total, "checked")
    return {"import_id": imp.id, "status": imp.status, "rows": report.rows_total, "errors": report.error_count,
            "message": (f"{report.rows_total} rows, {report.error_count} problem(s)"),
            "next_url": _next_url(imp.id)}


@job("people.roster_import")
def roster_import(ctx, import_id: int):
    imp = get_in_scope(RosterImport, import_id)
    imp.status = "importing"
    try:
        counts = roster_service.apply(imp, ctx.progress)
    except Invalid as exc:
        # The file is not clean (any more): record the report, write nothing else.
        status, errors, count, rows = imp.status, imp.errors, imp.error_count, imp.rows_total
        summary, changes = imp.summary, imp.changes
        db.session.rollback()
        imp = get_in_scope(RosterImport, import_id)
        if isinstance(exc, roster_service.Changed):
            imp.status = "valid"        # clean, with a new list of changes to look at before importing
        else:
            imp.status = status if status in ("invalid", "imported") else "invalid"
        imp.errors, imp.error_count, imp.rows_total = errors, count, rows
        imp.summary, imp.changes = summary, changes
        msgs = "; ".join(m for v in exc.errors.values() for m in v) or exc.message
        return {"import_id": imp.id, "status": imp.status, "message": msgs, "next_url": _next_url(imp.id)}
    return {"import_id": imp.id, "status": "imported", **counts,
            "message": (f"{counts['created']} created, {counts['updated']} updated, "
                        f"{counts['unchanged']} unchanged"), "next_url": _next_url(imp.id)}


@health.on_abandon("people.roster_import")
def _release_upload(job_row) -> None:
    """The apply's worker died (or it failed): the upload goes back to
    "valid" so applying again works, instead of "importing" forever."""
    imp = db.session.get(RosterImport, (job_row.params or {}).get("import_id"))
    if imp is not None and imp.status == "importing" and imp.job_id in (job_row.id, None):
        imp.status = "valid"


@health.on_retry("people.roster_import")
def _retake_upload(new_job) -> None:
    imp = db.session.get(RosterImport, (new_job.params or {}).get("import_id"))
    if imp is not None and imp.status == "valid":
        imp.job_id, imp.status = new_job.id, "importing"
