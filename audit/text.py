"""Text from other people's files, read strictly and shown safely.

Column names, group labels, config keys and file contents come from files the user did not
necessarily write. Shown raw, an ESC sequence in a column name retitles the terminal or
rewrites earlier lines of a CI log, a 100 kB label swamps it, and a message that quotes a
file it could not parse turns every readable file into something the audit prints. So:

- every value from data or config goes through :func:`printable` where a message, a figure
  or a table label is built, and the CLI passes whole messages through
  :func:`printable_lines` as it prints them (a last line of defence);
- a message about a file names the file and the problem, never its lines: unknown keys are
  counted and only those that look like key names are shown (:func:`key_list`), parser
  errors give a line and column (:func:`parse_problem`), never the parser's quoted snippet.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from audit.errors import AuditError

LIMIT = 80  # a label or value inside a message
LINE_LIMIT = 2000  # one printed line (last line of defence only)
ELLIPSIS = "…"
# Control characters (C0, DEL, C1), format characters (bidi overrides, zero-width marks),
# surrogates, private use, and line/paragraph separators: never shown raw.
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}
_KEY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}")
_BOMS = {b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16", b"\xff\xfe\x00\x00": "UTF-32"}


def _escape(char: str) -> str:
    if unicodedata.category(char) not in _HIDDEN:
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(value: Any, limit: int | None = LIMIT) -> str:
    """``value`` as text safe for a terminal, a log or a label, at most ``limit`` characters.

    Control and format characters are escaped as Python writes them (ESC -> ``\\x1b``,
    U+202E -> ``\\u202e``) and a longer text is cut with an ellipsis.

    Parameters
    ----------
    value : Any
        Anything; it is shown as ``str(value)``.
    limit : int or None
        The most characters returned (the ellipsis included); None: no limit.

    Returns
    -------
    str
        The escaped, possibly shortened text.
    """
    text = str(value)
    pieces: list[str] = []
    length = 0
    for index, char in enumerate(text):
        piece = _escape(char)
        if limit is not None and length + len(piece) > limit - 1:
            rest = len(text) - index
            if rest == 1 and length + len(piece) <= limit:
                pieces.append(piece)  # the last character fits where the ellipsis would go
            else:
                pieces.append(ELLIPSIS)
            break
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces)


def printable_lines(message: str, limit: int = LINE_LIMIT) -> str:
    """A message made of our own lines: each line through :func:`printable`, newlines kept."""
    return "\n".join(printable(line, limit) for line in str(message).split("\n"))


def quoted_list(values: Iterable[Any], shown: int = 3, limit: int = 40) -> str:
    """``'a', 'b', 'c' and 4 more``: the first ``shown`` values, each printable and cut."""
    values = list(values)
    text = ", ".join(f"'{printable(v, limit)}'" for v in values[:shown])
    if len(values) > shown:
        text += f" and {len(values) - shown} more"
    return text


def is_key_name(value: Any) -> bool:
    """Whether ``value`` looks like a key someone typed (``model``, ``split.test_size``)."""
    return isinstance(value, str) and _KEY_NAME.fullmatch(value) is not None


def shown_key(value: Any) -> str:
    """A key for a message: quoted if it looks like a key name, else not shown at all.

    A file that is not a config (say ``/etc/shadow`` given by mistake, or on purpose) parses
    as keys that are whole lines of it; those are exactly what must not be printed.
    """
    return f"'{value}'" if is_key_name(value) else "a key that is not a plain name (not shown)"


def key_list(keys: Iterable[Any], shown: int = 3) -> str:
    """Unknown keys by count, with the first few that look like key names.

    ``3 unknown keys: 'modle', 'seeed' and 1 that is not a plain name (not shown)``.
    """
    keys = list(keys)
    names = sorted(str(k) for k in keys if is_key_name(k))
    hidden = len(keys) - len(names)
    text = f"{len(keys)} unknown key{'s' if len(keys) != 1 else ''}"
    if names:
        text += ": " + quoted_list(names, shown)
    if hidden and names:
        joint = " and" if len(names) <= shown else ";"
        verb = "is" if hidden == 1 else "are"
        text += f"{joint} {hidden} that {verb} not a plain name (not shown)"
    elif hidden:
        text += " (not shown: not plain names)" if hidden > 1 else " (not shown: not a plain name)"
    return text


def read_text(path: Path, what: str) -> str:
    """A text file the user gave, as UTF-8 (a BOM allowed); anything else is refused.

    Parameters
    ----------
    path : Path
        The file.
    what : str
        What the file is, for the message (``"Config file"``).

    Raises
    ------
    AuditError
        When the file cannot be read or is not UTF-8 text; the message names the file and,
        for UTF-16/32, the encoding, never the file's content.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AuditError(f"Cannot read {what} {path}: {exc.strerror or exc}.") from None
    for bom, encoding in sorted(_BOMS.items(), key=lambda item: -len(item[0])):
        if raw.startswith(bom):
            raise AuditError(
                f"{what} {path} is {encoding} text; rai-audit reads UTF-8. Save it as UTF-8."
            )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AuditError(
            f"{what} {path} is not UTF-8 text (byte {exc.start} is not valid UTF-8). "
            "Save it as UTF-8."
        ) from None


def parse_problem(exc: Exception) -> str:
    """Where and what a YAML, TOML or JSON parser found, without the file's text.

    PyYAML's message quotes the offending line (and the next ones) under a caret; those
    lines are the file's content, so only the line, the column and the problem are kept.
    """
    line = column = None
    problem: Any = None
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:  # yaml.MarkedYAMLError: 0-based
        line, column, problem = mark.line + 1, mark.column + 1, exc.problem  # type: ignore[attr-defined]
        tag = re.fullmatch(r"could not determine a constructor for the tag '(.*)'", str(problem))
        if tag:  # e.g. !!python/object/apply:os.system, which a full YAML loader would run
            name = printable(tag.group(1).replace("tag:yaml.org,2002:", "!!"), 50)
            return f"line {line}, column {column}: the tag {name} is not read (plain values only)"
    elif hasattr(exc, "lineno") and hasattr(exc, "colno"):  # json.JSONDecodeError
        line, column, problem = exc.lineno, exc.colno, getattr(exc, "msg", None)
    else:  # tomllib.TOMLDecodeError (Python 3.11: "msg (at line L, column C)")
        text = str(exc.args[0]) if exc.args else ""
        found = re.search(r"\(at line (\d+), column (\d+)\)", text)
        if found:
            line, column = int(found.group(1)), int(found.group(2))
            problem = text[: found.start()].strip()
        elif text.endswith("(at end of document)"):
            problem = text.removesuffix("(at end of document)").strip() + " at the end"
    # The problem text is the parser's own words, but some quote a character or a tag of
    # the file: cut short and escaped, it names the problem without replaying the file.
    what = printable(problem, 60) if problem else "syntax error"
    return f"line {line}, column {column}: {what}" if line is not None else what


def number_text(value: Any, digits: int = 3) -> str:
    """A value as the report and the terminal show it: a float with ``digits`` decimals, an
    int with thousands separators, None or NaN as "—" (undefined, not zero)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def data_value_text(value: Any) -> str:
    """A value from the data as the report shows it, in a table or a figure: whole numbers
    with thousands separators (45,197), other numbers as they are, text unchanged."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return f"{value:,.6g}" if abs(value) >= 1000 else str(value)
    return f"{int(value):,}"


def signed_text(value: float, digits: int = 3) -> str:
    """A contribution (a SHAP value, a share of a gap) with its sign: ``+0.153``, ``-1.730``."""
    return f"{value:+.{digits}f}"


def interval_text(ci: Any, digits: int = 3) -> str:
    """A confidence interval as text, ``[0.123, 0.456]``; an unbounded end is ``−∞`` / ``∞``;
    no interval gives "". The one formatter the terminal, JUnit and the report share."""
    if not ci:
        return ""
    low = "−∞" if ci[0] is None else f"{float(ci[0]):.{digits}f}"
    high = "∞" if ci[1] is None else f"{float(ci[1]):.{digits}f}"
    return f"[{low}, {high}]"


def p_value_text(value: Any) -> str:
    """A p-value as text: three decimals, "< 0.001" below that (never "0.000"), None as "—"."""
    if value is None:
        return "—"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"
