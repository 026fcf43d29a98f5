"""The base for every form: CSRF from Flask-WTF, and text cleaned of NUL characters
(PostgreSQL refuses them in text columns; nobody types them on purpose)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm


def _strip_nul(value: Any) -> Any:
    return value.replace("\x00", "") if isinstance(value, str) else value


class BaseForm(FlaskForm):
    class Meta:
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            filters = [_strip_nul, *unbound_field.kwargs.get("filters", ())]
            return unbound_field.bind(form=form, **options, filters=filters)
