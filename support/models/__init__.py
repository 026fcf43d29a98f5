"""All models, importable from one place (Alembic and the app import this)."""

from support.models.api import (
    ApiToken,
    DeliveryStatus,
    TokenScope,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from support.models.canned import CannedResponse
from support.models.imap import ImapMailboxState
from support.models.kb import ArticleFeedback, ArticleView, Deflection, KbSearch, SuggestionShown
from support.models.mail import (
    BouncingAddress,
    InboundMessage,
    InboundSource,
    InboundStatus,
    MailSettings,
    Outcome,
    TicketFollower,
)
from support.models.notify import (
    EmailKind,
    Notification,
    OutboxMessage,
    OutboxStatus,
    SlaMark,
    SlaPolicy,
    SurveyInvite,
)
from support.models.privacy import (
    AuditEntry,
    DataExport,
    ErasureRequest,
    ErasureState,
    JobState,
    PrivacySettings,
)
from support.models.report import ReportBacklogSpan, ReportFactsState, ReportTicketFacts
from support.models.saved_view import SavedView
from support.models.ticket import (
    Attachment,
    Category,
    EventKind,
    Impact,
    Priority,
    Rating,
    Status,
    Tag,
    Ticket,
    TicketEvent,
    ticket_tags,
)
from support.models.triage import CategoryCorrection, PriorityRule
from support.models.user import Role, Skill, Team, User, agent_skills

__all__ = [
    "ApiToken",
    "ArticleFeedback",
    "ArticleView",
    "Attachment",
    "AuditEntry",
    "BouncingAddress",
    "CannedResponse",
    "Category",
    "CategoryCorrection",
    "DataExport",
    "Deflection",
    "DeliveryStatus",
    "EmailKind",
    "ErasureRequest",
    "ErasureState",
    "EventKind",
    "ImapMailboxState",
    "Impact",
    "InboundMessage",
    "InboundSource",
    "InboundStatus",
    "JobState",
    "KbSearch",
    "MailSettings",
    "Notification",
    "OutboxMessage",
    "OutboxStatus",
    "Outcome",
    "Priority",
    "PriorityRule",
    "PrivacySettings",
    "Rating",
    "ReportBacklogSpan",
    "ReportFactsState",
    "ReportTicketFacts",
    "Role",
    "SavedView",
    "Skill",
    "SlaMark",
    "SlaPolicy",
    "Status",
    "SuggestionShown",
    "SurveyInvite",
    "Tag",
    "Team",
    "Ticket",
    "TicketEvent",
    "TicketFollower",
    "TokenScope",
    "User",
    "Webhook",
    "WebhookDelivery",
    "WebhookEvent",
    "agent_skills",
    "ticket_tags",
]
