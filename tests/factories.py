"""Test data through the real services (so every factory ticket has a timeline)."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from support.auth import accounts
from support.extensions import db
from support.models import Category, Impact, Role, Ticket, User
from support.tickets import service

PASSWORD = "a-long-test-password"
_seq = itertools.count(1)


class Factory:
    def user(self, role: Role = Role.CUSTOMER, **fields) -> User:
        n = next(_seq)
        defaults = {
            "email": f"{role.value}{n}@example.com",
            "name": f"{role.value.capitalize()} Person{n}",
            "password": PASSWORD,
            "role": role,
            "tier": 1 if role != Role.CUSTOMER else None,
        }
        defaults.update(fields)
        return accounts.create_user(**defaults)

    def customer(self, **fields) -> User:
        return self.user(Role.CUSTOMER, **fields)

    def agent(self, **fields) -> User:
        return self.user(Role.AGENT, **fields)

    def admin(self, **fields) -> User:
        return self.user(Role.ADMIN, **fields)

    def category(self, slug: str = "payments") -> Category:
        return db.session.scalar(select(Category).where(Category.slug == slug))

    def ticket(self, customer: User | None = None, **fields) -> Ticket:
        defaults = {
            "customer": customer or self.customer(),
            # No urgent words: a plain ticket gets its impact's priority (support/triage).
            "subject": "Refund missing for one order",
            "description": "The seller agreed to refund order 1234 but nothing arrived yet.",
            "category": self.category(),
            "impact": Impact.JUST_ME,
        }
        defaults.update(fields)
        return service.open_ticket(**defaults)
