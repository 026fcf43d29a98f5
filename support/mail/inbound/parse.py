"""Reading one raw email into what filing needs, whatever state it arrives in.

Nothing here raises for a bad message: missing or malformed headers read as empty,
a wrong or missing charset is guessed (charset-normalizer), encoded words and RFC 2231
file names are decoded, uuencoded blocks and TNEF `winmail.dat` become attachments,
nested `message/rfc822` is kept as an .eml attachment, empty parts are skipped. HTML
is sanitised (nh3: no scripts, no images, so no remote image is ever loaded) and
turned into text with inscriptis (Apache-2.0).
"""

from __future__ import annotations

import binascii
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import policy
from email.feedparser import BytesFeedParser
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses

import nh3
from charset_normalizer import from_bytes

from support.text import one_line

_MSGID = re.compile(r"<[^<>\s]{1,400}>")
# Single-byte charsets decode any bytes: a "latin-1" part that is valid UTF-8 lies.
_SINGLE_BYTE = {"iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii", "windows-1252", "cp1252"}
_UUENCODED = re.compile(
    r"^begin [0-7]{3,4} (?P<name>[^\r\n]+)\r?\n(?P<body>.*?)^end\s*$", re.M | re.S
)
FEED_BYTES = 1 << 20
_HTML_TAGS = (nh3.ALLOWED_TAGS - {"img"}) | {"font", "center"}


@dataclass
class Part:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False


@dataclass
class Mail:
    """The parts of a message filing looks at."""

    message: Message
    message_id: str | None = None
    subject: str = ""
    from_name: str = ""
    from_address: str | None = None
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)  # To, Cc, Delivered-To, X-Original-To
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    text: str = ""  # the body as text (from the HTML when there is no text part)
    html: str | None = None  # sanitised
    attachments: list[Part] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # empty parts, by name
    defects: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        return header(self.message, name)

    def headers(self, name: str) -> list[str]:
        return all_headers(self.message, name)


def decode_words(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def header(message: Message, name: str) -> str:
    """One header as one line of text; "" when missing or unreadable."""
    values = all_headers(message, name)
    return values[0] if values else ""


def all_headers(message: Message, name: str) -> list[str]:
    """Every value of a header, decoded, each on one line. Read raw (`raw_items`) so a
    header nobody can parse never raises."""
    wanted = name.lower()
    values = []
    for key, value in message.raw_items():
        if key.lower() == wanted:
            text = value if isinstance(value, str) else str(value)
            values.append(one_line(decode_words(_unescape(text))))
    return values


def _unescape(text: str) -> str:
    """8-bit bytes in a header arrive as surrogates: UTF-8 (what senders use), else cp1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        decoded = raw.decode("utf-8", errors="replace")
        return decoded if decoded.count("\ufffd") <= 2 else raw.decode("cp1252", "replace")


def address_list(message: Message, name: str) -> list[tuple[str, str]]:
    """(display name, lower-cased address) pairs, split before encoded words are decoded
    (a decoded name may hold a comma: "Foo, Bar")."""
    wanted = name.lower()
    raw = [_unescape(str(v)) for k, v in message.raw_items() if k.lower() == wanted]
    try:
        pairs = getaddresses([one_line(v) for v in raw])
    except Exception:  # an address list nobody can read
        return []
    return [(one_line(decode_words(n)).strip(), a.strip().lower()) for n, a in pairs if "@" in a]


def message_ids(value: str) -> list[str]:
    return _MSGID.findall(value)


def _charset_ok(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return "".join(name.split()).lower() if b"".decode(name) == "" else None
    except (LookupError, ValueError):
        return None


def _text(data: bytes, declared: str | None) -> str:
    """Bytes as text: the declared charset when it fits, else what charset-normalizer finds."""
    charset = _charset_ok(declared)
    if charset in _SINGLE_BYTE and not data.isascii():
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if charset is not None:
        try:
            return data.decode(charset)
        except (UnicodeDecodeError, LookupError):
            pass
    if data.isascii():
        return data.decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data[:200_000]).best()
    # UTF-16/32 without a byte order mark is a guess that turns text into noise.
    if best is not None and not best.encoding.startswith(("utf_16", "utf_32")):
        try:
            return data.decode(best.encoding, errors="replace")
        except LookupError:
            pass
    return data.decode("cp1252", errors="replace")


def _payload(part: Message) -> bytes:
    """The part's decoded bytes. Base64 (what big attachments use) is decoded straight
    from the parsed text, which is then dropped: a big part is not held three times."""
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    text = part.get_payload()
    if encoding == "base64" and isinstance(text, str) and text.isascii():
        try:
            data = binascii.a2b_base64(text)
        except binascii.Error:
            pass  # broken base64: the email package's lenient decoding below
        else:
            part.set_payload("")
            return data
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if data is None:
        raw = part.get_payload()
        data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    return data


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name is None:
        ctype = part.get("Content-Type", "")
        match = re.search(r'name="?([^";]+)"?', str(ctype))
        name = match.group(1) if match else None
    # NFC: macOS sends "é" as "e" + a combining accent; people search for "é".
    return unicodedata.normalize("NFC", one_line(decode_words(name))) if name else None


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _is_attachment(part: Message, filename: str | None) -> bool:
    disposition = str(part.get("Content-Disposition", "")).split(";")[0].strip().lower()
    return disposition == "attachment" or filename is not None


def sanitise(html: str) -> str:
    """Safe HTML: no scripts, styles, event handlers or images (remote ones never load)."""
    return nh3.clean(
        html,
        tags=_HTML_TAGS,
        clean_content_tags={"script", "style", "title", "head"},
        link_rel="nofollow noopener noreferrer",
        url_schemes={"http", "https", "mailto"},
    )


def html_to_text(html: str) -> str:
    from inscriptis import get_text

    try:
        return get_text(html).strip()
    except Exception:
        return nh3.clean(html, tags=set()).strip()


def _uudecode(text: str) -> tuple[str, list[Part]]:
    """Pull uuencoded blocks out of a text body as attachments."""
    parts = []
    for match in _UUENCODED.finditer(text):
        data = bytearray()
        for line in match["body"].splitlines():
            if not line.strip() or line.strip() == "`":
                continue
            try:
                data += binascii.a2b_uu(line)
            except binascii.Error:
                continue
        parts.append(Part(one_line(match["name"]), "application/octet-stream", bytes(data)))
    return (_UUENCODED.sub("", text) if parts else text), parts


def parse(raw: bytes | Iterable[bytes]) -> Mail:
    """The message in `raw` (bytes, or its bytes in slices), read as far as it can be
    (never raises on a bad message)."""
    message = _message([raw] if isinstance(raw, bytes) else raw)
    mail = Mail(message=message)
    mail.defects = [type(d).__name__ for d in message.defects]
    ids = message_ids(header(message, "Message-ID"))
    mail.message_id = ids[0] if ids else (header(message, "Message-ID") or None)
    mail.subject = header(message, "Subject")
    senders = address_list(message, "From")
    if senders:
        mail.from_name, mail.from_address = senders[0]
    mail.to = _addresses(message, "To")
    mail.cc = _addresses(message, "Cc")
    extra = _addresses(message, "Delivered-To") + _addresses(message, "X-Original-To")
    mail.recipients = list(dict.fromkeys(mail.to + mail.cc + extra))
    mail.in_reply_to = message_ids(header(message, "In-Reply-To"))
    mail.references = message_ids(" ".join(all_headers(message, "References")))
    _read_body(mail, message)
    return mail


def _message(slices: Iterable[bytes]) -> Message:
    """Fed in slices: parsebytes would first copy the whole message into one string."""
    # compat32: headers stay raw strings until asked for (we read them with
    # `all_headers`), several times faster than policy.default's header objects.
    parser = BytesFeedParser(policy=policy.compat32)
    for data in slices:
        view = memoryview(data)
        for start in range(0, len(data), FEED_BYTES):
            parser.feed(bytes(view[start : start + FEED_BYTES]))
    return parser.close()


def _addresses(message: Message, name: str) -> list[str]:
    values = all_headers(message, name)
    try:
        pairs = getaddresses(values)
    except Exception:
        return []
    return [addr.strip().lower() for _n, addr in pairs if "@" in addr]


def _read_body(mail: Mail, message: Message) -> None:
    """The first text and HTML parts are the body; every other part is an attachment."""
    text: str | None = None
    html: str | None = None
    for part in _walk(message):
        ctype = _content_type(part)
        filename = _filename(part)
        if ctype == "message/rfc822" or ctype == "message/global":
            _attach_message(mail, part, filename)
            continue
        if part.is_multipart():
            continue
        data = _payload(part)
        if ctype == "text/plain" and text is None and not _is_attachment(part, filename):
            text = _text(data, part.get_content_charset())
            continue
        if ctype == "text/html" and html is None and not _is_attachment(part, filename):
            html = _text(data, part.get_content_charset())
            continue
        if not data:
            mail.skipped.append(filename or ctype)
            continue
        inline = str(part.get("Content-Disposition", "")).lower().startswith("inline")
        name = filename or _default_name(ctype, len(mail.attachments) + 1)
        mail.attachments.append(Part(name, ctype, data, inline=inline))
    if html is not None:
        mail.html = sanitise(html)
    if text is None and html is not None:
        text = html_to_text(mail.html or "")
    text, uuencoded = _uudecode((text or "").replace("\r\n", "\n"))
    mail.attachments += uuencoded
    mail.text = text.strip("\n")


def _walk(message: Message):
    """Every part, not descending into attached messages (they are attachments whole)."""
    yield message
    if message.is_multipart() and _content_type(message) not in ("message/rfc822",):
        payload = message.get_payload()
        for sub in payload if isinstance(payload, list) else []:
            if _content_type(sub) in ("message/rfc822", "message/global"):
                yield sub
            else:
                yield from _walk(sub)


def _attach_message(mail: Mail, part: Message, filename: str | None) -> None:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    try:
        data = inner.as_bytes(policy=policy.SMTP) if isinstance(inner, Message) else b""
    except Exception:
        data = _payload(part)
    if not data:
        mail.skipped.append(filename or "attached message")
        return
    subject = header(inner, "Subject") if isinstance(inner, Message) else ""
    name = filename or f"{_safe_stem(subject) or 'attached message'}.eml"
    mail.attachments.append(Part(name, "message/rfc822", data))


def _safe_stem(text: str) -> str:
    return re.sub(r"[^\w .,()-]+", "", text)[:80].strip()


def _default_name(ctype: str, number: int) -> str:
    extension = {
        "image/png": "png",
        "image/jpeg": "jpg",
        "image/gif": "gif",
        "application/pdf": "pdf",
        "text/plain": "txt",
        "text/html": "html",
        "text/calendar": "ics",
        "application/ms-tnef": "dat",
    }.get(ctype, "bin")
    stem = "winmail" if ctype == "application/ms-tnef" else f"attachment-{number}"
    return f"{stem}.{extension}"
