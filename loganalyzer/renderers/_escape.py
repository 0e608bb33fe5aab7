"""Escaping for untrusted text (run names, paths, metric names, tags) in every output.

Names in logs are written by whoever produced the file; a report shows them as text and
never as markup, and nothing in them may act on the reader's terminal. One function per
target:

- :func:`term_text` for a terminal line (and the one-line error messages): control
  characters (C0, DEL, C1 such as ``\x9b``), newlines and bidirectional overrides are
  shown escaped (``\x1b``, ``\n``, ``\u202e``), so a log can neither retitle or clear
  the terminal nor fake an output line, and lone surrogates become U+FFFD;
- :func:`shorten` to fit a name or path in a width, cutting from the front (the end of
  a path is its distinctive part);
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
# What must never reach a terminal raw: C0 controls, DEL, C1 controls (\x9b is a
# one-byte CSI on many terminals), line/paragraph separators and the bidirectional
# controls that reorder what is displayed (Trojan Source, CVE-2021-42574).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_UNSAFE_KEEP_LINES = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# Markdown characters that can start markup anywhere in a line. Backslash-escaping any
# ASCII punctuation is always literal in CommonMark/GFM, so escaping too much is safe.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#!|~&$])")
# What starts a block (list, quote, rule, setext heading) at the start of a line.
_MD_LINE_START = re.compile(r"^(\s*)([-+=:]|\d+(?=[.)]))")


def _escaped(match: re.Match) -> str:
    ch = match.group(0)
    if ch in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def no_surrogates(text: object) -> str:
    r"""``str(text)`` with lone surrogates (``"\ud800"``, which no encoder accepts)
    replaced by U+FFFD.

    Example:
        >>> no_surrogates("loss\ud800") == "loss\N{REPLACEMENT CHARACTER}"
        True
    """
    return _SURROGATE.sub("\ufffd", str(text))


def term_text(text: object) -> str:
    r"""One line for a terminal: control, separator and bidi characters shown escaped,
    lone surrogates replaced. Safe to print with any encoding error handler.

    Example:
        >>> print(term_text("run\x1b]0;pwned\x07\nfake \u202eline \x9b\ud800"))
        run\x1b]0;pwned\x07\nfake \u202eline \x9b�
    """
    return _UNSAFE.sub(_escaped, no_surrogates(text))


def visible(text: object) -> str:
    """Like :func:`term_text` but keeps newlines and tabs (for code and prose blocks)."""
    return _UNSAFE_KEEP_LINES.sub(_escaped, no_surrogates(text))


def shorten(text: str, width: int) -> str:
    """``text`` cut from the front to ``width`` cells, with a leading ``…``.

    Example:
        >>> shorten("sweeps/2024/lr_1e-3/seed_2/history.json", 24)
        '…e-3/seed_2/history.json'
        >>> shorten("a/b.json", 24)
        'a/b.json'
    """
    from rich.cells import cell_len

    if width < 2 or cell_len(text) <= width:
        return text if width >= 2 else text[-max(width, 0) :]
    out = text
    while out and cell_len(out) > width - 1:
        out = out[1:]
    return "\u2026" + out


def one_line(text: object) -> str:
    """``str(text)`` with control characters and newlines turned into single spaces
    (and the other unsafe characters of :func:`term_text` escaped)."""
    return term_text(_CONTROL.sub(" ", no_surrogates(text)))


def html_text(text: object) -> str:
    """Escape for HTML element content and quoted attribute values (newlines kept;
    controls and bidi overrides shown escaped; lone surrogates replaced)."""
    return html.escape(visible(text), quote=True)


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
    code = visible(code)
    longest = max((len(m) for m in re.findall(r"`{3,}", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code.rstrip()}\n{fence}"


def mpl_text(text: object, limit: int = 60, *, keep_end: bool = False) -> str:
    """A label matplotlib draws as-is: no mathtext, not hidden from the legend, short
    (cut at the tail, or at the front with ``keep_end`` for names and paths)."""
    s = one_line(text)
    if len(s) > limit:
        s = "\u2026" + s[-(limit - 1) :] if keep_end else s[: limit - 1] + "\u2026"
    s = s.replace("$", r"\$")
    if s.startswith("_"):
        s = "\u200b" + s  # matplotlib hides legend labels that start with "_"
    return s
