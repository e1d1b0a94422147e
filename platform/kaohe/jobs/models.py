"""Job records: status and progress of long work, readable by the page, the
API and the CLI whichever way the job runs (RQ worker, thread, inline)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import IdType, TenantMixin, tenant_fk, utcnow
from ..extensions import db


class Job(TenantMixin, db.Model):
    __tablename__ = "job"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")  # queued running done failed
    progress: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict | None] = mapped_column(JSON)
    result: Mapped[dict | None] = mapped_column(JSON)
    # The scope the job runs under, stored explicitly (jobs never run unscoped).
    scope_paths: Mapped[list | None] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(IdType)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    # The lease (kaohe.jobs.health): which process runs the job ("host:pid")
    # and when it last said it is alive; a job whose worker is gone is failed.
    worker: Mapped[str | None] = mapped_column(String(120))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (tenant_fk("org_id"),)

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return int(100 * self.progress / self.total) if self.total else 0

    def to_dict(self) -> dict:
        return {
            "id": self.id, "kind": self.kind, "status": self.status, "progress": self.progress,
            "total": self.total, "percent": self.percent, "message": self.message, "result": self.result,
            "created_at": self.created_at, "started_at": self.started_at, "finished_at": self.finished_at,
            "retryable": self.status == "failed",
        }
