"""The one writer of tickets.

Every change to a ticket goes through a function of this package, which writes
the matching timeline event in the same transaction and commits. Callers
(views, jobs, CLI) pass the acting user explicitly; nothing here reads the
request. The modules: `core` (events, files, commit, status rules),
`conversation` (what customers and agents say and decide), `board` (agents'
edits from the board), `automatic` (what the background jobs change).
"""

from support.tickets.service.automatic import (
    acknowledged,
    auto_close,
    check_sla,
    route_waiting,
    send_follow_up,
)
from support.tickets.service.board import (
    UNCHANGED,
    assign,
    merge,
    move,
    offer_workaround,
    update_fields,
)
from support.tickets.service.conversation import (
    change_status,
    customer_reply,
    escalate,
    open_follow_up,
    open_ticket,
    rate,
    reopen,
    reply,
    resolve_by_customer,
)
from support.tickets.service.core import (
    BODY_MAX,
    SUBJECT_MAX,
    TRANSITIONS,
    StaleTicket,
    TicketClosed,
    TicketError,
)

__all__ = [
    "BODY_MAX",
    "SUBJECT_MAX",
    "TRANSITIONS",
    "UNCHANGED",
    "StaleTicket",
    "TicketClosed",
    "TicketError",
    "acknowledged",
    "assign",
    "auto_close",
    "change_status",
    "check_sla",
    "customer_reply",
    "escalate",
    "merge",
    "move",
    "offer_workaround",
    "open_follow_up",
    "open_ticket",
    "rate",
    "reopen",
    "reply",
    "resolve_by_customer",
    "route_waiting",
    "send_follow_up",
    "update_fields",
]
