"""Settings, all from the environment, with embedded defaults for a laptop."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

# Minutes per priority: (first response, update interval, resolution).
# Admin-editable SLA policies replace this table in a later release; until then
# it is the one place the promised times come from.
DEFAULT_SLA_MINUTES: dict[str, tuple[int, int, int]] = {
    "urgent": (60, 4 * 60, 8 * 60),
    "high": (4 * 60, 8 * 60, 24 * 60),
    "normal": (8 * 60, 24 * 60, 3 * 24 * 60),
    "low": (24 * 60, 48 * 60, 5 * 24 * 60),
}

# Escalation matrix: who handles each tier, and how soon the customer hears from
# them after an escalation. Stage deadlines for automatic escalation come from SLAs.
DEFAULT_ESCALATION_MATRIX: dict[int, dict[str, str | int]] = {
    1: {"name": "our support team", "update_hours": 24},
    2: {"name": "our senior support team", "update_hours": 48},
    3: {"name": "our specialist team", "update_hours": 24},
}

DEVELOPMENT_ENVS = {"development", "demo", "testing"}
MIN_SECRET_KEY_LENGTH = 32


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _secret_key(instance_path: Path, env: str) -> str:
    key = os.environ.get("SECRET_KEY")
    if key and env not in DEVELOPMENT_ENVS and len(key) < MIN_SECRET_KEY_LENGTH:
        raise RuntimeError(
            f"SECRET_KEY is too short to sign sessions safely: use at least "
            f"{MIN_SECRET_KEY_LENGTH} random characters "
            "(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')."
        )
    if key:
        return key
    if env not in DEVELOPMENT_ENVS:
        raise RuntimeError(
            "SECRET_KEY must be set outside development "
            "(set SUPPORT_ENV=development for a local run)."
        )
    # A laptop keeps one random key in the instance folder so sessions survive restarts.
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_config(instance_path: Path, overrides: dict) -> dict:
    """Read the environment once, when the app is created (`overrides` win)."""
    env = overrides.get("SUPPORT_ENV") or os.environ.get("SUPPORT_ENV", "production")
    instance_path.mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'support.db'}"
    return {
        "SUPPORT_ENV": env,
        "SECRET_KEY": overrides.get("SECRET_KEY") or _secret_key(instance_path, env),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "UPLOAD_FOLDER": os.environ.get("UPLOAD_FOLDER", str(instance_path / "attachments")),
        "SESSION_COOKIE_SECURE": env not in DEVELOPMENT_ENVS,
        "REMEMBER_COOKIE_SECURE": env not in DEVELOPMENT_ENVS,
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "127.0.0.1"),
        "MAIL_PORT": _env_int("MAIL_PORT", 25),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Support Desk <support@localhost>"),
        "MAIL_BACKEND": os.environ.get("MAIL_BACKEND", "smtp"),
        "MAIL_USE_TLS": os.environ.get("MAIL_USE_TLS", "") == "1",
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        # SMTP connections a drain sends over at once: one waits for the server's
        # replies while another sends (support/notify/drain.py, README "Settings").
        "MAIL_CONNECTIONS": _env_int("MAIL_CONNECTIONS", 2),
        # How long a drain waits before it reads the outbox, so the emails of a busy
        # moment go out in one job, not one job each (support/jobs/tasks.py; README
        # "Sizing the web tier"). Tests send at once.
        "MAIL_GATHER_MS": _env_int("MAIL_GATHER_MS", 0 if env == "testing" else 200),
        # Inbound mail: bigger messages are kept in quarantine, not filed; the webhook
        # (POST /inbound/email) answers only requests signed with this secret.
        "MAIL_MAX_BYTES": _env_int("MAIL_MAX_BYTES", 40 * 1024 * 1024),
        "INBOUND_EMAIL_SECRET": os.environ.get("INBOUND_EMAIL_SECRET", ""),
        "SITE_NAME": os.environ.get("SITE_NAME", "Support Desk"),
        # Times on pages and in emails, for anyone who hasn't chosen a zone (a zoneinfo name).
        "DEFAULT_TIME_ZONE": os.environ.get("DEFAULT_TIME_ZONE", "UTC"),
        # The address customers reach us at: links in emails point here.
        "BASE_URL": os.environ.get("BASE_URL")
        or f"http://127.0.0.1:{os.environ.get('PORT', '5000')}",
        "RQ_QUEUE": os.environ.get("RQ_QUEUE", "support"),
        # How many reverse proxies in front of us set X-Forwarded-* (0: trust none).
        "PROXY_HOPS": _env_int("PROXY_HOPS", 0),
        "OUTBOX_LEASE_SECONDS": _env_int("OUTBOX_LEASE_SECONDS", 120),
        # Webhooks: loopback and private receivers are refused unless this is 1 (SSRF).
        "WEBHOOKS_ALLOW_PRIVATE": os.environ.get("WEBHOOKS_ALLOW_PRIVATE", "") == "1",
        "WEBHOOK_TIMEOUT_SECONDS": _env_int("WEBHOOK_TIMEOUT_SECONDS", 5),
        "WEBHOOK_MAX_ATTEMPTS": _env_int("WEBHOOK_MAX_ATTEMPTS", 8),
        # Rate limits (counted in Redis); RATELIMIT_ENABLED=0 turns them off.
        "RATELIMIT_ENABLED": os.environ.get("RATELIMIT_ENABLED", "1") != "0",
        # Login: per (address, email), and a wider budget per address (an office or a
        # phone network shares one address); never per email alone.
        "RATELIMIT_LOGIN": os.environ.get("RATELIMIT_LOGIN", "10/minute"),
        "RATELIMIT_LOGIN_ADDRESS": os.environ.get("RATELIMIT_LOGIN_ADDRESS", "30/minute"),
        # "Forgot password" requests: per (address, email), and per address.
        "RATELIMIT_RESET": os.environ.get("RATELIMIT_RESET", "5/hour"),
        "RATELIMIT_RESET_ADDRESS": os.environ.get("RATELIMIT_RESET_ADDRESS", "20/hour"),
        "RATELIMIT_REGISTER": os.environ.get("RATELIMIT_REGISTER", "10/hour"),
        # /account: changing the email or password, sending the verification link again.
        "RATELIMIT_ACCOUNT": os.environ.get("RATELIMIT_ACCOUNT", "20/hour"),
        "RATELIMIT_TICKETS": os.environ.get("RATELIMIT_TICKETS", "20/hour"),
        "RATELIMIT_SEARCH": os.environ.get("RATELIMIT_SEARCH", "120/minute"),
        # Per API token (or per address for requests without one).
        "RATELIMIT_API": os.environ.get("RATELIMIT_API", "600/minute"),
    }


class BaseConfig:
    """Defaults that do not depend on the environment."""

    # No pre-ping round trip per request: support/database.py replaces a pooled connection
    # PostgreSQL closed by looking at its socket. Connections are renewed after an hour, so
    # one cut silently (a firewall forgetting it) is not used for ever.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": False, "pool_recycle": 3600}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # The token in <body hx-headers> lives as long as the page: tie it to the
    # session, not to a clock, so a tab left open over lunch still works.
    WTF_CSRF_TIME_LIMIT = None
    # Whole request cap; per-file limits are checked by the form, with a field error.
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    # Big enough that a pasted 1 MB log reaches the form, which explains the limit.
    MAX_FORM_MEMORY_SIZE = 8 * 1024 * 1024
    ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
    ATTACHMENT_MAX_COUNT = 5
    SLA_MINUTES = DEFAULT_SLA_MINUTES
    ESCALATION_MATRIX = DEFAULT_ESCALATION_MATRIX
    TIMELINE_PAGE_SIZE = 50
    TIMELINE_POLL_SECONDS = 5
    BOARD_POLL_SECONDS = 5
    # Follow-up work after resolution, and when silence closes a resolved ticket.
    FOLLOW_UP_AFTER_HOURS = 24
    AUTO_CLOSE_AFTER_DAYS = 7
    SURVEY_VALID_DAYS = 14
