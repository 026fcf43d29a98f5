"""The knowledge-base search index: the only package that imports whoosh.

Public API: `rebuild(app)`, `ensure_fresh(app)`, `search(q, limit)`,
`suggest(text, limit)` and `close(app)`. `schema` holds the fields, analyzers
and scoring, `store` the generations on disk, building and freshness, `query`
the way from text to a query, search and suggestions, and `ranking` the scoring
of suggestions straight from the posting lists.

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

from support.kb.index.query import Hit, SearchResults, search, suggest, words_of
from support.kb.index.store import BuildReport, close, ensure_fresh, rebuild

__all__ = [
    "BuildReport",
    "Hit",
    "SearchResults",
    "close",
    "ensure_fresh",
    "rebuild",
    "search",
    "suggest",
    "words_of",
]
