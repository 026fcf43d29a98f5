"""What people type becomes safe HTML: escaped, paragraphs kept, links clickable."""

from __future__ import annotations

from markupsafe import Markup

from support.text import one_line, plain_to_html


def test_result_is_markup() -> None:
    assert isinstance(plain_to_html("hello"), Markup)


def test_html_is_escaped() -> None:
    html = plain_to_html('<script>alert("x")</script> & <b>bold</b>')
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&amp; &lt;b&gt;bold&lt;/b&gt;" in html


def test_paragraphs_and_line_breaks_are_kept() -> None:
    html = plain_to_html("first line\nsecond line\n\nnew paragraph")
    assert html == "<p>first line<br>\nsecond line</p><p>new paragraph</p>"


def test_windows_line_endings_are_normalised() -> None:
    assert plain_to_html("a\r\nb\r\n\r\nc") == "<p>a<br>\nb</p><p>c</p>"


def test_blank_paragraphs_are_dropped() -> None:
    assert plain_to_html("\n\none\n\n\n\n   \n\ntwo\n") == "<p>one</p><p>two</p>"


def test_empty_text_gives_empty_html() -> None:
    assert plain_to_html("   ") == ""


def test_urls_become_safe_links() -> None:
    html = plain_to_html("See https://example.com/help?a=1&b=2 please")
    assert (
        '<a href="https://example.com/help?a=1&amp;b=2" rel="nofollow noopener noreferrer" '
        'target="_blank">https://example.com/help?a=1&amp;b=2</a>'
    ) in html
    assert html.startswith("<p>See ") and html.endswith(" please</p>")


def test_trailing_punctuation_is_not_part_of_the_link() -> None:
    html = plain_to_html("Read https://example.com/a.")
    assert 'href="https://example.com/a"' in html
    assert "</a>.</p>" in html


def test_only_http_links_are_made() -> None:
    html = plain_to_html("javascript:alert(1) data:text/html,x ftp://host/file")
    assert "<a " not in html


def test_quotes_cannot_break_out_of_the_href() -> None:
    html = plain_to_html('https://example.com/"onmouseover="alert(1)')
    assert 'href="https://example.com/"' in html
    assert "onmouseover=&#34;" in html
    assert ' onmouseover="' not in html


def test_markup_in_a_url_is_escaped() -> None:
    html = plain_to_html("https://example.com/<img>")
    assert "<img>" not in html


def test_unicode_and_emoji_survive() -> None:
    assert plain_to_html("Grüße 👋 日本語") == "<p>Grüße 👋 日本語</p>"


def test_one_line_folds_line_breaks_and_control_characters() -> None:
    assert one_line("a\r\nSet-Cookie: x=1") == "a Set-Cookie: x=1"
    assert one_line("  tab\there\x00nul\x7fdel\x85nel\u2028ls  ") == "tab here nul del nel ls"
    assert one_line("plain words, kept: ünïcode ✓") == "plain words, kept: ünïcode ✓"
    assert one_line("\r\n") == ""
