"""The audit log: who did what, when, from which address. Append-only.

`record()` is the one way in; code paths that do something security-relevant call it
(sign-ins, people's access, settings, tokens, exports, erasures, retention). Entries
name people by id, never by name or email, so an erased customer leaves nothing here.
Nothing edits or deletes an entry (the database refuses too) except `expire()`, which
drops entries older than the audit retention setting.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from flask import current_app
from sqlalchemy import Engine, Select, delete, func, select
from sqlalchemy.orm import Session

from support import clock
from support.extensions import db
from support.models import AuditEntry, User
from support.models.privacy import AUDIT_MIN_DAYS, AuditLogIsAppendOnly  # noqa: F401


class Action(StrEnum):
    SIGN_IN = "auth.sign_in"
    SIGN_IN_FAILED = "auth.sign_in_failed"
    SIGN_IN_THROTTLED = "auth.sign_in_throttled"
    ACCESS_CHANGED = "people.access_changed"
    SETTINGS_CHANGED = "settings.changed"
    TOKEN_CREATED = "token.created"  # noqa: S105 (an action name)
    TOKEN_REVOKED = "token.revoked"  # noqa: S105
    EXPORT_REQUESTED = "privacy.export_requested"
    EXPORT_DOWNLOADED = "privacy.export_downloaded"
    ERASURE_REQUESTED = "privacy.erasure_requested"
    ERASURE_CONFIRMED = "privacy.erasure_confirmed"
    ERASURE_CANCELLED = "privacy.erasure_cancelled"
    ERASED = "privacy.erased"
    RETENTION_CHANGED = "privacy.retention_changed"
    RETENTION_RUN = "privacy.retention_run"

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS = {
    Action.SIGN_IN: "Signed in",
    Action.SIGN_IN_FAILED: "Sign-in failed",
    Action.SIGN_IN_THROTTLED: "Sign-in refused: too many attempts",
    Action.ACCESS_CHANGED: "Access changed",
    Action.SETTINGS_CHANGED: "Settings changed",
    Action.TOKEN_CREATED: "API token created",
    Action.TOKEN_REVOKED: "API token revoked",
    Action.EXPORT_REQUESTED: "Data export requested",
    Action.EXPORT_DOWNLOADED: "Data export downloaded",
    Action.ERASURE_REQUESTED: "Erasure requested",
    Action.ERASURE_CONFIRMED: "Erasure confirmed",
    Action.ERASURE_CANCELLED: "Erasure cancelled",
    Action.ERASED: "Personal data erased",
    Action.RETENTION_CHANGED: "Retention changed",
    Action.RETENTION_RUN: "Retention applied",
}


def record(
    action: Action,
    actor: User | None,
    target: object | None = None,
    details: dict[str, Any] | None = None,
    address: str | None = None,
    *,
    commit: bool = True,
) -> AuditEntry:
    """Append one entry. `target` is a model instance (named by table and id) or a
    string; `details` must hold no names or emails (ids, values, counts).

    Committed on its own by default, so a failed sign-in is recorded even though
    nothing else is written; `commit=False` joins the caller's transaction."""
    target_type, target_id = _target(target)
    entry = AuditEntry(
        action=action.value,
        actor_id=actor.id if actor is not None and actor.is_authenticated else None,
        target_type=target_type,
        target_id=target_id,
        details=details or None,
        address=(address or None) and address[:45],
        created_at=clock.now(),
    )
    db.session.add(entry)
    if commit:
        db.session.commit()
    return entry


def _target(target: object | None) -> tuple[str | None, str | None]:
    if target is None:
        return None, None
    if isinstance(target, str):
        return "setting", target[:40]
    table = getattr(target, "__tablename__", type(target).__name__)
    return table[:20], str(getattr(target, "id", ""))[:40]


def email_fingerprint(email: str) -> str:
    """A failed sign-in for an address with no account is logged by a keyed hash, so
    repeated guesses at one address group together without storing the address."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()
    return digest[:16]


# ---- reading ---------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    action: str = ""
    actor: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    address: str = ""


def _query(filters: Filters) -> Select:
    query = select(AuditEntry)
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.actor is not None:
        query = query.where(AuditEntry.actor_id == filters.actor)
    if filters.since is not None:
        query = query.where(AuditEntry.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEntry.created_at < filters.until)
    if filters.address:
        query = query.where(AuditEntry.address == filters.address)
    return query


def page(filters: Filters, limit: int, offset: int) -> tuple[list[AuditEntry], int]:
    """Newest first; one query for the rows and one for the total."""
    query = _query(filters)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def people_named(entries: list[AuditEntry]) -> dict[int, User]:
    """The users entries name (as actor or user target), in one query."""
    ids = {e.actor_id for e in entries if e.actor_id is not None}
    ids |= {int(e.target_id) for e in entries if e.target_type == "users" and _digits(e.target_id)}
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def _digits(value: str | None) -> bool:
    return bool(value) and value.isascii() and value.isdigit() and len(value) < 12


CSV_COLUMNS = [
    "id",
    "time_utc",
    "action",
    "actor_id",
    "target_type",
    "target_id",
    "address",
    "details",
]


def csv_rows(filters: Filters, engine: Engine, batch: int = 1000) -> Iterator[str]:
    """The filtered log as CSV text, oldest first, read in batches by id while the
    response is sent (a year of entries is never in memory at once). It runs after the
    request has ended, so it opens its own session on `engine`, not the request's."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    yield _drain(out)
    after = 0
    with Session(engine) as session:
        while rows := list(
            session.scalars(
                _query(filters).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(batch)
            )
        ):
            for e in rows:
                writer.writerow(_csv_row(e))
            after = rows[-1].id
            session.expunge_all()  # this session is ours alone: keep it small
            yield _drain(out)


def _csv_row(e: AuditEntry) -> list[object]:
    return [
        e.id,
        e.created_at.isoformat(timespec="seconds"),
        e.action,
        e.actor_id or "",
        e.target_type or "",
        e.target_id or "",
        e.address or "",
        json.dumps(e.details, sort_keys=True) if e.details else "",
    ]


def _drain(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


# ---- expiry ----------------------------------------------------------------------


def expire(days: int, session: Session | None = None) -> int:
    """Delete entries older than `days` (never fewer than the minimum age)."""
    days = max(days, AUDIT_MIN_DAYS)
    cutoff = clock.now() - timedelta(days=days)
    session = session or db.session
    result = session.execute(delete(AuditEntry).where(AuditEntry.created_at < cutoff))
    return result.rowcount or 0
