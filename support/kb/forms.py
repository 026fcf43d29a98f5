"""Forms of the knowledge base: "Was this helpful?" and "This answered my question"."""

from __future__ import annotations

from wtforms import HiddenField, RadioField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from support.forms import BaseForm
from support.kb.feedback import COMMENT_MAX


class FeedbackForm(BaseForm):
    # Sent by the Yes / No submit buttons (name="helpful"), not shown as radios.
    helpful = RadioField(
        "Was this article helpful?",
        choices=[SelectChoice("yes", "Yes"), SelectChoice("no", "No")],
        validators=[DataRequired("Choose Yes or No.")],
    )
    comment = TextAreaField(
        "Anything we should add or fix? (optional)",
        validators=[
            Optional(),
            Length(max=COMMENT_MAX, message=f"Keep it under {COMMENT_MAX:,} characters."),
        ],
    )


class DeflectForm(BaseForm):
    slug = HiddenField(validators=[DataRequired()])
    query = HiddenField()
