"""Reading the board: every column in a constant number of queries.

The board never renders every ticket. Each column shows its most urgent cards
(the first N of each status) and a count of all of them, both from one statement,
so the cost stays flat from ten tickets to ten thousand.

Order within a column is one number per card, the *sort key*, stored with the
ticket (support/tickets/due.py): the card's own `board_position` once an agent has
dragged it, else its next SLA due time in seconds since 1970. Dragged cards take a
key between their new neighbours', so they keep their place while undragged cards
still flow by urgency around them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    Integer,
    Row,
    and_,
    bindparam,
    case,
    cast,
    func,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from support import timezones
from support.board.cards import BoardCard, board_card
from support.extensions import db
from support.models import Category, Priority, Status, Tag, Ticket, User, ticket_tags
from support.params import plain_int
from support.tickets import refs, search, sla
from support.tickets import tags as tag_names

# The columns, left to right. Closed tickets are history, not work: they live in
# the ticket list, not on the board.
COLUMNS = [
    Status.NEW,
    Status.OPEN,
    Status.PENDING,
    Status.ON_HOLD,
    Status.ESCALATED,
    Status.RESOLVED,
]
# The team's words (Status.label is the customer's: "Waiting for you").
COLUMN_LABELS = {
    Status.NEW: "New",
    Status.OPEN: "Open",
    Status.PENDING: "Waiting on customer",
    Status.ON_HOLD: "On hold",
    Status.ESCALATED: "Escalated",
    Status.RESOLVED: "Resolved",
}
PAGE = 25  # cards per column, and how many more "Show more" adds
MAX_CARDS = 500  # per column, however many an address asks for
DRAG_GAP = 60.0  # a card dropped at either end of a column sits a minute past its neighbour
SEARCH_MAX = 100
_SLA_RUNNING = [s for s in Status if s.is_active]  # …unless paused (sla_paused_at)


def overdue(now: datetime | ColumnElement[datetime], tickets: Any = Ticket) -> ColumnElement[bool]:
    """Breached: the clock runs (not waiting on the customer) and the due time passed.
    `tickets`: where the columns are read from (Ticket, or a subquery's `.c` of them)."""
    return and_(
        tickets.status.in_(_SLA_RUNNING),
        tickets.sla_paused_at.is_(None),
        tickets.next_due_at < now,
    )


# --- filters ----------------------------------------------------------------------------


def _flag(args: Mapping[str, str], name: str) -> bool:
    return args.get(name, "") in ("1", "on", "true", "yes")


def _tag(value: str | None) -> str | None:
    """A tag's one spelling (" VIP " is "vip"); a name no tag could have is kept as typed,
    so the board says nothing matches rather than quietly showing everything."""
    if not value or not value.strip():
        return None
    try:
        return tag_names.normalise(value)
    except tag_names.BadTag:
        return " ".join(value.split()).lower()[:SEARCH_MAX]


@dataclass(frozen=True)
class BoardFilters:
    """What the board shows, read from and written back to the query string."""

    mine: bool = False
    unassigned: bool = False
    team: int | None = None
    category: str | None = None
    priority: Priority | None = None
    tag: str | None = None
    overdue: bool = False
    q: str = ""
    limits: dict[Status, int] = field(default_factory=dict)  # columns shown beyond PAGE

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> BoardFilters:
        priority = args.get("priority", "")
        limits = {}
        for status in COLUMNS:
            wanted = plain_int(args.get(f"show_{status.value}"))
            if wanted and wanted > PAGE:
                limits[status] = min(wanted, MAX_CARDS)
        return cls(
            mine=_flag(args, "mine"),
            unassigned=_flag(args, "unassigned"),
            team=plain_int(args.get("team")),
            category=args.get("category") or None,
            priority=Priority(priority) if priority in Priority._value2member_map_ else None,
            tag=_tag(args.get("tag")),
            overdue=_flag(args, "overdue"),
            q=args.get("q", "").strip()[:SEARCH_MAX],
            limits=limits,
        )

    def limit(self, status: Status) -> int:
        return self.limits.get(status, PAGE)

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query parameters for a link to this board (only what differs from the default)."""
        chosen = replace(self, **changes) if changes else self
        params: dict[str, Any] = {
            "mine": "1" if chosen.mine else None,
            "unassigned": "1" if chosen.unassigned else None,
            "team": chosen.team,
            "category": chosen.category,
            "priority": chosen.priority.value if chosen.priority else None,
            "tag": chosen.tag,
            "overdue": "1" if chosen.overdue else None,
            "q": chosen.q or None,
        }
        params.update({f"show_{s.value}": n for s, n in chosen.limits.items()})
        return {name: value for name, value in params.items() if value is not None}

    def filter_args(self) -> dict[str, Any]:
        """The same board with every column back to its first page."""
        return self.args(limits={})

    def show_more(self, status: Status) -> dict[str, Any]:
        return self.args(limits={**self.limits, status: self.limit(status) + PAGE})

    @property
    def active(self) -> bool:
        return bool(self.filter_args())


def conditions(
    filters: BoardFilters, viewer: User, now: datetime, *, full_text: bool = False
) -> list[ColumnElement[bool]]:
    """The filters as WHERE conditions (the board's columns and the API's list share them).

    The text box looks in the reference, subject and customer (name, email). `full_text`
    (the board) finds whole words there with the database's full-text search over the
    search documents' titles (support/tickets/search.py), in any order and form. Without
    it (the API, which customers call too: the search documents hold internal notes), a
    LIKE over the same columns finds any part of a word.
    """
    where: list[ColumnElement[bool]] = []
    if filters.mine:
        where.append(Ticket.assignee_id == viewer.id)
    if filters.unassigned:
        where.append(Ticket.assignee_id.is_(None))
    if filters.team is not None:
        where.append(Ticket.team_id == filters.team)
    if filters.category:
        slug_id = select(Category.id).where(Category.slug == filters.category).scalar_subquery()
        where.append(Ticket.category_id == slug_id)
    if filters.priority:
        where.append(Ticket.priority == filters.priority)
    if filters.tag:
        where.append(tagged(filters.tag))
    if filters.overdue:
        where.append(overdue(now))
    if filters.q and full_text:
        where.append(search.matching(search.parse(filters.q), titles_only=True))
    elif filters.q:
        # A CTE: the text search runs once per statement, not once per column.
        found = select(Ticket.id).where(_matches(filters.q)).cte("found")
        where.append(Ticket.id.in_(select(found.c.id)))
    return where


def tagged(name: str, *, probe: bool = False) -> ColumnElement[bool]:
    """The ticket carries the tag `name`.

    `probe`: test each ticket the query reads (its (ticket_id, tag_id) key), rather than
    gather the tag's tickets first: right when the query reads an index in the order it
    shows and the tag is common, so a page is found after a few hundred tickets (as
    search.matching's `probe`).
    """
    tag_id = select(Tag.id).where(Tag.name == name).scalar_subquery()
    if probe:
        one = select(ticket_tags.c.ticket_id).where(
            ticket_tags.c.ticket_id == Ticket.id, ticket_tags.c.tag_id == tag_id
        )
        return one.exists()
    return Ticket.id.in_(select(ticket_tags.c.ticket_id).where(ticket_tags.c.tag_id == tag_id))


def _matches(text: str) -> ColumnElement[bool]:
    """Reference, subject, or the customer's name or email."""
    pattern = "%" + _escape_like(text) + "%"
    customers = select(User.id).where(
        or_(contains_anycase(User.name, pattern), contains_anycase(User.email, pattern))
    )
    options = [contains_anycase(Ticket.subject, pattern), Ticket.customer_id.in_(customers)]
    if ref := refs.normalise(text):
        options.append(Ticket.ref == ref)
    return or_(*options)


def _escape_like(text: str) -> str:
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


class contains_anycase(FunctionElement):
    """`column LIKE pattern`, ignoring case, with / as the escape character.

    SQLAlchemy's icontains wraps both sides in lower(), which costs SQLite a function
    call per row for nothing: its LIKE already ignores ASCII case (and its lower() knows
    no other). PostgreSQL gets ILIKE, which folds every alphabet.
    """

    type = Boolean()
    inherit_cache = True


@compiles(contains_anycase, "sqlite")
def _contains_sqlite(element: contains_anycase, compiler: Any, **kw: Any) -> str:
    column, pattern = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({column} LIKE {pattern} ESCAPE '/')"


@compiles(contains_anycase)
def _contains_default(element: contains_anycase, compiler: Any, **kw: Any) -> str:
    column, pattern = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({column} ILIKE {pattern} ESCAPE '/')"


# --- reading the columns ----------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    status: Status
    label: str
    count: int
    overdue: int
    cards: list[BoardCard]

    @property
    def hidden(self) -> int:
        """Cards in this column the board does not show yet."""
        return max(self.count - len(self.cards), 0)


def load(filters: BoardFilters, viewer: User, now: datetime) -> list[Column]:
    """The board's columns: counts and each column's most urgent cards, with their tags,
    in one query."""
    counts: dict[Status, tuple[int, int]] = {}
    shown: dict[Status, list[Row]] = {status: [] for status in COLUMNS}
    for row in _board_rows(filters, viewer, now):
        if row.id is None:
            counts[row.column] = (row.total, int(row.late or 0))
        else:
            shown[row.column].append(row)
    zone = timezones.zone_name_for(viewer)  # once per board, not once per card
    targets = sla.all_targets()  # likewise
    cards = {
        status: [board_card(row, now, zone, _tags(row.tag_names), targets) for row in rows]
        for status, rows in shown.items()
    }
    return [Column(s, COLUMN_LABELS[s], *counts.get(s, (0, 0)), cards=cards[s]) for s in COLUMNS]


def _tags(names: str | None) -> tuple[str, ...]:
    """A card's tags, by name, from the names its row carries (TAG_SEPARATOR between)."""
    return tuple(sorted(names.split(TAG_SEPARATOR))) if names else ()


_customer, _assignee = aliased(User), aliased(User)
# What a card shows and what its SLA countdown reads, under Ticket's own names (so
# support/tickets/sla.py reads a row as it reads a ticket): plain columns, not ORM
# objects, which cost more to build than the rest of the board (support/board/cards.py).
CARD_COLUMNS = (
    Ticket.id,
    Ticket.ref,
    Ticket.subject,
    Ticket.version,
    Ticket.status,
    Ticket.priority,
    Ticket.channel,
    Ticket.tier,
    Ticket.created_at,
    Ticket.updated_at,
    Ticket.resolved_at,
    Ticket.first_response_due,
    Ticket.next_update_due,
    Ticket.resolution_due,
    Ticket.first_responded_at,
    Ticket.sla_paused_at,
    Ticket.assignee_id,
    _customer.name.label("customer_name"),
    _assignee.name.label("assignee_name"),
    _assignee.email.label("assignee_email"),
    Category.name.label("category_name"),
)
# Between a card's tag names in its row: no tag name has one (support/tickets/tags.py).
TAG_SEPARATOR = ","
# Each card's tags in its own row: a second statement for them cost a tenth of a board
# (their ids bound one by one). Built once, with the module (building it per request
# was ~6 % of a board). Ordered by name in Python (load()).
_TAG_NAMES = (
    select(func.aggregate_strings(Tag.name, TAG_SEPARATOR))
    .select_from(ticket_tags.join(Tag, Tag.id == ticket_tags.c.tag_id))
    .where(ticket_tags.c.ticket_id == Ticket.id)
    .scalar_subquery()
    .label("tag_names")
)


def _board_rows(filters: BoardFilters, viewer: User, now: datetime) -> list[Row]:
    """Each column's first cards, then a count row per column, in one statement.

    One statement, so the filters' CTE (the text search) runs once per board. A card
    row has the CARD_COLUMNS, its `column` and its `tag_names`; a count row only
    `column`, `total` and `late` (its id is None). One LIMIT per status keeps only the
    top N of each (a window over every ticket would sort them all). ix_tickets_board
    covers these columns, so the default board never reads the table itself.
    """
    where = conditions(filters, viewer, now, full_text=True)
    # Unfiltered, as most agents load it: the same statement every time.
    query = _board_query(where, searching=bool(filters.q)) if where else _default_board()
    params = {"now": now} | {f"limit_{s.value}": filters.limit(s) for s in COLUMNS}
    return list(db.session.execute(query, params))


@functools.cache
def _default_board() -> Any:
    """The unfiltered board's statement, built once per process: building it, and working
    out its cache key, cost a tenth of a board. Its time and limits are bound parameters."""
    return _board_query([], searching=False)


def _board_query(where: list[ColumnElement[bool]], *, searching: bool) -> Any:
    """The board's statement, for the bound parameters `now` and `limit_<status>`."""
    tickets: Any = Ticket
    if searching:
        # A search: its matches (with the other filters) found once, as a CTE every column
        # and the counts read; a search in each of them would gather the matches seven times.
        found = select(
            Ticket.id,
            Ticket.board_sort_key,
            Ticket.status,
            Ticket.sla_paused_at,
            Ticket.next_due_at,
        ).where(Ticket.status.in_(COLUMNS), *where)
        tickets, where = found.cte("found").c, []
    key = tickets.board_sort_key
    # Typed NULLs: PostgreSQL reads a bare NULL in a subquery as text, which no UNION
    # with a number accepts.
    no_number, no_key = cast(null(), Integer), cast(null(), Float)
    columns = [
        select(tickets.id, key.label("key"), tickets.status, no_number, no_number)
        .where(tickets.status == status, *where)
        .order_by(key, tickets.id)
        .limit(bindparam(f"limit_{status.value}", type_=Integer))
        .subquery()  # SQLite takes ORDER BY and LIMIT in a UNION only inside a subquery
        .select()
        for status in COLUMNS
    ]
    counts = (
        select(
            no_number,
            no_key,
            tickets.status,
            func.count(),
            func.sum(case((overdue(bindparam("now", type_=DateTime), tickets), 1), else_=0)),
        )
        .where(tickets.status.in_(COLUMNS), *where)
        .group_by(tickets.status)
    )
    rows = union_all(*columns, counts).subquery()
    id_, key_, status_, total, late = rows.c
    return (
        select(
            *CARD_COLUMNS,
            status_.label("column"),
            total.label("total"),
            late.label("late"),
            _TAG_NAMES,
        )
        .select_from(rows)
        .outerjoin(Ticket, Ticket.id == id_)
        .outerjoin(_customer, _customer.id == Ticket.customer_id)
        .outerjoin(_assignee, _assignee.id == Ticket.assignee_id)
        .outerjoin(Category, Category.id == Ticket.category_id)
        .order_by(key_, Ticket.id)
    )


def position_between(above: str | None, below: str | None) -> float | None:
    """A sort key between two cards (by reference); None when neither is known."""
    wanted = [ref for ref in (above, below) if ref]
    if not wanted:
        return None
    rows = db.session.execute(
        select(Ticket.ref, Ticket.board_sort_key).where(Ticket.ref.in_(wanted))
    )
    keys: dict[str, float] = dict(rows.all())
    high, low = keys.get(above or ""), keys.get(below or "")
    if high is not None and low is not None:
        return (high + low) / 2
    if high is not None:
        return high + DRAG_GAP
    if low is not None:
        return low - DRAG_GAP
    return None
