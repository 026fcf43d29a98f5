"""The knowledge-base search index: the only module that imports whoosh.

Public API: `rebuild(app)`, `ensure_fresh(app)`, `search(q, limit)`,
`suggest(text, limit)` and `close(app)`.

On disk (`KB_INDEX_DIR`, by default `<instance>/kb_index`) every build is a
separate generation directory that is never modified; a one-line `CURRENT`
file names the live one. A rebuild writes a new generation beside the old
one and then replaces `CURRENT` with an atomic rename, so a reader always
opens a complete index and never waits for a writer. Writers hold an
exclusive `flock` on `<KB_INDEX_DIR>.lock`: two processes (a web worker that
noticed a changed file and `flask kb index`, say) never build at once.

Each generation records the files it was built from (name, mtime, size,
sha256). `ensure_fresh` compares that with the articles folder at most every
`KB_CHECK_SECONDS` and rebuilds when an article was added, changed or removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import logging
import math
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from markupsafe import Markup, escape
from whoosh import highlight, scoring
from whoosh.analysis import LowercaseFilter, RegexTokenizer, StemmingAnalyzer, StopFilter
from whoosh.analysis.filters import STOP_WORDS
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.index import IndexError as WhooshIndexError
from whoosh.index import create_in, open_dir
from whoosh.lang.porter import stem
from whoosh.query import Or, Phrase, Query, Term
from whoosh.searching import Searcher

from support.kb import articles, language, settings

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
MANIFEST = "manifest.json"
GENERATION_PREFIX = "gen-"
# A retired generation stays on disk this long, so a process that read
# CURRENT just before the swap can still open it.
RETIRED_GRACE_SECONDS = 120

# Two searchable fields, so a query term costs two posting lists, not four:
# `about` (title and tags) says what an article is about and counts double;
# `content` (summary and body) says more but mentions much in passing.
FIELD_BOOSTS = {"about": 2.0, "content": 1.0}
SEARCH_FIELDS = tuple(FIELD_BOOSTS)
# In a large knowledge base a word found in the text of more than this share
# of articles says little about which one is meant, and its long posting list
# is what makes a suggestion slow: it then only counts in titles and tags.
COMMON_SHARE = 0.05
COMMON_FLOOR = 100  # ...and never in a small one
# Plain TF-IDF ranks our relevance set as well as BM25F and, without BM25's
# per-document length lookups, runs about a third faster (SPEC §9 budget).
WEIGHTING = scoring.TF_IDF()
# Search-box queries are short, so they can afford a coordination bonus
# (whoosh's OrGroup.factory(0.9)): articles matching more of the words rank
# higher. Suggestions add term scores up, which already favours articles
# matching more words; the bonus would double their cost.
COORDINATION = 0.9
# The most telling words of a ticket are enough; each extra term can cost a
# posting list as long as the knowledge base.
SUGGEST_TERMS = 6
SEARCH_TERMS = 12
SYNONYM_WEIGHT = 0.7
# Nothing is suggested that scores below this share of what the rarest word
# scores once in a title or tag (a word in passing, "football", scores less),
# nor below this share of the best suggestion.
SUGGEST_MIN_SHARE = 0.7
RELATIVE_FLOOR = 0.3

STOP = STOP_WORDS | language.CONVERSATION_WORDS
# Porter stems "customer" and "customs" alike; a help centre cannot afford that.
_STEM_EXCEPTIONS = {"customer": "customer", "customers": "customer"}
_ANALYZER = StemmingAnalyzer(ignore=frozenset(_STEM_EXCEPTIONS))
_TOKENIZER = RegexTokenizer() | LowercaseFilter()
# Unstemmed words, the dictionary for "Did you mean ...?".
_WORDS_ANALYZER = _TOKENIZER | StopFilter(minsize=3)


def _schema() -> Schema:
    return Schema(
        slug=ID(stored=True, unique=True),
        category=ID(stored=True),
        about=TEXT(analyzer=_ANALYZER, field_boost=FIELD_BOOSTS["about"]),
        content=TEXT(analyzer=_ANALYZER, field_boost=FIELD_BOOSTS["content"], phrase=False),
        words=TEXT(analyzer=_WORDS_ANALYZER, phrase=False),
        # Shown in results; the body is kept for highlighted passages.
        title=STORED(),
        summary=STORED(),
        body=STORED(),
    )


# --- Results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    slug: str
    title: str
    summary: str
    category: str
    score: float
    snippet: Markup | None = None  # highlighted passage (search results only)


@dataclass(frozen=True)
class SearchResults:
    query: str
    hits: list[Hit]
    total: int
    suggestion: str | None = None  # "Did you mean ...?": the query with typos fixed


@dataclass(frozen=True)
class BuildReport:
    articles: int
    problems: list[articles.Problem]
    seconds: float
    generation: str


# --- Generations and their searchers ---------------------------------------------------


@dataclass(eq=False)
class _Generation:
    """One built index. Searchers are pooled: a whoosh searcher must not be shared
    by two threads at once, and opening one per request costs more than a search."""

    name: str
    manifest: dict[str, list[Any]]
    index: Any
    pool: list[Searcher] = field(default_factory=list)
    retired: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

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
    generation: _Generation | None = None
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
    old, state.generation = state.generation, _Generation(name, manifest, open_dir(str(path)))
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
    return {
        name: [mtime, size, _sha256(articles_dir / name)]
        for name, (mtime, size) in articles.scan(articles_dir).items()
    }


def _document(article: articles.Article) -> dict[str, str]:
    about = "\n".join((article.title, *article.tags))
    content = "\n".join((article.summary, article.text))
    return {
        "slug": article.slug,
        "category": article.category,
        "about": about,
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
    ix = create_in(str(building), _schema())
    writer = ix.writer(limitmb=256)
    for article in library.articles.values():
        writer.add_document(**_document(article))
    writer.commit()
    (building / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
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


def _is_stale(state: _State, generation: _Generation) -> bool:
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


def _rebuild_in_background(state: _State) -> None:
    with state.lock:
        if state.rebuilding:
            return
        state.rebuilding = True

    def run() -> None:
        try:
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
    most every `KB_CHECK_SECONDS`, and one request looks while the others go
    on searching. With `wait=False` a stale index keeps serving while a
    background thread rebuilds (only a missing index is built by the caller).
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
    if generation is not None and not _is_stale(state, generation):
        return False
    if generation is not None and not wait:
        _rebuild_in_background(state)
        return True
    _build(state, blocking=True)
    return True


def _live(app: Flask | None) -> _Generation:
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


# --- From text to a query --------------------------------------------------------------


@lru_cache(maxsize=20000)
def _stem(word: str) -> str:
    return _STEM_EXCEPTIONS.get(word) or stem(word)


def words_of(text: str) -> list[str]:
    """The lowercase words of `text` that can say what it is about, in order."""
    return [
        token.text
        for token in _TOKENIZER(text)
        if len(token.text) > 1 and token.text not in STOP and not token.text.isdigit()
    ]


def _doc_frequency(searcher: Searcher, term: str) -> int:
    reader = searcher.reader()
    return max(reader.doc_frequency(name, term) for name in SEARCH_FIELDS)


def _correction(searcher: Searcher, word: str) -> str | None:
    """The indexed word nearest to one the index has never seen, if one is a typo away."""
    if len(word) < 5:  # "sofa" is one letter from "soft": short words are not typos
        return None
    # Two typos only in a long word: more slack turns real words into other
    # real words ("sleeping" -> "seeing", "weather" -> "whether").
    allowed = 2 if len(word) >= 10 else 1
    reader = searcher.reader()
    # whoosh's automaton counts a swap of letters as two edits: look two away
    # and measure properly.
    near = {
        candidate: distance
        for candidate in reader.terms_within("words", word, 2, prefix=1)
        if candidate not in STOP
        and (distance := language.edit_distance(word, candidate)) <= allowed
    }
    if not near:
        return None
    return min(near, key=lambda w: (near[w], -reader.doc_frequency("words", w), w))


@dataclass
class _Terms:
    weights: dict[str, float]  # stemmed term -> weight
    corrections: dict[str, str]  # misspelt word -> correction
    pairs: list[tuple[str, str]]  # key terms next to each other in the text


class _Weigher:
    """Words to weighted index terms: rarer, repeated and subject words weigh more."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        self.total = max(searcher.doc_count(), 1)
        self.corrections: dict[str, str] = {}

    def term(self, word: str) -> tuple[str, float] | None:
        """(stemmed term, idf), correcting a word the index has never seen."""
        term = _stem(word)
        df = _doc_frequency(self.searcher, term)
        if not df:
            fixed = _correction(self.searcher, word)
            if fixed is None:
                return None
            self.corrections[word] = fixed
            term = _stem(fixed)
            df = max(_doc_frequency(self.searcher, term), 1)
        return term, math.log(1 + (self.total - df + 0.5) / (df + 0.5))


def _key_terms(searcher: Searcher, text: str, limit: int, emphasis: str = "") -> _Terms:
    """The `limit` most telling stemmed terms of `text`, the subject `emphasis` first."""
    words = words_of(f"{emphasis}\n{text}")
    emphasised = set(words_of(emphasis))
    weigher = _Weigher(searcher)
    weights: dict[str, float] = {}
    for word, count in Counter(words).items():
        if found := weigher.term(word):
            term, idf = found
            weight = idf * (1 + math.log(count)) * (1.5 if word in emphasised else 1.0)
            weights[term] = max(weights.get(term, 0.0), weight)
    for word in words_of(language.synonym_text(f"{emphasis}\n{text}")):
        if (found := weigher.term(word)) and found[0] not in weights:
            weights[found[0]] = found[1] * SYNONYM_WEIGHT
    best = dict(sorted(weights.items(), key=lambda kv: -kv[1])[:limit])
    sequence = [_stem(weigher.corrections.get(w, w)) for w in words]
    pairs = [(a, b) for a, b in itertools.pairwise(sequence) if a != b and a in best and b in best]
    return _Terms(best, weigher.corrections, list(dict.fromkeys(pairs)))


def _fields_for(searcher: Searcher, term: str, *, fast: bool) -> list[str]:
    """Everywhere, except that a fast query skips the text for a word that is common
    in a large knowledge base (see COMMON_SHARE)."""
    common = max(COMMON_FLOOR, COMMON_SHARE * searcher.doc_count())
    if fast and searcher.reader().doc_frequency("content", term) > common:
        return ["about"]
    return list(SEARCH_FIELDS)


def _query(
    searcher: Searcher, terms: _Terms, *, coordination: float | None = None, fast: bool = False
) -> Query | None:
    """Each term in any field, weighted by how telling it is, plus a bonus for
    key words that stand together in a title or tag as they do in the text."""
    if not terms.weights:
        return None
    top = max(terms.weights.values())
    clauses: list[Query] = [
        Or(
            [Term(name, term) for name in _fields_for(searcher, term, fast=fast)],
            boost=max(weight / top, 0.2),
        )
        for term, weight in terms.weights.items()
    ]
    clauses += [
        Phrase("about", [a, b], slop=2, boost=(terms.weights[a] + terms.weights[b]) / (2 * top))
        for a, b in terms.pairs
    ]
    return Or(clauses, scale=coordination)


# --- Search and suggestions ------------------------------------------------------------


def _min_score(searcher: Searcher) -> float:
    # TF-IDF with whoosh's idf, log(N / (df + 1)) + 1, for the rarest word.
    rarest = math.log(max(searcher.doc_count(), 1)) + 1
    return SUGGEST_MIN_SHARE * FIELD_BOOSTS["about"] * rarest


def _hit(result: Any, snippet: Markup | None = None) -> Hit:
    stored = result.fields()
    return Hit(
        stored["slug"],
        stored["title"],
        stored["summary"],
        stored["category"],
        result.score,
        snippet,
    )


def _snippet(result: Any) -> Markup:
    """The best passages of the body (or the summary) with the matched words marked."""
    passage = result.highlights("content", text=result["body"], top=2)
    passage = passage or result.highlights("content", text=result["summary"])
    if not passage:
        return escape(result["summary"])
    # whoosh's HtmlFormatter escapes the text around the <mark> tags it adds.
    # Line breaks separate headings, list items and paragraphs.
    return Markup(passage.replace("\n", " — "))  # noqa: S704


def search(q: str, limit: int = 10, app: Flask | None = None) -> SearchResults:
    """Search-box results, best first, with highlighted passages and "Did you mean"."""
    q = " ".join(q.split())[:500]
    with _live(app).searcher() as searcher:
        terms = _key_terms(searcher, q, SEARCH_TERMS)
        suggestion = language.corrected_text(q, terms.corrections)
        query = _query(searcher, terms, coordination=COORDINATION)
        if query is None:
            return SearchResults(q, [], 0, suggestion)
        results = searcher.search(query, limit=limit, terms=True)
        results.fragmenter = highlight.ContextFragmenter(maxchars=160, surround=40)
        results.formatter = highlight.HtmlFormatter(tagname="mark", between=" … ")
        hits = [_hit(result, _snippet(result)) for result in results]
        return SearchResults(q, hits, len(results), suggestion)


def suggest(text: str, limit: int = 5, *, subject: str = "", app: Flask | None = None) -> list[Hit]:
    """Articles likely to answer a ticket, from its free text; [] when none fits well.

    Built for long text: the most telling words are picked (no stop words,
    rarer words first, `subject` counting more), OR-ed together so articles
    matching more of them score higher, and weak matches are dropped.
    """
    with _live(app).searcher() as searcher:
        terms = _key_terms(searcher, text[:5000], SUGGEST_TERMS, emphasis=subject[:300])
        query = _query(searcher, terms, fast=True)
        if query is None:
            return []
        results = searcher.search(query, limit=limit)
        if not results or results[0].score < _min_score(searcher):
            return []
        floor = results[0].score * RELATIVE_FLOOR
        return [_hit(result) for result in results if result.score >= floor]
