"""Line-break opportunities inside identifiers, so nothing in the report breaks mid-word.

Metric names, rule texts, check ids and column names (``demographic_parity_ratio``,
``missing_values:employment_years``, ``model_card.factors``, ``sex×race``) have no space
to wrap at: a narrow table cell or a phone screen then either overflows or, with
``overflow-wrap: anywhere``, splits them anywhere (``demographic_parity_r`` / ``atio``).
:func:`break_identifiers` puts an invisible break opportunity after each ``_ : . ×``
inside such a token, so lines break between the parts of an identifier and never inside
a word: a ``<wbr>`` in the HTML file, a ZERO WIDTH SPACE (U+200B) in the HTML for the PDF
(WeasyPrint ignores a ``<wbr>`` in a box with ``overflow-wrap: break-word``, as table cells
have, and splits the word instead; pdftotext leaves the U+200B out of the text).

Only text between tags changes: never a tag or its attributes (so no data: URI, link or
id), nor the text of ``<style>``, ``<script>``, ``<title>`` or ``<textarea>``. Numbers
(``0.983``, ``1.26.4``, ``12:30``) keep their digits together.
"""

from __future__ import annotations

import re

# A tag, a comment or a doctype; everything between two of them is text.
_MARKUP = re.compile(r"<!--.*?-->|<[^>]*>", re.S)
# Elements whose text is not HTML text (raw text or RCDATA): a <wbr> there would show as is.
_RAW = re.compile(r"<(style|script|title|textarea)\b", re.I)
# A separator inside a token: after a letter or digit (or another separator), before a
# letter, digit or underscore. A "." or ":" between two digits is a number's, not a break.
_BREAK = re.compile(r"(?<=\w)[_:.×]+(?=\w)")


def _break_text(text: str, mark: str) -> str:
    def insert(match: re.Match[str]) -> str:
        separator = match.group(0)
        before = text[match.start() - 1] if match.start() else ""
        after = text[match.end()] if match.end() < len(text) else ""
        if separator in {".", ":"} and before.isdigit() and after.isdigit():
            return separator
        return separator + mark

    return _BREAK.sub(insert, text)


def break_identifiers(html: str, for_pdf: bool = False) -> str:
    """``html`` with a break opportunity after the ``_ : . ×`` inside the words of its text:
    ``<wbr>``, or U+200B ``for_pdf``."""
    mark = "\u200b" if for_pdf else "<wbr>"
    out: list[str] = []
    position = 0
    raw_end: str | None = None  # inside <style> etc.: the closing tag to wait for
    for tag in _MARKUP.finditer(html):
        text = html[position : tag.start()]
        out.append(text if raw_end else _break_text(text, mark))
        markup = tag.group(0)
        out.append(markup)
        position = tag.end()
        if raw_end:
            if markup.lower().startswith(raw_end):
                raw_end = None
        elif opened := _RAW.match(markup):
            raw_end = f"</{opened.group(1).lower()}"
    text = html[position:]
    out.append(text if raw_end else _break_text(text, mark))
    return "".join(out)
