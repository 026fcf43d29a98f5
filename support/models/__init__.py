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
from support.models.kb import ArticleFeedback, Deflection
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
    "Attachment",
    "AuditEntry",
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
    "Impact",
    "JobState",
    "Notification",
    "OutboxMessage",
    "OutboxStatus",
    "Priority",
    "PriorityRule",
    "PrivacySettings",
    "Rating",
    "Role",
    "Skill",
    "SlaMark",
    "SlaPolicy",
    "Status",
    "SurveyInvite",
    "Tag",
    "Team",
    "Ticket",
    "TicketEvent",
    "TokenScope",
    "User",
    "Webhook",
    "WebhookDelivery",
    "WebhookEvent",
    "agent_skills",
    "ticket_tags",
]
