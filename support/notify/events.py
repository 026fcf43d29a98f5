"""Who hears about a timeline event, in the app and by email.

A TicketChange hands `dispatch` the events it recorded, after its flush and
before its commit, so notifications and outbox emails are written in the same
transaction as their events: they exist exactly when the events do. Each
function returns the outbox messages it queued; the change enqueues their
delivery after the commit. Nobody is told what they did themselves.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, render_template
from sqlalchemy import select

from support import urls
from support.extensions import db
from support.models import (
    EmailKind,
    EventKind,
    Notification,
    OutboxMessage,
    Role,
    Status,
    SurveyInvite,
    Team,
    Ticket,
    TicketEvent,
    TicketFollower,
    User,
)
from support.notify import inbox, outbox
from support.survey import tokens as survey_tokens
from support.tickets import automation, sla
from support.triage import routing

# Events the customer caused or that have their own email are not echoed back to them.
_NOT_FOR_CUSTOMER = {
    EventKind.CREATED,
    EventKind.ACKNOWLEDGED,
    EventKind.RATED,
    EventKind.FOLLOW_UP_SENT,
    EventKind.LINKED,
}
# Events whose text, when a person made them, is that person's own words to the
# customer (a reply, a workaround, a resolution note): an email with one of them is
# the person writing, not an automatic notice, so it gets no Auto-Submitted header.
# (Merges and escalations carry our wording, and the jobs' events have no actor.)
_PERSONS_WORDS = {
    EventKind.REPLY,
    EventKind.WORKAROUND,
    EventKind.STATUS_CHANGED,
    EventKind.REOPENED,
}


def ticket_url(ticket: Ticket) -> str:
    return urls.external_url("portal.detail", ref=ticket.ref)


def headline(event: TicketEvent) -> str:
    """One sentence saying what happened, for the badge list and the email."""
    who = event.actor.name if event.actor else current_app.config["SITE_NAME"]
    ref = event.ticket.ref
    match event.kind:
        case EventKind.REPLY:
            return f"{who} replied on {ref}."
        case EventKind.WORKAROUND:
            return f"{who} suggested a workaround on {ref}."
        case EventKind.ESCALATED:  # in the customer's terms: no tiers
            return f"News on who is handling {ref}."
        case EventKind.DELAY_NOTICE:
            return f"An update on the timing of {ref}."
        case EventKind.STATUS_CHANGED | EventKind.REOPENED:
            return f"{ref} is now {Status(event.data['to']).label.lower()}."
        case _:
            return f"{ref} was updated ({event.kind.value.replace('_', ' ')})."


def dispatch(events: list[TicketEvent]) -> list[OutboxMessage]:
    """The notifications for one change's events (flushed: their ids key the emails,
    so a retried change never queues one twice). Returns the emails queued.

    The customer gets one email and one badge entry per ticket and change, even
    when one change wrote several events (a reply that also reopened the ticket).
    """
    emails: list[OutboxMessage | None] = []
    for_customer: dict[int, list[TicketEvent]] = {}
    for event in events:
        ticket = event.ticket
        from_customer = event.actor_id == ticket.customer_id
        if event.is_public and not from_customer and event.kind not in _NOT_FOR_CUSTOMER:
            for_customer.setdefault(ticket.id, []).append(event)
        if event.kind == EventKind.ESCALATED:
            emails += _tell_tier(ticket, event)
        elif event.kind == EventKind.ROUTED:
            _tell_routed(ticket, event)
        elif from_customer and ticket.assignee_id:
            _notify(ticket.assignee_id, ticket, event, headline_for_team(event))
    for grouped in for_customer.values():
        emails.append(_tell_customer(grouped[0].ticket, grouped))
        emails += _tell_followers(grouped[0].ticket, grouped)
    return [email for email in emails if email is not None]


def headline_for_team(event: TicketEvent) -> str:
    name = event.actor.name if event.actor else "The customer"
    if event.kind == EventKind.REOPENED:
        return f"{name} reopened {event.ticket.ref}."
    return f"{name} wrote on {event.ticket.ref}."


def _notify(user_id: int, ticket: Ticket, event: TicketEvent, text: str) -> None:
    if user_id == event.actor_id:
        return  # nobody needs telling what they just did
    db.session.add(Notification(user_id=user_id, ticket=ticket, event=event, text=text[:300]))
    inbox.forget_badge()  # this request's count, if kept, no longer holds


def _tell_routed(ticket: Ticket, event: TicketEvent) -> None:
    """Routing's decision: the agent who got the ticket, or else the team it waits in."""
    data = event.data or {}
    if data.get("to") is not None:
        _notify(data["to"], ticket, event, f"{ticket.ref} was routed to you: {ticket.subject}")
    elif data.get("team") is not None and (team := db.session.get(Team, data["team"])):
        text = f"{ticket.ref} is waiting for someone in {team.name}: nobody could take it."
        for member in routing.team_members(team):
            _notify(member.id, ticket, event, text)


def _tell_customer(ticket: Ticket, events: list[TicketEvent]) -> OutboxMessage | None:
    # The most telling event heads the message: a reply says more than a status change.
    lead = next((e for e in events if e.body_text), events[0])
    text = headline(lead)
    _notify(ticket.customer_id, ticket, lead, text)
    return _email_customer(
        ticket,
        key=f"event:{events[0].id}",
        kind=email_kind(events),
        subject=f"[{ticket.ref}] {ticket.subject}",
        template="emails/event.txt",
        events=events,
        headline=headline,
        promise=sla.promise(ticket),
    )


def _tell_followers(ticket: Ticket, events: list[TicketEvent]) -> list[OutboxMessage | None]:
    """People copied on the ticket's email hear of the same public updates by email
    (not of what they wrote themselves)."""
    authors = {event.actor_id for event in events}
    query = (
        select(User)
        .join(TicketFollower, TicketFollower.user_id == User.id)
        .where(TicketFollower.ticket_id == ticket.id, User.is_active)
    )
    emails = []
    for follower in db.session.scalars(query):
        if follower.id in authors:
            continue
        body = render_template(
            "emails/event.txt",
            ticket=ticket,
            reader=follower,
            url=ticket_url(ticket),
            site_name=current_app.config["SITE_NAME"],
            events=events,
            headline=headline,
            promise=sla.promise(ticket),
        )
        emails.append(
            outbox.queue_email(
                key=f"event:{events[0].id}:follower:{follower.id}",
                kind=email_kind(events),
                to=follower.email,
                subject=f"[{ticket.ref}] {ticket.subject}",
                body=body,
                ticket=ticket,
            )
        )
    return emails


def email_kind(events: list[TicketEvent]) -> EmailKind:
    """REPLY when a person's words are in the email (an agent's public reply, workaround
    or status note), else EVENT: a notice about what happened (a bare status change, a
    delay notice, a merge), automatic even when an agent's action caused it."""
    if any(e.kind in _PERSONS_WORDS and e.body_text and e.actor_id for e in events):
        return EmailKind.REPLY
    return EmailKind.EVENT


def _email_customer(
    ticket: Ticket,
    *,
    key: str,
    kind: EmailKind,
    subject: str,
    template: str,
    root: bool = False,
    **context,
) -> OutboxMessage | None:
    """Queue an email to the ticket's customer; every template gets the ticket, its link
    and the site's name."""
    body = render_template(
        template,
        ticket=ticket,
        url=ticket_url(ticket),
        site_name=current_app.config["SITE_NAME"],
        reader=ticket.customer,  # times in the customer's own zone
        **context,
    )
    return outbox.queue_email(
        key=key,
        kind=kind,
        to=ticket.customer.email,
        subject=subject,
        body=body,
        ticket=ticket,
        root=root,
    )


def _tell_tier(ticket: Ticket, event: TicketEvent) -> list[OutboxMessage | None]:
    """Who escalation routing chose to tell (support/triage/routing.py `escalation`): the
    new tier in the team or any team, or the admins when nobody at that tier can take it."""
    data = event.data or {}
    told = data.get("told")
    if told is None:  # an escalation recorded before routing chose whom to tell
        query = select(User).where(
            User.role.in_([Role.AGENT, Role.ADMIN]), User.tier == ticket.tier, User.is_active
        )
        if ticket.team_id is not None:
            query = query.where((User.team_id == ticket.team_id) | (User.team_id.is_(None)))
    else:
        query = select(User).where(User.id.in_(told), User.is_active.is_(True))
    stuck = data.get("scope") == "admins"
    text = (
        f"{ticket.ref} needs tier {ticket.tier}, but nobody at that tier can take it."
        if stuck
        else f"{ticket.ref} was escalated to your tier."
    )
    emails = []
    for agent in db.session.scalars(query.order_by(User.id)):
        _notify(agent.id, ticket, event, text)
        email = outbox.queue_email(
            key=f"escalated:{event.id}:{agent.id}",
            kind=EmailKind.ESCALATION,
            to=agent.email,
            subject=f"[{ticket.ref}] Escalated to tier {ticket.tier}: {ticket.subject}",
            body=render_template(
                "emails/escalated_to_team.txt",
                ticket=ticket,
                event=event,
                stuck=stuck,
                url=urls.external_url("board.ticket", ref=ticket.ref),
                reader=agent,
            ),
            ticket=ticket,
        )
        emails.append(email)
    return emails


def acknowledge(ticket: Ticket) -> OutboxMessage | None:
    """The acknowledgement email: reference, promised first response, what happens next."""
    return _email_customer(
        ticket,
        key=f"ack:{ticket.ref}",
        kind=EmailKind.ACK,
        subject=f"[{ticket.ref}] We received your request: {ticket.subject}",
        template="emails/acknowledgement.txt",
        root=True,
        promise=sla.promise(ticket),
    )


def _ago(delay: timedelta) -> str:
    """FOLLOW_UP_AFTER_HOURS as the customer reads it: "an hour ago", "a day ago", "3 days ago"."""
    hours = int(delay.total_seconds() // 3600)
    if hours and hours % 24 == 0:
        count, unit = hours // 24, "day"
    else:
        count, unit = hours, "hour"
    if count == 1:
        return f"an {unit} ago" if unit == "hour" else f"a {unit} ago"
    return f"{count} {unit}s ago"


def follow_up(ticket: Ticket, invite: SurveyInvite) -> OutboxMessage | None:
    """The post-resolution email: is it still fixed? With the survey link."""
    return _email_customer(
        ticket,
        key=f"follow-up:{ticket.ref}:{invite.resolved_at.isoformat()}",
        kind=EmailKind.FOLLOW_UP,
        subject=f"[{ticket.ref}] Is everything working again?",
        template="emails/follow_up.txt",
        resolved_ago=_ago(automation.follow_up_delay()),
        survey_url=survey_tokens.survey_url(invite),
        expires_at=invite.expires_at,
    )
