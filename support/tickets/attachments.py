"""Attachment files: checked before anything is stored, kept outside the web root.

Files are stored under a random key in the upload folder and always served
as downloads (never inline), so an uploaded HTML or SVG file cannot run.
"""

from __future__ import annotations

import hashlib
import math
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import current_app

# Extension → (content type we declare on download, what the upload form calls it).
# Anything else is refused.
_FILE_TYPES: dict[str, tuple[str, str]] = {
    "png": ("image/png", "images"),
    "jpg": ("image/jpeg", "images"),
    "jpeg": ("image/jpeg", "images"),
    "gif": ("image/gif", "images"),
    "webp": ("image/webp", "images"),
    "pdf": ("application/pdf", "PDF"),
    "txt": ("text/plain", "text"),
    "log": ("text/plain", "logs"),
    "csv": ("text/csv", "CSV"),
    "json": ("application/json", "JSON"),
    "zip": ("application/zip", "ZIP"),
}
ALLOWED_TYPES: dict[str, str] = {ext: mime for ext, (mime, _name) in _FILE_TYPES.items()}


class AttachmentRejected(ValueError):
    """A file that breaks a limit; the message is shown next to the field."""


@dataclass(frozen=True)
class StoredFile:
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_key: str


def human_size(size: int) -> str:
    # Rounded up, so a file just over the limit never reads as exactly the limit.
    if size < 1024:  # "64 bytes", not "0 KB" or "1 KB"
        return "1 byte" if size == 1 else f"{size} bytes"
    if size < 1024 * 1024:
        return f"{math.ceil(size / 1024)} KB"
    return f"{math.ceil(size * 10 / (1024 * 1024)) / 10:.1f} MB"


def limit_size(size: int) -> str:
    """A configured limit as people write it: "10 MB", "2.5 MB", "512 KB"."""
    if size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MB"
    return human_size(size)


@dataclass(frozen=True)
class Rules:
    """What an upload form tells people before they pick files: the limits `check`
    enforces, read from the config and ALLOWED_TYPES so the page cannot disagree."""

    max_count: int
    max_bytes: int

    @property
    def size(self) -> str:
        return limit_size(self.max_bytes)

    @property
    def accept(self) -> str:
        """The file input's accept list: ".png,.jpg,…"."""
        return ",".join(f".{ext}" for ext in _FILE_TYPES)

    @property
    def kinds(self) -> str:
        """The allowed types in words: "images, PDF, text, logs, CSV, JSON or ZIP"."""
        names = list(dict.fromkeys(name for _type, name in _FILE_TYPES.values()))
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"

    def summary(self, with_kinds: bool = False) -> str:
        """The form's help line: "Up to 5 files, 10 MB each." (and the types, if asked)."""
        files = "file" if self.max_count == 1 else "files"
        text = f"Up to {self.max_count} {files}, {self.size} each"
        return f"{text}: {self.kinds}." if with_kinds else f"{text}."


def rules() -> Rules:
    """The current limits, read per call so a changed config shows on the next page."""
    config = current_app.config
    return Rules(config["ATTACHMENT_MAX_COUNT"], config["ATTACHMENT_MAX_BYTES"])


MAX_NAME_LENGTH = 200


def _clean_name(filename: str) -> str:
    name = os.path.basename(filename.replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*')
    if len(name) > MAX_NAME_LENGTH:  # shorten the stem: the extension decides the type
        stem, dot, extension = name.rpartition(".")
        name = stem[: MAX_NAME_LENGTH - len(dot + extension)] + dot + extension
    return name or "attachment"


def _extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def check(files: list[tuple[str, int]]) -> None:
    """Raise AttachmentRejected for the first (name, size) that breaks a limit."""
    config = current_app.config
    if len(files) > config["ATTACHMENT_MAX_COUNT"]:
        raise AttachmentRejected(
            f"You can attach up to {config['ATTACHMENT_MAX_COUNT']} files to one message."
        )
    for name, size in files:
        if _extension(name) not in ALLOWED_TYPES:
            allowed = ", ".join(sorted({f".{ext}" for ext in ALLOWED_TYPES}))
            raise AttachmentRejected(f"“{name}” can't be attached. Allowed types: {allowed}.")
        if size == 0:
            raise AttachmentRejected(f"“{name}” is empty.")
        if size > config["ATTACHMENT_MAX_BYTES"]:
            raise AttachmentRejected(
                f"“{name}” is {human_size(size)}; each file can be at most "
                f"{human_size(config['ATTACHMENT_MAX_BYTES'])}."
            )


def upload_folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def store(filename: str, stream: IO[bytes]) -> StoredFile:
    """Copy an upload to the store under a fresh random key."""
    name = _clean_name(filename)
    key = secrets.token_hex(16)
    path = upload_folder() / key[:2] / key
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with path.open("wb") as out:
        while chunk := stream.read(256 * 1024):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return StoredFile(name, ALLOWED_TYPES[_extension(name)], size, digest.hexdigest(), key)


def path_of(storage_key: str) -> Path:
    return upload_folder() / storage_key[:2] / storage_key


def discard(files: list[StoredFile]) -> None:
    """Remove stored files whose database rows were never written."""
    for stored in files:
        path_of(stored.storage_key).unlink(missing_ok=True)


def store_bytes(filename: str, data: bytes) -> StoredFile:
    """Store bytes received by email: any type is kept (an email's attachments are the
    sender's, not a form's choice), declared as octet-stream unless we know the type;
    downloads are never rendered inline, so no type can run."""
    name = _clean_name(filename)
    key = secrets.token_hex(16)
    path = upload_folder() / key[:2] / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    content_type = ALLOWED_TYPES.get(_extension(name), "application/octet-stream")
    return StoredFile(name, content_type, len(data), hashlib.sha256(data).hexdigest(), key)
