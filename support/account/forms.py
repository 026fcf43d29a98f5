"""The forms of /account: the person's settings, and agents' personal API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError
from wtforms.widgets import html_params

from support import timezones
from support.api.tokens import NAME_MAX
from support.auth.forms import REPEAT_MISMATCH, STRONG_ENOUGH_HELP
from support.auth.passwords import password_problem
from support.forms import BaseForm
from support.models import EmailKind, TokenScope
from support.notify.preferences import Choice

NEVER = "never"
# value: days until the token stops working
EXPIRY_DAYS = {"30": 30, "90": 90, "365": 365}


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class TokenForm(BaseForm):
    name = StringField(
        "Name",
        description="What it is for, so you recognise it later: “Nightly report”, “Zapier”.",
        filters=[_strip],
        validators=[
            DataRequired("Give the token a name."),
            Length(max=NAME_MAX, message=f"Use at most {NAME_MAX} characters."),
        ],
    )
    scope = RadioField(
        "Access",
        choices=[SelectChoice(s.value, s.label) for s in TokenScope],
        default=TokenScope.READ.value,
        description="Read only answers GET requests. Read and write may do everything you can "
        "do here, such as replying to tickets.",
        validators=[DataRequired("Choose read only or read and write.")],
    )
    expiry = SelectField(
        "Expires",
        choices=[
            SelectChoice(NEVER, "Never"),
            SelectChoice("30", "In 30 days"),
            SelectChoice("90", "In 90 days"),
            SelectChoice("365", "In 1 year"),
        ],
        default="90",
    )

    def expires_at(self, now: datetime) -> datetime | None:
        days = EXPIRY_DAYS.get(self.expiry.data or NEVER)
        return now + timedelta(days=days) if days else None


# --- /account: the person's own settings ------------------------------------------------


@cache
def _zone_options() -> str:
    """Every zone's <option>, built once: rendering ~500 options through WTForms for each
    page view took most of /account's time."""
    return "".join(
        f'<option value="{escape(zone)}">{escape(zone.replace("_", " "))}</option>'
        for zone in timezones.choices()
    )


class ZoneSelect:
    """A <select> of every zone (the list from support/timezones.py), the field's one selected."""

    def __call__(self, field: Field, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        value = f'value="{escape(field.data or "")}"'
        options = _zone_options().replace(value + ">", value + " selected>", 1)
        attributes = html_params(name=field.name, **kwargs)  # escapes every value
        return Markup(f"<select {attributes}>{options}</select>")  # noqa: S704 - all escaped


class ProfileForm(BaseForm):
    name = StringField(
        "Your name",
        filters=[_strip],
        validators=[
            DataRequired("Tell us what to call you."),
            Length(max=120, message="Use at most 120 characters."),
        ],
    )
    time_zone = StringField(
        "Time zone",
        description="Every time on our pages and in our emails is shown in this zone.",
        widget=ZoneSelect(),
    )

    def validate_time_zone(self, field: StringField) -> None:
        if not timezones.is_valid(field.data):
            raise ValidationError("Choose a time zone from the list, like Europe/Paris.")


class EmailChangeForm(BaseForm):
    email = EmailField(
        "New email address",
        filters=[_strip],
        validators=[
            DataRequired("Enter the new address."),
            Email("Enter an email address like name@example.com.", check_deliverability=False),
            Length(max=254, message="Use at most 254 characters."),
        ],
    )
    password = PasswordField(
        "Current password",
        description="So nobody at an unlocked computer can move your account.",
        validators=[DataRequired("Enter your current password.")],
    )


class PasswordChangeForm(BaseForm):
    current = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )
    password = PasswordField(
        "New password",
        description=STRONG_ENOUGH_HELP,
        validators=[DataRequired("Choose a new password.")],
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[EqualTo("password", message=REPEAT_MISMATCH)],
    )

    def __init__(self, *args: Any, email: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._email = email

    def validate_password(self, field: PasswordField) -> None:
        problem = password_problem(field.data or "", self._email)
        if problem:
            raise ValidationError(problem)


def notifications_form(choices: list[Choice], opted_out: set[EmailKind], **kwargs: Any) -> BaseForm:
    """One checkbox per kind of email the person may turn off, ticked when it is on."""

    class NotificationsForm(BaseForm):
        pass

    for choice in choices:
        field = BooleanField(
            choice.label, description=choice.help, default=choice.kind not in opted_out
        )
        setattr(NotificationsForm, f"email_{choice.kind.value}", field)
    return NotificationsForm(**kwargs)
