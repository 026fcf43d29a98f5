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
from support.extensions import db
from support.models import (
    Category,
    Impact,
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

SCENARIOS = [
    (
        "Charged twice for order #48213",
        "I bought a vintage lamp yesterday and my card statement "
        "shows two charges of 64.00 EUR from the marketplace. I only placed one order. Can you "
        "refund the duplicate?",
        "payments",
        Impact.JUST_ME,
    ),
    (
        "Can't sign in after changing my phone",
        "My two-step codes went to my old phone, which I "
        "traded in. Now I can't sign in at all. I still have access to my email.",
        "accounts",
        Impact.JUST_ME,
    ),
    (
        "Parcel shows delivered but nothing arrived",
        "Tracking for order #47710 says delivered on Monday at 14:02, "
        "but there was no parcel at my door and my neighbours have nothing either.",
        "shipping",
        Impact.JUST_ME,
    ),
    (
        "Refund not received after return",
        "I returned the jacket two weeks ago (the seller "
        "confirmed receipt on the 3rd) but the refund has not reached my card yet.",
        "refunds",
        Impact.JUST_ME,
    ),
    (
        "My listing was removed without explanation",
        "My listing for a 1970s camera lens "
        "disappeared this morning. I got no email saying why. It is not a prohibited item.",
        "listings",
        Impact.JUST_ME,
    ),
    (
        "Payout still pending after 7 days",
        "I sold three items last week. The payouts page "
        "has said 'pending' for 7 days and my bank has received nothing.",
        "payments",
        Impact.JUST_ME,
    ),
    (
        "Checkout fails for all our buyers",
        "Since about 09:30 every buyer in our shop gets "
        "'Something went wrong' at checkout. We have had zero orders today.",
        "orders",
        Impact.MANY_USERS,
    ),
    (
        "Suspicious email asking for my password",
        "I got an email that looks like it is from you "
        "asking me to 'confirm my account' on a strange link. Is this real? I did not click it.",
        "security",
        Impact.JUST_ME,
    ),
    (
        "Please delete my data",
        "I no longer use the marketplace. Please delete my account and all "
        "personal data you hold about me, as the GDPR allows.",
        "privacy",
        Impact.JUST_ME,
    ),
    (
        "Item not as described — seller not answering",
        "The 'mint condition' watch I received has "
        "a cracked glass. I messaged the seller four days ago and have had no answer.",
        "refunds",
        Impact.JUST_ME,
    ),
    (
        "Shipping label won't print",
        "When I click Print label on order #47982 I get a blank PDF. Tried Chrome and Firefox.",
        "shipping",
        Impact.SOME_USERS,
    ),
    (
        "Offer accepted but order never created",
        "The seller accepted my offer of 120 EUR for a "
        "bike, but no order appears in my purchases and I was not charged.",
        "orders",
        Impact.JUST_ME,
    ),
    (
        "Someone changed my account email",
        "I received a notice that my email was changed to an "
        "address I don't know. I can't sign in any more. I think my account was hacked.",
        "security",
        Impact.JUST_ME,
    ),
    (
        "How do I change the currency shown?",
        "Prices show in USD but I live in Germany. Where can I switch to euros?",
        "payments",
        Impact.JUST_ME,
    ),
    (
        "Wrong size sent, seller wants me to pay return postage",
        "I ordered the sneakers in 42 and got 39. The seller says I have to pay 8 EUR to send "
        "them back. That's not fair, it was their mistake.",
        "refunds",
        Impact.JUST_ME,
    ),
    (
        "Verification keeps rejecting my ID",
        "I've uploaded my passport four times for seller verification and each time it says "
        "'document unreadable'. The photo is sharp.",
        "accounts",
        Impact.JUST_ME,
    ),
    (
        "Buyer left a review for an item they never bought",
        "A user left me a 1-star review on my shop page but has never bought anything from me. "
        "Can it be removed?",
        "listings",
        Impact.JUST_ME,
    ),
    (
        "Bulk upload CSV fails on line 1",
        "Our shop uploads listings by CSV every night. Since yesterday every file fails with "
        "'invalid header on line 1', with the template you provide.",
        "listings",
        Impact.SOME_USERS,
    ),
    (
        "Courier says the address doesn't exist",
        "DHL returned my parcel (order #48850) saying the address doesn't exist. It's my home "
        "address and the same one I've used for years.",
        "shipping",
        Impact.JUST_ME,
    ),
    (
        "Promo code WINTER15 not accepted",
        "The code from your newsletter says 'not valid for this item' on every item I try, "
        "including ones in the winter sale.",
        "orders",
        Impact.SOME_USERS,
    ),
    (
        "Paid with PayPal, order still says awaiting payment",
        "PayPal shows the 45.90 EUR payment as completed on Tuesday, but order #48477 still "
        "says 'awaiting payment' and the seller won't ship.",
        "payments",
        Impact.JUST_ME,
    ),
    (
        "Can I get an invoice with my company's VAT number?",
        "We buy office furniture through the marketplace. Our accountant needs invoices with "
        "our VAT number on them. Where can I add it?",
        "orders",
        Impact.JUST_ME,
    ),
    (
        "Seller asked me to pay outside the platform",
        "A seller messaged me to pay by bank transfer to get a discount. That sounds like a "
        "scam. I've attached nothing and paid nothing.",
        "security",
        Impact.JUST_ME,
    ),
    (
        "Download my data export",
        "I requested a copy of my data 10 days ago and never got the email with the link.",
        "privacy",
        Impact.JUST_ME,
    ),
    (
        "Parcel stuck in customs for two weeks",
        "My order from a UK seller has been 'held at customs' since the 14th. Nobody tells me "
        "what they need.",
        "shipping",
        Impact.JUST_ME,
    ),
    (
        "Chargeback opened by a buyer after delivery",
        "The buyer signed for the parcel and now their bank opened a chargeback saying the item "
        "never arrived. I have the signed proof of delivery.",
        "refunds",
        Impact.JUST_ME,
    ),
    (
        "App crashes when I open my messages",
        "Since the last update the Android app closes as soon as I tap Messages. Reinstalling "
        "didn't help.",
        "accounts",
        Impact.SOME_USERS,
    ),
    (
        "Holiday mode didn't pause my listings",
        "I turned on holiday mode on Friday but got two orders over the weekend that I can't "
        "ship until next week.",
        "listings",
        Impact.JUST_ME,
    ),
]

# Tags agents put on some of the tickets they work (by subject), as a team would.
TAGS = {
    "Charged twice for order #48213": ["refund", "chargeback"],
    "Can't sign in after changing my phone": ["mobile app", "2fa"],
    "Parcel shows delivered but nothing arrived": ["shipping delay"],
    "Refund not received after return": ["refund"],
    "Payout still pending after 7 days": ["vip seller", "payouts"],
    "Checkout fails for all our buyers": ["vip seller", "outage", "checkout"],
    "Item not as described — seller not answering": ["refund", "chargeback", "dispute"],
    "Shipping label won't print": ["mobile app", "shipping delay"],
}

AGENT_FIRST_REPLY = (
    "Hi {name}, thanks for the details. I'm looking into this now and will update you here."
)
AGENT_QUESTION = (
    "Could you send us a screenshot of what you see, and the date you first noticed it?"
)
CUSTOMER_ANSWER = "Sure, here it is. I first noticed it on Monday morning."
AGENT_FIX = "Thanks, that helped. We have fixed the problem on our side; please check it now."


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
