"""Knowledge-base articles: load and validate the markdown files, render each once.

An article is `kb_articles/<slug>.md`: YAML front matter (title, category,
tags, problems, summary, updated) and a markdown body. A file that cannot be used
becomes a `Problem` naming it and is skipped; the rest still load.

The body becomes safe HTML in `rendering.py`. A parsed file is cached by its
mtime and size, so requests never parse an unchanged file again.
Nothing here needs Flask, so the CLI, jobs and benches can call it directly.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from support.kb.rendering import ARTICLE_URL, SLUG_PATTERN, WORD, Heading, render_markdown

CATEGORIES_FILE = "categories.yaml"
# Paths the knowledge-base blueprint uses itself: an article with one of these
# names could never be reached.
RESERVED_SLUGS = frozenset({"search", "suggest", "deflect", "category", "feedback"})

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)


@dataclass(frozen=True)
class Problem:
    """A file that could not be used, and why, in words an author can act on."""

    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass(frozen=True)
class Category:
    slug: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    category: str
    tags: tuple[str, ...]
    summary: str
    updated: date | None
    html: str  # sanitised, safe to mark |safe in templates
    text: str  # the body as plain text, for the search index
    headings: tuple[Heading, ...]
    links: tuple[str, ...]  # slugs of articles the body links to
    curated_related: tuple[str, ...]  # slugs from the article's own "Related" list
    file: str
    # Front-matter fields the article works without but should have (`flask kb check`).
    missing: tuple[str, ...] = ()
    # The problems the article solves, in a customer's words ("card declined at
    # checkout"): searched before the tags, so a feature word elsewhere in a ticket
    # ("paypal", "listing") does not outrank the article about its problem.
    problems: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return ARTICLE_URL.format(slug=self.slug)

    @property
    def toc(self) -> tuple[Heading, ...]:
        """Headings worth a table of contents entry (sections and subsections)."""
        return tuple(h for h in self.headings if h.level in (2, 3))


@dataclass(frozen=True)
class Library:
    """Every article that loaded, its categories, and the files that did not."""

    categories: tuple[Category, ...]
    articles: dict[str, Article]
    problems: tuple[Problem, ...]
    signature: tuple[tuple[str, int, int], ...] = ()
    _by_category: dict[str, list[Article]] = field(default_factory=dict, repr=False)

    def get(self, slug: str) -> Article | None:
        return self.articles.get(slug)

    def category(self, slug: str) -> Category | None:
        return next((c for c in self.categories if c.slug == slug), None)

    def in_category(self, slug: str) -> list[Article]:
        return self._by_category.get(slug, [])

    def related(self, article: Article, limit: int = 5) -> list[Article]:
        """The author's own picks first, then articles sharing tag words or the category."""
        picked = [self.articles[s] for s in article.curated_related if s in self.articles]
        picked = [a for a in picked if a.slug != article.slug][:limit]
        if len(picked) >= limit:
            return picked
        taken = {article.slug, *(a.slug for a in picked)}
        ranked = sorted(
            (a for a in self.articles.values() if a.slug not in taken),
            key=lambda other: (-_relatedness(article, other), other.title),
        )
        return picked + [a for a in ranked if _relatedness(article, a) > 0][: limit - len(picked)]


# --- Parsing and validation ------------------------------------------------------------


class _Invalid(ValueError):
    """Why a file was skipped; becomes a Problem with the file's name."""


def _front_matter(source: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(source)
    if not match:
        raise _Invalid("no front matter: the file must start with a '---' block of YAML")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 2})" if where else ""
        raise _Invalid(f"front matter is not valid YAML{line}: {exc}") from exc
    if not isinstance(meta, dict):
        raise _Invalid("front matter must be a YAML mapping of title, category, tags, ...")
    return meta, source[match.end() :]


# Without these an article still loads, but is found less often and reads as undated.
RECOMMENDED_FIELDS = ("tags", "summary", "updated")


def _text_field(meta: dict[str, Any], name: str, *, required: bool) -> str:
    value = meta.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _Invalid(f"'{name}' is missing or empty")
        return ""
    if isinstance(value, list | dict):
        raise _Invalid(f"'{name}' must be text, not a {type(value).__name__}")
    return " ".join(str(value).split())


def _phrases(meta: dict[str, Any], name: str, example: str) -> tuple[str, ...]:
    raw = meta.get(name) or []
    if isinstance(raw, str):
        raw = raw.split(",")
    if not isinstance(raw, list) or any(isinstance(t, list | dict) for t in raw):
        raise _Invalid(f"'{name}' must be a list, like {example}")
    return tuple(dict.fromkeys(" ".join(str(t).split()).lower() for t in raw if str(t).strip()))


def _tags(meta: dict[str, Any]) -> tuple[str, ...]:
    return _phrases(meta, "tags", "[refund, money back]")


# A problem is a short phrase; a paragraph there would outweigh the article's title.
MAX_PROBLEM_WORDS = 10


def _problems(meta: dict[str, Any]) -> tuple[str, ...]:
    problems = _phrases(meta, "problems", "[refund not arrived, money not back yet]")
    too_long = [p for p in problems if len(p.split()) > MAX_PROBLEM_WORDS]
    if too_long:
        raise _Invalid(
            f"each of 'problems' must be a short phrase (at most {MAX_PROBLEM_WORDS} words),"
            f" not {too_long[0]!r}"
        )
    return problems


def _updated(meta: dict[str, Any]) -> date | None:
    value = meta.get("updated")
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise _Invalid(f"'updated' must be a date like 2026-10-14, not {value!r}") from exc


def _first_sentence(text: str, limit: int = 200) -> str:
    first = " ".join(text.split("\n", 1)[0].split())
    return first if len(first) <= limit else first[: limit - 1].rsplit(" ", 1)[0] + "…"


def slug_for(path: Path) -> str:
    """The article's slug: its file name without `.md` (checked by `parse_file`)."""
    return path.stem


def parse_file(path: Path, name: str | None = None) -> Article | Problem:
    """One article file, parsed and rendered, or the Problem that stops it loading.

    `name` is how problems refer to the file (its path in the articles folder).
    """
    name = name or path.name
    try:
        return _parse(path, name)
    except _Invalid as exc:
        return Problem(name, str(exc))
    except UnicodeDecodeError:
        return Problem(name, "is not UTF-8 text")
    except OSError as exc:
        return Problem(name, f"could not be read: {exc.strerror or exc}")


def _parse(path: Path, name: str) -> Article:
    slug = slug_for(path)
    if not SLUG_PATTERN.match(slug):
        raise _Invalid(
            "the file name must be lowercase letters, digits and hyphens, like refund-timelines.md"
        )
    if slug in RESERVED_SLUGS:
        raise _Invalid(f"'{slug}' is used by the help centre itself; rename the file")
    meta, body = _front_matter(path.read_text(encoding="utf-8-sig"))
    if not body.strip():
        raise _Invalid("the article has no text after the front matter")
    rendered = render_markdown(body)
    return Article(
        slug=slug,
        title=_text_field(meta, "title", required=True),
        category=_text_field(meta, "category", required=True),
        tags=_tags(meta),
        problems=_problems(meta),
        summary=_text_field(meta, "summary", required=False) or _first_sentence(rendered.text),
        updated=_updated(meta),
        html=rendered.html,
        text=rendered.text,
        headings=rendered.headings,
        links=rendered.links,
        curated_related=rendered.curated_related,
        file=name,
        missing=tuple(field for field in RECOMMENDED_FIELDS if not meta.get(field)),
    )


def parse_categories(path: Path) -> tuple[list[Category], list[Problem]]:
    """`categories.yaml`: a list of {slug, name, description}, in display order."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        return [], [Problem(path.name, "is missing; every article's category is listed there")]
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return [], [Problem(path.name, f"is not valid YAML: {exc}")]
    if not isinstance(raw, list):
        return [], [Problem(path.name, "must be a list of categories (slug, name, description)")]
    categories: list[Category] = []
    problems: list[Problem] = []
    for n, entry in enumerate(raw, 1):
        if not isinstance(entry, dict) or not entry.get("slug") or not entry.get("name"):
            problems.append(Problem(path.name, f"entry {n} needs a slug and a name"))
            continue
        description = " ".join(str(entry.get("description") or "").split())
        categories.append(Category(str(entry["slug"]), str(entry["name"]), description))
    return categories, problems


# --- The library: every file, validated together ---------------------------------------

_lock = threading.Lock()
_parsed: dict[Path, tuple[tuple[int, int], Article | Problem]] = {}
_libraries: dict[Path, Library] = {}


def article_files(directory: Path) -> list[Path]:
    """Every `*.md` file, in subfolders too (authors may group articles), hidden ones aside."""
    return sorted(
        p
        for p in directory.rglob("*.md")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(directory).parts)
    )


def scan(directory: Path) -> dict[str, tuple[int, int]]:
    """Path in the folder -> (mtime_ns, size), for every file the knowledge base reads."""
    found: dict[str, tuple[int, int]] = {}
    for path in [*article_files(directory), directory / CATEGORIES_FILE]:
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        found[path.relative_to(directory).as_posix()] = (stat.st_mtime_ns, stat.st_size)
    return found


def _cached_parse(directory: Path, name: str, stamp: tuple[int, int]) -> Article | Problem:
    path = directory / name
    hit = _parsed.get(path)
    if hit and hit[0] == stamp:
        return hit[1]
    result = parse_file(path, name)
    _parsed[path] = (stamp, result)
    return result


def load(directory: Path) -> Library:
    """The knowledge base in `directory`, re-reading only files that changed."""
    directory = directory.resolve()
    stamps = scan(directory)
    signature = tuple(sorted((name, *stamp) for name, stamp in stamps.items()))
    with _lock:
        cached = _libraries.get(directory)
        if cached is not None and cached.signature == signature:
            return cached
        library = _assemble(directory, stamps, signature)
        _libraries[directory] = library
        # Forget files that were deleted, so the cache cannot grow without bound.
        for path in [p for p in _parsed if p.is_relative_to(directory)]:
            if path.relative_to(directory).as_posix() not in stamps:
                del _parsed[path]
        return library


def _assemble(directory: Path, stamps: dict[str, tuple[int, int]], signature: tuple) -> Library:
    categories, problems = parse_categories(directory / CATEGORIES_FILE)
    known = {c.slug for c in categories}
    articles: dict[str, Article] = {}
    # Top-level files first: a copy in a subfolder is the duplicate, not the original.
    for name, stamp in sorted(stamps.items(), key=lambda item: (item[0].count("/"), item[0])):
        if name == CATEGORIES_FILE:
            continue
        result = _cached_parse(directory, name, stamp)
        if isinstance(result, Problem):
            problems.append(result)
        elif result.slug in articles:
            problems.append(
                Problem(name, f"duplicate slug '{result.slug}' (also {articles[result.slug].file})")
            )
        elif categories and result.category not in known:
            problems.append(
                Problem(
                    name,
                    f"unknown category '{result.category}' "
                    f"(use one of: {', '.join(sorted(known))})",
                )
            )
        else:
            articles[result.slug] = result
    if not categories:
        # A broken categories.yaml is reported above; keep the articles readable.
        categories = [
            Category(s, s.replace("-", " ").capitalize()) for s in _categories_in(articles)
        ]
    problems.extend(_broken_links(articles))
    ordered = dict(sorted(articles.items(), key=lambda kv: kv[1].title.lower()))
    by_category: dict[str, list[Article]] = {c.slug: [] for c in categories}
    for article in ordered.values():
        by_category.setdefault(article.category, []).append(article)
    return Library(tuple(categories), ordered, tuple(problems), signature, by_category)


def _categories_in(articles: dict[str, Article]) -> list[str]:
    return sorted({a.category for a in articles.values()})


def _broken_links(articles: dict[str, Article]) -> list[Problem]:
    """Links to articles that do not exist: the article loads, the link would 404."""
    return [
        Problem(article.file, f"links to '{slug}', which is not an article")
        for article in articles.values()
        for slug in dict.fromkeys((*article.links, *article.curated_related))
        if slug not in articles
    ]


def _tag_words(article: Article) -> set[str]:
    return {w for tag in article.tags for w in WORD.findall(tag) if len(w) > 2}


def _relatedness(article: Article, other: Article) -> int:
    score = 2 * len(_tag_words(article) & _tag_words(other))
    if other.category == article.category:
        score += 3
    if other.slug in article.links or article.slug in other.links:
        score += 2
    return score
