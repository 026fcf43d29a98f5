"""The webhook outbox: deliveries are rows first, sent later, each exactly once, in order.

`record` writes one delivery per event and subscribed webhook inside the ticket
change's transaction (support/tickets/service/change.py), with its JSON fixed then;
the change enqueues the returned jobs after its commit. A delivery is sent by
`deliver`, which works through its webhook's line from the front:

- Order: a webhook's deliveries go out strictly by id. The front of the line is its
  oldest delivery still pending or sending; only the front may be claimed, so one
  that is backing off holds the later ones back until it is delivered or fails for
  good (then the next one goes at once).
- Exactly once: the front is claimed with a conditional UPDATE (pending and due, or
  a claim whose lease ran out) before it is sent, as the email outbox does
  (support/notify/outbox.py), and the result is written only while the claim is
  still ours. Two workers, RQ's retries and the sweep can all run `deliver` for the
  same webhook: one of them sends, the others find the front taken and stop.
- Back-off: a failed attempt waits 10 s, 1 min, 5 min, 30 min, 2 h, 6 h, then 12 h
  between later attempts; after WEBHOOK_MAX_ATTEMPTS the delivery is failed and
  an admin can send it again. The retry is a job scheduled for that moment; if Redis
  loses it, the sweep (`due_for_delivery`) finds it.
- A worker killed mid-delivery leaves a claim that expires after
  OUTBOX_LEASE_SECONDS; the sweep then hands the delivery to another worker.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from support import clock, settings_cache
from support.extensions import db
from support.jobs import queue
from support.models import DeliveryStatus, TicketEvent, Webhook, WebhookDelivery
from support.webhooks import http, payload, signing

DELIVER = "support.jobs.tasks.deliver_webhook"
BACK_OFF_SECONDS = (10, 60, 300, 1800, 7200, 21600, 43200)
IN_LINE = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
# One job works through at most this much of a line, then hands the rest to a new job
# (so RQ's job timeout never cuts a long line off mid-delivery).
DRAIN_SECONDS = 60.0
USER_AGENT = "SupportDesk-Webhooks/1"


def job_id(delivery_id: int, attempt: int = 0) -> str:
    return f"webhook-{delivery_id}" + (f"-{attempt}" if attempt else "")


def delivery_job(delivery: WebhookDelivery) -> queue.Job:
    return queue.Job(DELIVER, (delivery.id,), job_id=job_id(delivery.id))


# --- writing: in the ticket change's transaction --------------------------------------------


def any_active() -> bool:
    """Whether any webhook is active. Every ticket change asks, and most teams have none:
    this process's copy answers while nobody adds, edits or deletes one
    (support/settings_cache.py). Only "none" is taken from the copy: with one, `record`
    reads the webhooks themselves in the change's transaction."""
    return settings_cache.cached("webhooks_active", _read_any_active)


def _read_any_active(session: Session) -> bool:
    return bool(session.scalar(select(exists().where(Webhook.is_active))))


def record(events: Sequence[TicketEvent]) -> list[queue.Job]:
    """One delivery per (event, active webhook subscribed to it), body built now.

    Called by a TicketChange after its flush (events have ids) and before its commit;
    it returns the jobs to enqueue once that commit is done. An event recorded again
    (same key) adds nothing.
    """
    wanted = [(event, kind) for event in events if (kind := payload.webhook_event(event))]
    if not wanted or not any_active():
        return []
    hooks = db.session.scalars(select(Webhook).where(Webhook.is_active).order_by(Webhook.id)).all()
    if not hooks:
        return []
    keys = [payload.event_key(event) for event, _ in wanted]
    done = {
        tuple(row)
        for row in db.session.execute(
            select(WebhookDelivery.webhook_id, WebhookDelivery.event_key).where(
                WebhookDelivery.event_key.in_(keys)
            )
        )
    }
    now = clock.now()
    deliveries = []
    for (event, kind), key in zip(wanted, keys, strict=True):
        body: str | None = None
        for hook in hooks:
            if kind.value not in hook.events or (hook.id, key) in done:
                continue
            body = body or payload.body(event, kind)
            deliveries.append(
                WebhookDelivery(
                    webhook_id=hook.id,
                    event=kind.value,
                    event_key=key,
                    ticket_id=event.ticket_id,
                    body=body,
                    status=DeliveryStatus.PENDING,
                    created_at=now,
                    next_attempt_at=now,
                )
            )
    if not deliveries:
        return []
    db.session.add_all(deliveries)
    db.session.flush()  # ids, in the order the events happened
    return [delivery_job(delivery) for delivery in deliveries]


# --- sending: in a job ----------------------------------------------------------------------


def _lease_expired(now: datetime) -> ColumnElement[bool]:
    """Claimed longer than the lease ago: the worker died, anyone may take it over.

    Claiming, the sweep and an admin's "send again" must agree on this."""
    stale = now - timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    sending = WebhookDelivery.status == DeliveryStatus.SENDING
    return sending & (WebhookDelivery.claimed_at < stale)


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        (WebhookDelivery.status == DeliveryStatus.PENDING)
        & (WebhookDelivery.next_attempt_at <= now),
        _lease_expired(now),
    )


def _is_front() -> ColumnElement[bool]:
    """No older delivery of the same webhook is still waiting or being sent."""
    earlier = aliased(WebhookDelivery)
    return ~exists().where(
        earlier.webhook_id == WebhookDelivery.webhook_id,
        earlier.id < WebhookDelivery.id,
        earlier.status.in_(IN_LINE),
    )


def _webhook_active() -> ColumnElement[bool]:
    return exists().where(Webhook.id == WebhookDelivery.webhook_id, Webhook.is_active)


def _front(webhook_id: int) -> int | None:
    return db.session.scalar(
        select(func.min(WebhookDelivery.id)).where(
            WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status.in_(IN_LINE)
        )
    )


def _claim(delivery_id: int, now: datetime) -> bool:
    """Take the delivery for sending: only when due, at the front of its line, and its
    webhook active. False when another worker holds it, it is backing off or done."""
    result = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, _due(now), _is_front(), _webhook_active())
        .values(
            status=DeliveryStatus.SENDING,
            claimed_at=now,
            attempts=WebhookDelivery.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def back_off(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt."""
    return timedelta(seconds=BACK_OFF_SECONDS[min(attempts, len(BACK_OFF_SECONDS)) - 1])


def deliver(delivery_id: int) -> int:
    """Send what is due in this delivery's webhook's line, front first; returns how many
    deliveries this call delivered (0: nothing due, or another worker is on it)."""
    webhook_id = db.session.scalar(
        select(WebhookDelivery.webhook_id).where(WebhookDelivery.id == delivery_id)
    )
    if webhook_id is None:
        return 0  # deleted with its webhook
    return drain(webhook_id)


def drain(webhook_id: int) -> int:
    started, delivered = time.monotonic(), 0
    while (front := _front(webhook_id)) is not None:
        if time.monotonic() - started > DRAIN_SECONDS:
            queue.enqueue(DELIVER, front, job_id=job_id(front))  # the rest in a fresh job
            break
        now = clock.now()
        if not _claim(front, now):
            break  # backing off (its retry is scheduled), inactive, or another worker's
        outcome = _attempt(front, claimed_at=now)
        if outcome == DeliveryStatus.DELIVERED:
            delivered += 1
        elif outcome != DeliveryStatus.FAILED:
            break  # it waits for its retry, and the rest of the line with it
    return delivered


def _attempt(delivery_id: int, *, claimed_at: datetime) -> DeliveryStatus | None:
    """POST the claimed delivery and write down how it went; the status it ends in
    (None: our claim was taken over meanwhile, so the result is not ours to write)."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    hook = delivery.webhook
    url, secret, body = hook.url, hook.secret, delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Support-Desk-Event": delivery.event,
        "Support-Desk-Delivery": str(delivery.id),
        signing.HEADER: signing.sign(secret, body, int(time.time())),
    }
    config = current_app.config
    db.session.commit()  # no transaction stays open while we wait for the receiver
    answer = http.post(
        url,
        body,
        headers,
        timeout=config["WEBHOOK_TIMEOUT_SECONDS"],
        allow_private=config["WEBHOOKS_ALLOW_PRIVATE"],
    )
    return _write_outcome(delivery_id, claimed_at, answer)


def _write_outcome(
    delivery_id: int, claimed_at: datetime, answer: http.Answer
) -> DeliveryStatus | None:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    now = clock.now()
    values: dict = {"response_code": answer.code, "response_ms": answer.ms}
    retry_at = None
    if answer.ok:
        status = DeliveryStatus.DELIVERED
        values.update(delivered_at=now, last_error=None)
    elif delivery.attempts >= current_app.config["WEBHOOK_MAX_ATTEMPTS"]:
        status = DeliveryStatus.FAILED
        values.update(last_error=answer.error, claimed_at=None)
    else:
        status = DeliveryStatus.PENDING
        retry_at = now + back_off(delivery.attempts)
        values.update(last_error=answer.error, claimed_at=None, next_attempt_at=retry_at)
    result = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == DeliveryStatus.SENDING,
            WebhookDelivery.claimed_at == claimed_at,
        )
        .values(status=status, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        return None
    if retry_at is not None:
        retry_job = job_id(delivery_id, delivery.attempts)
        queue.enqueue(DELIVER, delivery_id, job_id=retry_job, at=retry_at)
    return status


# --- the sweep and the admin ----------------------------------------------------------------


def due_for_delivery(limit: int = 500) -> list[int]:
    """Deliveries that should be sent now: the front of each active webhook's line, when
    it is due (pending and its time has come, or a claim whose lease ran out)."""
    now = clock.now()
    query = (
        select(WebhookDelivery.id)
        .where(_due(now), _is_front(), _webhook_active())
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def send_again(delivery: WebhookDelivery) -> WebhookDelivery | None:
    """An admin's "send again"; returns the delivery that will go (None: it is being sent
    right now, and nothing changed).

    Failed, or waiting for its next attempt: back in line, due now, attempts from 0 (one
    conditional UPDATE, so a worker claiming it at the same moment wins). Delivered: a
    new delivery with the same body (the same `id` inside, for the receiver to
    de-duplicate on) at the end of the line, so the log keeps both.
    """
    now = clock.now()
    if delivery.status == DeliveryStatus.DELIVERED:
        again = WebhookDelivery(
            webhook_id=delivery.webhook_id,
            event=delivery.event,
            event_key=_next_key(delivery),
            ticket_id=delivery.ticket_id,
            body=delivery.body,
            status=DeliveryStatus.PENDING,
            created_at=now,
            next_attempt_at=now,
        )
        db.session.add(again)
        db.session.flush()
        queue.after_commit(DELIVER, again.id, job_id=job_id(again.id))
        db.session.commit()
        return again
    result = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery.id,
            or_(
                WebhookDelivery.status.in_([DeliveryStatus.FAILED, DeliveryStatus.PENDING]),
                _lease_expired(now),
            ),
        )
        .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, claimed_at=None)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:
        db.session.rollback()
        db.session.refresh(delivery)
        return None
    queue.after_commit(DELIVER, delivery.id, job_id=job_id(delivery.id, int(time.time())))
    db.session.commit()
    return delivery


def _next_key(delivery: WebhookDelivery) -> str:
    """`event-12` sent again is `event-12/again-1`, then `event-12/again-2` …"""
    base = delivery.event_key.split("/again-", 1)[0]
    count = db.session.scalar(
        select(func.count(WebhookDelivery.id)).where(
            WebhookDelivery.webhook_id == delivery.webhook_id,
            WebhookDelivery.event_key.like(f"{base}/again-%"),
        )
    )
    return f"{base}/again-{count + 1}"
