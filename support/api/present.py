"""Models to API bodies: one function per shape, used by every route that returns it."""

from __future__ import annotations

from support.api import schemas as s
from support.api.schemas import utc
from support.models import Attachment, Team, Ticket, TicketEvent, User
from support.tickets.timeline import TimelinePage
from support.urls import external_url


def person(user: User | None) -> s.PersonOut | None:
    return s.PersonOut(id=user.id, name=user.name) if user is not None else None


def customer(user: User) -> s.CustomerOut:
    return s.CustomerOut(
        id=user.id, name=user.name, email=user.email, created_at=utc(user.created_at)
    )


def team(team: Team | None) -> s.TeamOut | None:
    return s.TeamOut(id=team.id, name=team.name) if team is not None else None


def _ticket_fields(ticket: Ticket) -> dict:
    return {
        "ref": ticket.ref,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "impact": ticket.impact,
        "channel": ticket.channel.value,
        "category": ticket.category.slug if ticket.category else None,
        "team": team(ticket.team),
        "assignee": person(ticket.assignee),
        "customer": customer(ticket.customer),
        "tags": [tag.name for tag in ticket.tags],
        "tier": ticket.tier,
        "created_at": utc(ticket.created_at),
        "updated_at": utc(ticket.updated_at),
        "next_due_at": utc(ticket.next_due_at),
        "version": ticket.version,
        "url": external_url("api.read_ticket", ref=ticket.ref),
        "web_url": external_url("board.ticket", ref=ticket.ref),
    }


def ticket(ticket: Ticket) -> s.TicketOut:
    return s.TicketOut(**_ticket_fields(ticket))


def ticket_detail(ticket: Ticket, page: TimelinePage) -> s.TicketDetailOut:
    return s.TicketDetailOut(
        **_ticket_fields(ticket),
        description=ticket.description,
        first_response_due=utc(ticket.first_response_due),
        resolution_due=utc(ticket.resolution_due),
        first_responded_at=utc(ticket.first_responded_at),
        resolved_at=utc(ticket.resolved_at),
        closed_at=utc(ticket.closed_at),
        parent=ticket.parent.ref if ticket.parent else None,
        merged_into=ticket.merged_into.ref if ticket.merged_into else None,
        events=[event(e) for e in page.events],
        earlier_events=page.earlier_before is not None,
    )


def event(event: TicketEvent) -> s.EventOut:
    return s.EventOut(
        id=event.id,
        kind=event.kind.value,
        public=event.is_public,
        author=person(event.actor),
        body=event.body_text,
        data=event.data,
        created_at=utc(event.created_at),
        ticket=event.ticket.ref,
        attachments=[attachment(a, event.ticket.ref) for a in event.attachments],
    )


def attachment(attachment: Attachment, ref: str) -> s.AttachmentOut:
    return s.AttachmentOut(
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        url=external_url("api.download", ref=ref, attachment_id=attachment.id),
    )
