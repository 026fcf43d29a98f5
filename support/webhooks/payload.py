"""What a receiver gets: which timeline events go out, and the JSON for each.

    {"id": "event-1234", "event": "ticket.replied", "created_at": "2032-03-01T09:00:00Z",
     "ticket": {...the ticket as it is after the change...},
     "data": {...what changed...}}

Internal notes never go out; assignments do (as ticket.assigned), including routing's
when it gave the ticket to someone.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from support import urls
from support.models import EventKind, Team, Ticket, TicketEvent, User, WebhookEvent

_BY_KIND = {
    EventKind.CREATED: WebhookEvent.TICKET_CREATED,
    EventKind.REPLY: WebhookEvent.TICKET_REPLIED,
    EventKind.STATUS_CHANGED: WebhookEvent.TICKET_STATUS_CHANGED,
    EventKind.REOPENED: WebhookEvent.TICKET_STATUS_CHANGED,
    # An escalation moves the ticket to "escalated" with an event of its own.
    EventKind.ESCALATED: WebhookEvent.TICKET_STATUS_CHANGED,
    EventKind.ASSIGNED: WebhookEvent.TICKET_ASSIGNED,
    EventKind.ROUTED: WebhookEvent.TICKET_ASSIGNED,
    EventKind.RATED: WebhookEvent.SURVEY_ANSWERED,
}


def webhook_event(event: TicketEvent) -> WebhookEvent | None:
    """The webhook event a timeline event is, or None when it does not go out."""
    if event.kind == EventKind.REPLY and not event.is_public:
        return None  # never happens today (private replies are NOTEs), but never send one
    if event.kind == EventKind.ROUTED and (event.data or {}).get("to") is None:
        return None  # routing left it waiting for someone: nobody was assigned
    return _BY_KIND.get(event.kind)


def event_key(event: TicketEvent) -> str:
    """The delivery's key per webhook, and the `id` receivers de-duplicate on."""
    return f"event-{event.id}"


def iso(moment: datetime | None) -> str | None:
    """A naive UTC datetime (how we store them) in ISO 8601 with a Z."""
    return None if moment is None else moment.isoformat(timespec="seconds") + "Z"


def body(event: TicketEvent, kind: WebhookEvent) -> str:
    """The JSON text sent, fixed when the delivery is written."""
    document = {
        "id": event_key(event),
        "event": kind.value,
        "created_at": iso(event.created_at),
        "ticket": ticket_json(event.ticket),
        "data": _data(event, kind),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def _person(user: User | None, *, email: bool = False) -> dict[str, Any] | None:
    if user is None:
        return None
    person: dict[str, Any] = {"id": user.id, "name": user.name}
    if email:
        person["email"] = user.email
    return person


def _author(event: TicketEvent) -> dict[str, Any] | None:
    """Who did it, and as whom: the customer, the support team, or None (the system)."""
    if event.actor is None:
        return None
    role = "customer" if event.actor_id == event.ticket.customer_id else "agent"
    return {**_person(event.actor), "role": role}  # type: ignore[dict-item]


def _team(team: Team | None) -> dict[str, Any] | None:
    return None if team is None else {"id": team.id, "name": team.name}


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    return {
        "ref": ticket.ref,
        "subject": ticket.subject,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "category": ticket.category.slug if ticket.category else None,
        "team": _team(ticket.team),
        "assignee": _person(ticket.assignee),
        "customer": _person(ticket.customer, email=True),
        "channel": ticket.channel.value,
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "url": urls.external_url("portal.detail", ref=ticket.ref),
    }


def _data(event: TicketEvent, kind: WebhookEvent) -> dict[str, Any]:
    data = event.data or {}
    match kind:
        case WebhookEvent.TICKET_CREATED:
            return {"description": event.body_text, "author": _author(event)}
        case WebhookEvent.TICKET_REPLIED:
            return {
                "body": event.body_text,
                "author": _author(event),
                "attachments": [a.filename for a in event.attachments],
            }
        case WebhookEvent.TICKET_STATUS_CHANGED:
            escalated = event.kind == EventKind.ESCALATED
            return {
                "from": str(data.get("from")),
                "to": str(data.get("to")),
                "reopened": event.kind == EventKind.REOPENED,
                "escalated_to_tier": data.get("tier") if escalated else None,
                "by": _author(event),
                "note": event.body_text,
            }
        case WebhookEvent.TICKET_ASSIGNED:
            before, after = data.get("from"), data.get("to")
            return {
                "from": None if before is None else {"id": before, "name": data.get("from_name")},
                "to": None if after is None else {"id": after, "name": data.get("to_name")},
                "by": _author(event),
                "routed": event.kind == EventKind.ROUTED,
                "reason": data.get("reason"),
            }
        case WebhookEvent.SURVEY_ANSWERED:
            return {"score": data.get("score"), "comment": event.body_text}
    return {}
