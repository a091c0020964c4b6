"""Turn the text an edge hands over into text worth parsing: normalisation no platform owns.

A platform's own markup (Slack's `<@U…>` and `<!channel>`, Teams' `<at>…</at>`) is removed by its
edge (`bot/slack/markup.py`, `bot/teams/`). What is left here is common to all of them: control
characters go, HTML declarations and plain-text broadcasts ("@channel") are never echoed, and the
text is cut to a sane length.

Text pasted from elsewhere defeats the lexicon in ways a reader never sees: full-width letters
("ｌａｎｒｅｏｔｉｄｅ"), a zero-width space inside a word, HTML entities and tags from an EHR or
web page (`&lt;b&gt;`). So the text is NFKC-normalised, format characters (category Cf) are
removed without a trace (they sit inside words), and entities are unescaped and tags dropped.
"""
from __future__ import annotations

import html
import re
import unicodedata

# An HTML declaration or comment (`<!DOCTYPE>`, `<!-- -->`), and what a pasted, escaped Slack
# broadcast (`&lt;!channel&gt;`) becomes once unescaped: never parsed, never echoed.
_DECLARATION = re.compile(r"<![^>]*>")
# Plain-text broadcasts some clients send without markup.
_BARE_BROADCAST = re.compile(r"(?<![\w@])@(?:channel|here|everyone)\b", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
# An HTML tag after unescaping ("<b>", "</i>", "<br/>"); "a < b" and "<3" are no tags.
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")


def _unescape(text: str) -> str:
    """HTML entities, undone at most twice: Slack escapes the & of an entity a user pasted."""
    for _ in range(2):
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    return text


def _strip_controls(text: str) -> str:
    """Format characters (zero-width space, soft hyphen) vanish; other control characters are spaces."""
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cf":
            continue
        out.append(" " if category[0] == "C" else ch)
    return "".join(out)


def clean_text(text: str, max_chars: int = 4000) -> str:
    """Markup-free, single-spaced text, at most max_chars long."""
    if not text:
        return ""
    text = text[: max_chars * 4]  # bound the work on absurd input before any regex runs
    text = unicodedata.normalize("NFKC", text)
    text = _DECLARATION.sub(" ", text)
    text = _BARE_BROADCAST.sub(" ", text)
    text = _unescape(text)
    # what the unescaping revealed: a pasted broadcast is never echoed, a tag means nothing
    text = _DECLARATION.sub(" ", text)
    text = _BARE_BROADCAST.sub(" ", text)
    text = _HTML_TAG.sub(" ", text)
    text = _strip_controls(text)
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0]
    return text


_PLAUSIBLE_WORD = re.compile(r"(?<!\w)\w{1,40}(?!\w)")


def has_words(text: str) -> bool:
    """True when there is something to parse: at least one letter or digit in a word of a plausible length
    (a 12,000-character run of one letter is no question, and the intent model must never be asked)."""
    return any(any(ch.isalnum() for ch in word) for word in _PLAUSIBLE_WORD.findall(text))
