"""Personal API tokens: made once, shown once, stored as a SHA-256, checked per request.

A token is `sd_` and 40 URL-safe random characters (240 bits). A hash that fast is
right here (unlike for passwords): the token is random, not guessable, so the only
attack is on the stored value, and SHA-256 of 240 random bits cannot be reversed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update

from support import clock
from support.extensions import db
from support.models import ApiToken, TokenScope, User
from support.privacy import audit

PREFIX = "sd_"
SHOWN_PREFIX = 10  # "sd_" and 7 characters: enough to tell tokens apart in a list
NAME_MAX = 80
# last_used_at is written at most this often per token, not on every request.
USE_RECORDED_EVERY = timedelta(minutes=1)


class TokenRefused(Exception):
    """The token is missing, unknown, revoked, expired, or its owner can't sign in."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the whole token: shown to its owner once, never stored


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(
    user: User,
    *,
    name: str,
    scope: TokenScope,
    expires_at: datetime | None = None,
    address: str | None = None,
) -> NewToken:
    """A new token for an agent or admin (customers have none); committed."""
    if not user.is_agent:
        raise PermissionError("Only agents and admins can have API tokens.")
    secret = PREFIX + secrets.token_urlsafe(30)
    token = ApiToken(
        user=user,
        name=name.strip()[:NAME_MAX] or "API token",
        token_hash=digest(secret),
        prefix=secret[:SHOWN_PREFIX],
        scope=scope,
        created_at=clock.now(),
        expires_at=expires_at,
    )
    db.session.add(token)
    db.session.flush()
    details = {"scope": scope.value, "expires_at": expires_at.isoformat() if expires_at else None}
    audit.record(audit.Action.TOKEN_CREATED, user, token, details, address, commit=False)
    db.session.commit()
    return NewToken(token, secret)


def revoke(token: ApiToken, *, by: User | None = None, address: str | None = None) -> None:
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        audit.record(
            audit.Action.TOKEN_REVOKED, by or token.user, token, None, address, commit=False
        )
        db.session.commit()


def tokens_of(user: User) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    return list(db.session.scalars(query))


def token_of(user: User, token_id: int) -> ApiToken | None:
    """One of `user`'s own tokens, or None: someone else's token is as good as missing."""
    token = db.session.get(ApiToken, token_id)
    return token if token is not None and token.user_id == user.id else None


class TokenStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        return self.value.capitalize()


def status_of(token: ApiToken, now: datetime) -> TokenStatus:
    if token.revoked_at is not None:
        return TokenStatus.REVOKED
    if not token.is_usable(now):
        return TokenStatus.EXPIRED
    return TokenStatus.ACTIVE


def authenticate(authorization: str | None) -> ApiToken:
    """The token an `Authorization: Bearer …` header carries, or TokenRefused."""
    scheme, _, secret = (authorization or "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret.startswith(PREFIX):
        raise TokenRefused("Send a personal API token as 'Authorization: Bearer sd_…'.")
    wanted = digest(secret)
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == wanted))
    now = clock.now()
    # The lookup is by hash (an index), so the comparison below is belt and braces.
    if token is None or not hmac.compare_digest(token.token_hash, wanted):
        raise TokenRefused("This API token is not valid.")
    if not token.is_usable(now):
        raise TokenRefused("This API token has expired or was revoked.")
    if not (token.user.is_active and token.user.is_agent):
        raise TokenRefused("The owner of this API token can no longer use the API.")
    _note_use(token, now)
    return token


def _note_use(token: ApiToken, now: datetime) -> None:
    """Record when the token was last used, once a minute at most, in its own statement."""
    if token.last_used_at is not None and now - token.last_used_at < USE_RECORDED_EVERY:
        return
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.id == token.id)
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    token.last_used_at = now
