"""Article markdown to sanitised HTML, apart from loading (articles.py) so that what
reaches a reader's page is decided in one small place.

markdown-it-py (`js-default`) and then nh3: the sanitiser, not the markdown library,
decides what HTML reaches the page. Nothing here needs Flask or the files on disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

ARTICLE_URL = "/kb/{slug}"
# An article's slug (its file name); a relative link matching it points at an article.
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Words as the knowledge base counts them: for heading ids here, tag words in articles.py.
WORD = re.compile(r"[a-z0-9]+")
# The hand-written "Related" list at the end of an article becomes the page's
# related-articles panel instead of being shown twice.
RELATED_HEADINGS = frozenset({"related", "related articles", "see also"})
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")

# Raw HTML in an article is allowed through markdown-it and then cleaned, so
# authors can use <kbd> or a line break, while <script>, <style>, event
# handlers and javascript: URLs never reach a reader.
_ALLOWED_TAGS = {
    *(f"h{n}" for n in range(1, 7)),
    "p", "br", "hr", "ul", "ol", "li", "a", "code", "pre", "blockquote",
    "strong", "em", "b", "i", "del", "s", "kbd", "sub", "sup",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    **{f"h{n}": {"id"} for n in range(1, 7)},
    "a": {"href", "title", "rel", "aria-label"},
    "ol": {"start"},
    "th": {"style"},
    "td": {"style"},
}


@dataclass(frozen=True)
class Heading:
    level: int
    id: str
    text: str


def _heading_close(renderer: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    """Close a heading with a visible '#' link to it, so a section can be shared."""
    anchor = tokens[idx].meta.get("anchor")
    close = renderer.renderToken(tokens, idx, options, env)
    if not anchor:
        return close
    link = f'<a class="heading-anchor" href="#{anchor}" aria-label="Link to this section">#</a>'
    return link + close


def _markdown() -> MarkdownIt:
    md = MarkdownIt("js-default", {"html": True})
    md.add_render_rule("heading_close", _heading_close)
    return md


_MD = _markdown()


def heading_id(text: str) -> str:
    """ "My refund hasn't arrived" -> 'my-refund-hasnt-arrived'."""
    return "-".join(WORD.findall(re.sub(r"['’]", "", text.lower()))) or "section"


def _inline_text(token: Token) -> str:
    return "".join(c.content for c in token.children or () if c.type in ("text", "code_inline"))


def _assign_heading_ids(tokens: list[Token]) -> list[Heading]:
    headings: list[Heading] = []
    seen: dict[str, int] = {}
    for i, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        text = _inline_text(tokens[i + 1]).strip()
        base = heading_id(text)
        seen[base] = seen.get(base, 0) + 1
        anchor = base if seen[base] == 1 else f"{base}-{seen[base]}"
        token.attrSet("id", anchor)
        tokens[i + 2].meta["anchor"] = anchor  # heading_open, inline, heading_close
        headings.append(Heading(int(token.tag[1]), anchor, text))
    return headings


def article_slug_of(href: str) -> tuple[str, str] | None:
    """('slug', '#fragment') when `href` is a relative link to another article."""
    if not href or href.startswith(("/", "#", "?")) or _SCHEME.match(href):
        return None
    path, _, fragment = href.partition("#")
    path = path.removeprefix("./").removesuffix(".md")
    if not SLUG_PATTERN.match(path):
        return None
    return path, f"#{fragment}" if fragment else ""


def _rewrite_links(tokens: Iterable[Token]) -> list[str]:
    """Point `[Text](other-slug)` at /kb/other-slug; mark external links."""
    linked: list[str] = []
    for token in tokens:
        for child in token.children or ():
            if child.type != "link_open":
                continue
            href = str(child.attrGet("href") or "")
            target = article_slug_of(href)
            if target:
                slug, fragment = target
                child.attrSet("href", ARTICLE_URL.format(slug=slug) + fragment)
                linked.append(slug)
            elif href.startswith(("http://", "https://")):
                child.attrSet("rel", "noopener noreferrer")
    return linked


def _split_related(tokens: list[Token]) -> tuple[list[Token], list[str]]:
    """Cut a final '## Related' section off the body and return the slugs it lists."""
    for i in range(len(tokens) - 1, -1, -1):
        token = tokens[i]
        if token.type == "heading_open" and token.tag == "h2":
            if _inline_text(tokens[i + 1]).strip().lower() not in RELATED_HEADINGS:
                return tokens, []
            slugs = [
                slug
                for t in tokens[i:]
                for c in t.children or ()
                if c.type == "link_open" and (slug := _slug_from_url(str(c.attrGet("href") or "")))
            ]
            return tokens[:i], slugs
    return tokens, []


def _slug_from_url(href: str) -> str | None:
    prefix = ARTICLE_URL.format(slug="")
    if not href.startswith(prefix):
        return None
    return href[len(prefix) :].partition("#")[0] or None


def _plain_text(tokens: Iterable[Token]) -> str:
    parts = [_inline_text(t) for t in tokens if t.type == "inline"]
    parts += [t.content for t in tokens if t.type in ("fence", "code_block")]
    return "\n".join(p for p in parts if p)


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=_ALLOWED_ATTRIBUTES,
        allowed_classes={"a": {"heading-anchor"}},
        filter_style_properties={"text-align"},
        url_schemes={"http", "https", "mailto"},
        link_rel=None,  # set above on external links only: internal ones keep the referrer
    )


@dataclass(frozen=True)
class Rendered:
    html: str
    text: str
    headings: tuple[Heading, ...]
    links: tuple[str, ...]
    curated_related: tuple[str, ...]


def render_markdown(body: str) -> Rendered:
    """Markdown to safe HTML, with heading anchors and article links resolved."""
    env: dict[str, Any] = {}
    tokens = _MD.parse(body, env)
    headings = _assign_heading_ids(tokens)
    links = _rewrite_links(tokens)
    shown, related = _split_related(tokens)
    html = _MD.renderer.render(shown, _MD.options, env)
    kept = [h for h in headings if any(t.attrGet("id") == h.id for t in shown)]
    return Rendered(
        sanitise(html), _plain_text(shown), tuple(kept), tuple(dict.fromkeys(links)), tuple(related)
    )
