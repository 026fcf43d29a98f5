"""Turn what people type into safe HTML, once, when it is written; or into one line."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# Whitespace and control characters (C0, DEL, C1, the Unicode line and paragraph
# separators): none of them belongs inside a one-line value such as a subject.
_BREAKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_URL = re.compile(r"https?://[^\s<>\"'`]+")
_TRAILING = ".,;:!?)]}"


def _linkify(line: str) -> str:
    """Escape a line of text, turning each http(s) URL into a safe link."""
    out: list[str] = []
    last = 0
    for match in _URL.finditer(line):
        url = match.group(0).rstrip(_TRAILING)
        start, end = match.start(), match.start() + len(url)
        out.append(str(escape(line[last:start])))
        out.append(
            f'<a href="{escape(url)}" rel="nofollow noopener noreferrer" '
            f'target="_blank">{escape(url)}</a>'
        )
        last = end
    out.append(str(escape(line[last:])))
    return "".join(out)


def plain_to_html(text: str) -> Markup:
    """Escape text, keep its paragraphs and line breaks, and make URLs clickable."""
    paragraphs = re.split(r"\n\s*\n", text.strip().replace("\r\n", "\n"))
    html = "".join(
        "<p>" + "<br>\n".join(_linkify(line) for line in para.split("\n")) + "</p>"
        for para in paragraphs
        if para.strip()
    )
    return Markup(html)  # noqa: S704 - every piece above is escaped


def one_line(text: str) -> str:
    """`text` on one line: every run of whitespace or control characters (line breaks
    included) becomes one space, and the ends are trimmed. For subjects, names and
    email header values, where a line break would start a new header."""
    return _BREAKS.sub(" ", text).strip()
