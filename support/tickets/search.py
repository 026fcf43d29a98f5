# ruff: noqa: S608 - the SQL here is put together from constants only; text is bound
"""Full-text search of tickets: the database's own, kept in step by the ticket service.

One document per ticket: a *title* (reference, subject, the customer's name and
email) and a *body* (what was said: the description, replies, internal notes,
workarounds, notes given with a status change or an escalation). Notes are in it:
the search is the team's (views that search for a customer must not use it).

- SQLite: an FTS5 table (`porter unicode61`), rowid = ticket id; `snippet()` marks
  the words found.
- PostgreSQL: a table with a stored generated `tsvector` (title weighted above body)
  and a GIN index, and the title's own `tsvector` with its GIN index in a narrow table
  beside it (the board's search); `ts_headline()` marks the words found.

Why not triggers: the document is all of a ticket's messages, so a trigger on each
new event would have to rebuild it anyway, in two SQL dialects, and tests that build
the schema with create_all would not have them. Why not Whoosh: tickets are written
by many processes at once, Whoosh takes one writer. Instead TicketChange calls
`refresh()` for the tickets it wrote, after its flush and before its commit
(support/tickets/service/change.py), as it does for the due times: the index commits
or rolls back with the change (only changes that said something: see `said_in`).
Anything else that writes tickets in bulk (bench seeding, a data migration) calls
`refresh()` for them, or `rebuild()`.

What people type is searched as literal words: quotes make a phrase when they pair
up, and every other mark (`-`, `*`, `(`, `:`, a lone quote) is just punctuation, so
no text is a syntax error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import (
    Connection,
    Float,
    Integer,
    MetaData,
    Subquery,
    bindparam,
    event,
    literal,
    select,
    text,
)
from sqlalchemy.sql.elements import ColumnElement

from support.extensions import db
from support.models import EventKind, Ticket, TicketEvent

TABLE = "ticket_search"
# Events whose text is part of the conversation (not SLA warnings or routing reasons).
TEXT_KINDS = (
    EventKind.CREATED,
    EventKind.REPLY,
    EventKind.NOTE,
    EventKind.WORKAROUND,
    EventKind.STATUS_CHANGED,
    EventKind.REOPENED,
    EventKind.ESCALATED,
)
# A document's body is cut here: a tsvector holds at most 1 MB, and the first
# 200,000 characters of a conversation are what people search for.
BODY_MAX = 200_000
MAX_TERMS = 12  # words and phrases per search, however long the text
# Around the words found in a snippet: characters nobody types (Unicode private use),
# turned into <mark> once the snippet is escaped.
START, STOP = "\ue000", "\ue001"

_SQLITE_SCHEMA = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5("
    "title, body, tokenize = 'porter unicode61 remove_diacritics 2')"
]
TITLES = "ticket_search_titles"
TITLE_VECTOR = "title_vector"
_POSTGRES_SCHEMA = [
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    "ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE, "
    "title TEXT NOT NULL, body TEXT NOT NULL, "
    "document TSVECTOR GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english', title), 'A') || "
    "setweight(to_tsvector('english', body), 'B')) STORED)",
    f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_document ON {TABLE} USING gin (document)",
    # The titles' vectors alone, in a narrow table of their own (the board searches them:
    # see matching's `titles_only`). A team's overdue tickets tested one by one, or the
    # GIN's matches gathered, read one row per ticket: from the wide table above (body,
    # document: ~2 kB a row) that cost the filtered board 55 ms of server CPU at 200,000
    # tickets; these rows are ~210 bytes (28 ms). Written by refresh() with the document.
    f"CREATE TABLE IF NOT EXISTS {TITLES} ("
    "ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE, "
    f"{TITLE_VECTOR} TSVECTOR NOT NULL)",
    # Where the vectors lived before migration 0030 (a table kept from then: a bench's).
    f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS {TITLE_VECTOR}",
    # A titles table made beside documents already written: filled once from them, before
    # its index (built in one pass, rather than each row through GIN's pending list).
    f"INSERT INTO {TITLES} SELECT ticket_id, to_tsvector('english', title) FROM {TABLE} "
    f"WHERE NOT EXISTS (SELECT 1 FROM {TITLES})",
    f"CREATE INDEX IF NOT EXISTS ix_{TITLES}_{TITLE_VECTOR} ON {TITLES} USING gin ({TITLE_VECTOR})",
]


def schema(dialect: str) -> list[str]:
    """The statements that create the search table on this database."""
    return _SQLITE_SCHEMA if dialect == "sqlite" else _POSTGRES_SCHEMA


def outside_models(name: str | None, type_: str, parent_names: object) -> bool:
    """For Alembic's comparison: the search table (and FTS5's own tables) are made by
    `schema()`, not by the models, so autogenerate must neither add nor drop them."""
    return not (type_ == "table" and name is not None and name.startswith(TABLE))


@event.listens_for(db.metadata, "after_create")
def _create(target: MetaData, connection: Connection, **kw: object) -> None:
    """create_all (tests, benches) makes the search table too; migrations make it in 0013."""
    for statement in schema(connection.dialect.name):
        connection.execute(text(statement))


@event.listens_for(db.metadata, "before_drop")
def _drop(target: MetaData, connection: Connection, **kw: object) -> None:
    for table in (TITLES, TABLE):
        connection.execute(text(f"DROP TABLE IF EXISTS {table}"))


# --- keeping the index in step ------------------------------------------------------------


def _documents_sql(dialect: str, where: str) -> str:
    """SELECT ticket id, title, body for the tickets `where` picks."""
    kinds = ", ".join(f"'{kind.value}'" for kind in TEXT_KINDS)
    if dialect == "sqlite":
        joined = "group_concat(body_text, char(10))"
        ordered = f"SELECT body_text FROM ticket_events e WHERE e.ticket_id = t.id AND e.kind IN ({kinds}) AND e.body_text IS NOT NULL ORDER BY e.id"  # noqa: E501
        body = f"substr(coalesce((SELECT {joined} FROM ({ordered})), ''), 1, {BODY_MAX})"
    else:
        body = (
            "left(coalesce((SELECT string_agg(e.body_text, chr(10) ORDER BY e.id) "
            f"FROM ticket_events e WHERE e.ticket_id = t.id AND e.kind IN ({kinds}) "
            f"AND e.body_text IS NOT NULL), ''), {BODY_MAX})"
        )
    # The email as typed and in pieces: PostgreSQL reads "ann@shop.example" as one token,
    # and the search reads what people type as words.
    email = "u.email || ' ' || replace(replace(u.email, '@', ' '), '.', ' ')"
    title = f"t.ref || ' ' || t.subject || ' ' || u.name || ' ' || {email}"
    # In ticket order: FTS5 writes its pending words out whenever a rowid comes lower than
    # the one before, so tickets read by customer (a plan SQLite picks at 200,000) made a
    # segment per ticket and merged them again and again (a rebuild of 200,000 took 1,368 s;
    # in order, 87 s on a saturated machine).
    order = " ORDER BY t.id" if dialect == "sqlite" else ""
    return (
        f"SELECT t.id, {title}, {body} FROM tickets t "
        f"JOIN users u ON u.id = t.customer_id WHERE {where}{order}"
    )


def refresh(connection: Connection, ids: Iterable[int] | None = None) -> None:
    """Write these tickets' documents again (every ticket's when `ids` is None)."""
    dialect = connection.dialect.name
    params: dict[str, object] = {}
    where = "1 = 1"
    if ids is not None:
        params["ids"] = sorted(set(ids))
        if not params["ids"]:
            return
        where = "t.id IN :ids"
    documents = _documents_sql(dialect, where)
    if dialect == "sqlite":
        # FTS5 has no upsert: out with the old row, in with the new.
        remove = f"DELETE FROM {TABLE}" + (" WHERE rowid IN :ids" if ids is not None else "")
        write = f"INSERT INTO {TABLE} (rowid, title, body) {documents}"
        statements = [remove, write]
    else:
        # The titles' vectors from the titles just written, in the same statement.
        statements = [
            f"WITH written AS (INSERT INTO {TABLE} (ticket_id, title, body) {documents} "
            "ON CONFLICT (ticket_id) DO UPDATE SET title = excluded.title, body = excluded.body "
            f"RETURNING ticket_id, title) INSERT INTO {TITLES} (ticket_id, {TITLE_VECTOR}) "
            "SELECT ticket_id, to_tsvector('english', title) FROM written "
            f"ON CONFLICT (ticket_id) DO UPDATE SET {TITLE_VECTOR} = excluded.{TITLE_VECTOR} "
            # A reply leaves the title as it was: no new row version, no GIN entry.
            f"WHERE {TITLES}.{TITLE_VECTOR} IS DISTINCT FROM excluded.{TITLE_VECTOR}"
        ]
    for statement in statements:
        query = text(statement)
        if ids is not None:
            query = query.bindparams(bindparam("ids", expanding=True))
        connection.execute(query, params)


def refresh_customer(connection: Connection, customer_id: int) -> None:
    """Write a customer's tickets' documents again: their titles hold the customer's name
    and email, so whatever changes either (the account page, an email change, an
    erasure) calls this in its own transaction."""
    ids = connection.scalars(select(Ticket.id).where(Ticket.customer_id == customer_id))
    refresh(connection, list(ids))


def said_in(events: Iterable[TicketEvent]) -> set[int]:
    """The tickets whose documents these new events change: those with something said
    (an assignment or a priority change leaves the document as it was)."""
    return {e.ticket.id for e in events if e.kind in TEXT_KINDS and e.body_text}


def rebuild(connection: Connection) -> None:
    """Every ticket's document, from scratch (after a bulk insert)."""
    refresh(connection, None)


# --- searching ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """What a search asks for: every phrase and every word must be in the ticket."""

    phrases: tuple[str, ...] = ()
    words: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.phrases or self.words)


_QUOTED = re.compile(r'"([^"]*)"')
_WORD = re.compile(r"\w+")


def parse(typed: str) -> Terms:
    """Phrases in pairs of quotes, then words; every other character is punctuation."""
    phrases = []
    for quoted in _QUOTED.findall(typed):
        words = _WORD.findall(quoted)
        if len(words) > 1:
            phrases.append(" ".join(words))
    rest = _WORD.findall(
        _QUOTED.sub(lambda m: " " if len(_WORD.findall(m[1])) > 1 else m[1], typed)
    )
    unique_words = tuple(dict.fromkeys(w.lower() for w in rest))
    phrases = list(dict.fromkeys(phrases))[:MAX_TERMS]
    return Terms(tuple(phrases), unique_words[: MAX_TERMS - len(phrases)])


def _fts5_query(terms: Terms, *, titles_only: bool = False) -> str:
    """An FTS5 expression of quoted strings only: its operators can never be reached."""
    parts = [f'"{part}"' for part in (*terms.phrases, *terms.words)]
    every = " AND ".join(parts)
    return f"{{title}} : ({every})" if titles_only else every


def _tsquery_sql(terms: Terms) -> tuple[str, dict[str, str]]:
    parts, params = [], {}
    for n, phrase in enumerate(terms.phrases):
        parts.append(f"phraseto_tsquery('english', :search_p{n})")
        params[f"search_p{n}"] = phrase
    if terms.words:
        parts.append("plainto_tsquery('english', :search_w)")
        params["search_w"] = " ".join(terms.words)
    return " && ".join(parts), params


def matching(
    terms: Terms, *, probe: bool = False, titles_only: bool = False
) -> ColumnElement[bool]:
    """A WHERE condition on Ticket: the ticket's document has every term.

    `probe`: test each ticket the query reads against its own document, rather than
    gather every match first. Right when many tickets match and the query reads an
    index in the order it shows them (the queue's open work by update or due time).
    `titles_only`: every term in the title (reference, subject, customer), as the board
    searches.
    """
    if not terms:
        return Ticket.id.is_(None)  # nothing searchable was typed: nothing matches
    if probe:
        sqlite = db.engine.dialect.name == "sqlite"
        table, vector = (TITLES, TITLE_VECTOR) if titles_only else (TABLE, "document")
        # One ticket's document at a time (its rowid / primary key), never the set of
        # every match: a common word matches half the tickets, and gathering them costs
        # more than testing the few dozen a page reads.
        if sqlite:
            one = text(
                f"SELECT 1 AS one FROM {TABLE} WHERE {TABLE} MATCH :search_q AND rowid = tickets.id"
            )
            one = one.bindparams(search_q=_fts5_query(terms, titles_only=titles_only))
        else:
            tsquery, params = _tsquery_sql(terms)
            one = text(
                f"SELECT 1 AS one FROM {table} s "
                f"WHERE s.ticket_id = tickets.id AND {vector} @@ ({tsquery})"
            ).bindparams(**params)
        return one.columns(one=Integer).exists()
    ids = found(terms, titles_only=titles_only)
    return Ticket.id.in_(select(ids.c.ticket_id))


def found(terms: Terms, *, titles_only: bool = False) -> Subquery:
    """The ids (`ticket_id`) of the tickets whose document has every term, as a subquery
    to join tickets to. Joined, SQLite reads the matches first, in id order, and stops at
    the statement's LIMIT: counting "1,000+" of a word half the tickets say reads about a
    thousand matches, where `matching`'s IN gathers every one of them first."""
    if not terms:
        nothing = select(Ticket.id.label("ticket_id")).where(Ticket.id.is_(None))
        return nothing.subquery("found")
    if db.engine.dialect.name == "sqlite":
        query = text(f"SELECT rowid AS ticket_id FROM {TABLE} WHERE {TABLE} MATCH :search_q")
        query = query.bindparams(search_q=_fts5_query(terms, titles_only=titles_only))
    else:
        tsquery, params = _tsquery_sql(terms)
        table, vector = (TITLES, TITLE_VECTOR) if titles_only else (TABLE, "document")
        query = text(f"SELECT ticket_id FROM {table} WHERE {vector} @@ ({tsquery})")
        query = query.bindparams(**params)
    return query.columns(ticket_id=Integer).subquery("found")


def any_of(words: list[str]) -> Subquery:
    """The tickets whose document has at least one of `words`, with a `score` to order
    them by (lower is closer: FTS5's bm25 rank, PostgreSQL's ts_rank negated). For
    "similar tickets" (support/tickets/similar.py); each word is searched as a literal."""
    words = [w for w in dict.fromkeys(words) if _WORD.fullmatch(w)][:MAX_TERMS]
    if not words:
        found = select(Ticket.id.label("ticket_id"), literal(0.0).label("score"))
        return found.where(Ticket.id.is_(None)).subquery("closest")
    if db.engine.dialect.name == "sqlite":
        query = text(
            f"SELECT rowid AS ticket_id, rank AS score FROM {TABLE} WHERE {TABLE} MATCH :close_q"
        ).bindparams(close_q=" OR ".join(f'"{w}"' for w in words))
    else:
        parts = " || ".join(f"plainto_tsquery('english', :close_w{n})" for n in range(len(words)))
        query = text(
            f"SELECT ticket_id, -ts_rank(document, wanted.q) AS score FROM {TABLE} "
            f"CROSS JOIN (SELECT {parts} AS q) AS wanted WHERE document @@ wanted.q"
        ).bindparams(**{f"close_w{n}": w for n, w in enumerate(words)})
    return query.columns(ticket_id=Integer, score=Float).subquery("closest")


def snippets(terms: Terms, ticket_ids: list[int]) -> dict[int, Markup]:
    """For each of these tickets, a short passage with the words found marked (one query)."""
    if not terms or not ticket_ids:
        return {}
    if db.engine.dialect.name == "sqlite":
        statement = text(
            f"SELECT rowid, snippet({TABLE}, -1, :start, :stop, '…', 18) FROM {TABLE} "
            f"WHERE {TABLE} MATCH :search_q AND rowid IN :ids"
        ).bindparams(search_q=_fts5_query(terms), start=START, stop=STOP)
    else:
        tsquery, params = _tsquery_sql(terms)
        options = (
            f"StartSel={START}, StopSel={STOP}, MaxWords=24, MinWords=10, MaxFragments=1, "
            'FragmentDelimiter=" … "'
        )
        statement = text(
            f"SELECT ticket_id, ts_headline('english', body, ({tsquery}), :options) "
            f"FROM {TABLE} WHERE ticket_id IN :ids"
        ).bindparams(options=options, **params)
    statement = statement.bindparams(bindparam("ids", expanding=True))
    rows = db.session.execute(statement, {"ids": ticket_ids})
    found = {ticket_id: _marked(passage or "") for ticket_id, passage in rows}
    return {ticket_id: passage for ticket_id, passage in found.items() if passage}


_MARKED = re.compile(f"{START}(.*?){STOP}", re.DOTALL)


def _marked(passage: str) -> Markup | None:
    """The passage escaped, its marks as <mark>; None when no word in it was marked."""
    if START not in passage:
        return None
    safe = str(escape(" ".join(passage.split())))
    html = _MARKED.sub(r"<mark>\1</mark>", safe).replace(START, "").replace(STOP, "")
    return Markup(html)  # noqa: S704 - escaped above; only our own <mark> tags are added
