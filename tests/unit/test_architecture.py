"""The shape the code promises in support/tickets/service/change.py and the README's
"How the pieces fit": checked, so it cannot quietly drift back."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from flask import Flask
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from support.extensions import db
from support.models import Ticket, TicketEvent

SUPPORT = Path(__file__).resolve().parents[2] / "support"

# The generic hooks: jobs that writers other than ticket changes enqueue after commit, and
# the settings cache's version, moved after a commit that wrote a settings table.
GENERIC_SESSION_LISTENERS = {
    ("after_commit", "support.jobs.queue._run_pending"),
    ("after_soft_rollback", "support.jobs.queue._drop_pending"),
    ("before_flush", "support.settings_cache._before_flush"),
    ("do_orm_execute", "support.settings_cache._on_execute"),
    ("after_commit", "support.settings_cache._after_commit"),
    ("after_soft_rollback", "support.settings_cache._after_soft_rollback"),
}

# Packages (and modules) that are screens: blueprints, their forms and helpers.
WEB = (
    "support.account",
    "support.admin",
    "support.api",
    "support.auth",
    "support.board",
    "support.mailhook",
    "support.main",
    "support.portal",
    "support.queue",
    "support.web",
    "support.kb.views",
    "support.kb.insights_views",
    "support.notify.views",
    "support.survey.views",
    "support.reports.views",
    "support.privacy.views",
)
# The domain: nothing here may import a screen.
DOMAIN = ("tickets", "triage", "notify", "jobs", "webhooks", "mail", "reports", "privacy")
SCREENS_IN_DOMAIN = ("notify/views.py", "reports/views.py", "privacy/views.py")


def _listeners(dispatch: object) -> Iterator[tuple[str, object]]:
    for name in dir(dispatch):
        if name.startswith("_"):
            continue
        collection = getattr(dispatch, name)
        for fns in getattr(collection, "_clslevel", {}).values():
            for fn in fns:
                yield name, fn
        for fn in getattr(collection, "listeners", ()):
            yield name, fn


def _ours(pairs: Iterator[tuple[str, object]]) -> set[tuple[str, str]]:
    return {
        (name, f"{fn.__module__}.{fn.__qualname__}")
        for name, fn in pairs
        if getattr(fn, "__module__", "").startswith("support")
    }


def test_no_ticket_specific_session_hook_after_create_app(app: Flask) -> None:
    """Every ticket change's steps are in TicketChange, none in a session event."""
    session = db.session()
    registered = _ours(_listeners(Session.dispatch)) | _ours(_listeners(session.dispatch))
    assert registered == GENERIC_SESSION_LISTENERS


def test_no_hook_on_the_ticket_tables(app: Flask) -> None:
    for model in (Ticket, TicketEvent):
        assert _ours(_listeners(inspect(model).dispatch)) == set(), model
        assert _ours(_listeners(model.__table__.dispatch)) == set(), model


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every module a file imports, at any depth (`from a import b` names a and a.b)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _is_web(module: str) -> bool:
    return any(module == web or module.startswith(f"{web}.") for web in WEB)


def test_the_domain_imports_no_screen() -> None:
    wrong = []
    for package in DOMAIN:
        for path in sorted((SUPPORT / package).rglob("*.py")):
            if path.relative_to(SUPPORT).as_posix() in SCREENS_IN_DOMAIN:
                continue  # the package's own screen
            wrong += [
                f"{path.relative_to(SUPPORT.parent)}:{line} imports {module}"
                for line, module in _imports(path)
                if _is_web(module)
            ]
    assert wrong == []


def test_every_blueprint_is_a_screen_module() -> None:
    """A new blueprint outside WEB would escape the check above: name it there."""
    for path in SUPPORT.rglob("*.py"):
        if "Blueprint(" in path.read_text():
            module = ".".join(path.relative_to(SUPPORT.parent).with_suffix("").parts)
            assert _is_web(module), module
