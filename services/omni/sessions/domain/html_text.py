"""The readable text of an HTML mail body, read by libxml2's HTML parser (lxml).

The markup is cut to a size limit before parsing, and libxml2 parses in linear time (a regex
over `<<<<…` took quadratic time, and the standard library's `html.parser` does too on
unterminated tags), so no input stalls the event loop. Scripts, styles and the head are dropped;
a link keeps its text and, when it differs, its address in brackets, so the agent sees where it
points without it being clickable.
"""

from __future__ import annotations

import re

from lxml import etree, html

_BREAKS = {"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr", "pre"}
_HIDDEN = {"script", "style", "head", "title", "template", "noscript"}
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def html_to_text(markup: str, *, max_chars: int) -> tuple[str, bool]:
    """The text of `markup`, and whether the markup was cut at `max_chars` before parsing."""
    cut = len(markup) > max_chars
    chunks: list[str] = []
    try:
        root = html.document_fromstring(markup[:max_chars])
    except (etree.ParserError, ValueError):  # empty or nothing but a comment: no text
        return "", cut
    hidden = 0
    # Iterative walk (no recursion: hostile nesting cannot exhaust the stack).
    for event, element in etree.iterwalk(root, events=("start", "end")):
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            if tag in _HIDDEN:
                hidden += 1
            elif not hidden:
                if tag in _BREAKS:
                    chunks.append("\n")
                if element.text and tag:
                    chunks.append(element.text)
            continue
        if tag in _HIDDEN:
            hidden -= 1
        elif not hidden:
            if tag in _BREAKS:
                chunks.append("\n")
            href = str(element.get("href") or "") if tag == "a" else ""
            if href and not href.startswith(("#", "mailto:", "javascript:")) \
                    and href != element.text_content().strip():
                chunks.append(f" [{href}]")
        if element.tail and not hidden:
            chunks.append(element.tail)
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(chunks).split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip(), cut
