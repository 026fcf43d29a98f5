"""RQ jobs of the privacy area: thin, by id, idempotent (support/jobs/tasks.py's rules)."""

from __future__ import annotations

from support.jobs.tasks import job
from support.privacy import erasure, export


@job
def build_export(export_id: int) -> str:
    return export.build(export_id)


@job
def erase(request_id: int) -> str:
    return erasure.run(request_id)


def sweep_work() -> dict[str, int]:
    """The per-minute sweep's privacy part: retention (with expired exports and audit
    entries), and exports or erasures whose job Redis lost, queued again (their job
    ids make a second enqueue of a live job a no-op)."""
    from datetime import timedelta

    from sqlalchemy import select

    from support import clock
    from support.extensions import db
    from support.jobs import queue
    from support.models import DataExport, ErasureRequest, ErasureState, JobState
    from support.privacy import retention

    done = retention.apply()
    # Only work left for a while: a job queued a moment ago is surely still in Redis.
    stale = clock.now() - timedelta(minutes=5)
    requeued = 0
    for export_id in db.session.scalars(
        select(DataExport.id).where(
            DataExport.state.in_((JobState.QUEUED, JobState.RUNNING)),
            DataExport.created_at < stale,
        )
    ):
        requeued += queue.enqueue(export.JOB, export_id, job_id=f"export-{export_id}")
    for request_id in db.session.scalars(
        select(ErasureRequest.id).where(
            ErasureRequest.state == ErasureState.RUNNING, ErasureRequest.confirmed_at < stale
        )
    ):
        requeued += queue.enqueue(erasure.JOB, request_id, job_id=f"erase-{request_id}")
    return {"anonymised": done.tickets, "files_deleted": done.files, "privacy_requeued": requeued}
