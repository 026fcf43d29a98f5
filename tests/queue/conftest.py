"""The queue's tests use the board's people and tickets (tests/board/conftest.py)."""

from tests.board.conftest import (  # noqa: F401 - fixtures, found by name
    admin,
    agent,
    as_agent,
    colleague,
    customer,
    teams,
    ticket,
)
