"""Reading the queue: one page of tickets in a constant number of queries.

The queue takes the board's filters (same query parameters, same WHERE conditions:
support/board/queries.py) and adds its own: which statuses, due within N hours, no
update for N days, an order and a page. Its text box is the full-text search
(support/tickets/search.py), not the board's "subject, reference or customer" LIKE.

A page costs: the count, the page's tickets with their customer, assignee, category
and team (one statement), and, when searching, the shown tickets' snippets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup
from sqlalchemy import and_, case, func, literal_column, select
from sqlalchemy.orm import aliased, contains_eager, defer
from sqlalchemy.sql.elements import ColumnElement

from support.board.queries import BoardFilters, conditions, tagged
from support.extensions import db
from support.models import Category, Priority, Status, Team, Ticket, User
from support.models.ticket import ACTIVE_STATUSES
from support.params import plain_int
from support.tickets import search

PAGE_SIZE = 50
# A search counts its matches up to here ("1,000+"): counting every ticket that says
# "refund" costs more than the page itself, and nobody pages through a thousand results.
SEARCH_COUNT_MAX = 1000
MAX_PAGE = 100_000
MAX_HOURS = 24 * 365
ACTIVE = list(ACTIVE_STATUSES)
# "status": open work by default; "all", or one status.
STATUS_ACTIVE, STATUS_ALL = "", "all"

Customer = aliased(User, name="customer")
Assignee = aliased(User, name="assignee")

_PRIORITY_RANK = case(
    {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3},
    value=Ticket.priority,
)
_STATUS_RANK = case({status: n for n, status in enumerate(Status)}, value=Ticket.status)

# The sortable columns: the key in the address, what it sorts by, and the way a first
# click on the heading sorts (True: descending). Most urgent and latest come first.
SORTS: dict[str, tuple[str, ColumnElement[Any], bool]] = {
    "ref": ("Reference", Ticket.ref, False),
    "subject": ("Subject", Ticket.subject, False),
    "customer": ("Customer", Customer.name, False),
    "status": ("Status", _STATUS_RANK, False),
    "priority": ("Priority", _PRIORITY_RANK, False),
    "category": ("Category", Category.name, False),
    "team": ("Team", Team.name, False),
    "assignee": ("Assignee", Assignee.name, False),
    "updated": ("Last update", Ticket.updated_at, True),
    "due": ("Next due", Ticket.next_due_at, False),
}
DEFAULT_SORT = "-updated"


def _sort(value: str | None) -> str:
    """A known sort key, with "-" for the other way; anything else is the default."""
    key = (value or "").strip()
    return key if key.lstrip("-") in SORTS and key.count("-") <= 1 else DEFAULT_SORT


def _hours(value: str | None) -> int | None:
    number = plain_int(value, maximum=MAX_HOURS)
    return number or None


def open_work() -> ColumnElement[bool]:
    """Not resolved or closed, with the statuses written inline, not bound: only a WHERE
    that says what the partial indexes' WHERE says (models.ticket.ACTIVE_SQL) may use
    them, on SQLite and PostgreSQL alike, and a parameter's value is unknown when the
    statement is planned."""
    return Ticket.status.in_([literal_column(f"'{status.value}'") for status in ACTIVE])


@dataclass(frozen=True)
class QueueFilters:
    """What the queue shows, read from and written back to the query string."""

    board: BoardFilters = field(default_factory=BoardFilters)
    status: str = STATUS_ACTIVE
    due_within: int | None = None  # hours: due by then (or already late)
    idle_days: int | None = None  # no update for at least this many days
    sort: str = DEFAULT_SORT
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> QueueFilters:
        status = args.get("status", "")
        if status not in (STATUS_ALL, *(s.value for s in Status)):
            status = STATUS_ACTIVE
        return cls(
            board=replace(BoardFilters.from_args(args), limits={}),
            status=status,
            due_within=_hours(args.get("due")),
            idle_days=_hours(args.get("idle")),
            sort=_sort(args.get("sort")),
            page=plain_int(args.get("page"), maximum=MAX_PAGE) or 1,
        )

    @property
    def q(self) -> str:
        return self.board.q

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query parameters for a link to this queue (only what differs from the default);
        any change but the page goes back to page 1."""
        if "page" not in changes:
            changes["page"] = 1
        board = changes.pop("board", self.board)
        chosen = replace(self, board=board, **changes)
        params: dict[str, Any] = {
            **chosen.board.args(),
            "status": chosen.status or None,
            "due": chosen.due_within,
            "idle": chosen.idle_days,
            "sort": chosen.sort if chosen.sort != DEFAULT_SORT else None,
            "page": chosen.page if chosen.page > 1 else None,
        }
        return {name: value for name, value in params.items() if value is not None}

    def with_filter(self, **board_changes: Any) -> dict[str, Any]:
        return self.args(board=replace(self.board, **board_changes))

    def sorted_by(self, key: str) -> dict[str, Any]:
        """The link of a column heading: its first way, or the other way when sorted by it."""
        first_descending = SORTS[key][2]
        first = f"-{key}" if first_descending else key
        other = key if first_descending else f"-{key}"
        return self.args(sort=other if self.sort == first else first)

    def sorting(self, key: str) -> str | None:
        """aria-sort for a column heading."""
        if self.sort.lstrip("-") != key:
            return None
        descending = self.sort.startswith("-")
        # "descending" of a rank (priority, status) is least urgent first: say what it shows.
        return "descending" if descending else "ascending"

    @property
    def active(self) -> bool:
        return bool(self.args(sort=DEFAULT_SORT))

    @property
    def terms(self) -> search.Terms:
        return search.parse(self.q)


def where(
    filters: QueueFilters,
    viewer: User,
    now: datetime,
    *,
    many_found: bool = False,
    searched: bool = True,
) -> list[ColumnElement[bool]]:
    """The queue's WHERE conditions: the board's (bar its text box) and the queue's own.

    `many_found`: more than SEARCH_COUNT_MAX tickets match. Then the page is found faster
    by reading tickets in the order shown and testing each against the search and the tag
    than by looking up every match and sorting them all (search.matching, board.tagged).
    `searched`: False leaves the search out (the count joins its matches instead).
    """
    found = conditions(replace(filters.board, q="", tag=None), viewer, now)
    if filters.board.tag:
        found.append(tagged(filters.board.tag, probe=many_found))
    if filters.status == STATUS_ACTIVE:
        found.append(open_work())
    elif filters.status != STATUS_ALL:
        status = Status(filters.status)
        found.append(Ticket.status == status)
        if status.is_active:  # implied, but said: the open-work indexes then apply
            found.append(open_work())
    if filters.due_within:
        found.append(
            and_(
                open_work(),
                Ticket.sla_paused_at.is_(None),
                Ticket.next_due_at <= now + timedelta(hours=filters.due_within),
            )
        )
    if filters.idle_days:
        found.append(Ticket.updated_at <= now - timedelta(days=filters.idle_days))
    if filters.q and searched:
        found.append(search.matching(filters.terms, probe=many_found))
    return found


@dataclass(frozen=True)
class QueuePage:
    tickets: list[Ticket]
    total: int
    page: int
    pages: int
    snippets: dict[int, Markup]
    more: bool = False  # a search with more than SEARCH_COUNT_MAX matches (total is the cap)

    @property
    def first(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.tickets else 0

    @property
    def last(self) -> int:
        return self.first + len(self.tickets) - 1 if self.tickets else 0


def load(filters: QueueFilters, viewer: User, now: datetime) -> QueuePage:
    """The page asked for (the last one when it asks for more pages than there are)."""
    conditions_ = where(filters, viewer, now)
    if filters.q:
        total, more = _count_found(where(filters, viewer, now, searched=False), filters.terms)
    else:
        total = _count(conditions_)
        more = False
    many = more or (filters.board.tag is not None and total > SEARCH_COUNT_MAX)
    if many and filters.sort.lstrip("-") in ("updated", "due"):  # read in an index's order
        conditions_ = where(filters, viewer, now, many_found=True)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(filters.page, pages)
    tickets = _page(conditions_, filters.sort, page) if total else []
    shown = [t.id for t in tickets]
    snippets = search.snippets(filters.terms, shown) if filters.q else {}
    return QueuePage(tickets, total, page, pages, snippets, more)


def _count(conditions_: list[ColumnElement[bool]]) -> int:
    query = select(func.count()).select_from(Ticket).where(*conditions_)
    return db.session.scalar(query) or 0


def _count_found(conditions_: list[ColumnElement[bool]], terms: search.Terms) -> tuple[int, bool]:
    """How many tickets the search finds among those the other conditions keep, counted
    up to SEARCH_COUNT_MAX; and whether there are more. The matches are joined (read
    first, up to the limit: search.found), not tested one by one."""
    found = search.found(terms)
    first = (
        select(Ticket.id)
        .join(found, found.c.ticket_id == Ticket.id)
        .where(*conditions_)
        .limit(SEARCH_COUNT_MAX + 1)
        .subquery()
    )
    total = db.session.scalar(select(func.count()).select_from(first)) or 0
    return min(total, SEARCH_COUNT_MAX), total > SEARCH_COUNT_MAX


# What a sort by another table's column joins (the page's own query joins them all), and
# whether every ticket has one (an inner join). Every ticket has a customer: joined
# inner, the database may read customers in name order (ix_users_name) and each one's
# tickets, and stop after a page, instead of sorting all open work by a joined column
# (SQLite at 200,000 tickets: 220 ms, then 1 ms); it cannot reorder an outer join.
_SORT_JOINS: dict[str, tuple[Any, ColumnElement[bool], bool]] = {
    "customer": (Customer, Ticket.customer_id == Customer.id, True),
    "assignee": (Assignee, Ticket.assignee_id == Assignee.id, False),
    "category": (Category, Ticket.category_id == Category.id, False),
    "team": (Team, Ticket.team_id == Team.id, False),
}


def _page(conditions_: list[ColumnElement[bool]], sort: str, page: int) -> list[Ticket]:
    """The page's tickets: their ids first, then their rows. Sorting reads only what the
    order needs (from an index, when one covers the conditions and the order: unassigned
    open work by priority sorts 6,000 index entries, not 6,000 whole rows)."""
    key = sort.lstrip("-")
    _, column, _ = SORTS[key]
    descending = sort.startswith("-")
    order = [column.desc() if descending else column.asc()]
    order.append(Ticket.id.desc() if descending else Ticket.id.asc())
    chosen = select(Ticket.id).where(*conditions_)
    if key in _SORT_JOINS:
        table, on, inner = _SORT_JOINS[key]
        chosen = chosen.join(table, on) if inner else chosen.outerjoin(table, on)
    chosen = chosen.order_by(*order).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    query = (
        select(Ticket)
        .join(Customer, Ticket.customer_id == Customer.id)
        .outerjoin(Assignee, Ticket.assignee_id == Assignee.id)
        .outerjoin(Category, Ticket.category_id == Category.id)
        .outerjoin(Team, Ticket.team_id == Team.id)
        .where(Ticket.id.in_(chosen.correlate(None)))  # its own tickets, not the outer's
        .order_by(*order)
        .options(
            defer(Ticket.description),
            contains_eager(Ticket.customer.of_type(Customer)),
            contains_eager(Ticket.assignee.of_type(Assignee)),
            contains_eager(Ticket.category),
            contains_eager(Ticket.team),
        )
    )
    return list(db.session.scalars(query).unique())
