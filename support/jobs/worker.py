"""The RQ worker the project runs (`flask --app app worker`).

By default jobs run in the worker's own process, with the app built once
(`InProcessWorker`): no fork, no new database connections, and an SMTP
connection the next email reuses. A fork per job cost ~80 ms, so one worker
delivered about 12 emails a second; in-process it is bound by the database and
the SMTP server instead (bench/notifications.py).

What running in-process gives up, and what contains it:
- A job that hangs is stopped by RQ's job timeout (a signal in this process,
  the same as in a work horse) and recorded as failed; its email's claim runs
  out and the sweep hands it to a worker again.
- A job that leaks memory or leaves global state behind affects the jobs after
  it. `--max-jobs N` makes the worker exit after N jobs (warm, between jobs),
  and its supervisor (systemd's `Restart=always`, `make run`'s devserver)
  starts a fresh one. Every job also gets a fresh app context and database
  session, removed when it ends (support.jobs.tasks.job).
- A crash of the process (killed, out of memory) loses the job in progress as
  a dead work horse would: every job is idempotent and the sweep redoes it.
`--fork` keeps RQ's fork-per-job worker for those who want a process per job.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask
from rq import SimpleWorker, Worker
from rq.job import Job
from rq.queue import Queue
from sqlalchemy.orm import configure_mappers

from support.extensions import db
from support.jobs import tasks as _tasks  # noqa: F401 - imported once here, not per job
from support.jobs.redis import worker_connection
from support.notify import mailer


class _QuickExit:
    """RQ's worker ends its command channel's listener (a thread reading Redis pub/sub)
    by unsubscribing, then asking the thread to stop: when the unsubscribe is answered
    before that (a worker that exits soon after it started, as a burst worker with
    little to do), the thread goes back to a blocking read, and the worker waits a full
    second for it before exiting. Asking first, then unsubscribing, ends it at once.

    That needs the thread to be listening when it is asked: redis-py's thread marks
    itself running only once it gets the CPU, undoing a stop asked before that, and
    then blocks in its 60-second read. So `subscribe` returns once it listens."""

    pubsub: Any
    pubsub_thread: Any

    def subscribe(self) -> None:
        super().subscribe()  # type: ignore[misc]
        running = getattr(self.pubsub_thread, "_running", None)  # redis-py's own flag
        deadline = time.monotonic() + 5
        while running is not None and not running.is_set() and time.monotonic() < deadline:
            time.sleep(0.001)

    def unsubscribe(self) -> None:
        if self.pubsub_thread:
            self.pubsub_thread.stop()
            self.pubsub.unsubscribe()
            self.pubsub_thread.join(timeout=1)
            self.pubsub.close()


class ForkingWorker(_QuickExit, Worker):
    """Forks a work horse per job inside the app's context.

    The horse must not reuse database connections it inherited from the parent
    process, so it drops the pool (without closing the parent's sockets) first.
    """

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        db.engine.dispose(close=False)
        super().main_work_horse(job, queue)


class InProcessWorker(_QuickExit, SimpleWorker):
    """Runs each job in this process (see the module's docstring for the trade-off)."""


def run(
    app: Flask,
    *,
    burst: bool = False,
    with_scheduler: bool = True,
    fork: bool = False,
    max_jobs: int | None = None,
) -> None:
    configure_mappers()  # once, before any job (each forked horse would redo it: ~40 ms)
    redis = worker_connection(app)
    worker_class = ForkingWorker if fork else InProcessWorker
    worker = worker_class([Queue(app.config["RQ_QUEUE"], connection=redis)], connection=redis)
    try:
        worker.work(burst=burst, with_scheduler=with_scheduler, max_jobs=max_jobs)
    finally:
        mailer.close()
