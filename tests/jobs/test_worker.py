"""The worker process itself (support/jobs/worker.py)."""

from __future__ import annotations

import time

from flask import Flask

from support.jobs import queue
from support.jobs.redis import worker_connection
from support.jobs.worker import InProcessWorker


def test_a_worker_exiting_right_after_it_started_does_not_wait_for_its_listener(
    app: Flask,
) -> None:
    """A burst worker with nothing to do exits at once: its command listener (a thread
    on Redis pub/sub) is stopped, not left in a read that keeps the exit waiting, even
    when Redis answers the unsubscribe before the listener is told to stop."""
    worker = InProcessWorker([queue.queue(app)], connection=worker_connection(app))
    worker.subscribe()
    pubsub, unsubscribe = worker.pubsub, worker.pubsub.unsubscribe

    def answered_at_once(*args: str) -> None:
        unsubscribe(*args)
        deadline = time.monotonic() + 2
        while pubsub.subscribed and time.monotonic() < deadline:
            time.sleep(0.01)  # the listener reads the answer (if it still listens)

    pubsub.unsubscribe = answered_at_once
    worker.unsubscribe()
    assert not worker.pubsub_thread.is_alive()
