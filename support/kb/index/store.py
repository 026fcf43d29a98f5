"""Generations on disk and their searchers, building, and freshness."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import logging
import os
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app
from whoosh.index import IndexError as WhooshIndexError
from whoosh.index import create_in, open_dir
from whoosh.searching import Searcher

from support.kb import articles, language, settings
from support.kb.index.schema import WEIGHTING, schema

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
MANIFEST = "manifest.json"
LAYOUT_FILE = "layout"
# How an article becomes an indexed document (schema and _document): a generation built
# under another layout is stale whatever the articles, so a release that changes how
# articles are indexed rebuilds the index by itself. Move it with any such change.
LAYOUT = 2  # 2: the problems said twice (PROBLEM_REPEATS)
# How many times an article's `problems:` count in its `about` field (with damped term
# frequency, twice is 1.35 times; 1 and 3 ranked the development set worse; issue 15).
PROBLEM_REPEATS = 2
GENERATION_PREFIX = "gen-"
# A retired generation stays on disk this long, so a process that read
# CURRENT just before the swap can still open it.
RETIRED_GRACE_SECONDS = 120
# Search results remembered per generation (it never changes, so they never go stale):
# people search for the same few things, and highlighting passages is what costs.
REMEMBERED_RESULTS = 256

T = TypeVar("T")


@dataclass(frozen=True)
class BuildReport:
    articles: int
    problems: list[articles.Problem]
    seconds: float
    generation: str


# --- Generations and their searchers ---------------------------------------------------


MAX_CORRECTIONS = 20_000


class BoundedCorrections(dict):
    """A dict that starts again when full; safe enough across threads (a lost or
    duplicated entry only costs a lookup again)."""

    def __setitem__(self, key: str, value: str | None) -> None:
        if len(self) >= MAX_CORRECTIONS:
            self.clear()
        super().__setitem__(key, value)


@dataclass(eq=False)
class Generation:
    """One built index. Searchers are pooled: a whoosh searcher must not be shared
    by two threads at once, and opening one per request costs more than a search."""

    name: str
    manifest: dict[str, list[Any]]
    index: Any
    layout: int = LAYOUT
    pool: list[Searcher] = field(default_factory=list)
    retired: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    remembered: OrderedDict[Any, Any] = field(default_factory=OrderedDict)
    # Misspelt word -> its correction (None: none found): finding one walks the lexicon.
    corrections: BoundedCorrections = field(default_factory=BoundedCorrections)

    def remember(self, key: Any, compute: Callable[[], T]) -> T:
        """`compute()`'s result for `key`, computed once per generation (least recently
        used ones forgotten first)."""
        with self.lock:
            if key in self.remembered:
                self.remembered.move_to_end(key)
                return self.remembered[key]
        value = compute()
        with self.lock:
            self.remembered[key] = value
            while len(self.remembered) > REMEMBERED_RESULTS:
                self.remembered.popitem(last=False)
        return value

    @contextlib.contextmanager
    def searcher(self) -> Iterator[Searcher]:
        with self.lock:
            searcher = self.pool.pop() if self.pool else None
        if searcher is None:
            searcher = self.index.searcher(weighting=WEIGHTING)
        try:
            yield searcher
        finally:
            with self.lock:
                keep = not self.retired
                if keep:
                    self.pool.append(searcher)
            if not keep:
                searcher.close()

    def retire(self) -> None:
        """Close idle searchers now; busy ones close when their request is done."""
        with self.lock:
            self.retired = True
            idle, self.pool = self.pool, []
        for searcher in idle:
            searcher.close()


@dataclass(eq=False)
class _State:
    """What this process knows about one index directory."""

    articles_dir: Path
    index_dir: Path
    generation: Generation | None = None
    checked_at: float = float("-inf")
    # Files whose mtime changed but whose content was checked to be the same.
    same_content: dict[str, tuple[int, int]] = field(default_factory=dict)
    rebuilding: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)


_states: dict[Path, _State] = {}
_states_lock = threading.Lock()


def _state(app: Flask | None = None) -> _State:
    app = app or current_app
    index_dir = settings.index_dir(app).resolve()
    with _states_lock:
        if index_dir not in _states:
            _states[index_dir] = _State(settings.articles_dir(app).resolve(), index_dir)
        return _states[index_dir]


def _read_pointer(index_dir: Path) -> str | None:
    try:
        return (index_dir / CURRENT).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def _switch(state: _State, name: str) -> None:
    """Serve generation `name` from now on (called with `state.lock` held)."""
    if state.generation is not None and state.generation.name == name:
        return
    path = state.index_dir / name
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    try:
        layout = int((path / LAYOUT_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        layout = 1  # built before the layout was written down
    generation = Generation(name, manifest, open_dir(str(path)), layout)
    old, state.generation = state.generation, generation
    state.same_content.clear()
    if old is not None:
        old.retire()


def close(app: Flask | None = None) -> None:
    """Close this process's searchers on the app's index (tests, shutdown)."""
    index_dir = settings.index_dir(app or current_app).resolve()
    with _states_lock:
        state = _states.pop(index_dir, None)
    if state is not None and state.generation is not None:
        state.generation.retire()


# --- Building --------------------------------------------------------------------------


@contextlib.contextmanager
def _writer_lock(index_dir: Path, *, blocking: bool) -> Iterator[bool]:
    """One writer at a time, across processes; yields False if busy and not `blocking`."""
    lock_path = index_dir.with_name(index_dir.name + ".lock")
    with open(lock_path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(articles_dir: Path) -> dict[str, list[Any]]:
    manifest = {}
    for name, (mtime, size) in articles.scan(articles_dir).items():
        try:
            manifest[name] = [mtime, size, _sha256(articles_dir / name)]
        except FileNotFoundError:  # deleted since the scan (a checkout): not in this build
            continue
    return manifest


def _document(article: articles.Article) -> dict[str, str]:
    # The problems join the title and tags rather than a field of their own: a third
    # field costs a posting list per query word and, boosted 2-4x, ranked the
    # development set worse than this (issue 15).
    about = "\n".join((article.title, *article.tags, *article.problems))
    # ...but said twice (PROBLEM_REPEATS): a tag often names a feature ("paypal",
    # "photos") that other articles' customers mention in passing, a problem says what
    # went wrong, so a word of the problems outweighs a lone tag word (issue 15).
    problems = "\n".join(article.problems * (PROBLEM_REPEATS - 1))
    weighted = f"{about}\n{problems}"
    content = "\n".join((article.summary, article.text))
    return {
        "slug": article.slug,
        "category": article.category,
        # The negation terms are not words anyone types: not in "words" (Did you mean).
        "about": f"{weighted}\n{language.negation_text(weighted)}",
        "content": content,
        "words": f"{about}\n{content}",
        "title": article.title,
        "summary": article.summary,
        "body": article.text,
    }


def _write_generation(index_dir: Path, library: articles.Library, manifest: dict) -> str:
    name = f"{GENERATION_PREFIX}{time.time_ns()}"
    building = index_dir / f"{name}.tmp"
    building.mkdir()
    ix = create_in(str(building), schema())
    writer = ix.writer(limitmb=256)
    for article in library.articles.values():
        writer.add_document(**_document(article))
    writer.commit()
    (building / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    (building / LAYOUT_FILE).write_text(str(LAYOUT), encoding="utf-8")
    building.rename(index_dir / name)
    pointer = index_dir / f"{CURRENT}.tmp"
    pointer.write_text(name, encoding="utf-8")
    os.replace(pointer, index_dir / CURRENT)  # the swap: atomic on POSIX
    return name


def _created_at(name: str) -> float:
    try:
        return int(name.removeprefix(GENERATION_PREFIX).removesuffix(".tmp")) / 1e9
    except ValueError:
        return 0.0


def _remove_old_generations(index_dir: Path, current: str) -> None:
    """Delete crashed builds, and generations retired long enough ago that no reader
    can still be opening them (called with the writer lock held)."""
    names = sorted((p.name for p in index_dir.glob(f"{GENERATION_PREFIX}*")), key=_created_at)
    now = time.time()
    for older, newer in itertools.pairwise(names):
        crashed = older.endswith(".tmp")
        expired = older != current and now - _created_at(newer) > RETIRED_GRACE_SECONDS
        if crashed or expired:
            shutil.rmtree(index_dir / older, ignore_errors=True)


def _build(state: _State, *, blocking: bool = True) -> BuildReport | None:
    started = time.perf_counter()
    state.index_dir.mkdir(parents=True, exist_ok=True)
    with _writer_lock(state.index_dir, blocking=blocking) as locked:
        if not locked:
            return None
        # Manifest before content: a file edited mid-build makes the next check rebuild.
        manifest = _manifest(state.articles_dir)
        library = articles.load(state.articles_dir)
        name = _write_generation(state.index_dir, library, manifest)
        _remove_old_generations(state.index_dir, name)
    with state.lock:
        _switch(state, name)
        state.checked_at = time.monotonic()  # just built from what is on disk
    seconds = time.perf_counter() - started
    log.info("Knowledge-base index %s: %d articles, %.2f s", name, len(library.articles), seconds)
    return BuildReport(len(library.articles), list(library.problems), seconds, name)


def rebuild(app: Flask | None = None) -> BuildReport:
    """Index the articles folder afresh and make it live (waits for another writer)."""
    report = _build(_state(app), blocking=True)
    assert report is not None  # a blocking lock is always acquired in the end
    return report


# --- Freshness -------------------------------------------------------------------------


def _is_stale(state: _State, generation: Generation) -> bool:
    if generation.layout != LAYOUT:
        return True
    built_from = generation.manifest
    now = articles.scan(state.articles_dir)
    if now.keys() != built_from.keys():
        return True
    for name, stamp in now.items():
        mtime, size, digest = built_from[name]
        if stamp == (mtime, size) or state.same_content.get(name) == stamp:
            continue
        # Touched (a checkout, a copy) but maybe not changed: the content decides.
        try:
            if _sha256(state.articles_dir / name) != digest:
                return True
        except FileNotFoundError:
            return True
        state.same_content[name] = stamp
    return False


def _refresh_in_background(state: _State, checking: Generation | None = None) -> None:
    """Rebuild in a thread of its own; first look whether `checking` is stale, if given.

    Looking means a stat of every article file (and a hash of touched ones): with
    thousands of articles that is a real cost, so no request waits for it.
    """
    with state.lock:
        if state.rebuilding:
            return
        state.rebuilding = True

    def run() -> None:
        try:
            if checking is None or _is_stale(state, checking):
                _build(state, blocking=False)  # if another writer is busy, its index will do
        except Exception:
            log.exception("Rebuilding the knowledge-base index failed; serving the previous one")
        finally:
            state.rebuilding = False

    threading.Thread(target=run, name="kb-reindex", daemon=True).start()


def _follow_pointer(state: _State) -> None:
    """Serve what CURRENT names: another process may have rebuilt (lock held)."""
    pointer = _read_pointer(state.index_dir)
    if pointer is None:
        return
    try:
        _switch(state, pointer)
    except (OSError, ValueError, WhooshIndexError):
        # Deleted or damaged by hand: keep serving what we have; the check rebuilds.
        log.warning("Knowledge-base index %s could not be opened", state.index_dir / pointer)


def ensure_fresh(app: Flask | None = None, *, force: bool = False, wait: bool = True) -> bool:
    """Rebuild when articles were added, changed or removed since the live index was built.

    Cheap enough for every request: unless `force`, it looks at the disk at
    most every `KB_CHECK_SECONDS`. With `wait=False` a stale index keeps serving
    while a background thread rebuilds (only a missing index is built by the
    caller), and unless `force` the looking happens in that thread too.
    Returns True when a rebuild ran or started.
    """
    app = app or current_app
    state = _state(app)
    with state.lock:
        now = time.monotonic()
        if not force and now - state.checked_at < settings.check_seconds(app):
            return False
        state.checked_at = now
        _follow_pointer(state)
        generation = state.generation
    if generation is not None and not wait and not force:
        _refresh_in_background(state, checking=generation)  # a request never scans the disk
        return False
    if generation is not None and not _is_stale(state, generation):
        return False
    if generation is not None and not wait:
        _refresh_in_background(state)
        return True
    _build(state, blocking=True)
    return True


def live(app: Flask | None) -> Generation:
    app = app or current_app
    ensure_fresh(app, wait=False)
    state = _state(app)
    with state.lock:
        missing = state.generation is None
    if missing:
        # A concurrent first request is still building the first index (it set
        # checked_at): wait for a writer's index instead of failing.
        ensure_fresh(app, force=True)
    with state.lock:
        if state.generation is None:
            raise RuntimeError(f"no knowledge-base index in {state.index_dir}")
        return state.generation
