"""The one writer of tickets.

Every change to a ticket is a function here, and every function makes its change
through one `TicketChange` (change.py): the version check, the timeline events,
the notifications, the stored due and board columns, the SLA wake-ups, the commit
and the jobs, in that order, in that one file. Callers (views, jobs, CLI, the demo
data) pass the acting person explicitly; nothing here reads the request.

The modules, by concept: `filing` (new tickets and follow-ups), `conversation`
(replies, notes, workarounds, ratings), `status` (status changes, board moves,
reopening, escalation), `assignment` (assignee, category, priority, team, tags),
`merge`, `links` (related tickets), `automatic` (what the background jobs change)
and `anonymise` (privacy: erasure and retention remove a ticket's personal text in
bulk).
"""

from support.tickets.service.anonymise import anonymise, drop_attachments
from support.tickets.service.assignment import UNCHANGED, assign, set_tags, update_fields
from support.tickets.service.automatic import (
    acknowledged,
    auto_close,
    check_sla,
    route_waiting,
    send_follow_up,
)
from support.tickets.service.change import (
    BODY_MAX,
    SUBJECT_MAX,
    TRANSITIONS,
    StaleTicket,
    TicketChange,
    TicketClosed,
    TicketError,
)
from support.tickets.service.conversation import (
    Then,
    customer_reply,
    offer_workaround,
    rate,
    reply,
    respond,
    system_note,
)
from support.tickets.service.filing import open_follow_up, open_ticket
from support.tickets.service.followers import add_followers, follower_ids
from support.tickets.service.links import link, linked_refs
from support.tickets.service.merge import merge
from support.tickets.service.status import (
    change_status,
    escalate,
    move,
    reopen,
    resolve_by_customer,
)

__all__ = [
    "BODY_MAX",
    "SUBJECT_MAX",
    "TRANSITIONS",
    "UNCHANGED",
    "StaleTicket",
    "Then",
    "TicketChange",
    "TicketClosed",
    "TicketError",
    "acknowledged",
    "add_followers",
    "anonymise",
    "assign",
    "auto_close",
    "change_status",
    "check_sla",
    "customer_reply",
    "drop_attachments",
    "escalate",
    "follower_ids",
    "link",
    "linked_refs",
    "merge",
    "move",
    "offer_workaround",
    "open_follow_up",
    "open_ticket",
    "rate",
    "reopen",
    "reply",
    "resolve_by_customer",
    "respond",
    "route_waiting",
    "send_follow_up",
    "set_tags",
    "system_note",
    "update_fields",
]
