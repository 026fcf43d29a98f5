"""Bad input, read as well as it can be: charsets, encoded words, RFC 2231 names, nested
messages, TNEF, empty parts, uuencode, hostile HTML, quoted history and signatures."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage

from support.extensions import db
from support.mail.inbound import filing, parse, quotes
from support.models import Attachment, InboundStatus, Outcome, TicketEvent
from tests.mail.conftest import fixture, ingest


def test_a_latin1_label_on_utf8_bytes_is_read_as_utf8() -> None:
    mail = parse.parse(fixture("lying_charset.eml"))
    assert "a échoué deux fois" in mail.text
    assert mail.subject == "Problème de paiement"
    assert (mail.from_name, mail.from_address) == ("Renée Dupont", "renee@example.fr")


def test_no_charset_is_guessed() -> None:
    mail = parse.parse(fixture("no_charset_cp1252.eml"))
    assert "“payment declined”" in mail.text


def test_encoded_word_subject_and_rfc2231_file_name() -> None:
    mail = parse.parse(fixture("rfc2231_and_encoded_words.eml"))
    assert mail.subject == "Recibo de pago – pedido 48213"
    [pdf] = mail.attachments
    assert pdf.filename == "Résumé de pago.pdf"
    assert pdf.data.startswith(b"%PDF")


def test_a_forwarded_message_is_kept_whole_as_an_eml() -> None:
    mail = parse.parse(fixture("forwarded_rfc822.eml"))
    assert "tracking number does not work" in mail.text
    [eml] = mail.attachments
    assert eml.filename == "Your order has shipped.eml"
    assert b"Tracking: ZZ123." in eml.data


def test_winmail_dat_is_kept_and_an_empty_part_is_skipped() -> None:
    mail = parse.parse(fixture("winmail_and_empty_part.eml"))
    assert [p.filename for p in mail.attachments] == ["winmail.dat"]
    assert mail.skipped == ["empty.bin"]


def test_hostile_html_is_sanitised_and_loads_nothing_remote() -> None:
    mail = parse.parse(fixture("html_hostile.eml"))
    html = mail.html or ""
    for bad in ("<script", "onclick", "javascript:", "<img", "tracker.example", "<style"):
        assert bad not in html
    assert "Error 502" in mail.text and "alert" not in mail.text
    [image] = mail.attachments  # the inline image becomes an attachment
    assert image.filename == "screenshot.png" and image.inline


def test_uuencoded_block_becomes_an_attachment() -> None:
    mail = parse.parse(fixture("uuencoded.eml"))
    [log] = mail.attachments
    assert (log.filename, log.data) == ("log.txt", b"ERROR 42 at checkout\n")
    assert "begin 644" not in mail.text and "Thanks." in mail.text


def test_quoted_history_and_signature_are_split_off() -> None:
    mail = parse.parse(fixture("reply_with_quote.eml"))
    visible, rest = quotes.split(mail.text)
    assert visible == "Thanks, the parcel arrived today."
    assert "Sent from my phone" in rest and "> We have asked the carrier." in rest


def test_all_quote_keeps_the_whole_text() -> None:
    assert quotes.split("> only a quote\n> here") == ("> only a quote\n> here", "")


def test_inline_answers_between_quotes_are_not_cut() -> None:
    text = "> Which order?\n48213\n> Which card?\nVisa"
    assert quotes.split(text)[0] == text


def test_garbage_never_raises() -> None:
    for raw in (
        b"",
        b"\x00\xff\xfe",
        b"From:\r\n\r\n",
        b"Subject: =?x?q?broken\n\nbody",
        b"\n" * 5,
    ):
        mail = parse.parse(raw)
        assert mail.from_address is None


def test_fixture_files_are_filed_with_their_attachments(app) -> None:
    row = ingest(fixture("rfc2231_and_encoded_words.eml"))
    assert row.outcome == Outcome.NEW
    [attachment] = db.session.query(Attachment).filter_by(ticket_id=row.ticket_id).all()
    assert attachment.filename == "Résumé de pago.pdf"
    assert attachment.content_type == "application/pdf"


def test_the_quoted_history_is_kept_on_the_event(app) -> None:
    row = ingest(fixture("reply_with_quote.eml"))
    event = db.session.get(TicketEvent, row.event_id)
    assert event.body_text == "Thanks, the parcel arrived today."
    assert "We have asked the carrier" in event.data["email"]["quoted"]


def test_hundreds_of_attachments_are_all_kept(app) -> None:
    message = EmailMessage()
    message["From"], message["To"] = "many@example.com", "support@localhost"
    message["Subject"], message["Message-ID"] = "All the logs", "<many@example.com>"
    message.set_content("Logs attached.")
    for number in range(300):
        message.add_attachment(b"line %d\n" % number, "text", "plain", filename=f"{number}.log")
    row = ingest(bytes(message))
    assert row.status == InboundStatus.FILED
    assert db.session.query(Attachment).filter_by(ticket_id=row.ticket_id).count() == 300


def test_a_message_bigger_than_one_read_slice_is_read_whole(app) -> None:
    data = bytes(range(256)) * (filing.READ_BYTES // 256 + 5000)  # over one slice
    message = EmailMessage()
    message["From"], message["To"] = "big@example.com", "support@localhost"
    message["Subject"], message["Message-ID"] = "Big log", "<big@example.com>"
    message.set_content("Attached.")
    message.add_attachment(data, "application", "octet-stream", filename="big.bin")
    row = ingest(bytes(message))
    [attachment] = db.session.query(Attachment).filter_by(ticket_id=row.ticket_id).all()
    assert attachment.size == len(data)
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
