"""The base for every form: CSRF from Flask-WTF, and text cleaned of NUL characters
(PostgreSQL refuses them in text columns; nobody types them on purpose)."""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask_wtf import FlaskForm
from wtforms import HiddenField

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
