"""Where IMAP polling got to in each mailbox, so a poll fetches only what is new."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from support import clock
from support.extensions import db


class ImapMailboxState(db.Model):
    __tablename__ = "imap_mailbox_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "user@host:port/folder": a different account or folder starts from scratch.
    mailbox: Mapped[str] = mapped_column(String(500), unique=True)
    # UIDs only mean something within one UIDVALIDITY; when the server changes it,
    # last_uid starts again at 0.
    uidvalidity: Mapped[int] = mapped_column(BigInteger, default=0)
    # Every message with a UID up to this one has been delivered (a watermark: a message
    # that failed holds it back, so the failure is fetched again next poll).
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    polled_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    def __repr__(self) -> str:
        return f"<ImapMailboxState {self.mailbox} {self.uidvalidity}:{self.last_uid}>"
