"""The RQ worker's entry (`kaohe worker` runs the jobs queued by
``kaohe.jobs.queue.submit``): it builds the app once per process, then runs
the job under its scope."""
from __future__ import annotations

from ..jobs.queue import run_job


def rq_entry(job_id: str, root_id: int, paths: list[str]) -> None:
    """What the RQ worker calls: it builds the app once per process."""
    app = _worker_app()
    with app.app_context():
        run_job(job_id, root_id, paths)


_APP = None


def _worker_app():
    global _APP
    if _APP is None:
        from .. import create_app

        _APP = create_app()
    return _APP
