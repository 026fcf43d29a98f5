"""From text to a query, and search and suggestions on the live index."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flask import Flask
from markupsafe import Markup, escape
from whoosh import highlight
from whoosh.query import Or, Phrase, Query, Term
from whoosh.searching import Searcher

from support.kb import language
from support.kb.index import ranking
from support.kb.index.schema import FIELD_BOOSTS, SEARCH_FIELDS, STOP, TOKENIZER, stem_word
from support.kb.index.store import Generation, live

# In a large knowledge base a word found in the text of more than this share
# of articles says little about which one is meant, and its long posting list
# is what makes a suggestion slow: it then only counts in titles and tags.
COMMON_SHARE = 0.05
COMMON_FLOOR = 100  # ...and never in a small one
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
# A word only ever used for the circumstances ("on my credit card") counts this much:
# it names a feature, the problem is in the other words (see language.circumstance_words).
CIRCUMSTANCE_WEIGHT = 0.5
# A word saying what went wrong (language.problem_words: "declined", "hasn't ARRIVED")
# counts this much more than a word naming a feature (1.0 and 2.0 ranked the
# development set worse; issue 15).
PROBLEM_WEIGHT = 1.5
# A phrase reads word positions in every article that has both its words, so
# only the strongest pairs get one: more than three changed no test case.
PHRASE_PAIRS = 3
# Nothing is suggested that scores below this share of what the rarest word
# scores once in a title or tag (a word in passing, "football", scores less),
# nor below this share of the best suggestion.
SUGGEST_MIN_SHARE = 0.7
RELATIVE_FLOOR = 0.3


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


# --- From text to a query --------------------------------------------------------------


@lru_cache(maxsize=20000)
def _stem(word: str) -> str:
    return stem_word(word)


def words_of(text: str) -> list[str]:
    """The lowercase words of `text` that can say what it is about, in order."""
    return [
        token.text
        for token in TOKENIZER(text)
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

    def __init__(self, searcher: Searcher, known: dict[str, str | None]) -> None:
        self.searcher = searcher
        self.total = max(searcher.doc_count(), 1)
        self.corrections: dict[str, str] = {}
        self.known = known  # corrections worked out before, on the same index

    def term(self, word: str) -> tuple[str, float] | None:
        """(stemmed term, idf), correcting a word the index has never seen."""
        term = _stem(word)
        df = _doc_frequency(self.searcher, term)
        if not df:
            if word not in self.known:
                self.known[word] = _correction(self.searcher, word)
            fixed = self.known[word]
            if fixed is None:
                return None
            self.corrections[word] = fixed
            term = _stem(fixed)
            df = max(_doc_frequency(self.searcher, term), 1)
        return term, math.log(1 + (self.total - df + 0.5) / (df + 0.5))


def _key_terms(
    generation: Generation, searcher: Searcher, text: str, limit: int, emphasis: str = ""
) -> _Terms:
    """The `limit` most telling stemmed terms of `text`, the subject `emphasis` first."""
    words = words_of(f"{emphasis}\n{text}")
    emphasised = set(words_of(emphasis))
    circumstances = language.circumstance_words(text)
    problems = language.problem_words(text)
    weigher = _Weigher(searcher, generation.corrections)
    weights: dict[str, float] = {}
    for word, count in Counter(words).items():
        if found := weigher.term(word):
            term, idf = found
            weight = idf * (1 + math.log(count)) * (1.5 if word in emphasised else 1.0)
            if word in circumstances:
                weight *= CIRCUMSTANCE_WEIGHT
            elif word in problems:
                weight *= PROBLEM_WEIGHT
            weights[term] = max(weights.get(term, 0.0), weight)
    for word in words_of(language.synonym_text(f"{emphasis}\n{text}")):
        if (found := weigher.term(word)) and found[0] not in weights:
            weights[found[0]] = found[1] * SYNONYM_WEIGHT
    best = dict(sorted(weights.items(), key=lambda kv: -kv[1])[:limit])
    # A negated word ("never ARRIVED") counts again as a negation term, matched by the
    # articles that say the same negated ("not arrived"; see language.negation_text).
    # On top of the words, not instead of one: it is a second look at a word already in.
    for word in language.negated_words(f"{emphasis}\n{text}"):
        term = _stem(language.negation_term(weigher.corrections.get(word, word)))
        if df := _doc_frequency(searcher, term):
            best[term] = PROBLEM_WEIGHT * math.log(1 + (weigher.total - df + 0.5) / (df + 0.5))
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


def _plan(
    searcher: Searcher, terms: _Terms, *, fast: bool
) -> tuple[list[ranking.Clause], list[ranking.Pair]]:
    """Each term in any field, weighted by how telling it is, plus a bonus for
    key words that stand together in a title or tag as they do in the text."""
    top = max(terms.weights.values())
    clauses = [
        ranking.Clause(term, tuple(_fields_for(searcher, term, fast=fast)), max(weight / top, 0.2))
        for term, weight in terms.weights.items()
    ]
    strongest = sorted(
        terms.pairs, key=lambda pair: -(terms.weights[pair[0]] + terms.weights[pair[1]])
    )
    pairs = [
        ranking.Pair(a, b, (terms.weights[a] + terms.weights[b]) / (2 * top))
        for a, b in strongest[:PHRASE_PAIRS]
    ]
    return clauses, pairs


def _query(searcher: Searcher, terms: _Terms, *, coordination: float | None = None) -> Query | None:
    """The plan (see `_plan`) as a whoosh query, for the search box."""
    if not terms.weights:
        return None
    clauses, pairs = _plan(searcher, terms, fast=False)
    # Boosted terms, not an OR of fields boosted: whoosh drops the boost of an OR
    # that holds a single term.
    queries: list[Query] = [Term(name, c.term, boost=c.boost) for c in clauses for name in c.fields]
    queries += [
        Phrase(ranking.PHRASE_FIELD, [p.first, p.second], slop=p.slop, boost=p.boost) for p in pairs
    ]
    return Or(queries, scale=coordination)


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


def _stored_hit(searcher: Searcher, docnum: int, score: float) -> Hit:
    stored = searcher.stored_fields(docnum)
    return Hit(stored["slug"], stored["title"], stored["summary"], stored["category"], score)


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
    generation = live(app)
    return generation.remember(("search", q, limit), lambda: _search(generation, q, limit))


def _search(generation: Generation, q: str, limit: int) -> SearchResults:
    with generation.searcher() as searcher:
        terms = _key_terms(generation, searcher, q, SEARCH_TERMS)
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
    generation = live(app)
    with generation.searcher() as searcher:
        terms = _key_terms(generation, searcher, text[:5000], SUGGEST_TERMS, emphasis=subject[:300])
        if not terms.weights:
            return []
        # Scored straight from the posting lists (see ranking.py), not by whoosh.
        clauses, pairs = _plan(searcher, terms, fast=True)
        ranked = ranking.best(searcher, clauses, pairs, limit)
        if not ranked or ranked[0][0] < _min_score(searcher):
            return []
        floor = ranked[0][0] * RELATIVE_FLOOR
        return [_stored_hit(searcher, doc, score) for score, doc in ranked if score >= floor]
