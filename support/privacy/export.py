""" "Export my data": a zip of the account, their tickets with public events, ratings,
notifications and attachments, built by a job and downloadable for 24 hours.

Never internal notes or internal events, never another person's data: only tickets
the person filed, only public events, and people on the team are named by role.
The zip is written to disk as it is built (tickets in batches, files copied in
chunks) and sent from disk, so a huge export is never held in memory.
"""

from __future__ import annotations

import json
import secrets
import shutil
import zipfile
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import Row, Select, func, select, update

from support import clock
from support.extensions import db
from support.jobs import queue
from support.models import (
    Attachment,
    DataExport,
    JobState,
    Notification,
    Rating,
    Ticket,
    TicketEvent,
    User,
)
from support.privacy import audit, erasure
from support.privacy.audit import Action
from support.tickets import attachments

JOB = "support.privacy.jobs.build_export"
LIFETIME = timedelta(hours=24)
BATCH = 100


class ExportRefused(Exception):
    """An export that can't be made now; the message is for the reader."""


def folder() -> Path:
    return Path(
        current_app.config.get("EXPORT_FOLDER") or Path(current_app.instance_path) / "exports"
    )


def path_of(export: DataExport) -> Path | None:
    return folder() / f"{export.file_key}.zip" if export.file_key else None


def latest(user: User) -> DataExport | None:
    return db.session.scalar(
        select(DataExport)
        .where(DataExport.user_id == user.id)
        .order_by(DataExport.id.desc())
        .limit(1)
    )


def ask(user: User, *, address: str | None = None) -> DataExport:
    """Queue an export (one at a time). Refused while an erasure of the account runs."""
    if user.erased_at is not None or erasure.is_running(user):
        raise ExportRefused(
            "Your data is being erased, so there is nothing left to export. "
            "If you didn't ask for this, contact us."
        )
    current = latest(user)
    if current is not None and current.state in (JobState.QUEUED, JobState.RUNNING):
        return current
    export = DataExport(user_id=user.id, created_at=clock.now())
    db.session.add(export)
    db.session.flush()
    audit.record(Action.EXPORT_REQUESTED, user, export, address=address, commit=False)
    queue.after_commit(JOB, export.id, job_id=f"export-{export.id}")
    db.session.commit()
    return export


def downloadable(export: DataExport, now: datetime | None = None) -> bool:
    now = now or clock.now()
    return (
        export.state == JobState.DONE
        and export.file_key is not None
        and export.expires_at is not None
        and export.expires_at > now
    )


# ---- building ----------------------------------------------------------------------


def build(export_id: int) -> str:
    """The job: write the zip beside its final name, then move it in place."""
    export = db.session.get(DataExport, export_id)
    if export is None or export.state not in (JobState.QUEUED, JobState.RUNNING):
        return "nothing to do"
    user, user_id = export.user, export.user_id
    if user.erased_at is not None or erasure.is_running(user):
        return _finish(export, JobState.REFUSED, "An erasure of this account started.")
    export.state = JobState.RUNNING
    export.done_items = 0
    export.total_items = _ticket_count(user.id) + 1
    db.session.commit()
    key = secrets.token_hex(16)
    folder().mkdir(parents=True, exist_ok=True)
    final = folder() / f"{key}.zip"
    partial = final.with_suffix(".part")
    try:
        # Level 1: most of the size is photos and PDFs, which deflate barely shrinks.
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            _write_json(zf, "account.json", _account(user))
            complete = _write_tickets(zf, export_id, user_id)
            if complete:
                _write_notifications(zf, user_id)
            zf.writestr("README.txt", README)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if not complete:
        partial.unlink(missing_ok=True)
        return _finish(export, JobState.REFUSED, "An erasure of this account started.")
    partial.replace(final)
    export.file_key = key
    export.size = final.stat().st_size
    export.expires_at = clock.now() + LIFETIME
    return _finish(export, JobState.DONE, None)


def _finish(export: DataExport, state: JobState, error: str | None) -> str:
    export.state = state
    export.error = error
    export.finished_at = clock.now()
    export.done_items = export.total_items
    db.session.commit()
    return f"export {export.id}: {state.value}"


def _ticket_count(user_id: int) -> int:
    return db.session.scalar(select(func.count()).where(Ticket.customer_id == user_id)) or 0


def _account(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "role": user.role.value,
        "created_at": _iso(user.created_at),
        "exported_at": _iso(clock.now()),
    }


def _write_tickets(zf: zipfile.ZipFile, export_id: int, user_id: int) -> bool:
    """Tickets in batches: a fixed number of queries per batch. False if an erasure
    started meanwhile (the partial zip is then thrown away)."""
    after = 0
    while tickets := list(
        db.session.scalars(
            select(Ticket)
            .where(Ticket.customer_id == user_id, Ticket.id > after)
            .order_by(Ticket.id)
            .limit(BATCH)
        )
    ):
        ids = [t.id for t in tickets]
        events = _public_events(ids)
        files = _public_files(ids)
        ratings = {
            r.ticket_id: r
            for r in db.session.scalars(select(Rating).where(Rating.ticket_id.in_(ids)))
        }
        for ticket in tickets:
            _write_json(
                zf,
                f"tickets/{ticket.ref}.json",
                _ticket(
                    ticket, user_id, events[ticket.id], files[ticket.id], ratings.get(ticket.id)
                ),
            )
            for attachment in files[ticket.id]:
                _copy_file(
                    zf,
                    f"attachments/{ticket.ref}/{attachment.id}-{attachment.filename}",
                    attachment,
                )
        after = ids[-1]
        db.session.execute(
            update(DataExport)
            .where(DataExport.id == export_id)
            .values(done_items=DataExport.done_items + len(tickets))
        )
        db.session.commit()  # the page's progress bar reads this
        if erasure.is_running_for(user_id):
            return False
        # Forget this batch's rows: memory stays flat however many tickets there are.
        _forget(tickets, *files.values(), ratings.values())
    return True


def _forget(*groups: Any) -> None:
    for group in groups:
        for item in group:
            if item in db.session:
                db.session.expunge(item)


def _public_events(ids: list[int]) -> dict[int, list[Row]]:
    """Plain rows, not entities: twenty thousand events stay cheap to read."""
    found: dict[int, list[Row]] = defaultdict(list)
    for event in db.session.execute(
        select(
            TicketEvent.ticket_id,
            TicketEvent.created_at,
            TicketEvent.kind,
            TicketEvent.actor_id,
            TicketEvent.body_text,
            TicketEvent.data,
        )
        .where(TicketEvent.ticket_id.in_(ids), TicketEvent.is_public.is_(True))
        .order_by(TicketEvent.ticket_id, TicketEvent.id)
    ):
        found[event.ticket_id].append(event)
    return found


def _public_files(ids: list[int]) -> dict[int, list[Attachment]]:
    """Attachments on public events only (a file on an internal note is internal)."""
    found: dict[int, list[Attachment]] = defaultdict(list)
    for attachment in db.session.scalars(
        select(Attachment)
        .join(TicketEvent, Attachment.event_id == TicketEvent.id)
        .where(Attachment.ticket_id.in_(ids), TicketEvent.is_public.is_(True))
        .order_by(Attachment.id)
    ):
        found[attachment.ticket_id].append(attachment)
    return found


def _ticket(
    ticket: Ticket,
    user_id: int,
    events: list[Row],
    files: list[Attachment],
    rating: Rating | None,
) -> dict[str, Any]:
    return {
        "ref": ticket.ref,
        "subject": ticket.subject,
        "description": ticket.description,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "created_at": _iso(ticket.created_at),
        "updated_at": _iso(ticket.updated_at),
        "resolved_at": _iso(ticket.resolved_at),
        "closed_at": _iso(ticket.closed_at),
        "rating": {"score": rating.score, "comment": rating.comment} if rating else None,
        "events": [_event(e, user_id) for e in events],
        "attachments": [
            {
                "file": f"attachments/{ticket.ref}/{a.id}-{a.filename}",
                "name": a.filename,
                "size": a.size,
                "sha256": a.sha256,
            }
            for a in files
        ],
    }


def _event(event: Row, user_id: int) -> dict[str, Any]:
    # The team is named by role, not by person: their names are not the reader's data.
    author = (
        "you" if event.actor_id == user_id else ("support team" if event.actor_id else "system")
    )
    data = event.data or {}
    return {
        "at": _iso(event.created_at),
        "kind": event.kind.value,
        "by": author,
        "text": event.body_text,
        **({"status": data["to"]} if event.kind.value in ("status_changed", "reopened") else {}),
        **({"score": data.get("score")} if event.kind.value == "rated" else {}),
    }


def _write_notifications(zf: zipfile.ZipFile, user_id: int, batch: int = 1000) -> None:
    """A JSON array written piece by piece, never built whole."""
    with zf.open("notifications.json", "w") as out:
        out.write(b"[")
        first, after = True, 0
        while rows := list(
            db.session.scalars(
                select(Notification)
                .where(Notification.user_id == user_id, Notification.id > after)
                .order_by(Notification.id)
                .limit(batch)
            )
        ):
            for n in rows:
                item = {"at": _iso(n.created_at), "text": n.text, "read_at": _iso(n.read_at)}
                out.write((b"" if first else b",\n") + json.dumps(item).encode())
                first = False
            after = rows[-1].id
            _forget(rows)
        out.write(b"]\n")


def _write_json(zf: zipfile.ZipFile, name: str, data: Any) -> None:
    zf.writestr(name, json.dumps(data, indent=2, ensure_ascii=False))


def _copy_file(zf: zipfile.ZipFile, name: str, attachment: Attachment) -> None:
    source = attachments.path_of(attachment.storage_key)
    if not source.exists():
        return  # deleted by retention meanwhile: the JSON still lists it
    with source.open("rb") as src, zf.open(name, "w", force_zip64=True) as dst:
        shutil.copyfileobj(src, dst, 256 * 1024)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


README = """Your data from our support desk.

account.json        your account as we hold it
tickets/*.json      each request you filed, with its public messages and changes
attachments/        the files on those messages
notifications.json  the notices we showed you

Messages from our team are marked "support team"; internal notes are not included.
"""


# ---- expiry --------------------------------------------------------------------------


def delete_files(query: Select) -> int:
    """Delete the zips of the exports `query` selects (their rows stay, without file)."""
    gone = 0
    for export in db.session.scalars(query.where(DataExport.file_key.is_not(None))):
        if (path := path_of(export)) is not None:
            path.unlink(missing_ok=True)
        export.file_key = None
        gone += 1
    return gone


def expire(now: datetime | None = None) -> int:
    """The sweep deletes zips past their 24 hours."""
    gone = delete_files(select(DataExport).where(DataExport.expires_at < (now or clock.now())))
    db.session.commit()
    return gone
