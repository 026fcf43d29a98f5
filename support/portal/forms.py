from __future__ import annotations

from wtforms import (
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

__all__ = ["ReplyForm", "TicketForm", "chosen_files"]

from support.forms import BaseForm, ClientTokenField, check_files, chosen_files
from support.models import Impact
from support.tickets.service import BODY_MAX, SUBJECT_MAX

NOT_SURE = ""


def _body_length(form: BaseForm, field: TextAreaField) -> None:
    length = len(field.data or "")
    if length > BODY_MAX:
        raise ValidationError(
            f"This is {length:,} characters; a message can be at most {BODY_MAX:,}. "
            "Attach long logs as a .txt or .log file instead and keep the key lines here."
        )


class TicketForm(BaseForm):
    subject = StringField(
        "Subject",
        description="A short summary, like “Refund not received for order 1234”.",
        validators=[
            DataRequired("Give your request a short subject."),
            Length(max=SUBJECT_MAX, message=f"Keep the subject under {SUBJECT_MAX} characters."),
        ],
    )
    description = TextAreaField(
        "What happened?",
        description="What you tried, what you expected, and what you saw instead.",
        validators=[DataRequired("Describe the problem so we can help."), _body_length],
    )
    category = SelectField("Topic", choices=[], validators=[Optional()])
    impact = RadioField(
        "Who is affected?",
        choices=[SelectChoice(i.value, i.label) for i in Impact],
        default=Impact.JUST_ME.value,
        validators=[DataRequired("Tell us who is affected.")],
    )
    files = MultipleFileField("Attachments (optional)", validators=[check_files])
    client_token = ClientTokenField()

    def set_categories(self, categories: list) -> None:
        self.category.choices = [SelectChoice(NOT_SURE, "Not sure")] + [
            SelectChoice(c.slug, c.name) for c in categories
        ]


class ReplyForm(BaseForm):
    body = TextAreaField(
        "Your reply",
        validators=[DataRequired("Write a message before sending."), _body_length],
    )
    files = MultipleFileField("Attach files (optional)", validators=[check_files])
    client_token = ClientTokenField()
