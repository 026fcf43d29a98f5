"""Privacy: the audit log, data exports, erasure requests and retention settings.

The audit log never holds a name or an email: it names people by id (their row in
`users` is what an erasure tombstones), so it can stay append-only and still hold
nothing of an erased customer.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DDL, JSON, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from support import clock
from support.extensions import db
from support.models.ticket import str_enum
from support.models.user import User

# Entries younger than this can't be deleted, whatever the retention setting says;
# the database refuses it too (the triggers below).
AUDIT_MIN_DAYS = 90


class AuditEntry(db.Model):
    """One security-relevant action: who, what, when, from which address."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_created", "created_at"),
        Index("ix_audit_log_action_created", "action", "created_at"),
        Index("ix_audit_log_actor_created", "actor_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    action: Mapped[str] = mapped_column(String(40))
    # No foreign key: an entry outlives anything it names, and never blocks a delete.
    actor_id: Mapped[int | None] = mapped_column(default=None)
    target_type: Mapped[str | None] = mapped_column(String(20), default=None)
    target_id: Mapped[str | None] = mapped_column(String(40), default=None)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    address: Mapped[str | None] = mapped_column(String(45), default=None)


# Append-only in the database itself, so not even a bulk UPDATE from a shell changes
# history; old rows may go only once they are past the minimum age.
_SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER audit_log_no_early_delete BEFORE DELETE ON audit_log "
    f"WHEN OLD.created_at > datetime('now', '-{AUDIT_MIN_DAYS} days') "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
]
_POSTGRES_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION audit_log_guard() RETURNS trigger AS $$ BEGIN "
    "IF TG_OP = 'UPDATE' OR OLD.created_at > (now() AT TIME ZONE 'utc') - "
    f"interval '{AUDIT_MIN_DAYS} days' THEN "
    "RAISE EXCEPTION 'the audit log is append-only'; END IF; RETURN OLD; END $$ "
    "LANGUAGE plpgsql",
    "CREATE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_guard()",
]
AUDIT_TRIGGERS = {"sqlite": _SQLITE_TRIGGERS, "postgresql": _POSTGRES_TRIGGERS}
for _dialect, _statements in AUDIT_TRIGGERS.items():
    for _sql in _statements:
        event.listen(AuditEntry.__table__, "after_create", DDL(_sql).execute_if(dialect=_dialect))


class AuditLogIsAppendOnly(RuntimeError):
    """Something tried to change or delete an audit entry through the ORM."""


def _refuse(*_: object) -> None:
    raise AuditLogIsAppendOnly("The audit log is append-only: entries can't be changed.")


event.listen(AuditEntry, "before_update", _refuse)
event.listen(AuditEntry, "before_delete", _refuse)


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    REFUSED = "refused"


class DataExport(db.Model):
    """A customer's "export my data" zip: built by a job, downloadable for 24 hours."""

    __tablename__ = "data_exports"
    __table_args__ = (Index("ix_data_exports_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[JobState] = mapped_column(str_enum(JobState), default=JobState.QUEUED)
    done_items: Mapped[int] = mapped_column(default=0)
    total_items: Mapped[int] = mapped_column(default=0)
    # The file's random name in the export folder; None until built (and once deleted).
    file_key: Mapped[str | None] = mapped_column(String(64), default=None)
    size: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(String(300), default=None)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship()

    @property
    def percent(self) -> int:
        if self.state == JobState.DONE:
            return 100
        return int(100 * self.done_items / self.total_items) if self.total_items else 0


class ErasureState(StrEnum):
    REQUESTED = "requested"  # the customer asked; an admin confirms
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ErasureRequest(db.Model):
    """ "Erase my data": asked by the customer (or started by an admin), confirmed by an
    admin, carried out by a job. The customer is named by id only."""

    __tablename__ = "erasure_requests"
    __table_args__ = (Index("ix_erasure_requests_customer", "customer_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[ErasureState] = mapped_column(
        str_enum(ErasureState), default=ErasureState.REQUESTED
    )
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    requested_at: Mapped[datetime] = mapped_column(default=clock.now)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(String(300), default=None)

    customer: Mapped[User] = relationship(foreign_keys=[customer_id])
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])


class PrivacySettings(db.Model):
    """Retention, set at /admin/privacy (one row; None means "keep")."""

    __tablename__ = "privacy_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    anonymise_closed_after_days: Mapped[int | None] = mapped_column(default=None)
    delete_files_after_days: Mapped[int | None] = mapped_column(default=None)
    audit_days: Mapped[int] = mapped_column(default=365)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
