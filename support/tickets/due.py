"""Two facts stored on each ticket so lists read them instead of working them out.

A column shows its first cards by sort key and counts the overdue ones. Worked out
in SQL for every ticket on every board request, the key and the due time cost more
than the rest of the board's query; stored and indexed (ix_tickets_board), a
column reads its first 25 index entries and stops.

- `next_due_at`: the soonest SLA target (promise or resolution), as sla.next_due
  computes it while the clock runs.
- `board_sort_key`: the card's own `board_position` once an agent has dragged it,
  else `next_due_at` in seconds since 1970, else NO_DUE (last).

A TicketChange (support/tickets/service/change.py) sets both on its ticket with
`fill()` when the ticket's `inputs()` moved, in the statement that writes it, and
has `refresh()` work them out in SQL for the other tickets it recorded events on;
so must anything else that writes tickets' due times or positions (a bulk
insert, a plain UPDATE, a test's set-up). The sweep (support/jobs/tasks.py) reads
`next_due_at` too, so the SQL statement of the rule is this module's alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    Float,
    Update,
    and_,
    bindparam,
    case,
    func,
    literal,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from support.models import Ticket

NO_DUE = 1e12  # tickets without a due time sort last (year 33658)


class epoch(FunctionElement):  # lower case: it reads like the SQL function it stands for
    """Seconds since 1970 of a naive UTC timestamp, on SQLite and PostgreSQL."""

    type = Float()
    inherit_cache = True


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: Any, **kw: Any) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch)
def _epoch_default(element: epoch, compiler: Any, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


def due_at() -> ColumnElement[datetime]:
    """The soonest SLA target, as sla.next_due computes it (promise or resolution).

    The promise follows sla._open_targets: the first response while tier 1 has not
    answered yet, else the next update (after an escalation the stage's deadline
    replaces the first-response promise, answered or not). tests/board/test_due.py
    checks this against sla.next_due case by case, so the two cannot drift apart.
    """
    promise = case(
        (
            and_(Ticket.first_responded_at.is_(None), Ticket.tier == 1),
            Ticket.first_response_due,
        ),
        else_=Ticket.next_update_due,
    )
    return case(
        (Ticket.resolution_due.is_(None), promise),
        (promise.is_(None), Ticket.resolution_due),
        (Ticket.resolution_due < promise, Ticket.resolution_due),
        else_=promise,
    )


def sort_key() -> ColumnElement[float]:
    return func.coalesce(Ticket.board_position, epoch(due_at()), NO_DUE)


# What `due_at()` and `sort_key()` read from a ticket.
INPUTS = (
    "first_responded_at",
    "tier",
    "first_response_due",
    "next_update_due",
    "resolution_due",
    "board_position",
)


def inputs(ticket: Ticket) -> tuple[object, ...]:
    """What `due_at()` and `sort_key()` read from a ticket: a change that leaves all of
    it as it was (a note, a customer's reply, the acknowledgement, a move to another
    status without a new place) leaves both facts as they were, and need not refresh them."""
    return tuple(getattr(ticket, name) for name in INPUTS)


def fill(ticket: Ticket) -> tuple[object, ...]:
    """Both facts of a ticket about to be written, set before its INSERT or UPDATE: no
    second UPDATE after it then (on PostgreSQL each UPDATE of a ticket is a new row
    version, with an entry in each of its indexes). The due time is `due_at()` worked
    out in Python (building that SQL per change costs more than the UPDATE;
    tests/board/test_due.py holds the two to the same answer case by case); the sort
    key is the database's own `epoch()` of it, in the same statement. Returns the
    `inputs()` it read, a new ticket's INSERT defaults included."""
    table = Ticket.__table__
    values = {}
    for name in INPUTS:
        value, default = getattr(ticket, name), table.c[name].default
        if value is None and default is not None and default.is_scalar:
            value = default.arg  # what the INSERT itself sets (tier 1)
        values[name] = value
    if values["first_responded_at"] is None and values["tier"] == 1:
        promise = values["first_response_due"]
    else:
        promise = values["next_update_due"]
    resolution = values["resolution_due"]
    if resolution is None or (promise is not None and not resolution < promise):
        due = promise
    else:
        due = resolution
    ticket.next_due_at = due
    if values["board_position"] is not None:
        ticket.board_sort_key = values["board_position"]
    elif due is not None:
        ticket.board_sort_key = epoch(literal(due, table.c.next_due_at.type))  # type: ignore[assignment]
    else:
        ticket.board_sort_key = NO_DUE
    return tuple(values.values())


def refresh(connection: Connection, ids: Iterable[int] | None = None) -> None:
    """Work both facts out again for these tickets (all of them when `ids` is None)."""
    if ids is None:
        connection.execute(_refresh())
        return
    ids = list(ids)
    if ids:
        connection.execute(_refresh_some(), {"ids": ids})


def _refresh() -> Update:
    return update(Ticket.__table__).values(next_due_at=due_at(), board_sort_key=sort_key())


@cache
def _refresh_some() -> Update:
    """Built once: building the CASE expressions and their cache key anew cost ~0.4 ms
    of CPU in every change that files a ticket or moves its due times."""
    return _refresh().where(Ticket.__table__.c.id.in_(bindparam("ids", expanding=True)))
