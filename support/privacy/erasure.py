""" "Erase my data": the customer asks, an admin confirms (or starts it), a job does it.

What goes: their name and email (a tombstone, "Deleted customer 4821", stays so
tickets keep their status, times, category and rating), every ticket's text and
attachments (through the ticket service), and everything in `stores.ERASERS`.
Agents and admins are refused (deactivate them instead); erasing twice does nothing.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select

from support import clock
from support.extensions import db
from support.jobs import queue
from support.models import ErasureRequest, ErasureState, Ticket, User
from support.privacy import audit, stores
from support.privacy.audit import Action
from support.tickets import search, service

JOB = "support.privacy.jobs.erase"
BATCH = 200
OPEN_STATES = (ErasureState.REQUESTED, ErasureState.RUNNING)


class ErasureError(Exception):
    """An erasure that can't be asked for or started; the message is for the reader."""


def tombstone_name(user_id: int) -> str:
    return f"Deleted customer {user_id}"


def tombstone_email(user_id: int) -> str:
    # .invalid never resolves (RFC 2606): no email can reach a tombstone.
    return f"deleted-{user_id}@erased.invalid"


def _check_erasable(customer: User) -> None:
    if customer.is_agent:
        raise ErasureError(
            f"{customer.name} works tickets ({customer.role.value}); staff accounts aren't "
            "erased. Deactivate them at Admin → People instead."
        )


def open_request(customer: User) -> ErasureRequest | None:
    return db.session.scalar(
        select(ErasureRequest)
        .where(ErasureRequest.customer_id == customer.id, ErasureRequest.state.in_(OPEN_STATES))
        .order_by(ErasureRequest.id.desc())
        .limit(1)
    )


def is_running(customer: User) -> bool:
    return is_running_for(customer.id)


def is_running_for(customer_id: int) -> bool:
    return bool(
        db.session.scalar(
            select(ErasureRequest.id)
            .where(
                ErasureRequest.customer_id == customer_id,
                ErasureRequest.state == ErasureState.RUNNING,
            )
            .limit(1)
        )
    )


def ask(customer: User, *, by: User, address: str | None = None) -> ErasureRequest | None:
    """The customer's request (or an admin's, before confirming). An open request is
    returned as it is; an already erased account gives None (nothing left to erase)."""
    _check_erasable(customer)
    if customer.erased_at is not None:
        return None
    if (existing := open_request(customer)) is not None:
        return existing
    request = ErasureRequest(
        customer_id=customer.id, requested_by_id=by.id, requested_at=clock.now()
    )
    db.session.add(request)
    db.session.flush()
    audit.record(
        Action.ERASURE_REQUESTED, by, customer, {"request": request.id}, address, commit=False
    )
    db.session.commit()
    return request


def confirm(request: ErasureRequest, *, by: User, address: str | None = None) -> ErasureRequest:
    """An admin's go-ahead: the job is queued after the commit. Confirming a request
    that is already running or done changes nothing."""
    if not by.is_admin:
        raise ErasureError("Only an admin can confirm an erasure.")
    _check_erasable(request.customer)
    if request.state != ErasureState.REQUESTED:
        return request
    request.state = ErasureState.RUNNING
    request.confirmed_by_id = by.id
    request.confirmed_at = clock.now()
    audit.record(
        Action.ERASURE_CONFIRMED,
        by,
        request.customer,
        {"request": request.id},
        address,
        commit=False,
    )
    queue.after_commit(JOB, request.id, job_id=f"erase-{request.id}")
    db.session.commit()
    return request


def start(customer: User, *, by: User, address: str | None = None) -> ErasureRequest | None:
    """An admin erases a customer directly: ask and confirm in one go."""
    request = ask(customer, by=by, address=address)
    return confirm(request, by=by, address=address) if request is not None else None


def cancel(request: ErasureRequest, *, by: User, address: str | None = None) -> None:
    """The customer changes their mind, or an admin declines; only before it runs."""
    if request.state != ErasureState.REQUESTED:
        raise ErasureError("This erasure has already started and can't be cancelled.")
    request.state = ErasureState.CANCELLED
    request.finished_at = clock.now()
    audit.record(
        Action.ERASURE_CANCELLED,
        by,
        request.customer,
        {"request": request.id},
        address,
        commit=False,
    )
    db.session.commit()


def run(request_id: int) -> str:
    """The job: erase, in batches of tickets, then the account. Safe to run again."""
    request = db.session.get(ErasureRequest, request_id)
    if request is None or request.state != ErasureState.RUNNING:
        return "nothing to do"
    customer = request.customer
    _check_erasable(customer)
    words = [customer.name, customer.email]
    ticket_count = 0
    for batch in _ticket_batches(customer.id):
        ticket_count += service.anonymise(batch, reason="erasure", extra_words=words)
    all_tickets = list(
        db.session.scalars(select(Ticket.id).where(Ticket.customer_id == customer.id))
    )
    for _name, eraser in stores.ERASERS:
        eraser(customer, all_tickets)
    _tombstone(customer)
    db.session.flush()
    search.refresh_customer(db.session.connection(), customer.id)  # name and email gone
    request.state = ErasureState.DONE
    request.finished_at = clock.now()
    actor = db.session.get(User, request.confirmed_by_id) if request.confirmed_by_id else None
    audit.record(
        Action.ERASED,
        actor,
        customer,
        {"request": request.id, "tickets": ticket_count},
        commit=False,
    )
    db.session.commit()
    return f"erased customer {customer.id}: {ticket_count} tickets"


def _ticket_batches(customer_id: int):
    after = 0
    while ids := list(
        db.session.scalars(
            select(Ticket.id)
            .where(Ticket.customer_id == customer_id, Ticket.id > after)
            .order_by(Ticket.id)
            .limit(BATCH)
        )
    ):
        yield ids
        after = ids[-1]


def _tombstone(customer: User) -> None:
    customer.name = tombstone_name(customer.id)
    customer.email = tombstone_email(customer.id)
    customer.set_password(secrets.token_urlsafe(32))  # nobody knows it: no sign-in
    customer.is_active = False
    customer.end_sessions()
    customer.erased_at = clock.now()


def recent(limit: int = 50) -> list[ErasureRequest]:
    return list(
        db.session.scalars(select(ErasureRequest).order_by(ErasureRequest.id.desc()).limit(limit))
    )
