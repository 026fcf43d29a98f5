"""What the knowledge-base index holds and how its words are analysed.

Shared by `store` (which builds the index with this schema) and `query`
(which must turn text into the same terms).
"""

from __future__ import annotations

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
# Plain TF-IDF ranks our relevance set as well as BM25F and, without BM25's
# per-document length lookups, runs about a third faster (SPEC §9 budget).
WEIGHTING = scoring.TF_IDF()

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
