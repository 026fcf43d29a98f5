"""Forms of the board and the ticket panel.

Every form that changes a ticket carries the version the agent saw, so the
service can refuse a change made on top of someone else's (optimistic locking).
"""

from __future__ import annotations

from collections.abc import Iterable

from werkzeug.datastructures import FileStorage
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)
from wtforms.widgets import HiddenInput

from support.forms import BaseForm, ClientTokenField, check_files, chosen_files
from support.models import CannedResponse, Category, Impact, Priority, Status, Team, User
from support.tickets import tags as tag_names
from support.tickets.service import BODY_MAX, SUBJECT_MAX

NONE = ""  # the choice meaning "no category / no team / nobody"
REPLY, NOTE = "reply", "note"  # the composer's two modes
# The composer's submit buttons: send in the chosen mode, maybe setting a status with it.
# "reply" and "note" send in that mode whatever the radio says (the API of older pages).
SEND_ACTIONS: dict[str, Status | None] = {
    "send": None,
    "send_pending": Status.PENDING,
    "send_resolved": Status.RESOLVED,
}
WORKAROUND = "workaround"
INSERT = "insert"  # the canned-response button: fills the text in, sends nothing
DROP_MACRO = "drop_macro"  # "don't apply the macro's changes": keeps the text
SENT = {
    REPLY: "Reply sent to the customer.",
    NOTE: "Internal note added.",
    WORKAROUND: "Workaround sent to the customer.",
}


class VersionedForm(BaseForm):
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class MoveForm(VersionedForm):
    ref = StringField(validators=[DataRequired()])
    status = StringField(validators=[DataRequired()])
    # The cards the moved card now sits between (references), when known.
    above = StringField(validators=[Optional()])
    below = StringField(validators=[Optional()])


class AgentReplyForm(BaseForm):
    mode = RadioField(
        "Write",
        choices=[SelectChoice(REPLY, "Reply to the customer"), SelectChoice(NOTE, "Internal note")],
        default=REPLY,
        validators=[InputRequired("Choose a reply to the customer or an internal note.")],
    )
    body = TextAreaField(
        "Message", validators=[Length(max=BODY_MAX, message="This message is too long.")]
    )
    files = MultipleFileField("Attach files", validators=[check_files])
    canned = SelectField("Canned response", choices=[], validators=[Optional()])
    # The macro whose changes go with this message (set by "Insert", kept until sent).
    macro = HiddenField(validators=[Optional()])
    send_as_written = BooleanField("Send it with these placeholders as written")
    client_token = ClientTokenField()

    def chosen_files(self) -> list[FileStorage]:
        return chosen_files(self.files)

    def set_canned(self, responses: Iterable[CannedResponse]) -> None:
        self.canned.choices = [SelectChoice(NONE, "Choose a canned response…")] + [
            SelectChoice(str(r.id), r.title) for r in responses
        ]


class FileForCustomerForm(BaseForm):
    """An agent files a ticket for a customer who called or walked in."""

    email = StringField(
        "Customer's email",
        description="We look the customer up by it; a new address makes a new customer "
        "account (without a password: they set one with “Forgot your password?”).",
        validators=[
            DataRequired("Give the customer's email."),
            Length(max=254),
            Email("Enter an email address like name@example.com.", check_deliverability=False),
        ],
    )
    name = StringField(
        "Customer's name",
        description="Needed for a new customer; an existing one keeps their name.",
        validators=[Optional(), Length(max=120)],
    )
    subject = StringField(
        "Subject",
        validators=[DataRequired("Give the request a short subject."), Length(max=SUBJECT_MAX)],
    )
    description = TextAreaField(
        "What the customer told you",
        validators=[DataRequired("Write down what the customer asked."), Length(max=BODY_MAX)],
    )
    category = SelectField("Topic", choices=[], validators=[Optional()])
    impact = RadioField(
        "Who is affected?",
        choices=[SelectChoice(i.value, i.label) for i in Impact],
        default=Impact.JUST_ME.value,
    )
    client_token = ClientTokenField()

    def set_categories(self, categories: Iterable[Category]) -> None:
        self.category.choices = [SelectChoice(NONE, "Let triage decide")] + [
            SelectChoice(c.slug, c.name) for c in categories
        ]


class FieldsForm(VersionedForm):
    priority = SelectField("Priority", choices=[SelectChoice(p.value, p.label) for p in Priority])
    category = SelectField("Category", choices=[])
    team = SelectField("Team", choices=[])

    def set_choices(self, categories: Iterable[Category], teams: Iterable[Team]) -> None:
        self.category.choices = [SelectChoice(NONE, "None")] + [
            SelectChoice(c.slug, c.name if c.is_active else f"{c.name} (hidden from customers)")
            for c in categories
        ]
        self.team.choices = [SelectChoice(NONE, "No team")] + [
            SelectChoice(str(t.id), t.name) for t in teams
        ]


class AssignForm(VersionedForm):
    assignee = SelectField("Assignee", choices=[])

    def set_agents(self, agents: Iterable[User]) -> None:
        self.assignee.choices = [SelectChoice(NONE, "Nobody")] + [
            SelectChoice(str(a.id), a.name) for a in agents
        ]


class StatusForm(VersionedForm):
    status = SelectField("Status", choices=[])
    note = TextAreaField(
        "Note to the customer (optional)",
        description="Shown on the customer's timeline with the change; "
        "resolving needs a reply or this note.",
        validators=[Optional(), Length(max=BODY_MAX)],
    )

    def set_statuses(self, statuses: Iterable[Status], labels: dict[Status, str]) -> None:
        self.status.choices = [SelectChoice(s.value, labels.get(s, s.label)) for s in statuses]


class EscalateForm(VersionedForm):
    reason = TextAreaField(
        "Why does it need the next tier?",
        description="Kept for the team; the customer is told who takes over and when.",
        validators=[DataRequired("Say why the ticket needs escalating."), Length(max=2000)],
    )


class MergeForm(VersionedForm):
    into = StringField(
        "Merge into ticket",
        description="The reference of the ticket to keep, like SUP-7KQ2MX. "
        "This ticket is closed and its customer is told where the conversation continues.",
        validators=[DataRequired("Give the reference of the ticket to keep.")],
    )


class TagsForm(VersionedForm):
    tags = StringField(
        "Tags",
        description="Separate tags with commas; leave empty to remove them all. "
        "Only the team sees tags.",
    )

    def validate_tags(self, field: StringField) -> None:
        """The service's own rules (support/tickets/tags.py), so a bad tag is refused next
        to the field; the service checks them again."""
        try:
            tag_names.parse(self.names())
        except tag_names.BadTag as exc:
            raise ValidationError(str(exc)) from exc

    def names(self) -> list[str]:
        return tag_names.split(self.tags.data or "")
