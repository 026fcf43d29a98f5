"""The RQ worker the project runs (`flask --app app worker`)."""

from __future__ import annotations

from flask import Flask
from rq import Worker
from rq.job import Job
from rq.queue import Queue
from sqlalchemy.orm import configure_mappers

from support.extensions import db
from support.jobs import tasks as _tasks  # noqa: F401 - imported once here, not in every horse
from support.jobs.redis import worker_connection


class AppWorker(Worker):
    """Forks a work horse per job inside the app's context.

    The horse must not reuse database connections it inherited from the parent
    process, so it drops the pool (without closing the parent's sockets) first.
    """

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        db.engine.dispose(close=False)
        super().main_work_horse(job, queue)


def run(app: Flask, *, burst: bool = False, with_scheduler: bool = True) -> None:
    configure_mappers()  # once, before forking: each horse would redo it (~40 ms a job)
    redis = worker_connection(app)
    worker = AppWorker([Queue(app.config["RQ_QUEUE"], connection=redis)], connection=redis)
    worker.work(burst=burst, with_scheduler=with_scheduler)
