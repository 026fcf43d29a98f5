"""Putting work on RQ: after the database commit, never before, and never fatally.

The database is the truth. If Redis is down when we enqueue, the work is not
lost: the periodic sweep (support.jobs.tasks.sweep) finds it from the database.

Ticket changes collect their `Job`s and enqueue them themselves once they have
committed (support/tickets/service/change.py). Other writers (an admin's
"retry" of an email) use `after_commit`, the one generic session hook.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from redis.client import Pipeline
from redis.exceptions import RedisError
from rq import Queue, Retry
from sqlalchemy import event
from sqlalchemy.orm import Session

from support.extensions import db
from support.jobs.redis import connection

log = logging.getLogger(__name__)

# Back-off between retries of a failed job: 10 s, 1 min, 5 min, 30 min, 2 h.
RETRY = Retry(max=5, interval=[10, 60, 300, 1800, 7200])
_PENDING = "support_after_commit"


@dataclass(frozen=True)
class Job:
    """A job to enqueue: `func` (a dotted path) with `args`, now or at `at` (naive UTC).

    The same `job_id` is one job: scheduling it twice is a no-op. A job with a
    `coalesce` key is one of many requests for the same work (e.g. "drain the
    outbox"): at most one such job waits in the queue (see `request`)."""

    func: str
    args: tuple[Any, ...] = ()
    job_id: str | None = None
    at: datetime | None = None
    coalesce: str | None = None


def queue(app: Flask | None = None) -> Queue:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return Queue(app.config["RQ_QUEUE"], connection=connection(app))


def _options(job_id: str | None, retry: bool, pipeline: Pipeline | None = None) -> dict[str, Any]:
    """RQ's keyword arguments for a job; with `pipeline`, its commands go there."""
    return {"job_id": job_id, "retry": RETRY if retry else None, "pipeline": pipeline}


def _put(
    rq_queue: Queue,
    func: str,
    args: tuple[Any, ...],
    options: dict[str, Any],
    at: datetime | None,
) -> None:
    """One job onto `rq_queue`, now or at `at` (naive UTC)."""
    if at is None:
        rq_queue.enqueue(func, *args, **options)
    else:
        rq_queue.enqueue_at(at.replace(tzinfo=UTC), func, *args, **options)


def enqueue(
    func: str,
    *args: Any,
    job_id: str | None = None,
    at: datetime | None = None,
    retry: bool = True,
) -> bool:
    """Enqueue `func` (a dotted path) now, or at `at` (naive UTC). False if Redis is down."""
    try:
        _put(queue(), func, args, _options(job_id, retry), at)
    except RedisError as exc:
        log.warning("Redis unavailable, %s(%s) left for the sweep: %s", func, args, exc)
        return False
    return True


# How long a coalesced request stands without its job starting. Normally the job
# starts (and clears it) within moments; if the enqueue after setting it failed
# (Redis went away between the two commands), requests are ignored this long, and
# the sweep (every minute, regardless of the flag) covers the gap.
COALESCE_SECONDS = 60


def _flag(key: str) -> str:
    # Under rq:…<queue>… so whatever clears a queue's keys clears its flags too.
    return f"rq:coalesce:{current_app.config['RQ_QUEUE']}:{key}"


def request(func: str, *args: Any, key: str, force: bool = False) -> bool:
    """Ask for `func` to run soon, once for any number of requests: enqueue it unless
    a job for `key` is queued and has not started yet. The job calls `started(key)`
    before it reads its work, so a request made after that point enqueues a new job
    and nothing committed before any request is missed. `force` (the sweep) enqueues
    even when the flag says a job waits: the flag may outlive a lost job.
    False if Redis is down (the sweep finds the work in the database)."""
    try:
        fresh = connection().set(_flag(key), 1, nx=True, ex=COALESCE_SECONDS)
    except RedisError as exc:
        log.warning("Redis unavailable, %s left for the sweep: %s", func, exc)
        return False
    if not fresh and not force:
        return True  # a job is queued and will see this request's work
    return enqueue(func, *args, job_id=f"{key}-{uuid.uuid4().hex[:12]}")


def started(key: str) -> None:
    """Called by a coalesced job before it reads its work: later requests enqueue anew."""
    connection().delete(_flag(key))


def enqueue_all(jobs: Sequence[Job]) -> None:
    """Enqueue committed work in one round trip to Redis, however many jobs: every job
    and the "queued already?" flag of each coalesced one (ten emails of one change: one
    request) in one transaction; a second trip only for the coalesced jobs whose flag
    was not set yet (see `request`). If Redis is down or hung, the batch waits one
    timeout at most and is left to the sweep, which re-creates it from the database."""
    if not jobs:
        return
    keys = list(dict.fromkeys(job.coalesce for job in jobs if job.coalesce is not None))
    try:
        rq_queue = queue()
        with _transaction(rq_queue) as pipeline:
            for key in keys:
                pipeline.set(_flag(key), 1, nx=True, ex=COALESCE_SECONDS)
            for job in jobs:
                if job.coalesce is None:
                    _put(rq_queue, job.func, job.args, _options(job.job_id, True, pipeline), job.at)
            fresh = {key for key, new in zip(keys, pipeline.execute(), strict=False) if new}
        if not fresh:
            return  # every coalesced job is queued already and will see this work
        with _transaction(rq_queue) as pipeline:
            for job in jobs:
                if job.coalesce in fresh:
                    fresh.discard(job.coalesce)
                    job_id = f"{job.coalesce}-{uuid.uuid4().hex[:12]}"
                    _put(rq_queue, job.func, job.args, _options(job_id, True, pipeline), job.at)
            pipeline.execute()
    except RedisError as exc:
        log.warning("Redis unavailable, %d jobs left for the sweep: %s", len(jobs), exc)


def _transaction(rq_queue: Queue) -> Pipeline:
    """A MULTI/EXEC pipeline, begun explicitly: RQ's enqueue begins one itself only on
    an empty pipeline, and raises when commands (a flag, a scheduled job) came first."""
    pipeline = rq_queue.connection.pipeline()
    pipeline.multi()
    return pipeline


def after_commit(func: str, *args: Any, job_id: str | None = None, at: datetime | None = None):
    """Enqueue once the current transaction has committed (dropped if it rolls back).

    For writers that are not ticket changes; a TicketChange enqueues its own jobs."""
    db.session.info.setdefault(_PENDING, []).append(Job(func, args, job_id, at))


def _run_pending(session: Session) -> None:
    enqueue_all(session.info.pop(_PENDING, []))


def _drop_pending(session: Session, *_: object) -> None:
    session.info.pop(_PENDING, None)


def init_app(app: Flask) -> None:
    app.config.setdefault("RQ_QUEUE", "support")
    if not getattr(init_app, "_listening", False):
        event.listen(Session, "after_commit", _run_pending)
        event.listen(Session, "after_soft_rollback", _drop_pending)
        init_app._listening = True  # type: ignore[attr-defined]
