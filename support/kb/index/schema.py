"""What the knowledge-base index holds and how its words are analysed.

Shared by `store` (which builds the index with this schema) and `query`
(which must turn text into the same terms).
"""

from __future__ import annotations

import math
from typing import Any

from whoosh import scoring
from whoosh.analysis import LowercaseFilter, RegexTokenizer, StemmingAnalyzer, StopFilter
from whoosh.analysis.filters import STOP_WORDS
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.lang.porter import stem

from support.kb import language

# Two searchable fields, so a query term costs two posting lists, not four:
# `about` (title, tags and the problems it solves) says what an article is about
# and counts double;
# `content` (summary and body) says more but mentions much in passing.
FIELD_BOOSTS = {"about": 2.0, "content": 1.0}
SEARCH_FIELDS = tuple(FIELD_BOOSTS)


# How much each repetition of a word in one field adds: the k-th occurrence of a word
# counts 1 + TF_LOG_SHARE * log(k) times. Raw counts let an article whose tags say
# "parcel" six times outrank, on a customer's incidental "parcel", the article about
# their problem; counting each word once ranked the development set worse (issue 15:
# 0.5 ranked it better than 0, 0.25 and 1).
TF_LOG_SHARE = 0.5


def damped_tf(tf: float) -> float:
    """A term frequency as it counts towards the score (see TF_LOG_SHARE)."""
    return 1.0 + TF_LOG_SHARE * math.log(tf) if tf > 1 else tf


class _DampedScorer(scoring.BaseScorer):
    """idf x damped tf x the field's boost (whoosh stores tf x boost as the weight)."""

    def __init__(self, idf: float, boost: float, max_weight: float) -> None:
        self.idf = idf
        self.boost = boost
        self._max_quality = self.of_weight(max_weight)

    def of_weight(self, weight: float) -> float:
        return damped_tf(weight / self.boost) * self.boost * self.idf

    def score(self, matcher: Any) -> float:
        return self.of_weight(matcher.weight())

    def max_quality(self) -> float:
        return self._max_quality

    def supports_block_quality(self) -> bool:
        return True

    def block_quality(self, matcher: Any) -> float:
        return self.of_weight(matcher.block_max_weight())


class DampedTfIdf(scoring.WeightingModel):
    """TF-IDF with whoosh's idf, its term frequencies damped (see TF_LOG_SHARE)."""

    def scorer(self, searcher: Any, fieldname: str, text: str, qf: int = 1) -> _DampedScorer:
        idf = searcher.get_parent().idf(fieldname, text)
        max_weight = searcher.term_info(fieldname, text).max_weight()
        return _DampedScorer(idf, FIELD_BOOSTS.get(fieldname, 1.0), max_weight)


# TF-IDF ranks our relevance set as well as BM25F and, without BM25's per-document
# length lookups, runs about a third faster (SPEC §9 budget).
WEIGHTING = DampedTfIdf()

STOP = STOP_WORDS | language.CONVERSATION_WORDS
# Porter stems "customer" and "customs" alike; a help centre cannot afford that.
STEM_EXCEPTIONS = {"customer": "customer", "customers": "customer"}


def stem_word(word: str) -> str:
    """Porter's stem, but the same word for "customer" and "customers" (index and query)."""
    return STEM_EXCEPTIONS.get(word) or stem(word)


ANALYZER = StemmingAnalyzer(stemfn=stem_word)
TOKENIZER = RegexTokenizer() | LowercaseFilter()
# Unstemmed words, the dictionary for "Did you mean ...?".
WORDS_ANALYZER = TOKENIZER | StopFilter(minsize=3)


def schema() -> Schema:
    return Schema(
        slug=ID(stored=True, unique=True),
        category=ID(stored=True),
        about=TEXT(analyzer=ANALYZER, field_boost=FIELD_BOOSTS["about"]),
        content=TEXT(analyzer=ANALYZER, field_boost=FIELD_BOOSTS["content"], phrase=False),
        words=TEXT(analyzer=WORDS_ANALYZER, phrase=False),
        # Shown in results; the body is kept for highlighted passages.
        title=STORED(),
        summary=STORED(),
        body=STORED(),
    )
