"""IMAP polling against a real Dovecot: each message delivered once, marked on the
server only after delivery, failures fetched again, UIDVALIDITY changes survived."""

from __future__ import annotations

import email
from dataclasses import replace

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import select

from support.extensions import db
from support.mail import imap
from support.mail.imap import FILED_KEYWORD, ImapSettings, poll
from support.models import ImapMailboxState
from tests.imap import dovecot
from tests.imap.conftest import CuttingProxy, mailbox_admin, message, through

pytestmark = pytest.mark.usefixtures("app")


class Inbox:
    """What `deliver` received, keyed by Message-ID as the real intake is."""

    def __init__(self, fail_on: set[str] = frozenset()) -> None:
        self.received: list[str] = []
        self.fail_on = set(fail_on)

    def __call__(self, raw: bytes) -> None:
        parsed = email.message_from_bytes(raw)
        subject = parsed["Subject"]
        if subject in self.fail_on:
            raise RuntimeError(f"cannot store {subject}")
        self.received.append(subject)


def append(mailbox: IMAPClient, settings: ImapSettings, *numbers: int) -> None:
    for n in numbers:
        mailbox.append(settings.folder, message(n))


def flags(mailbox: IMAPClient, settings: ImapSettings) -> dict[int, tuple[bytes, ...]]:
    mailbox.select_folder(settings.folder, readonly=True)
    return mailbox.get_flags(mailbox.search(["ALL"]))


def test_new_messages_are_delivered_once_and_flagged(
    mailbox: IMAPClient, imap_settings: ImapSettings
) -> None:
    append(mailbox, imap_settings, 1, 2, 3)
    inbox = Inbox()

    result = poll(inbox, imap_settings)
    assert (result.delivered, result.failed) == (3, 0)
    assert inbox.received == ["Question 1", "Question 2", "Question 3"]
    assert all(
        FILED_KEYWORD in f and b"\\Seen" in f for f in flags(mailbox, imap_settings).values()
    )

    # Nothing new: nothing fetched again. A new message: only it.
    assert poll(inbox, imap_settings).delivered == 0
    append(mailbox, imap_settings, 4)
    assert poll(inbox, imap_settings).delivered == 1
    assert inbox.received == ["Question 1", "Question 2", "Question 3", "Question 4"]


def test_the_watermark_alone_prevents_a_second_fetch(
    mailbox: IMAPClient, imap_settings: ImapSettings
) -> None:
    """Even if someone clears our flag, normal operation does not fetch a message twice."""
    append(mailbox, imap_settings, 1)
    inbox = Inbox()
    poll(inbox, imap_settings)
    mailbox.select_folder(imap_settings.folder)
    mailbox.remove_flags(mailbox.search(["ALL"]), [FILED_KEYWORD])
    assert poll(inbox, imap_settings).delivered == 0
    state = db.session.scalar(select(ImapMailboxState).filter_by(mailbox=imap_settings.mailbox_key))
    assert state.last_uid == 1


def test_a_message_whose_delivery_fails_stays_and_comes_back(
    mailbox: IMAPClient, imap_settings: ImapSettings
) -> None:
    append(mailbox, imap_settings, 1, 2, 3)
    inbox = Inbox(fail_on={"Question 2"})

    result = poll(inbox, imap_settings)
    # One bad message does not block the others.
    assert (result.delivered, result.failed) == (2, 1)
    assert inbox.received == ["Question 1", "Question 3"]
    by_uid = flags(mailbox, imap_settings)
    assert FILED_KEYWORD not in by_uid[2] and b"\\Seen" not in by_uid[2]
    assert FILED_KEYWORD in by_uid[1] and FILED_KEYWORD in by_uid[3]

    # Still failing: fetched again, the others are not.
    assert poll(inbox, imap_settings).failed == 1
    inbox.fail_on.clear()
    assert poll(inbox, imap_settings).delivered == 1
    assert inbox.received == ["Question 1", "Question 3", "Question 2"]
    assert poll(inbox, imap_settings).delivered == 0


def test_the_connection_dropped_mid_fetch(
    mailbox: IMAPClient, imap_settings: ImapSettings, cutting_proxy: CuttingProxy, monkeypatch
) -> None:
    # Small batches so the cut falls in the middle of the mailbox, between deliveries.
    monkeypatch.setattr(imap, "BATCH_MESSAGES", 2)
    append(mailbox, imap_settings, *range(1, 8))
    settings = through(cutting_proxy, imap_settings)
    inbox = Inbox()

    class CutDuringThirdBatch:
        def __call__(self, raw: bytes) -> None:
            inbox(raw)
            if len(inbox.received) == 4:  # the next FETCH answer is cut a few bytes in
                cutting_proxy.cut_after(40)

    with pytest.raises((IMAPClientError, OSError)):
        poll(CutDuringThirdBatch(), settings)
    assert cutting_proxy.cuts == 1
    assert inbox.received == [f"Question {n}" for n in range(1, 5)]

    poll(inbox, settings)
    assert sorted(inbox.received, key=lambda s: int(s.split()[1])) == [
        f"Question {n}" for n in range(1, 8)
    ]
    assert len(set(inbox.received)) == len(inbox.received) == 7


def test_uidvalidity_change_starts_again_from_the_flags(
    mailbox: IMAPClient, imap_settings: ImapSettings
) -> None:
    append(mailbox, imap_settings, 1, 2)
    inbox = Inbox()
    poll(inbox, imap_settings)
    key = imap_settings.mailbox_key
    before = db.session.scalar(select(ImapMailboxState).filter_by(mailbox=key)).uidvalidity

    # The folder is re-created (a restore, a migration to another server): UIDs start at 1
    # again under a new UIDVALIDITY. The old watermark (2) would hide messages 1 and 2.
    mailbox.delete_folder(imap_settings.folder)
    mailbox.create_folder(imap_settings.folder)
    append(mailbox, imap_settings, 3, 4, 5)
    result = poll(inbox, imap_settings)

    assert result.uidvalidity_changed
    assert result.delivered == 3
    assert inbox.received == [f"Question {n}" for n in range(1, 6)]
    db.session.expire_all()
    state = db.session.scalar(select(ImapMailboxState).filter_by(mailbox=key))
    assert state.uidvalidity != before and state.last_uid == 3


def test_done_folder_moves_each_message_after_delivery(
    mailbox: IMAPClient, imap_settings: ImapSettings
) -> None:
    done = imap_settings.folder + "-done"
    mailbox.create_folder(done)
    settings = replace(imap_settings, done_folder=done)
    append(mailbox, settings, 1, 2, 3)
    inbox = Inbox(fail_on={"Question 3"})

    poll(inbox, settings)
    assert inbox.received == ["Question 1", "Question 2"]
    assert mailbox.folder_status(settings.folder, [b"MESSAGES"])[b"MESSAGES"] == 1
    assert mailbox.folder_status(done, [b"MESSAGES"])[b"MESSAGES"] == 2


# IMAP4rev1 without MOVE: the RFC 6851 fallback (copy, flag deleted, expunge by UID).
WITHOUT_MOVE = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ UIDPLUS"
WITHOUT_MOVE_OR_UIDPLUS = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+"


@pytest.mark.parametrize("capabilities", [WITHOUT_MOVE, WITHOUT_MOVE_OR_UIDPLUS])
def test_done_folder_on_a_server_without_move(capabilities: str) -> None:
    if not dovecot.available():
        pytest.skip("Dovecot is not installed (.ci/run installs dovecot-imapd)")
    server = dovecot.start(capabilities)
    try:
        settings = ImapSettings(
            host="127.0.0.1",
            port=server.port,
            tls="off",
            user=server.user,
            password=server.password,
            folder="INBOX",
            timeout=10,
            done_folder="Filed",
        )
        with mailbox_admin(server) as mailbox:
            assert not mailbox.has_capability("MOVE")
            mailbox.create_folder("Filed")
            append(mailbox, settings, 1, 2, 3)
            inbox = Inbox(fail_on={"Question 3"})

            poll(inbox, settings)
            assert inbox.received == ["Question 1", "Question 2"]
            assert mailbox.folder_status("Filed", [b"MESSAGES"])[b"MESSAGES"] == 2
            mailbox.select_folder("INBOX")
            left = mailbox.get_flags(mailbox.search(["ALL"]))
            # Copied and flagged deleted; expunged at once only where UIDPLUS allows it.
            undeleted = [uid for uid, f in left.items() if b"\\Deleted" not in f]
            assert len(undeleted) == 1
            assert len(left) == (1 if "UIDPLUS" in capabilities else 3)

            poll(inbox, settings)  # nothing is delivered twice
            assert inbox.received == ["Question 1", "Question 2"]
    finally:
        server.stop()


def test_wrong_password_is_a_clear_error(imap_settings: ImapSettings) -> None:
    with pytest.raises(IMAPClientError):
        poll(Inbox(), replace(imap_settings, password="wrong"))


def test_settings_from_the_environment() -> None:
    assert ImapSettings.from_env({}) is None
    settings = ImapSettings.from_env(
        {"IMAP_HOST": "imap.example.com", "IMAP_USER": "support", "IMAP_PASSWORD": "s3cret"}
    )
    assert (settings.port, settings.tls, settings.folder) == (993, "ssl", "INBOX")
    assert "s3cret" not in repr(settings)
    plain = ImapSettings.from_env(
        {"IMAP_HOST": "h", "IMAP_TLS": "starttls", "IMAP_FOLDER": "Support"}
    )
    assert (plain.port, plain.tls, plain.folder) == (143, "starttls", "Support")
    with pytest.raises(ValueError, match="IMAP_PORT must be a whole number"):
        ImapSettings.from_env({"IMAP_HOST": "h", "IMAP_PORT": "imaps"})
    with pytest.raises(ValueError, match="IMAP_TLS"):
        ImapSettings.from_env({"IMAP_HOST": "h", "IMAP_TLS": "yes"})
