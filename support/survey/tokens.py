"""Signed survey links: /survey/<token> works without a login, once, until it expires."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update

from support import clock, urls
from support.extensions import db
from support.models import SurveyInvite, Ticket


class InvalidToken(Exception):
    pass


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="satisfaction-survey")


def create_invite(ticket: Ticket) -> SurveyInvite:
    """An invite for the ticket's current resolution (added to the session, not committed)."""
    now = clock.now()
    invite = SurveyInvite(
        ticket=ticket,
        nonce=secrets.token_urlsafe(24),
        resolved_at=ticket.resolved_at,
        created_at=now,
        expires_at=now + timedelta(days=current_app.config["SURVEY_VALID_DAYS"]),
    )
    db.session.add(invite)
    return invite


def token_for(invite: SurveyInvite) -> str:
    return _serializer().dumps(invite.nonce)


def survey_url(invite: SurveyInvite) -> str:
    """The follow-up email's link: the survey opens from it without a login."""
    return urls.external_url("survey.answer", token=token_for(invite))


def invite_for(token: str) -> SurveyInvite:
    """The invite behind a token; InvalidToken if it was tampered with or never existed."""
    try:
        nonce = _serializer().loads(token)
    except BadSignature as exc:
        raise InvalidToken from exc
    invite = db.session.scalar(select(SurveyInvite).where(SurveyInvite.nonce == nonce))
    if invite is None:
        raise InvalidToken
    return invite


def claim(invite: SurveyInvite) -> bool:
    """Mark the invite used, atomically: of two simultaneous answers only one wins."""
    result = db.session.execute(
        update(SurveyInvite)
        .where(SurveyInvite.id == invite.id, SurveyInvite.used_at.is_(None))
        .values(used_at=clock.now())
    )
    db.session.commit()
    return result.rowcount == 1


def release(invite: SurveyInvite) -> None:
    """The answer could not be recorded: the link works again."""
    db.session.execute(
        update(SurveyInvite).where(SurveyInvite.id == invite.id).values(used_at=None)
    )
    db.session.commit()
