"""The report's statements, kept by what shapes them.

Building the statements costs more of our CPU than running them does: they are kept,
by what shapes them (the conditions with their values, whether kept facts are read,
the clock, the database), for the next report with other dates (at most `size`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from support.extensions import db
from support.reports.clock import Clock, Kept, fingerprint

T = TypeVar("T")


class Shelf(Generic[T]):
    """Statements by shape, the least recently used dropped past `size`; the threads of
    one worker share it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.built: OrderedDict[tuple, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple | None, make: Callable[[], T]) -> T:
        """The statements kept under `key`, made by `make` (and kept) when missing;
        `key` None: made every time."""
        if key is not None:
            with self._lock:
                if (found := self.built.get(key)) is not None:
                    self.built.move_to_end(key)
                    return found
        made = make()
        if key is not None:
            with self._lock:
                self.built[key] = made
                while len(self.built) > self.size:
                    self.built.popitem(last=False)
        return made


def shape(where: list, clock: Clock, kept: Kept) -> tuple | None:
    """What makes the statements differ: each condition's structure and values (SQLAlchemy's
    cache key), the clock, whether kept facts are read, the database. None: a condition
    SQLAlchemy cannot key, never cached."""
    keys = []
    for condition in where:
        found = condition._generate_cache_key()
        if found is None:
            return None
        keys.append((found.key, tuple(repr(b.effective_value) for b in found.bindparams)))
    return (tuple(keys), fingerprint(clock), kept.watermark is None, db.engine.dialect.name)
