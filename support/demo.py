"""Demo data: the accounts of SPEC §10 and a few dozen tickets in every status.

Everything is written through the ticket service, with the clock moved back,
so demo timelines look exactly like real ones.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from support import clock
from support.api import tokens
from support.auth import accounts
from support.config import DEVELOPMENT_ENVS
from support.demo_stories import (
    AGENT_FIRST_REPLY,
    AGENT_FIX,
    AGENT_QUESTION,
    CUSTOMER_ANSWER,
    SCENARIOS,
    TAGS,
)
from support.extensions import db
from support.models import (
    Category,
    Notification,
    Role,
    Skill,
    Status,
    Team,
    Ticket,
    TokenScope,
    User,
)
from support.tickets import canned, service
from support.tickets.categories import ensure_default_categories

DEMO_PASSWORD = "demo-password"  # noqa: S105 - published demo credential

STAFF = [
    ("agent@example.com", "Alex Agent", Role.AGENT, 1),
    ("senior@example.com", "Sam Senior", Role.AGENT, 2),
    ("admin@example.com", "Ada Admin", Role.ADMIN, 3),
    ("priya@example.com", "Priya Payments", Role.AGENT, 1),
]
# Who works where, so routing has somebody to route to: (email, team, skills).
TEAMS = {
    "Customer Care": ["accounts", "listings", "orders", "shipping", "privacy"],
    "Payments & Trust": ["payments", "refunds", "security"],
}
MEMBERS = [
    ("agent@example.com", "Customer Care", []),
    ("senior@example.com", "Customer Care", ["Chargebacks"]),
    ("admin@example.com", None, []),
    ("priya@example.com", "Payments & Trust", ["Chargebacks"]),
]
SKILL_NEEDED = {"refunds": "Chargebacks"}  # disputes go only to agents who know them
CUSTOMERS = [
    ("customer@example.com", "Casey Customer"),
    ("maria.lopez@example.com", "María López"),
    ("kenji@example.com", "Kenji Watanabe"),
    ("olu@example.com", "Olúwaseun Adé"),
]


class DemoRefused(RuntimeError):
    pass


ROUNDS = 4  # four tickets in every status: 28, each its own story (len(SCENARIOS))


def seed(*, customer_count: int = len(CUSTOMERS)) -> dict[str, int]:
    """Create the demo accounts and tickets; refuses outside development."""
    env = current_app.config["SUPPORT_ENV"]
    if env not in DEVELOPMENT_ENVS:
        raise DemoRefused(
            f"Demo data is only for development (SUPPORT_ENV is {env!r}); "
            "set SUPPORT_ENV=development on a machine whose data you can lose."
        )
    if db.session.scalar(select(User.id).where(User.email == STAFF[0][0])):
        return {"tickets": 0}
    categories = {c.slug: c for c in ensure_default_categories()}
    staff = [_user(email, name, role, tier) for email, name, role, tier in STAFF]
    _organise(categories, staff)
    customers = [_user(email, name, Role.CUSTOMER, None) for email, name in CUSTOMERS]
    created = _tickets(customers[:customer_count], staff[0], staff[1], categories)
    _canned_responses(staff[2])
    _api_tokens(staff[2])
    _read_old_news(staff + customers)
    return {"tickets": created, "users": len(staff) + len(customers)}


CANNED = [
    (
        "Refund on its way",
        "Hi {{ customer.first_name }},\n\nI've refunded the duplicate charge on {{ ticket.ref }}. "
        "Card refunds take 3–5 working days to show on your statement.\n\n"
        "Best wishes,\n{{ agent.first_name }}",
    ),
    (
        "Need a screenshot",
        "Hi {{ customer.first_name }},\n\nCould you send a screenshot of what you see, and the "
        "date you first noticed it? That helps us find it in our logs.\n\n{{ agent.name }}",
    ),
    (
        "Secure your account",
        "Hi {{ customer.first_name }},\n\nPlease reset your password now and turn on two-step "
        "sign-in under Settings → Security. We never ask for your password by email.\n\n"
        "{{ agent.first_name }}, Support",
    ),
]


def _read_old_news(people: list[User]) -> None:
    """Everyone has read what came before the last few hours: the badge shows today's
    news, not every event of a month (support/notify/inbox.py)."""
    cutoff = clock.now() - timedelta(hours=3)
    db.session.execute(
        update(Notification)
        .where(
            Notification.user_id.in_([person.id for person in people]),
            Notification.created_at < cutoff,
        )
        .values(read_at=cutoff)
    )
    db.session.commit()


# Canned responses that are macros too: what else changes when the reply is sent.
MACROS = {
    "Refund on its way": service.Then(status=Status.RESOLVED, add_tags=("refund",)),
    "Need a screenshot": service.Then(status=Status.PENDING),
}


def _canned_responses(admin: User) -> None:
    for title, body in CANNED:
        canned.create(title=title, body=body, by=admin, then=MACROS.get(title, canned.NOTHING))


# (name, scope, created days ago, lasts days, last used hours ago, revoked days ago)
API_TOKENS = [
    ("Old import script", TokenScope.WRITE, 120, None, 24 * 30, 12),
    ("Trial of a reporting tool", TokenScope.READ, 100, 30, 24 * 75, None),
    ("Zapier: new tickets to Slack", TokenScope.WRITE, 60, None, 2, None),
    ("Nightly SLA report", TokenScope.READ, 40, 90, 9, None),
]


def _api_tokens(admin: User) -> None:
    """The admin's tokens page shows one of each state (the secrets are thrown away)."""
    now = clock.now()
    try:
        for name, scope, age, lasts, used, revoked in API_TOKENS:
            created = now - timedelta(days=age)
            clock.freeze(created)
            expires_at = created + timedelta(days=lasts) if lasts else None
            token = tokens.create(admin, name=name, scope=scope, expires_at=expires_at).token
            token.last_used_at = now - timedelta(hours=used)
            if revoked:
                clock.freeze(now - timedelta(days=revoked))
                tokens.revoke(token)
    finally:
        clock.freeze(None)
    db.session.commit()


def _assign(ticket: Ticket, agent: User, senior: User) -> None:
    """Spread the work so the board shows whose card is whose; a third stay unassigned."""
    assignee = (agent, senior, None)[ticket.id % 3]
    if assignee is not None:
        service.assign(ticket, actor=agent, assignee=assignee)


def _organise(categories: dict[str, Category], staff: list[User]) -> None:
    """Teams own categories, agents belong to teams and have skills; refunds need one."""
    teams = {name: Team(name=name) for name in TEAMS}
    skills = {name: Skill(name=name) for name in {*SKILL_NEEDED.values()}}
    db.session.add_all([*teams.values(), *skills.values()])
    for name, slugs in TEAMS.items():
        for slug in slugs:
            categories[slug].team = teams[name]
    for slug, skill in SKILL_NEEDED.items():
        categories[slug].skill = skills[skill]
    by_email = {user.email: user for user in staff}
    for email, team, skill_names in MEMBERS:
        by_email[email].team = teams[team] if team else None
        by_email[email].skills = [skills[s] for s in skill_names]
    db.session.commit()


def _user(email: str, name: str, role: Role, tier: int | None) -> User:
    user = accounts.create_user(
        email=email, name=name, password=DEMO_PASSWORD, role=role, tier=tier
    )
    user.email_verified_at = clock.now()  # demo addresses can't receive the link
    return user


def _tickets(
    customers: list[User], agent: User, senior: User, categories: dict[str, Category]
) -> int:
    statuses = list(Status)
    now = clock.now()
    scenarios = itertools.cycle(SCENARIOS)
    count = 0
    try:
        for round_ in range(ROUNDS):
            for index, status in enumerate(statuses):
                customer = (
                    customers[0] if round_ == 0 else customers[(round_ + index) % len(customers)]
                )
                at = _started_at(status, now, round_, index)
                _ticket(next(scenarios), status, customer, agent, senior, categories, at)
                count += 1
    finally:
        clock.freeze(None)
    return count


def _started_at(status: Status, now: datetime, round_: int, index: int) -> datetime:
    """Recent for tickets still being worked (so their SLA clocks are live, not all
    breached), a day old for resolved ones, weeks old for closed ones."""
    if status.is_active:
        return now - timedelta(hours=3, minutes=25 * index + 40 * round_)
    if status == Status.RESOLVED:
        return now - timedelta(hours=20, minutes=30 * round_)
    return now - timedelta(days=10 + 2 * round_)


def _ticket(scenario, status, customer, agent, senior, categories, at) -> None:
    subject, description, slug, impact = scenario
    step = timedelta(minutes=47)
    clock.freeze(at)
    ticket = service.open_ticket(
        customer=customer,
        subject=subject,
        description=description,
        category=categories[slug],
        impact=impact,
    )
    # In the story the acknowledgement went out a minute after filing, not at seeding time.
    clock.freeze(at + timedelta(minutes=1))
    service.acknowledged(ticket)
    if status == Status.NEW:
        return
    clock.freeze(at := at + step)
    service.reply(ticket, author=agent, body=AGENT_FIRST_REPLY.format(name=customer.first_name))
    _assign(ticket, agent, senior)
    if subject in TAGS:
        service.set_tags(ticket, TAGS[subject], actor=agent)
    clock.freeze(at := at + step)
    service.reply(
        ticket, author=agent, body="Checked the payment logs; see order history.", public=False
    )
    if status == Status.OPEN:
        return
    if status == Status.PENDING:
        clock.freeze(at + step)
        service.reply(ticket, author=agent, body=AGENT_QUESTION)
        service.change_status(ticket, Status.PENDING, actor=agent)
        return
    if status == Status.ON_HOLD:
        clock.freeze(at + step)
        service.change_status(
            ticket,
            Status.ON_HOLD,
            actor=agent,
            note="We are waiting for the carrier's investigation (2–3 days).",
        )
        return
    if status == Status.ESCALATED:
        clock.freeze(at + step)
        service.escalate(ticket, actor=agent, reason="Needs a refund approval above my limit.")
        return
    clock.freeze(at := at + step)
    service.reply(ticket, author=agent, body=AGENT_QUESTION)
    clock.freeze(at := at + step)
    service.reply(ticket, author=customer, body=CUSTOMER_ANSWER)
    clock.freeze(at := at + step)
    service.reply(ticket, author=agent, body=AGENT_FIX)
    service.change_status(ticket, Status.RESOLVED, actor=agent)
    if status == Status.CLOSED:
        clock.freeze(at + timedelta(days=2))
        service.rate(ticket, customer=customer, score=5, comment="Quick and friendly, thank you!")
        service.change_status(ticket, Status.CLOSED, actor=None)
