"""Webhooks end to end: ticket changes write deliveries in their own transaction, a real
RQ worker POSTs them to a real HTTP receiver on loopback, signed, once each, in order.

The clock stands still at T0 (`frozen`); `advance` moves it and releases the retries
RQ's scheduler would release then. Rows are read back on a session of their own.
"""

from __future__ import annotations

import socket
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from support import clock
from support.extensions import db
from support.jobs import queue, tasks
from support.models import DeliveryStatus, Status, WebhookDelivery, WebhookEvent
from support.tickets import due, service
from support.webhooks import http, outbox, signing
from tests.jobs.webhook_receiver import Receiver, Reply

T0 = datetime(2032, 3, 1, 9, 0)  # a Monday morning
SECOND = timedelta(seconds=1)

pytestmark = pytest.mark.usefixtures("frozen", "webhook_config")


def stored(delivery_id: int) -> WebhookDelivery:
    with Session(db.engine, expire_on_commit=False) as session:
        row = session.get(WebhookDelivery, delivery_id)
        assert row is not None
        return row


def deliveries() -> list[WebhookDelivery]:
    with Session(db.engine, expire_on_commit=False) as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def sent_ids(receiver: Receiver) -> Counter[str]:
    return Counter(r.headers["Support-Desk-Delivery"] for r in receiver.received)


# --- what is sent ---------------------------------------------------------------------------


def test_delivery_is_signed_json_describing_the_ticket(app, make, receiver, webhook, run_jobs):
    hook = webhook(receiver.url)
    customer = make.customer(name="Dana Buyer")
    ticket = make.ticket(customer)
    run_jobs()

    assert len(receiver.received) == 1
    request = receiver.received[0]
    assert request.path == "/hooks"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Support-Desk-Event"] == "ticket.created"
    assert signing.verify(hook.secret, request.body, request.headers[signing.HEADER])
    assert not signing.verify("whsec_wrong", request.body, request.headers[signing.HEADER])
    assert not signing.verify(hook.secret, request.body + b" ", request.headers[signing.HEADER])

    document = request.json
    assert document["event"] == "ticket.created"
    assert document["created_at"] == "2032-03-01T09:00:00Z"
    assert document["ticket"]["ref"] == ticket.ref
    assert document["ticket"]["subject"] == ticket.subject
    assert document["ticket"]["status"] == "new"
    assert document["ticket"]["category"] == "payments"
    assert document["ticket"]["customer"] == {
        "id": customer.id,
        "name": "Dana Buyer",
        "email": customer.email,
    }
    assert document["ticket"]["url"] == f"http://support.test/tickets/{ticket.ref}"
    assert document["data"]["description"] == ticket.description
    assert document["data"]["author"]["role"] == "customer"

    (row,) = deliveries()
    assert (row.status, row.attempts, row.response_code) == (DeliveryStatus.DELIVERED, 1, 200)
    assert row.response_ms is not None and row.delivered_at == T0
    assert request.headers["Support-Desk-Delivery"] == str(row.id)
    assert document["id"] == row.event_key


def test_three_changes_send_three_deliveries_in_order(app, make, receiver, webhook, run_jobs):
    webhook(receiver.url)
    customer, agent = make.customer(), make.agent(name="Sam Agent")
    ticket = make.ticket(customer)
    service.reply(ticket, author=customer, body="Any news on my refund?")
    service.assign(ticket, actor=agent, assignee=agent)
    assert len(deliveries()) == 3
    run_jobs()

    assert receiver.events() == ["ticket.created", "ticket.replied", "ticket.assigned"]
    ids = [int(i) for i in sent_ids(receiver)]
    assert ids == sorted(ids)
    replied, assigned = receiver.received[1].json, receiver.received[2].json
    assert replied["data"]["body"] == "Any news on my refund?"
    assert replied["data"]["author"] == {
        "id": customer.id,
        "name": customer.name,
        "role": "customer",
    }
    assert assigned["data"]["to"] == {"id": agent.id, "name": "Sam Agent"}
    assert assigned["ticket"]["assignee"] == {"id": agent.id, "name": "Sam Agent"}
    assert {d.status for d in deliveries()} == {DeliveryStatus.DELIVERED}


def test_only_subscribed_events_and_never_internal_notes(app, make, receiver, webhook, run_jobs):
    webhook(
        receiver.url,
        [
            WebhookEvent.TICKET_REPLIED,
            WebhookEvent.TICKET_STATUS_CHANGED,
            WebhookEvent.SURVEY_ANSWERED,
        ],
    )
    webhook(receiver.url, [WebhookEvent.TICKET_CREATED], active=False)
    customer, agent = make.customer(), make.agent()
    ticket = make.ticket(customer)
    service.reply(ticket, author=agent, body="Internal: check the ledger.", public=False)
    service.reply(ticket, author=agent, body="We are on it.")  # a reply, and new -> open
    service.change_status(ticket, actor=agent, to=Status.RESOLVED)
    service.rate(ticket, customer=customer, score=4, comment="Quick, thanks")
    run_jobs()

    assert receiver.events() == [
        "ticket.replied",
        "ticket.status_changed",
        "ticket.status_changed",
        "survey.answered",
    ]
    bodies = [r.json for r in receiver.received]
    assert all("ledger" not in r.body.decode() for r in receiver.received)
    assert bodies[0]["data"]["author"]["role"] == "agent"
    assert (bodies[1]["data"]["from"], bodies[1]["data"]["to"]) == ("new", "open")
    assert (bodies[2]["data"]["from"], bodies[2]["data"]["to"]) == ("open", "resolved")
    assert bodies[3]["data"] == {"score": 4, "comment": "Quick, thanks"}


def test_a_failed_change_leaves_no_delivery(app, make, receiver, webhook, monkeypatch):
    """Deliveries are written before the commit; a failure after them rolls them back."""
    webhook(receiver.url)
    customer = make.customer()
    ticket = make.ticket(customer)
    before = len(deliveries())
    q = queue.queue(app)
    queued = q.count

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(due, "refresh", broken)  # the step right after the webhooks'
    with pytest.raises(RuntimeError):
        service.reply(ticket, author=customer, body="This reply never happened.")
    assert len(deliveries()) == before
    assert q.count == queued  # and nothing was enqueued


# --- down, slow, redirecting and refused receivers ------------------------------------------


def test_receiver_that_is_down_gets_the_delivery_later_exactly_once(
    app, make, webhook, run_jobs, advance
):
    down = Receiver()  # not started: connections are refused
    webhook(down.url)
    make.ticket(make.customer())
    run_jobs()
    (row,) = deliveries()
    assert (row.status, row.attempts, row.response_code) == (DeliveryStatus.PENDING, 1, None)
    assert "Connection" in row.last_error and row.next_attempt_at == T0 + 10 * SECOND

    down.start()
    try:
        advance(T0 + 9 * SECOND)
        assert down.received == []  # not due yet
        advance(T0 + 10 * SECOND)
        assert len(down.received) == 1
        for later in (T0 + timedelta(minutes=5), T0 + timedelta(hours=3)):
            clock.freeze(later)
            tasks.sweep()
            advance(later)
        assert len(down.received) == 1
    finally:
        down.stop()
    row = stored(row.id)
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.DELIVERED, 2, None)


def test_a_retrying_delivery_holds_back_the_later_ones(
    app, make, receiver, webhook, advance, run_jobs
):
    webhook(receiver.url)
    receiver.plan = [Reply(status=500, body=b"database locked")]
    customer = make.customer()
    ticket = make.ticket(customer)
    service.reply(ticket, author=customer, body="Hello?")
    service.reply(ticket, author=customer, body="Hello again?")
    run_jobs()

    first, second, third = deliveries()
    assert len(receiver.received) == 1
    assert (first.status, first.response_code, first.last_error) == (
        DeliveryStatus.PENDING,
        500,
        "HTTP 500: database locked",
    )
    assert [(d.status, d.attempts) for d in (second, third)] == [(DeliveryStatus.PENDING, 0)] * 2
    assert outbox.due_for_delivery() == []  # the front is backing off: nothing is due

    advance(T0 + 10 * SECOND)
    assert [r.headers["Support-Desk-Delivery"] for r in receiver.received] == [
        str(first.id),
        str(first.id),
        str(second.id),
        str(third.id),
    ]
    assert {d.status for d in deliveries()} == {DeliveryStatus.DELIVERED}


def test_a_delivery_that_fails_for_good_lets_the_next_ones_go(
    app, make, receiver, webhook, run_jobs
):
    app.config["WEBHOOK_MAX_ATTEMPTS"] = 2
    webhook(receiver.url)
    receiver.plan = [Reply(status=503), Reply(status=503)]
    customer = make.customer()
    ticket = make.ticket(customer)
    service.reply(ticket, author=customer, body="Still there?")
    run_jobs()
    first, second = deliveries()
    assert (first.status, first.attempts) == (DeliveryStatus.PENDING, 1)

    clock.freeze(first.next_attempt_at)
    tasks.sweep()  # finds the front due (as if its scheduled retry were lost)
    run_jobs()
    first, second = deliveries()
    assert (first.status, first.attempts, first.response_code) == (DeliveryStatus.FAILED, 2, 503)
    assert second.status == DeliveryStatus.DELIVERED

    # An admin sends the failed one again: in line, due now, attempts from 0.
    again = outbox.send_again(db.session.get(WebhookDelivery, first.id))
    assert again is not None and again.id == first.id
    run_jobs()
    assert stored(first.id).status == DeliveryStatus.DELIVERED
    assert sent_ids(receiver) == Counter({str(first.id): 3, str(second.id): 1})


def test_sending_a_delivered_one_again_adds_a_delivery_with_the_same_body(
    app, make, receiver, webhook, run_jobs
):
    webhook(receiver.url)
    make.ticket(make.customer())
    run_jobs()
    (row,) = deliveries()
    again = outbox.send_again(db.session.get(WebhookDelivery, row.id))
    assert again is not None and again.id != row.id
    run_jobs()
    assert [d.event_key for d in deliveries()] == [row.event_key, f"{row.event_key}/again-1"]
    assert receiver.received[0].body == receiver.received[1].body  # same "id" to dedupe on


def test_slow_receiver_times_out(app, make, receiver, webhook, run_jobs):
    """The receiver answers after 3 s, the timeout is 1 s: the delivery gives up and says
    so (no wall-clock bound here: a loaded CI machine stretches every step)."""
    webhook(receiver.url)
    receiver.plan = [Reply(delay=3)]
    make.ticket(make.customer())
    run_jobs()
    (row,) = deliveries()
    assert row.status == DeliveryStatus.PENDING and row.response_code is None
    assert "timed out" in row.last_error


def test_redirect_is_not_followed(app, make, receiver, webhook, run_jobs):
    webhook(receiver.url)
    elsewhere = f"http://127.0.0.1:{receiver.port}/elsewhere"
    receiver.plan = [Reply(status=302, headers={"Location": elsewhere})]
    make.ticket(make.customer())
    run_jobs()
    assert [r.path for r in receiver.received] == ["/hooks"]
    (row,) = deliveries()
    assert (row.status, row.response_code) == (DeliveryStatus.PENDING, 302)
    assert "redirect" in row.last_error and elsewhere in row.last_error


def test_only_a_bounded_part_of_the_answer_is_read(app, make, receiver, webhook, run_jobs):
    webhook(receiver.url)
    receiver.plan = [Reply(body=b"x" * 20_000_000)]
    make.ticket(make.customer())
    run_jobs()
    (row,) = deliveries()
    assert row.status == DeliveryStatus.DELIVERED


def test_private_address_is_refused_unless_allowed(app, make, receiver, webhook, run_jobs):
    webhook(receiver.url)
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = False  # e.g. DNS now points somewhere private
    make.ticket(make.customer())
    run_jobs()
    assert receiver.received == []
    (row,) = deliveries()
    assert row.status == DeliveryStatus.PENDING
    assert row.last_error.startswith("Refused:") and "loopback" in row.last_error


def test_the_checked_address_is_the_one_connected_to(app, receiver, monkeypatch):
    """One DNS lookup per attempt: a second answer (DNS rebinding) is never asked for."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def lookup(host, *args, **kwargs):
        lookups.append(host)
        return real("127.0.0.1" if host == "receiver.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    answer = http.post(
        f"http://receiver.test:{receiver.port}/hooks",
        b"{}",
        {"Content-Type": "application/json"},
        timeout=2,
        allow_private=True,
    )
    assert answer.ok and answer.code == 200
    assert lookups == ["receiver.test"]
    assert receiver.received[0].headers["Host"] == f"receiver.test:{receiver.port}"


# --- claims and leases ----------------------------------------------------------------------


def lease(app) -> timedelta:
    return timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"])


def test_live_claim_is_left_alone_and_an_expired_one_taken_over_once(
    app, make, receiver, webhook, run_jobs
):
    """A worker killed mid-delivery leaves its claim: nobody sends while it is live;
    once it has expired the sweep hands the delivery to a worker, which sends it once."""
    hook = webhook(receiver.url)
    make.ticket(make.customer())
    (row,) = deliveries()
    queue.queue(app).empty()  # the job died with its worker
    db.session.execute(
        WebhookDelivery.__table__.update()
        .where(WebhookDelivery.id == row.id)
        .values(status=DeliveryStatus.SENDING, claimed_at=T0, attempts=1)
    )
    db.session.commit()

    clock.freeze(T0 + lease(app))
    assert outbox.deliver(row.id) == 0
    assert outbox.due_for_delivery() == []
    assert tasks.sweep()["webhooks"] == 0

    clock.freeze(T0 + lease(app) + SECOND)
    assert outbox.due_for_delivery() == [row.id]
    assert tasks.sweep()["webhooks"] == 1
    run_jobs()
    assert outbox.deliver(row.id) == 0
    tasks.sweep()
    run_jobs()
    assert sent_ids(receiver) == Counter({str(row.id): 1})
    row = stored(row.id)
    assert (row.status, row.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert signing.verify(
        hook.secret, receiver.received[0].body, receiver.received[0].headers[signing.HEADER]
    )


def test_the_same_delivery_run_twice_sends_once(app, make, receiver, webhook, run_jobs):
    webhook(receiver.url)
    make.ticket(make.customer())
    (row,) = deliveries()
    queue.enqueue(outbox.DELIVER, row.id)  # a duplicate job (the sweep, an RQ retry)
    run_jobs()
    assert outbox.deliver(row.id) == 0
    assert sent_ids(receiver) == Counter({str(row.id): 1})


def test_deliveries_are_recorded_for_every_subscribed_webhook(app, make, receiver, webhook):
    webhook(receiver.url)
    webhook(receiver.url, [WebhookEvent.TICKET_CREATED])
    webhook(receiver.url, [WebhookEvent.TICKET_ASSIGNED])
    make.ticket(make.customer())
    count = db.session.scalar(select(func.count(WebhookDelivery.id)))
    assert count == 2
