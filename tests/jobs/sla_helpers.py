"""Shared by the SLA and escalation tests: a fixed start time and timeline look-ups."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from support.extensions import db
from support.jobs import queue
from support.models import EventKind, Notification, Ticket, TicketEvent

T0 = datetime(2032, 3, 1, 9, 0)  # a Monday; normal priority: 8 h / 24 h / 72 h
HOUR = timedelta(hours=1)


def kinds(ticket: Ticket) -> list[EventKind]:
    query = select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id)
    return list(db.session.scalars(query.order_by(TicketEvent.id)))


def events_of(ticket: Ticket, kind: EventKind) -> list[TicketEvent]:
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == kind)
    return list(db.session.scalars(query.order_by(TicketEvent.id)))


def notifications_for(user) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id)
    return list(db.session.scalars(query.order_by(Notification.id)))


def scheduled_times(app) -> list[datetime]:
    registry = queue.queue(app).scheduled_job_registry
    return sorted(
        registry.get_scheduled_time(job_id).replace(tzinfo=None)
        for job_id in registry.get_job_ids()
    )


def page_of(client, auth, user, ticket: Ticket) -> str:
    auth.logout()
    auth.login(user)
    response = client.get(f"/tickets/{ticket.ref}")
    assert response.status_code == 200
    return response.get_data(as_text=True)
