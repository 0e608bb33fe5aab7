"""Escaping for untrusted text (run names, paths, metric names, tags) in every output.

Names in logs are written by whoever produced the file; a report shows them as text and
never as markup. One function per target:

- :func:`html_text` for HTML text and attribute values;
- :func:`md_text` for Markdown prose and table cells, :func:`md_code` for inline code,
  :func:`md_fence` for fenced code blocks;
- :func:`mpl_text` for labels handed to matplotlib (mathtext ``$`` and legend-hiding
  leading ``_``).

Example:
    >>> html_text('<script>alert(1)</script>')
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> md_text('](javascript:alert(1))')
    '\\\\](javascript:alert(1))'
    >>> mpl_text('$x$')
    '\\\\$x\\\\$'
"""

from __future__ import annotations

import html
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")

# Markdown characters that can start markup anywhere in a line. Backslash-escaping any
# ASCII punctuation is always literal in CommonMark/GFM, so escaping too much is safe.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#!|~&$])")
# What starts a block (list, quote, rule, setext heading) at the start of a line.
_MD_LINE_START = re.compile(r"^(\s*)([-+=:]|\d+(?=[.)]))")


def one_line(text: object) -> str:
    """``str(text)`` with control characters and newlines turned into single spaces."""
    return _CONTROL.sub(" ", str(text))


def html_text(text: object) -> str:
    """Escape for HTML element content and quoted attribute values."""
    return html.escape(str(text), quote=True)


def md_text(text: object, *, line_start: bool = False) -> str:
    """Escape for Markdown prose or a GFM table cell: the result renders as the literal
    text, on one line, with no link, image, emphasis, HTML or table break in it.

    Args:
        text: Untrusted text.
        line_start: The text starts a line (not a table cell, not after a prefix):
            also escape what would open a list, rule or heading there.
    """
    s = _MD_SPECIAL.sub(r"\\\1", one_line(text))
    if line_start:
        m = _MD_LINE_START.match(s)
        if m and m.group(2).isdigit():
            s = s[: m.end()] + "\\" + s[m.end() :]
        elif m:
            s = s[: m.start(2)] + "\\" + s[m.start(2) :]
    return s


def md_code(text: object) -> str:
    """An inline code span holding ``text`` literally, safe in a GFM table cell too.

    The backtick fence is longer than any backtick run in the text, and ``|`` is
    escaped (GFM splits table cells on it even inside code spans; the escape is
    removed when rendered).
    """
    s = one_line(text).replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def md_fence(code: str, language: str = "") -> str:
    """A fenced code block holding ``code`` literally (fence longer than any inside)."""
    longest = max((len(m) for m in re.findall(r"`{3,}", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code.rstrip()}\n{fence}"


def mpl_text(text: object, limit: int = 60) -> str:
    """A label matplotlib draws as-is: no mathtext, not hidden from the legend, short."""
    s = one_line(text)
    if len(s) > limit:
        s = s[: limit - 1] + "\u2026"
    s = s.replace("$", r"\$")
    if s.startswith("_"):
        s = "\u200b" + s  # matplotlib hides legend labels that start with "_"
    return s
