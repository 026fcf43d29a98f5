"""The API's request and response bodies (pydantic), from which the OpenAPI document is
built. Request bodies refuse unknown fields, so a typo is a 422, not a silent no-op."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from support.models import Impact, Priority, Status, TokenScope
from support.tickets.service import BODY_MAX, SUBJECT_MAX

ID = Annotated[int, Field(ge=1, le=2**31 - 1)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=BODY_MAX)]
Subject = Annotated[str, StringConstraints(min_length=1, max_length=SUBJECT_MAX)]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=60)]
TagName = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Limit = Annotated[int, Field(ge=1, le=100)]


def utc(moment: datetime | None) -> datetime | None:
    """Stored times are naive UTC; the API says so (`…Z`)."""
    return moment.replace(tzinfo=UTC) if moment is not None else None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors ------------------------------------------------------------------------------


class FieldError(BaseModel):
    field: str
    message: str


class ProblemOut(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


# --- people ------------------------------------------------------------------------------


class PersonOut(BaseModel):
    id: int
    name: str


class CustomerOut(PersonOut):
    email: str
    created_at: datetime


class TeamOut(BaseModel):
    id: int
    name: str


class TokenOut(BaseModel):
    name: str
    scope: TokenScope
    expires_at: datetime | None


class MeOut(BaseModel):
    id: int
    name: str
    email: str
    role: str
    tier: int | None
    team: TeamOut | None
    token: TokenOut


class CustomerQuery(Strict):
    email: str | None = Field(None, max_length=254, description="Exact address.")
    q: str | None = Field(None, max_length=100, description="Part of a name or address.")
    limit: Limit = 50
    cursor: str | None = Field(None, max_length=100)


class CustomerList(BaseModel):
    items: list[CustomerOut]
    next_cursor: str | None


class CustomerIn(Strict):
    email: EmailStr
    name: Annotated[str, StringConstraints(min_length=1, max_length=120)]


# --- tickets -----------------------------------------------------------------------------


class TicketQuery(Strict):
    """The board's filters, plus status and customer; newest first, paged by cursor."""

    status: list[Status] = Field(default_factory=list, description="Any of these statuses.")
    priority: Priority | None = None
    team: ID | None = None
    category: Slug | None = None
    assignee: ID | None = None
    customer: ID | None = None
    tag: TagName | None = None
    mine: bool = Field(False, description="Assigned to the token's owner.")
    unassigned: bool = False
    overdue: bool = Field(False, description="Past an SLA due time, clock running.")
    q: str = Field("", max_length=100, description="Reference, subject, customer name/email.")
    limit: Limit = 50
    cursor: str | None = Field(None, max_length=100)


class AttachmentOut(BaseModel):
    filename: str
    content_type: str
    size: int
    url: str


class EventOut(BaseModel):
    id: int
    kind: str
    public: bool
    author: PersonOut | None
    body: str | None
    data: dict[str, Any] | None
    created_at: datetime
    ticket: str = Field(description="Reference of the ticket it was written on (merges).")
    attachments: list[AttachmentOut]


class TicketOut(BaseModel):
    ref: str
    subject: str
    status: Status
    priority: Priority
    impact: Impact
    channel: str
    category: str | None
    team: TeamOut | None
    assignee: PersonOut | None
    customer: CustomerOut
    tags: list[str]
    tier: int
    created_at: datetime
    updated_at: datetime
    next_due_at: datetime | None
    version: int = Field(description="Send it back in If-Match to change the ticket.")
    url: str
    web_url: str


class TicketDetailOut(TicketOut):
    description: str
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    parent: str | None
    merged_into: str | None
    events: list[EventOut]
    earlier_events: bool = Field(description="Older events exist beyond `events_limit`.")


class TicketList(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None


class TicketReadQuery(Strict):
    events_limit: Annotated[int, Field(ge=0, le=1000)] = 500


class TicketIn(Strict):
    customer_id: ID | None = None
    customer_email: EmailStr | None = None
    subject: Subject
    description: Text
    category: Slug | None = None
    impact: Impact = Impact.JUST_ME

    @model_validator(mode="after")
    def one_customer(self) -> TicketIn:
        if (self.customer_id is None) == (self.customer_email is None):
            raise ValueError("Give exactly one of customer_id and customer_email.")
        return self


class MessageIn(Strict):
    body: Text


class TicketChangeIn(Strict):
    """Fields left out stay as they are; null clears category, team or assignee."""

    status: Status | None = None
    status_note: str | None = Field(None, max_length=BODY_MAX, description="Said to the customer.")
    priority: Priority | None = None
    category: Slug | None = None
    team: ID | None = None
    assignee: ID | None = None
    tags: list[TagName] | None = Field(None, max_length=20)


# --- knowledge base ----------------------------------------------------------------------


class SearchQuery(Strict):
    q: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    limit: Annotated[int, Field(ge=1, le=50)] = 10


class SuggestQuery(Strict):
    text: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    subject: str = Field("", max_length=SUBJECT_MAX)
    limit: Annotated[int, Field(ge=1, le=10)] = 5


class ArticleHitOut(BaseModel):
    slug: str
    title: str
    summary: str
    category: str
    score: float
    url: str


class SearchOut(BaseModel):
    query: str
    total: int
    suggestion: str | None
    hits: list[ArticleHitOut]


class SuggestOut(BaseModel):
    hits: list[ArticleHitOut]


class ArticleOut(BaseModel):
    slug: str
    title: str
    category: str
    tags: list[str]
    summary: str
    updated: date | None
    html: str
    url: str
