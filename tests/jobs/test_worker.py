"""The worker process itself (support/jobs/worker.py)."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from redis.client import PubSubWorkerThread

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


def test_a_listener_thread_that_starts_late_is_still_stopped_at_once(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a busy machine the listener's thread may first run after the worker already
    asked it to stop; it must not then listen for a minute (redis-py's thread marks
    itself running when it starts, undoing an earlier stop)."""
    run = PubSubWorkerThread.run

    def scheduled_late(thread: PubSubWorkerThread) -> None:
        time.sleep(0.3)
        run(thread)

    monkeypatch.setattr(PubSubWorkerThread, "run", scheduled_late)
    worker = InProcessWorker([queue.queue(app)], connection=worker_connection(app))
    worker.subscribe()
    worker.unsubscribe()
    assert not worker.pubsub_thread.is_alive()
