"""/api/v1/tickets: list, file, read, reply, note, change, download. Every write is a
call of the ticket service, with the token's owner as the actor."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from typing import Any

from flask import Response, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from support import clock
from support.api import present
from support.api import schemas as s
from support.api.blueprint import bp, current_user
from support.api.problems import Problem
from support.api.spec import responses, spec
from support.board.queries import BoardFilters, conditions
from support.extensions import db
from support.models import Attachment, Category, Role, Team, Ticket, User
from support.models.ticket import Channel
from support.tickets import permissions, service, timeline
from support.tickets import tags as tag_names
from support.tickets.service.change import check_transition
from support.web import send_attachment

TAG = "Tickets"
IDEMPOTENCY_KEY_MAX = 255


# --- reading -----------------------------------------------------------------------------


@bp.get("/tickets")
@spec.validate(query=s.TicketQuery, resp=responses(200, s.TicketList, 422), tags=[TAG])
def list_tickets(query: s.TicketQuery) -> Any:
    """List tickets, newest first

    The board's filters (`mine`, `unassigned`, `team`, `category`, `priority`,
    `overdue`, `q`) plus `status` (repeatable), `customer` and `tag`. Page with the
    `next_cursor` of the previous answer; it is null on the last page.
    """
    user = current_user()
    filters = BoardFilters(
        mine=query.mine,
        unassigned=query.unassigned,
        team=query.team,
        category=query.category,
        priority=query.priority,
        overdue=query.overdue,
        q=query.q.strip(),
        tag=_tag(query.tag) if query.tag else None,
    )
    statement = permissions.visible_tickets(user).where(*conditions(filters, user, clock.now()))
    if query.status:
        statement = statement.where(Ticket.status.in_(query.status))
    if query.assignee is not None:
        statement = statement.where(Ticket.assignee_id == query.assignee)
    if query.customer is not None:
        statement = statement.where(Ticket.customer_id == query.customer)
    if query.cursor:
        statement = statement.where(Ticket.id < _cursor_id(query.cursor))
    rows = list(
        db.session.scalars(
            statement.options(*_summary_loads()).order_by(Ticket.id.desc()).limit(query.limit + 1)
        )
    )
    page = rows[: query.limit]
    next_cursor = _cursor(page[-1].id) if len(rows) > query.limit else None
    return s.TicketList(items=[present.ticket(t) for t in page], next_cursor=next_cursor)


def _summary_loads() -> list[Any]:
    return [
        joinedload(Ticket.customer),
        joinedload(Ticket.assignee),
        joinedload(Ticket.team),
        joinedload(Ticket.category),
        selectinload(Ticket.tags),
    ]


def _tag(name: str) -> str:
    try:
        return tag_names.normalise(name)
    except tag_names.BadTag as exc:
        raise Problem(422, str(exc), errors=[{"field": "tag", "message": str(exc)}]) from None


def _cursor(ticket_id: int) -> str:
    return base64.urlsafe_b64encode(f"t{ticket_id}".encode()).decode().rstrip("=")


def _cursor_id(cursor: str) -> int:
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError):  # not base64, or not ASCII at all
        decoded = ""
    if not (decoded.startswith("t") and decoded[1:].isascii() and decoded[1:].isdigit()):
        raise Problem(422, "This cursor is not one we gave out: start again without it.")
    return int(decoded[1:])


@bp.get("/tickets/<ref>")
@spec.validate(query=s.TicketReadQuery, resp=responses(200, s.TicketDetailOut, 422), tags=[TAG])
def read_ticket(ref: str, query: s.TicketReadQuery) -> Any:
    """Read a ticket with its timeline

    The newest `events_limit` events the token's owner may see, oldest first (agents
    see internal notes). The `ETag` is the ticket's version: send it back in
    `If-Match` when you change the ticket.
    """
    ticket = _visible(ref)
    page = timeline.latest(ticket, current_user(), limit=query.events_limit)
    return present.ticket_detail(ticket, page), 200, _etag(ticket)


def _visible(ref: str) -> Ticket:
    ticket = permissions.find_visible_ticket(current_user(), ref)
    if ticket is None:
        raise Problem(404, f"No ticket {ref[:20]} that this token may see.")
    return ticket


def _etag(ticket: Ticket) -> dict[str, str]:
    return {"ETag": f'"{ticket.version}"'}


@bp.get("/tickets/<ref>/attachments/<int:attachment_id>")
@spec.validate(resp=responses(200, None), tags=[TAG])
def download(ref: str, attachment_id: int) -> Response:
    """Download an attachment"""
    ticket = _visible(ref)
    attachment = db.session.get(Attachment, attachment_id)
    if (
        attachment is None
        or attachment.ticket_id != ticket.id
        or not permissions.can_read_attachment(current_user(), attachment)
    ):
        raise Problem(404, "No such attachment on this ticket.")
    return send_attachment(attachment)


# --- writing -----------------------------------------------------------------------------


@bp.post("/tickets")
@spec.validate(json=s.TicketIn, resp=responses(201, s.TicketOut, 403, 409, 415, 422), tags=[TAG])
def create_ticket(json: s.TicketIn) -> Any:
    """File a ticket for a customer

    Triage, routing, SLA and the acknowledgement email work as for a ticket filed in
    the portal; the channel is `api`. Send an `Idempotency-Key` header: a retried
    request with the same key answers with the ticket the first one filed.
    """
    actor = _agent()
    customer = _customer(json)
    category = _category(json.category) if json.category else None
    token = _client_token(actor)
    if token and (earlier := _filed_with(token)):
        if earlier.customer_id != customer.id or earlier.subject != json.subject.strip():
            raise Problem(422, "This Idempotency-Key was used for a different request.")
        return present.ticket(earlier), 201, {**_etag(earlier), "Idempotent-Replayed": "true"}
    ticket = service.open_ticket(
        customer=customer,
        subject=json.subject,
        description=json.description,
        category=category,
        impact=json.impact,
        channel=Channel.API,
        client_token=token,
    )
    headers = {**_etag(ticket), "Location": present.ticket(ticket).url}
    return present.ticket(ticket), 201, headers


def _agent() -> User:
    user = current_user()
    if not user.is_agent:  # tokens are for agents only; belt and braces
        raise Problem(403, "Only agents can do this.")
    return user


def _customer(body: s.TicketIn) -> User:
    if body.customer_id is not None:
        found = db.session.get(User, body.customer_id)
        field = "customer_id"
    else:
        email = str(body.customer_email).strip().lower()
        found = db.session.scalar(select(User).where(User.email == email))
        field = "customer_email"
    if found is None or found.role != Role.CUSTOMER or not found.is_active:
        message = "No active customer with this id or email; create one at POST /api/v1/customers."
        raise Problem(422, message, errors=[{"field": field, "message": message}])
    return found


def _category(slug: str) -> Category:
    category = db.session.scalar(select(Category).where(Category.slug == slug))
    if category is None or not category.is_active:
        message = f"No category “{slug}”."
        raise Problem(422, message, errors=[{"field": "category", "message": message}])
    return category


def _client_token(actor: User) -> str | None:
    """The service's double-submit token for this caller's Idempotency-Key, if any."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return None
    if len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise Problem(
            400, f"An Idempotency-Key is 1 to {IDEMPOTENCY_KEY_MAX} printable characters."
        )
    return "api-" + hashlib.sha256(f"{actor.id}:{key}".encode()).hexdigest()[:56]


def _filed_with(token: str) -> Ticket | None:
    return db.session.scalar(select(Ticket).where(Ticket.client_token == token).limit(1))


def _check_if_match(ticket: Ticket) -> int | None:
    """The version an `If-Match` header names (None without one); 412 if it is old."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    wanted = header.strip().removeprefix("W/").strip('"')
    if not (wanted.isascii() and wanted.isdigit()) or int(wanted) != ticket.version:
        raise Problem(
            412,
            f"{ticket.ref} has changed since you read it (version {ticket.version} now): "
            "read it again, then retry.",
            headers=_etag(ticket),
        )
    return ticket.version


def _message(ref: str, body: str, *, public: bool) -> Any:
    author = _agent()
    ticket = _visible(ref)
    _check_if_match(ticket)
    event = service.reply(
        ticket,
        author=author,
        body=body,
        public=public,
        client_token=_client_token(author),
    )
    return present.event(event), 201, _etag(ticket)


@bp.post("/tickets/<ref>/replies")
@spec.validate(
    json=s.MessageIn, resp=responses(201, s.EventOut, 403, 409, 412, 415, 422), tags=[TAG]
)
def reply(ref: str, json: s.MessageIn) -> Any:
    """Reply to the customer

    A public reply, emailed to the customer; an agent's first reply meets the
    first-response target. `If-Match` and `Idempotency-Key` are honoured.
    """
    return _message(ref, json.body, public=True)


@bp.post("/tickets/<ref>/notes")
@spec.validate(
    json=s.MessageIn, resp=responses(201, s.EventOut, 403, 409, 412, 415, 422), tags=[TAG]
)
def note(ref: str, json: s.MessageIn) -> Any:
    """Add an internal note

    Seen by the support team only, never by the customer.
    """
    return _message(ref, json.body, public=False)


@bp.patch("/tickets/<ref>")
@spec.validate(
    json=s.TicketChangeIn,
    resp=responses(200, s.TicketOut, 403, 409, 412, 415, 422),
    tags=[TAG],
)
def change_ticket(ref: str, json: s.TicketChangeIn) -> Any:
    """Change status, priority, category, team, assignee or tags

    Fields left out stay as they are; `null` clears category, team or assignee.
    Everything is checked before anything is written, so a refused field changes
    nothing. With `If-Match`, a ticket changed since you read it answers 412.
    """
    actor = _agent()
    ticket = _visible(ref)
    version = _check_if_match(ticket)
    for write in _planned_writes(ticket, json, actor):
        write(version)
        version = ticket.version if version is not None else None
    return present.ticket(ticket), 200, _etag(ticket)


Write = Callable[[int | None], Any]


def _planned_writes(ticket: Ticket, body: s.TicketChangeIn, actor: User) -> list[Write]:
    """Every field checked first (a 422 names each bad one), then one write per service."""
    given = body.model_fields_set
    errors: list[dict[str, str]] = []
    fields: dict[str, Any] = {}
    if "priority" in given and body.priority is not None:
        fields["priority"] = body.priority
    if "category" in given:
        fields["category"] = _lookup(errors, "category", body.category, _category_or_none)
    if "team" in given:
        fields["team"] = _lookup(errors, "team", body.team, _team_or_none)
    assignee = (
        _lookup(errors, "assignee", body.assignee, _agent_or_none) if "assignee" in given else None
    )
    names: list[str] | None = None
    if body.tags is not None:
        try:
            names = tag_names.parse(body.tags)
        except tag_names.BadTag as exc:
            errors.append({"field": "tags", "message": str(exc)})
    if body.status is not None and body.status != ticket.status:
        try:
            check_transition(ticket, body.status)
        except service.TicketError as exc:
            errors.append({"field": "status", "message": str(exc)})
    if errors:
        raise Problem(422, "Nothing was changed: some fields are not valid.", errors=errors)

    writes: list[Write] = []
    if fields:
        writes.append(
            lambda v: service.update_fields(ticket, actor=actor, expected_version=v, **fields)
        )
    if "assignee" in given:
        writes.append(
            lambda v: service.assign(ticket, actor=actor, assignee=assignee, expected_version=v)
        )
    if names is not None:
        writes.append(lambda v: service.set_tags(ticket, names, actor=actor, expected_version=v))
    if body.status is not None:
        writes.append(
            lambda v: service.change_status(
                ticket, body.status, actor=actor, note=body.status_note, expected_version=v
            )
        )
    return writes


def _lookup(
    errors: list[dict[str, str]], field: str, value: Any, find: Callable[[Any], Any]
) -> Any:
    """`find(value)` (None stays None); a value that finds nothing is a field error."""
    if value is None:
        return None
    found = find(value)
    if found is None:
        errors.append({"field": field, "message": f"No {field} “{value}”."})
    return found


def _category_or_none(slug: str) -> Category | None:
    category = db.session.scalar(select(Category).where(Category.slug == slug))
    return category if category is not None and category.is_active else None


def _team_or_none(team_id: int) -> Team | None:
    return db.session.get(Team, team_id)


def _agent_or_none(user_id: int) -> User | None:
    user = db.session.get(User, user_id)
    return user if user is not None and user.is_agent and user.is_active else None
