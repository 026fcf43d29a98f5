"""Admins' webhooks: register a URL and its events, edit, roll the secret, delete; and
what the admin page reads (each webhook's latest delivery, the delivery log)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select

from support import clock
from support.extensions import db
from support.models import DeliveryStatus, User, Webhook, WebhookDelivery, WebhookEvent
from support.webhooks import http, signing

URL_MAX = 2000
DESCRIPTION_MAX = 200
LOG_PAGE_SIZE = 20


class WebhookError(ValueError):
    """A webhook that cannot be saved; the message is written for the admin."""


def check_url(url: str) -> str:
    """The URL, stripped, if we may POST to it (http.UnsafeUrl says why not)."""
    url = url.strip()
    if len(url) > URL_MAX:
        raise http.UnsafeUrl(f"Keep the URL under {URL_MAX:,} characters.")
    http.resolve(url, allow_private=current_app.config["WEBHOOKS_ALLOW_PRIVATE"])
    return url


def _events(events: Iterable[str]) -> list[str]:
    chosen = {WebhookEvent(e) for e in events}
    if not chosen:
        raise WebhookError("Pick at least one event.")
    return [e.value for e in WebhookEvent if e in chosen]


def create(
    *, url: str, events: Iterable[str], description: str = "", active: bool = True, by: User | None
) -> Webhook:
    hook = Webhook(
        url=check_url(url),
        events=_events(events),
        description=description.strip()[:DESCRIPTION_MAX],
        is_active=active,
        secret=signing.new_secret(),
        created_by=by,
        created_at=clock.now(),
    )
    db.session.add(hook)
    db.session.commit()
    return hook


def update(
    hook: Webhook, *, url: str, events: Iterable[str], description: str = "", active: bool = True
) -> Webhook:
    """New settings; deliveries already written keep their body and go to the new URL."""
    hook.url = check_url(url)
    hook.events = _events(events)
    hook.description = description.strip()[:DESCRIPTION_MAX]
    hook.is_active = active
    db.session.commit()
    return hook


def roll_secret(hook: Webhook) -> str:
    """A new secret; every attempt from now on is signed with it."""
    hook.secret = signing.new_secret()
    db.session.commit()
    return hook.secret


def delete(hook: Webhook) -> None:
    """The webhook and its delivery log (a job still queued for it then finds nothing)."""
    db.session.execute(sql_delete(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id))
    db.session.delete(hook)
    db.session.commit()


def all_webhooks() -> list[tuple[Webhook, WebhookDelivery | None]]:
    """Every webhook, oldest first, with its latest delivery (two queries)."""
    hooks = db.session.scalars(select(Webhook).order_by(Webhook.id)).all()
    latest_ids = select(func.max(WebhookDelivery.id)).group_by(WebhookDelivery.webhook_id)
    rows = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_(latest_ids)))
    latest = {d.webhook_id: d for d in rows}
    return [(hook, latest.get(hook.id)) for hook in hooks]


@dataclass(frozen=True)
class LogPage:
    deliveries: list[WebhookDelivery]
    page: int
    pages: int
    total: int
    waiting: int  # pending or being sent


def delivery_log(hook: Webhook, page: int = 1, size: int = LOG_PAGE_SIZE) -> LogPage:
    """The webhook's deliveries, latest first, a page at a time."""
    counts = dict(
        db.session.execute(
            select(WebhookDelivery.status, func.count())
            .where(WebhookDelivery.webhook_id == hook.id)
            .group_by(WebhookDelivery.status)
        ).all()
    )
    total = sum(counts.values())
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    deliveries = db.session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == hook.id)
        .order_by(WebhookDelivery.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    waiting = counts.get(DeliveryStatus.PENDING, 0) + counts.get(DeliveryStatus.SENDING, 0)
    return LogPage(list(deliveries), page, pages, total, waiting)
