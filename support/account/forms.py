"""The form that makes a personal API token."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from wtforms import RadioField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length

from support.api.tokens import NAME_MAX
from support.forms import BaseForm
from support.models import TokenScope

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
