"""The base for every form: CSRF from Flask-WTF, and text cleaned of NUL characters
(PostgreSQL refuses them in text columns; nobody types them on purpose).

Forms that more than one blueprint shows live here too, so no blueprint imports
another's forms.
"""

from __future__ import annotations

import os
import re
import secrets
from typing import Any

from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage
from wtforms import HiddenField, MultipleFileField, RadioField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from support.tickets import attachments

CLIENT_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what secrets.token_urlsafe makes


def _strip_nul(value: Any) -> Any:
    return value.replace("\x00", "") if isinstance(value, str) else value


class BaseForm(FlaskForm):
    class Meta:
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            filters = [_strip_nul, *unbound_field.kwargs.get("filters", ())]
            return unbound_field.bind(form=form, **options, filters=filters)


def _token_or_none(value: Any) -> str | None:
    # A tampered token only loses its double-submit protection; it never fails the form.
    return value if isinstance(value, str) and CLIENT_TOKEN.fullmatch(value) else None


def ClientTokenField() -> HiddenField:
    """A fresh token per rendered form: a double-clicked submit makes one change, not two."""
    return HiddenField(default=lambda: secrets.token_urlsafe(16), filters=[_token_or_none])


def _size(upload: FileStorage) -> int:
    upload.stream.seek(0, os.SEEK_END)
    size = upload.stream.tell()
    upload.stream.seek(0)
    return size


def chosen_files(field: MultipleFileField) -> list[FileStorage]:
    return [f for f in (field.data or []) if isinstance(f, FileStorage) and f.filename]


def check_files(form: BaseForm, field: MultipleFileField) -> None:
    """The attachment limits (support/tickets/attachments.py), next to the file field."""
    files = chosen_files(field)
    try:
        attachments.check([(f.filename or "", _size(f)) for f in files])
    except attachments.AttachmentRejected as exc:
        raise ValidationError(str(exc)) from exc


class EmptyForm(BaseForm):
    """Buttons that only need CSRF protection (resolve, reopen, retry, delete)."""


class RatingForm(BaseForm):
    """The satisfaction rating: on the portal's ticket page and behind the survey link."""

    score = RadioField(
        "How happy are you with the help you received?",
        choices=[
            SelectChoice("5", "5 — Excellent"),
            SelectChoice("4", "4 — Good"),
            SelectChoice("3", "3 — Okay"),
            SelectChoice("2", "2 — Poor"),
            SelectChoice("1", "1 — Very poor"),
        ],
        validators=[DataRequired("Choose a rating from 1 to 5.")],
    )
    comment = TextAreaField(
        "Anything you'd like to add? (optional)",
        validators=[Optional(), Length(max=5000, message="Keep it under 5,000 characters.")],
    )
