"""The outbox's promises, one test each, on the real database, SMTP server and worker:
a sent message stays sent; a live claim belongs to the worker holding it and an
expired one is taken over; a failed attempt backs off (2, 4, 8 … minutes) and gives
up after MAX_ATTEMPTS; an admin's retry resets only the message it names.

The clock stands still at T0 (`frozen`) and moves only by `clock.freeze`. Rows are
read back on a session of their own (`stored`), so state a session wrote but never
committed cannot make an assertion pass.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from support import clock
from support.extensions import db
from support.jobs import queue, tasks
from support.models import EmailKind, OutboxMessage, OutboxStatus
from support.notify import outbox
from support.tickets import service

T0 = datetime(2032, 3, 1, 9, 0)  # a Monday morning
SECOND = timedelta(seconds=1)

pytestmark = pytest.mark.usefixtures("frozen")


def lease(app) -> timedelta:
    return timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"])


# How long ago a claim was taken, given the lease: the claim tests' parameters.
def moments(lease: timedelta) -> timedelta:
    return timedelta(0)


def lease_less_1s(lease: timedelta) -> timedelta:
    return lease - SECOND


def exactly_lease(lease: timedelta) -> timedelta:
    return lease


def lease_plus_1s(lease: timedelta) -> timedelta:
    return lease + SECOND


def a_month(lease: timedelta) -> timedelta:
    return timedelta(days=30)


def queued(key: str, *, to: str = "customer@example.com", **state) -> OutboxMessage:
    """A committed outbox message (nothing enqueued), then put in `state` (column values)."""
    message = outbox.queue_email(
        key=key, kind=EmailKind.EVENT, to=to, subject=f"About {key}", body="Hi."
    )
    assert message is not None
    db.session.commit()
    if state:
        for column, value in state.items():
            setattr(message, column, value)
        db.session.commit()
    return message


def stored(message_id: int) -> OutboxMessage:
    """The row as committed to the database, read on a session (and connection) of its own."""
    with Session(db.engine, expire_on_commit=False) as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        return row


def sent_ids(smtp) -> Counter[str]:
    """How many copies of each Message-ID the SMTP server accepted."""
    return Counter(str(mail["Message-ID"]) for mail in smtp.mailbox.messages)


# --- a sent message stays sent ------------------------------------------------------------


def test_delivered_email_is_not_resent_when_its_lease_runs_out(app, make, smtp, run_jobs):
    """Marking a message sent must be committed: otherwise the row still looks like a
    claim, and once the lease runs out the sweep hands it to a worker that sends it again."""
    customer, agent = make.customer(), make.agent()
    ticket = make.ticket(customer)  # the acknowledgement
    service.reply(ticket, author=agent, body="We are refunding the duplicate.")  # a notification
    assert run_jobs() >= 1  # one drain sends both
    messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert {m.kind for m in messages} >= {"ack", "reply"}  # the agent's words: a reply
    assert sent_ids(smtp) == Counter(m.message_id for m in messages)

    clock.freeze(T0 + lease(app) + SECOND)  # every claim taken at T0 has expired
    tasks.sweep()
    run_jobs()
    tasks.sweep()
    run_jobs()

    copies = sent_ids(smtp)
    assert [copies[m.message_id] for m in messages] == [1] * len(messages)
    assert set(copies.values()) == {1}
    for message in messages:
        row = stored(message.id)
        assert (row.status, row.attempts, row.sent_at) == (OutboxStatus.SENT, 1, T0)


# --- claims: a live one is respected, an expired one taken over ---------------------------


@pytest.mark.parametrize(
    "claimed_ago",
    [moments, lease_less_1s, exactly_lease],
    ids=["moments-ago", "one-second-before-the-lease-ends", "exactly-the-lease"],
)
def test_live_claim_is_left_to_the_worker_holding_it(app, smtp, claimed_ago):
    """Another worker may be in the middle of the SMTP conversation: sending too would
    email the customer twice. A claim is live up to and including OUTBOX_LEASE_SECONDS."""
    claimed_at = T0 - claimed_ago(lease(app))
    message = queued("notice:held", status=OutboxStatus.SENDING, claimed_at=claimed_at, attempts=1)

    assert outbox.due_for_delivery() == []
    assert outbox.deliver("notice:held") is None

    assert smtp.mailbox.messages == []
    row = stored(message.id)
    assert (row.status, row.claimed_at, row.attempts) == (OutboxStatus.SENDING, claimed_at, 1)


def test_expired_claim_is_taken_over_and_sent_exactly_once(app, smtp):
    """A worker that died after claiming leaves its claim behind: one second past the
    lease it is another worker's to send, once, and a later call sends nothing more."""
    message = queued(
        "notice:abandoned",
        status=OutboxStatus.SENDING,
        claimed_at=T0 - lease(app) - SECOND,
        attempts=1,
    )
    assert outbox.due_for_delivery() == ["notice:abandoned"]

    delivered = outbox.deliver("notice:abandoned")
    assert delivered is not None
    assert delivered.id == message.id
    assert outbox.deliver("notice:abandoned") is None

    assert sent_ids(smtp) == Counter({message.message_id: 1})
    row = stored(message.id)
    assert (row.status, row.attempts, row.claimed_at, row.sent_at) == (
        OutboxStatus.SENT,
        2,
        T0,
        T0,
    )
    assert outbox.due_for_delivery() == []


@pytest.mark.parametrize(
    "claimed_ago",
    [None, moments, exactly_lease, lease_plus_1s, a_month],
    ids=["never-claimed", "claimed-now", "claimed-a-lease-ago", "claim-expired", "long-ago"],
)
def test_sent_message_is_never_sent_again(app, smtp, claimed_ago):
    """A sent message is done, whatever its old claim looks like: an expired claim
    on a sent row must not make it look abandoned."""
    claimed_at = None if claimed_ago is None else T0 - claimed_ago(lease(app))
    sent_at = T0 - timedelta(days=40)
    message = queued(
        "notice:done",
        status=OutboxStatus.SENT,
        claimed_at=claimed_at,
        sent_at=sent_at,
        next_attempt_at=sent_at,
        attempts=1,
    )

    assert outbox.due_for_delivery() == []
    assert outbox.deliver("notice:done") is None

    assert smtp.mailbox.messages == []
    row = stored(message.id)
    assert (row.status, row.attempts, row.claimed_at, row.sent_at) == (
        OutboxStatus.SENT,
        1,
        claimed_at,
        sent_at,
    )


def test_due_for_delivery_lists_due_and_abandoned_mail_only(app):
    """The sweep re-enqueues exactly this list: pending mail whose time has come (at
    that very second too) and expired claims; never a live claim, sent or failed mail,
    nor mail backing off until later."""
    expired = T0 - lease(app) - SECOND
    old = T0 - timedelta(days=1)
    queued("due:overdue", next_attempt_at=T0 - timedelta(minutes=1))
    queued("due:this-second", next_attempt_at=T0)
    queued("later:next-second", next_attempt_at=T0 + SECOND)
    queued("later:in-an-hour", next_attempt_at=T0 + timedelta(hours=1))
    queued("live:now", status=OutboxStatus.SENDING, claimed_at=T0, next_attempt_at=old)
    queued(
        "live:a-lease-ago",
        status=OutboxStatus.SENDING,
        claimed_at=T0 - lease(app),
        next_attempt_at=old,
    )
    queued("due:expired-claim", status=OutboxStatus.SENDING, claimed_at=expired)
    queued(
        "done:sent",
        status=OutboxStatus.SENT,
        claimed_at=old,
        sent_at=old,
        next_attempt_at=old,
    )
    queued(
        "done:failed", status=OutboxStatus.FAILED, next_attempt_at=old, attempts=outbox.MAX_ATTEMPTS
    )

    assert outbox.due_for_delivery() == ["due:overdue", "due:this-second", "due:expired-claim"]


# --- an SMTP outage: back-off, then an admin ----------------------------------------------


def test_smtp_outage_backs_off_exponentially_and_gives_up_after_max_attempts(app, smtp):
    """While SMTP is down, each failed attempt waits 2**attempts minutes (never due at
    once again, which would hammer the server) and the message turns `failed` on
    attempt MAX_ATTEMPTS exactly (after about four hours), then waits for an admin."""
    smtp.stop()
    message = queued("notice:outage")
    at = T0
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        clock.freeze(at)
        assert outbox.due_for_delivery() == ["notice:outage"]
        with pytest.raises(ConnectionRefusedError):
            outbox.deliver("notice:outage")

        row = stored(message.id)
        assert row.attempts == attempt
        assert row.claimed_at is None
        assert row.last_error.startswith("ConnectionRefusedError: ")
        if attempt == outbox.MAX_ATTEMPTS:
            break
        assert row.status == OutboxStatus.PENDING, f"gave up after {attempt} attempts"
        assert row.next_attempt_at == at + timedelta(minutes=2**attempt)
        clock.freeze(row.next_attempt_at - SECOND)
        assert outbox.due_for_delivery() == []
        at = row.next_attempt_at

    assert row.status == OutboxStatus.FAILED
    assert at == T0 + timedelta(minutes=2 + 4 + 8 + 16 + 32 + 64 + 128)
    smtp.start()  # SMTP is back, but a failed message waits for an admin
    clock.freeze(at + timedelta(days=1))
    assert outbox.due_for_delivery() == []
    assert outbox.deliver("notice:outage") is None
    assert smtp.mailbox.messages == []
    assert stored(message.id).attempts == outbox.MAX_ATTEMPTS


# --- an admin's retry ---------------------------------------------------------------------


def _two_failed() -> tuple[OutboxMessage, OutboxMessage]:
    failed = {"status": OutboxStatus.FAILED, "attempts": outbox.MAX_ATTEMPTS}
    first = queued("notice:first", to="first@example.com", last_error="boom 1", **failed)
    second = queued("notice:second", to="second@example.com", last_error="boom 2", **failed)
    return first, second


def _assert_left_alone(message: OutboxMessage, error: str) -> None:
    row = stored(message.id)
    assert (row.status, row.attempts, row.last_error) == (
        OutboxStatus.FAILED,
        outbox.MAX_ATTEMPTS,
        error,
    )


def test_retry_failed_resets_only_the_message_it_names(app, smtp, run_jobs):
    """Retrying one failed email must not reset (and re-send) every other failed one."""
    first, second = _two_failed()

    assert outbox.retry_failed(first) is True

    row = stored(first.id)
    assert (row.status, row.attempts, row.next_attempt_at, row.claimed_at) == (
        OutboxStatus.PENDING,
        0,
        T0,
        None,
    )
    _assert_left_alone(second, "boom 2")
    assert queue.queue(app).job_ids == [outbox.job_id("notice:first")]
    run_jobs()
    assert sent_ids(smtp) == Counter({first.message_id: 1})
    assert stored(first.id).status == OutboxStatus.SENT
    _assert_left_alone(second, "boom 2")


def test_admin_retry_of_one_failed_email_leaves_the_others_failed(
    app, client, auth, make, smtp, run_jobs
):
    """The same through the admin page: the button on one email sends that one only."""
    first, second = _two_failed()
    auth.login(make.admin())
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert f'action="/admin/mail/{first.id}/retry"' in page
    assert f'action="/admin/mail/{second.id}/retry"' in page

    response = client.post(f"/admin/mail/{first.id}/retry", follow_redirects=True)
    assert response.status_code == 200
    assert "Email to first@example.com will be sent again." in response.get_data(as_text=True)
    _assert_left_alone(second, "boom 2")

    run_jobs()
    assert sent_ids(smtp) == Counter({first.message_id: 1})
    assert stored(first.id).status == OutboxStatus.SENT
    _assert_left_alone(second, "boom 2")


@pytest.mark.parametrize(
    ("claimed_ago", "retried"),
    [(moments, False), (exactly_lease, False), (lease_plus_1s, True)],
    ids=["claimed-now", "claimed-a-lease-ago", "claim-expired"],
)
def test_retry_failed_takes_back_only_an_expired_claim(app, smtp, claimed_ago, retried):
    """An admin's retry of a message a worker is sending would send it twice; one whose
    worker died (claim older than the lease, to the second) is reset like a failed one."""
    claimed_at = T0 - claimed_ago(lease(app))
    message = queued(
        "notice:claimed", status=OutboxStatus.SENDING, claimed_at=claimed_at, attempts=1
    )

    assert outbox.retry_failed(message) is retried

    row = stored(message.id)
    if retried:
        assert (row.status, row.attempts, row.claimed_at) == (OutboxStatus.PENDING, 0, None)
    else:
        assert (row.status, row.attempts, row.claimed_at) == (OutboxStatus.SENDING, 1, claimed_at)
