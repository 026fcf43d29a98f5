"""Route guards by role: anonymous → log in; signed in without the role → 403."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user, login_required

from support.models import User

F = TypeVar("F", bound=Callable[..., Any])


def role_required(allowed: Callable[[User], bool]) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not allowed(current_user):
                abort(403)
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorator


agent_required = role_required(lambda user: user.is_agent)
admin_required = role_required(lambda user: user.is_admin)
