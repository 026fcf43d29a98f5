"""Forms of the queue: the bulk bar and "Save this view"."""

from __future__ import annotations

from wtforms import BooleanField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from support.forms import BaseForm
from support.queue import bulk
from support.queue.saved import NAME_MAX
from support.tickets import tags as tag_names


class BulkForm(BaseForm):
    """One button per action (name="action"), each next to its own value, so the form
    needs no script to say which value goes with which action."""

    action = StringField(
        validators=[
            DataRequired(message="Choose what to do."),
            AnyOf([a.value for a in bulk.Action], message="Choose what to do."),
        ]
    )
    assignee = StringField("Assign to", validators=[Optional()])
    status = StringField("Status", validators=[Optional()])
    priority = StringField("Priority", validators=[Optional()])
    team = StringField("Team", validators=[Optional()])
    tag = StringField(
        "Tag",
        validators=[
            Optional(),
            Length(max=200, message=f"A tag can be at most {tag_names.NAME_MAX} characters."),
        ],
    )
    into = StringField("Merge into", validators=[Optional(), Length(max=40)])

    def value_for(self, action: str | None) -> str | None:
        field = {
            bulk.Action.ASSIGN: self.assignee,
            bulk.Action.STATUS: self.status,
            bulk.Action.PRIORITY: self.priority,
            bulk.Action.TEAM: self.team,
            bulk.Action.TAG: self.tag,
            bulk.Action.MERGE: self.into,
        }.get(action or "")
        return field.data if field is not None else None


class SaveViewForm(BaseForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired(message="Give the view a name."),
            Length(max=NAME_MAX, message=f"At most {NAME_MAX} characters."),
        ],
    )
    shared = BooleanField("Share with the team")
