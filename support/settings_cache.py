"""Settings most pages read (the active categories, the teams, the SLA policies), every
filing reads (the priority rules) and every ticket change asks (whether any webhook is
active), kept in each process and checked against one version number in Redis.

Reading them from the database cost 250-360 µs of CPU a statement, 1-3 a page (bench/README.md,
"web CPU per request"); a Redis GET costs ~25 µs, once per transaction. The version moves
after the commit of every transaction that wrote one of SETTINGS_TABLES, whoever wrote it
(admin pages, the CLI, imports, seeding, jobs): session events below notice the write, so no
writer has to remember. A process that finds another version than the one its copy was
read under reads again. Order matters: the version is read before the rows, and moved after
the commit, so a copy is never kept under a version newer than its rows.

Without Redis (down, or not answering) every read goes to the database, and the copies are
dropped, since nothing can vouch for them any more. A write whose version bump failed (Redis
down at that moment) is seen by the others at the latest after MAX_AGE seconds.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context
from redis.exceptions import RedisError
from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

from support.extensions import db
from support.jobs.redis import connection
from support.models import Category, Team
from support.tickets.schedule import once_per_transaction

log = logging.getLogger(__name__)

T = TypeVar("T")

VERSION_KEY = "support-desk:settings-version"
SETTINGS_TABLES = frozenset({"categories", "teams", "sla_policies", "priority_rules", "webhooks"})
# A copy older than this is read again even if the version did not move: the bound on how
# long a write whose bump never reached Redis can stay unseen by other processes.
MAX_AGE = 60.0
# After Redis failed to answer, this process reads from the database without asking Redis
# for this long (a hung Redis would otherwise cost every page its read timeout).
RETRY_REDIS_AFTER = 5.0
_WROTE = "settings_written"  # session.info: this transaction wrote a settings table
_VERSION = "settings_version"  # session.info key (once per transaction)


@dataclass(frozen=True, slots=True)
class CategoryChoice:
    """An active category as pages list it (the home page, the forms, the filters)."""

    id: int
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class TeamChoice:
    id: int
    name: str


class _Copies:
    """One app's copies: name -> (version, read at, value)."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[str, float, Any]] = {}
        self.redis_failed_at = float("-inf")
        self.lock = threading.Lock()


def _copies(app: Flask) -> _Copies:
    return app.extensions["settings_cache"]


def cached(name: str, load: Callable[[Session], T]) -> T:
    """`load(session)`, from this process's copy while the version in Redis has not moved;
    within a transaction that wrote settings itself, always from the database."""
    session = db.session()
    if session.info.get(_WROTE) or _settings_pending(session):
        return once_per_transaction(name, load)
    copies = _copies(current_app)
    version = once_per_transaction(_VERSION, lambda _: _current_version(copies))
    if version is None:
        return once_per_transaction(name, load)
    found = copies.values.get(name)
    if found is not None and found[0] == version and time.monotonic() - found[1] < MAX_AGE:
        return found[2]
    value = load(session)
    with copies.lock:
        copies.values[name] = (version, time.monotonic(), value)
    return value


def _current_version(copies: _Copies) -> str | None:
    if time.monotonic() - copies.redis_failed_at < RETRY_REDIS_AFTER:
        return None
    try:
        redis = connection()
        version = redis.get(VERSION_KEY)
        if version is None:  # never set, or Redis lost it: a new one nobody has copies under
            redis.set(VERSION_KEY, _fresh_version(), nx=True)
            version = redis.get(VERSION_KEY)
    except RedisError:
        log.warning("Redis did not answer: settings are read from the database for now")
        with copies.lock:
            copies.redis_failed_at = time.monotonic()
            copies.values.clear()
        return None
    return None if version is None else version.decode()


def _fresh_version() -> int:
    # Random, not 0: a version Redis lost and set again must not meet an old copy's.
    return secrets.randbits(62)


def bump() -> None:
    """Move the version: every process reads the settings again on its next look."""
    try:
        with connection().pipeline(transaction=True) as pipe:
            pipe.set(VERSION_KEY, _fresh_version(), nx=True)
            pipe.incr(VERSION_KEY)
            pipe.execute()
    except RedisError:
        log.error(
            "Settings changed but Redis did not answer: other processes may show the old "
            "ones for up to %d s",
            MAX_AGE,
        )


# --- noticing writes -------------------------------------------------------------------


def _is_setting(instance: object) -> bool:
    table = getattr(type(instance), "__table__", None)
    return table is not None and table.name in SETTINGS_TABLES


def _settings_pending(session: Session) -> bool:
    """Unflushed changes to a settings row (they are not in the database yet)."""
    return any(_is_setting(obj) for obj in (*session.new, *session.deleted, *session.dirty))


def _before_flush(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    if _settings_pending(session):
        session.info[_WROTE] = True


def _on_execute(state: ORMExecuteState) -> None:
    """Bulk statements (`update(Category)...`) pass no flush."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in SETTINGS_TABLES:
        state.session.info[_WROTE] = True


def _after_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint's: the rows are not committed yet
    if session.info.pop(_WROTE, False) and has_app_context():
        bump()


def _after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:  # the whole transaction (a savepoint's keeps what came before)
        session.info.pop(_WROTE, None)


def _listen() -> None:
    if event.contains(Session, "before_flush", _before_flush):
        return
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "do_orm_execute", _on_execute)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", _after_soft_rollback)


def init_app(app: Flask) -> None:
    app.extensions["settings_cache"] = _Copies()
    _listen()


# --- the settings ------------------------------------------------------------------------


def _read_categories(session: Session) -> tuple[CategoryChoice, ...]:
    rows = session.execute(
        select(Category.id, Category.slug, Category.name)
        .where(Category.is_active.is_(True))
        .order_by(Category.name)
    )
    return tuple(CategoryChoice(id, slug, name) for id, slug, name in rows)


def active_categories() -> tuple[CategoryChoice, ...]:
    """The categories customers and agents choose from, by name."""
    return cached("active_categories", _read_categories)


def _read_teams(session: Session) -> tuple[TeamChoice, ...]:
    rows = session.execute(select(Team.id, Team.name).order_by(Team.name))
    return tuple(TeamChoice(id, name) for id, name in rows)


def teams() -> tuple[TeamChoice, ...]:
    """Every team, by name (the board's and the queue's filters)."""
    return cached("teams", _read_teams)
