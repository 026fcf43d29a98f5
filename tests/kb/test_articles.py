"""Article files: loading, validation, sanitising, anchors, links, related articles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support.kb import articles, rendering
from tests.kb.conftest import ARTICLES, write_article


def test_the_real_knowledge_base_loads_without_problems() -> None:
    library = articles.load(ARTICLES)
    assert library.problems == ()
    assert len(library.articles) >= 30
    for category in library.categories:
        assert library.in_category(category.slug), f"{category.slug} has no articles"
    for article in library.articles.values():
        assert article.title and article.summary and article.html, article.file


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("---\ntitle: [unclosed\ncategory: payments\n---\nText.\n", "not valid YAML"),
        ("---\ncategory: payments\n---\nText.\n", "'title' is missing or empty"),
        ("---\ntitle: '   '\ncategory: payments\n---\nText.\n", "'title' is missing or empty"),
        ("---\ntitle: Hi\ncategory: bananas\n---\nText.\n", "unknown category 'bananas'"),
        ("---\ntitle: Hi\n---\nText.\n", "'category' is missing or empty"),
        ("Just some text, no front matter.\n", "no front matter"),
        ("---\n- a\n- list\n---\nText.\n", "must be a YAML mapping"),
        ("---\ntitle: Hi\ncategory: payments\nupdated: last tuesday\n---\nText.\n", "'updated'"),
        ("---\ntitle: Hi\ncategory: payments\n---\n\n", "no text after the front matter"),
        ("---\ntitle: Hi\ncategory: payments\nproblems: {a: b}\n---\nText.\n", "'problems'"),
        ("---\ntitle: Hi\ncategory: payments\nproblems: [[a, b]]\n---\nText.\n", "'problems'"),
        (
            "---\ntitle: Hi\ncategory: payments\nproblems: [one two three four five six seven"
            " eight nine ten eleven]\n---\nText.\n",
            "short phrase",
        ),
    ],
)
def test_a_malformed_file_is_skipped_with_a_problem_naming_it(
    articles_copy: Path, content: str, message: str
) -> None:
    (articles_copy / "broken-article.md").write_text(content, encoding="utf-8")
    library = articles.load(articles_copy)
    assert "broken-article" not in library.articles
    assert [(p.file, message in p.message) for p in library.problems] == [
        ("broken-article.md", True)
    ], library.problems
    assert len(library.articles) == len(articles.load(ARTICLES).articles)  # the rest load


def test_problems_are_short_phrases_searched_like_the_title(articles_copy: Path) -> None:
    # Issue 15: what an article solves, in a customer's words, outranks a feature
    # word that another article has in its title or tags.
    write_article(
        articles_copy,
        "gift-card-balance.md",
        extra="problems: [Gift card balance missing, 'balance  gone after a refund', '']\n",
    )
    article = articles.load(articles_copy).articles["gift-card-balance"]
    assert article.problems == ("gift card balance missing", "balance gone after a refund")
    assert "problems" not in article.missing  # optional: the tags still describe it


def test_every_real_article_says_which_problems_it_solves() -> None:
    for article in articles.load(ARTICLES).articles.values():
        assert len(article.problems) >= 3, article.file


def test_a_file_that_is_not_utf8_is_a_problem(articles_copy: Path) -> None:
    (articles_copy / "latin1.md").write_bytes("---\ntitle: Caf\xe9\n---\n".encode("latin-1"))
    library = articles.load(articles_copy)
    assert [str(p) for p in library.problems] == ["latin1.md: is not UTF-8 text"]


@pytest.mark.parametrize("name", ["Refund-Timelines-Copy.md", "with space.md", "search.md"])
def test_file_names_that_cannot_be_urls_are_problems(articles_copy: Path, name: str) -> None:
    write_article(articles_copy, name)
    library = articles.load(articles_copy)
    assert [p.file for p in library.problems] == [name]


def test_a_duplicate_slug_in_a_subfolder_is_skipped(articles_copy: Path) -> None:
    write_article(articles_copy, "archive/refund-timelines.md", title="Old refund timelines")
    library = articles.load(articles_copy)
    assert library.get("refund-timelines").title == "Refund timelines"
    (problem,) = library.problems
    assert problem.file == "archive/refund-timelines.md"
    assert "duplicate slug 'refund-timelines'" in problem.message
    assert "refund-timelines.md" in problem.message  # names the file it clashes with


def test_a_broken_categories_file_is_reported_and_articles_still_load(
    articles_copy: Path,
) -> None:
    (articles_copy / "categories.yaml").write_text("- slug: [oops\n", encoding="utf-8")
    library = articles.load(articles_copy)
    assert [p.file for p in library.problems] == ["categories.yaml"]
    assert library.get("refund-timelines") is not None
    assert library.category("refunds") is not None


def test_a_link_to_a_missing_article_is_reported_but_the_article_loads(
    articles_copy: Path,
) -> None:
    write_article(articles_copy, "linker.md", body="See [the guide](no-such-article).")
    library = articles.load(articles_copy)
    assert library.get("linker") is not None
    assert [str(p) for p in library.problems] == [
        "linker.md: links to 'no-such-article', which is not an article"
    ]


def test_sanitising_strips_scripts_event_handlers_and_javascript_urls() -> None:
    rendered = rendering.render_markdown(
        "Hello <script>alert('script')</script> world\n\n"
        '<img src="x.png" onerror="alert(\'img\')">\n\n'
        "<a href=\"javascript:alert('a')\" onclick=\"alert('click')\">raw link</a>\n\n"
        "[markdown link](javascript:alert('md'))\n\n"
        '<p style="position:fixed" onmouseover="x()">styled</p> <iframe src="https://x"></iframe>\n\n'
        "Press <kbd>Ctrl</kbd> and **bold**.\n"
    )
    html = rendered.html.lower()
    for dangerous in ("<script", "alert('script')", "onerror", "onclick", "onmouseover",
                      'href="javascript:', "<iframe", "<img", "position:fixed"):  # fmt: skip
        assert dangerous not in html, dangerous
    # markdown-it refuses the javascript: link, so it stays visible as plain text.
    assert "[markdown link](javascript:alert('md'))" in rendered.html
    assert "<kbd>ctrl</kbd>" in html and "<strong>bold</strong>" in html
    assert "raw link" in html and "styled" in html  # the text stays, the attack goes


def test_headings_get_unique_ids_a_visible_anchor_and_a_table_of_contents() -> None:
    rendered = rendering.render_markdown(
        "Intro.\n\n## My refund hasn't arrived\n\nText.\n\n### Card *cancelled*?\n\n"
        "Text.\n\n## Steps\n\nOne.\n\n## Steps\n\nTwo.\n"
    )
    assert [(h.level, h.id) for h in rendered.headings] == [
        (2, "my-refund-hasnt-arrived"),
        (3, "card-cancelled"),
        (2, "steps"),
        (2, "steps-2"),
    ]
    assert '<h2 id="my-refund-hasnt-arrived">' in rendered.html
    assert '<a class="heading-anchor" href="#steps-2" aria-label="Link to this section">#</a>' in (
        rendered.html
    )


def test_relative_article_links_point_at_the_help_centre() -> None:
    rendered = rendering.render_markdown(
        "[a](refund-timelines) [b](./charged-twice.md#why) [c](https://example.com/x) "
        "[d](/tickets/new) [e](mailto:help@example.com)\n"
    )
    assert '<a href="/kb/refund-timelines">a</a>' in rendered.html
    assert '<a href="/kb/charged-twice#why">b</a>' in rendered.html
    assert '<a href="https://example.com/x" rel="noopener noreferrer">c</a>' in rendered.html
    assert '<a href="/tickets/new">d</a>' in rendered.html
    assert '<a href="mailto:help@example.com">e</a>' in rendered.html
    assert rendered.links == ("refund-timelines", "charged-twice")


def test_the_related_section_becomes_the_related_articles() -> None:
    library = articles.load(ARTICLES)
    article = library.get("refund-timelines")
    assert "Related" not in [h.text for h in article.headings]
    assert ">Related<" not in article.html
    related = [a.slug for a in library.related(article)]
    assert related[:2] == ["request-a-refund", "return-shipping"]  # the author's picks first
    assert len(related) == 5 and "refund-timelines" not in related


def test_parsed_files_are_cached_until_their_mtime_or_size_changes(articles_copy: Path) -> None:
    first = articles.load(articles_copy)
    assert articles.load(articles_copy) is first  # nothing changed: nothing re-read
    path = articles_copy / "refund-timelines.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Refund timelines", "Refund times"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    second = articles.load(articles_copy)
    assert second is not first
    assert second.get("refund-timelines").title == "Refund times"
    assert second.get("charged-twice") is first.get("charged-twice")  # not parsed again
