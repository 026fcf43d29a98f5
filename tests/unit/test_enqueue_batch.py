"""A committed change's jobs reach Redis together (support/jobs/queue.py `enqueue_all`):
every kind of job in one batch, in one round trip once the outbox's drain is queued."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from redis import Redis

from support import clock
from support.jobs import queue
from support.jobs.queue import Job
from tests.unit.test_ticket_change import clear_jobs, job_ids

LATER = "support.jobs.tasks.check_sla"
NOW = "support.jobs.tasks.deliver_webhook"
DRAIN = "support.jobs.tasks.drain_outbox"


def transactions(app: Flask) -> int:
    """MULTI/EXEC blocks Redis has run: one per pipelined round trip of RQ's."""
    stats = Redis.from_url(app.config["REDIS_URL"]).info("commandstats")
    return stats.get("cmdstat_exec", {}).get("calls", 0)


def batch(tag: str) -> list[Job]:
    """A scheduled job first (no MULTI of its own), then one to run now, then two
    requests for the same coalesced job: what a resolved ticket with a webhook sends."""
    at = clock.now() + timedelta(hours=1)
    return [
        Job(LATER, (1,), job_id=f"later-{tag}", at=at),
        Job(NOW, (1,), job_id=f"now-{tag}"),
        Job(DRAIN, coalesce="test-drain"),
        Job(DRAIN, coalesce="test-drain"),
    ]


def test_every_kind_of_job_in_one_batch_is_enqueued(app: Flask) -> None:
    clear_jobs()
    queue.enqueue_all(batch("a"))
    found = job_ids()
    assert {"later-a", "now-a"} <= found
    assert len([j for j in found if j.startswith("test-drain-")]) == 1  # asked twice, once


def test_a_batch_is_one_round_trip_once_its_coalesced_job_waits(app: Flask) -> None:
    clear_jobs()
    before = transactions(app)
    queue.enqueue_all(batch("a"))  # the drain is new: its job goes in a second trip
    assert transactions(app) - before == 2
    queue.enqueue_all(batch("b"))  # the drain waits already: everything in one trip
    assert transactions(app) - before == 3
    assert {"later-b", "now-b"} <= job_ids()
    assert len([j for j in job_ids() if j.startswith("test-drain-")]) == 1
