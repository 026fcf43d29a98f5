"""What a stored message becomes: decided here, written only by the ticket service.

our own mail coming back ............ ignored-automatic
a delivery status notification ..... bounce (no ticket; the address marked bouncing)
automatic mail on a ticket .......... note (out-of-office too: no reopen, SLA or notice)
other automatic mail ................ ignored-automatic
an agent, on a ticket ............... reply (token signed for them, DMARC/SPF not
                                      failing) or note ("unverified sender")
an agent, no ticket ................. quarantined (an agent's email never files one)
the customer, on their ticket ....... reply (follow-up when it is closed)
anyone else ......................... new ticket (an unverified account for an unknown
                                      sender, unless "only known customers"; caps)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from support import clock
from support.extensions import db
from support.mail import addresses
from support.mail.inbound import automatic, parse, quotes, settings, threads
from support.mail.inbound.parse import Mail
from support.models import (
    BouncingAddress,
    EventKind,
    InboundMessage,
    Outcome,
    Role,
    Status,
    Ticket,
    TicketEvent,
    TicketFollower,
    User,
)
from support.models.ticket import Channel
from support.notify import outbox
from support.text import one_line
from support.tickets import attachments, service
from support.tickets.attachments import StoredFile

NO_SUBJECT = "(no subject)"
READ_BYTES = 4 << 20
EMPTY_BODY = "(The email had no text.)"


@dataclass
class Result:
    outcome: Outcome
    reason: str | None = None
    ticket_id: int | None = None
    event_id: int | None = None


def file(message: InboundMessage) -> Result:
    """Decide and file; raises only for what the caller quarantines or retries."""
    mail = _parsed(message)
    if mail.message_id and threads.ours([mail.message_id]):
        return Result(Outcome.IGNORED_AUTOMATIC, "our own Message-ID came back")
    if automatic.is_bounce(mail):
        return _bounce(mail, message)
    sender = mail.from_address
    if not sender:
        return Result(Outcome.QUARANTINED, "no sender: From is missing or unreadable")
    user = _user(sender)
    match = threads.find(mail)
    if match is not None and not _may_see(user, match.ticket):
        match = None  # a reference to someone else's ticket never attaches to it
    why = automatic.why_automatic(mail)
    if why is not None:
        return _automatic(mail, message, match, why)
    _works_again(sender)
    if user is not None and user.is_agent:
        return _from_agent(mail, message, user, match)
    if match is not None and user is not None:
        return _customer_reply(mail, message, user, match)
    return _new_ticket(mail, message, user)


def file_as_new(message: InboundMessage) -> Result:
    """An admin's "file as a new ticket": no threading, caps or known-customer rule."""
    mail = _parsed(message)
    if not mail.from_address:
        return Result(Outcome.QUARANTINED, "no sender: From is missing or unreadable")
    user = _user(mail.from_address)
    if user is not None and user.is_agent:
        return Result(Outcome.QUARANTINED, "an agent's email never files a ticket")
    return _new_ticket(mail, message, user, checked=False)


def attach_to(message: InboundMessage, ticket: Ticket, actor: User) -> Result:
    """An admin's "attach to ticket": the ticket's customer's reply, else an internal note."""
    mail = _parsed(message)
    user = _user(mail.from_address) if mail.from_address else None
    if user is not None and user.id == ticket.customer_id:
        match = threads.Match(ticket, "admin")
        return _customer_reply(mail, message, user, match)
    body, data = _body(mail, message, verified=False)
    data["email"]["attached_by"] = actor.name
    sender = mail.from_address or "an unknown sender"
    event = service.system_note(
        ticket,
        body=f"Email from {sender}, attached by {actor.name}:\n\n{body}",
        data=data,
        files=_files(mail),
        client_token=_token(message),
    )
    return Result(Outcome.NOTE, f"{ticket.ref} attached by {actor.name}", ticket.id, event.id)


def _parsed(message: InboundMessage) -> Mail:
    """The message parsed from its raw bytes, read from the database a slice at a time:
    a 25 MB message is never held whole next to what the parser makes of it."""
    return parse.parse(_raw_slices(message))


def _raw_slices(message: InboundMessage) -> Iterator[bytes]:
    raw = InboundMessage.raw
    for start in range(0, max(message.size, 1), READ_BYTES):
        query = select(func.substr(raw, start + 1, READ_BYTES)).where(
            InboundMessage.id == message.id
        )
        data = db.session.scalar(query)
        if not data:
            return
        yield bytes(data)


# --- who the sender is ---------------------------------------------------------------


def _user(address: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == address.lower()))


def _may_see(user: User | None, ticket: Ticket) -> bool:
    if user is None or not user.is_active:
        return False
    if user.is_agent or ticket.customer_id == user.id:
        return True
    follower = select(TicketFollower.id).where(
        TicketFollower.ticket_id == ticket.id, TicketFollower.user_id == user.id
    )
    return db.session.scalar(follower) is not None


def _unverified_customer(address: str, name: str = "") -> User:
    """An account for an unknown sender: a customer nobody can sign in as until its
    owner sets a password ("forgot password" claims it)."""
    name = name or address.split("@")[0]
    user = User(email=address, name=one_line(name)[:120] or address, role=Role.CUSTOMER)
    user.leave_unclaimed()
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:  # made by a concurrent filing of another message
        db.session.rollback()
        found = _user(address)
        if found is None:
            raise
        return found
    return user


def _auth_failed(mail: Mail) -> str | None:
    """ "dmarc=fail" or "spf=fail" in Authentication-Results (RFC 8601), if present."""
    for value in mail.headers("Authentication-Results"):
        for check in ("dmarc", "spf"):
            if f"{check}=fail" in value.lower().replace(" ", ""):
                return f"{check} failed"
    return None


def _token_ok(match: threads.Match | None, sender: str) -> bool:
    if match is None or not match.signature:
        return False
    return addresses.verify(match.ticket.ref, match.signature, sender)


# --- the body, its files -------------------------------------------------------------


def _body(mail: Mail, message: InboundMessage, *, verified: bool) -> tuple[str, dict[str, Any]]:
    visible, rest = quotes.split(mail.text)
    body = visible.strip() or EMPTY_BODY
    if len(body) > service.BODY_MAX:
        rest = body[service.BODY_MAX - 200 :] + "\n" + rest
        body = body[: service.BODY_MAX - 200] + "\n\n[… the rest is in the original email]"
    data: dict[str, Any] = {
        "email": {
            "inbound_id": message.id,
            "from": mail.from_address,
            "verified": verified,
            "quoted": rest[:200_000] or None,
            "skipped": mail.skipped or None,
        }
    }
    return body, data


def _files(mail: Mail) -> list[StoredFile]:
    return [attachments.store_bytes(part.filename, part.data) for part in mail.attachments]


def _token(message: InboundMessage) -> str:
    return f"mail:{message.id}"


def _subject(mail: Mail) -> str:
    subject = one_line(mail.subject or "").strip() or NO_SUBJECT
    return subject[: service.SUBJECT_MAX]


# --- outcomes ------------------------------------------------------------------------


def _bounce(mail: Mail, message: InboundMessage) -> Result:
    failed = automatic.bounced_recipients(mail)
    now = clock.now()
    for address, diagnostic in failed:
        row = db.session.scalar(select(BouncingAddress).where(BouncingAddress.address == address))
        if row is None:
            row = BouncingAddress(address=address, since=now)
            db.session.add(row)
        row.last_bounce_at, row.reason, row.inbound_id = now, diagnostic[:2000], message.id
    db.session.commit()
    names = ", ".join(address for address, _ in failed) or "no failed recipient named"
    return Result(Outcome.BOUNCE, f"bouncing: {names}")


def _works_again(address: str) -> None:
    """A person wrote from this address: mail to it works again."""
    db.session.execute(delete(BouncingAddress).where(BouncingAddress.address == address))


def _automatic(
    mail: Mail, message: InboundMessage, match: threads.Match | None, why: str
) -> Result:
    """Never answered: a note on a ticket it belongs to (no reopen, SLA reset or notice)."""
    if match is None:
        return Result(Outcome.IGNORED_AUTOMATIC, why)
    label = "out-of-office reply" if automatic.is_out_of_office(mail) else "automatic email"
    body, data = _body(mail, message, verified=False)
    data["email"]["automatic"] = why
    event = service.system_note(
        match.ticket,
        body=f"{label.capitalize()} from {mail.from_address}:\n\n{body}",
        data=data,
        client_token=_token(message),
    )
    return Result(Outcome.NOTE, f"{match.ticket.ref} {label} ({why})", match.ticket.id, event.id)


def _from_agent(
    mail: Mail, message: InboundMessage, agent: User, match: threads.Match | None
) -> Result:
    if match is None:
        return Result(Outcome.QUARANTINED, "an agent's email never files a ticket")
    ticket = match.ticket
    failed = _auth_failed(mail)
    open_ = ticket.status != Status.CLOSED
    if _token_ok(match, agent.email) and failed is None and open_:
        body, data = _body(mail, message, verified=True)
        event = service.reply(
            ticket,
            author=agent,
            body=body,
            files=_files(mail),
            client_token=_token(message),
            data=data,
        )
        return Result(Outcome.REPLY, ticket.ref, ticket.id, event.id)
    why = failed or ("the ticket is closed" if _token_ok(match, agent.email) else None)
    why = why or "no reply token signed for this agent"
    body, data = _body(mail, message, verified=False)
    data["email"]["unverified_sender"] = why
    event = service.system_note(
        ticket,
        body=f"Email from {mail.from_address} (unverified sender: {why}):\n\n{body}",
        data=data,
        files=_files(mail),
        client_token=_token(message),
    )
    return Result(Outcome.NOTE, f"{ticket.ref} unverified sender: {why}", ticket.id, event.id)


def _customer_reply(
    mail: Mail, message: InboundMessage, user: User, match: threads.Match
) -> Result:
    ticket = match.ticket
    body, data = _body(mail, message, verified=_token_ok(match, user.email))
    landed = service.customer_reply(
        ticket,
        customer=user,
        body=body,
        files=_files(mail),
        client_token=_token(message),
        data=data,
    )
    _follow_cc(mail, landed, settings.current())
    # A follow-up is a ticket this message opened (a reply to a closed ticket).
    opened = landed.id != ticket.id and landed.client_token == _token(message)
    outcome = Outcome.FOLLOW_UP if opened else Outcome.REPLY
    event_id = _event_of(landed, message)
    verified = "" if data["email"]["verified"] else " (unverified)"
    return Result(outcome, landed.ref + verified, landed.id, event_id)


def _event_of(ticket: Ticket, message: InboundMessage) -> int | None:
    """The event the message became: its reply, or the "created" event of its ticket."""
    return db.session.scalar(
        select(TicketEvent.id)
        .where(
            TicketEvent.ticket_id == ticket.id,
            (TicketEvent.client_token == _token(message)) | (TicketEvent.kind == EventKind.CREATED),
        )
        .order_by(TicketEvent.client_token.is_(None), TicketEvent.id)
        .limit(1)
    )


def _new_ticket(
    mail: Mail, message: InboundMessage, user: User | None, *, checked: bool = True
) -> Result:
    sender = mail.from_address or ""
    rules = settings.current()
    if checked and user is None and rules.only_known_customers:
        return Result(Outcome.QUARANTINED, "unknown sender (only known customers may write)")
    if checked and _over(sender, rules.max_new_tickets_per_hour, acknowledged=False):
        cap = rules.max_new_tickets_per_hour
        return Result(Outcome.QUARANTINED, f"over the cap of {cap} new tickets per hour")
    if checked and _over(sender, rules.max_acknowledgements_per_hour, acknowledged=True):
        # We would answer once more: a looping auto-responder stops here, kept for an admin.
        cap = rules.max_acknowledgements_per_hour
        return Result(Outcome.QUARANTINED, f"over the cap of {cap} acknowledgements per hour")
    not_acked = _why_not_acknowledged(sender, rules)
    customer = user or _unverified_customer(sender, mail.from_name)
    body, data = _body(mail, message, verified=False)
    data["email"]["verified"] = None  # nothing to verify on a first message
    ticket = service.open_ticket(
        customer=customer,
        subject=_subject(mail),
        description=body,
        channel=Channel.EMAIL,
        files=_files(mail),
        client_token=_token(message),
        data=data,
        acknowledge=not_acked is None,
    )
    _follow_cc(mail, ticket, rules)
    detail = "acknowledged" if not_acked is None else f"not acknowledged: {not_acked}"
    return Result(Outcome.NEW, f"{ticket.ref} {detail}", ticket.id, _event_of(ticket, message))


def _follow_cc(mail: Mail, ticket: Ticket, rules: settings.Rules) -> None:
    """People in Cc follow the ticket (an unverified account for an unknown address,
    unless only known customers may write); never our own addresses."""
    ours = addresses.mailbox_domain()
    people = []
    for address in mail.cc:
        if address == mail.from_address or address.rpartition("@")[2] == ours:
            continue
        user = _user(address)
        if user is None and not rules.only_known_customers:
            user = _unverified_customer(address)
        if user is not None:
            people.append(user)
    service.add_followers(ticket, people)


def _over(sender: str, cap: int, *, acknowledged: bool) -> bool:
    if cap <= 0:
        return False
    since = clock.now() - timedelta(hours=1)
    query = select(func.count(InboundMessage.id)).where(
        InboundMessage.from_address == sender,
        InboundMessage.outcome == Outcome.NEW,
        InboundMessage.filed_at >= since,
    )
    if acknowledged:
        query = query.where(InboundMessage.reason.like("% acknowledged"))
    return (db.session.scalar(query) or 0) >= cap


def _why_not_acknowledged(sender: str, rules: settings.Rules) -> str | None:
    """Filed but not answered: mail to the address bounces, or an admin filed it past
    the acknowledgement cap ("file as new" skips the caps, not the cap's silence)."""
    if outbox.is_bouncing(sender):
        return "the address is bouncing"
    if _over(sender, rules.max_acknowledgements_per_hour, acknowledged=True):
        return f"over the cap of {rules.max_acknowledgements_per_hour} acknowledgements per hour"
    return None
