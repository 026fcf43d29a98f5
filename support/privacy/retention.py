"""Retention: "anonymise closed tickets after N days" and "delete stored attachments
(and raw emails) after N days", set at /admin/privacy and applied by the sweep.

A dry run (`preview`) says how many would go; `apply` does it. Nothing is set by
default: until an admin chooses a number, everything is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from support import clock
from support.extensions import db
from support.models import PrivacySettings, Status, Ticket, User
from support.models.privacy import AUDIT_MIN_DAYS
from support.privacy import audit, export, stores
from support.privacy.audit import Action
from support.tickets import service

MAX_DAYS = 36_500  # a hundred years: beyond that, say "keep" (leave it empty)
BATCH = 200


class RetentionError(ValueError):
    """A setting that can't be saved; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Preview:
    tickets: int
    files: int
    file_bytes: int

    @property
    def nothing(self) -> bool:
        return not (self.tickets or self.files)


def settings() -> PrivacySettings:
    found = db.session.scalar(select(PrivacySettings).order_by(PrivacySettings.id).limit(1))
    return found or PrivacySettings(audit_days=365)


def check_days(field: str, value: int | None, minimum: int = 1) -> int | None:
    """None means "keep for ever"; anything else is a whole number of days ≥ minimum."""
    if value is None:
        return None
    if value < minimum:
        raise RetentionError(
            field,
            f"Enter at least {minimum} day{'s' if minimum > 1 else ''}, or leave it empty to keep "
            "everything. 0 or a negative number would delete data as soon as it is written.",
        )
    if value > MAX_DAYS:
        raise RetentionError(field, f"Enter at most {MAX_DAYS} days, or leave it empty.")
    return value


def save(
    *,
    anonymise_days: int | None,
    files_days: int | None,
    audit_days: int,
    by: User,
    address: str | None = None,
) -> PrivacySettings:
    anonymise_days = check_days("anonymise_closed_after_days", anonymise_days)
    files_days = check_days("delete_files_after_days", files_days)
    audit_days = check_days("audit_days", audit_days, AUDIT_MIN_DAYS) or AUDIT_MIN_DAYS
    current = settings()
    before = _values(current)
    current.anonymise_closed_after_days = anonymise_days
    current.delete_files_after_days = files_days
    current.audit_days = audit_days
    current.updated_at = clock.now()
    db.session.add(current)
    db.session.flush()
    audit.record(
        Action.RETENTION_CHANGED,
        by,
        "retention",
        {"before": before, "after": _values(current)},
        address,
        commit=False,
    )
    db.session.commit()
    return current


def _values(s: PrivacySettings) -> dict[str, int | None]:
    return {
        "anonymise_closed_after_days": s.anonymise_closed_after_days,
        "delete_files_after_days": s.delete_files_after_days,
        "audit_days": s.audit_days,
    }


def _closed_before(days: int):
    cutoff = clock.now() - timedelta(days=days)
    return (
        Ticket.status == Status.CLOSED,
        Ticket.closed_at < cutoff,
        Ticket.anonymised_at.is_(None),
    )


def preview(anonymise_days: int | None, files_days: int | None) -> Preview:
    """The dry run: how many tickets and files these settings would remove now."""
    tickets = 0
    if anonymise_days:
        tickets = (
            db.session.scalar(select(func.count()).where(*_closed_before(anonymise_days))) or 0
        )
    files = size = 0
    if files_days:
        cutoff = clock.now() - timedelta(days=files_days)
        for store in stores.FILE_STORES:
            count, total = store.count(cutoff)
            files, size = files + count, size + total
    return Preview(tickets, files, size)


def apply(by: User | None = None) -> Preview:
    """Apply the saved settings (the sweep calls this); one audit entry if anything went."""
    current = settings()
    tickets = files = 0
    if days := current.anonymise_closed_after_days:
        while ids := list(
            db.session.scalars(select(Ticket.id).where(*_closed_before(days)).limit(BATCH))
        ):
            tickets += service.anonymise(ids, reason="retention")
    if days := current.delete_files_after_days:
        cutoff = clock.now() - timedelta(days=days)
        files = sum(store.purge(cutoff) for store in stores.FILE_STORES)
    expired_exports = export.expire()
    expired_audit = audit.expire(current.audit_days)
    db.session.commit()
    done = Preview(tickets, files, 0)
    if not done.nothing:
        audit.record(
            Action.RETENTION_RUN,
            by,
            "retention",
            {
                "tickets": tickets,
                "files": files,
                "exports": expired_exports,
                "audit_entries": expired_audit,
            },
        )
    return done
