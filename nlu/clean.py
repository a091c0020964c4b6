"""Turn what a chat platform delivers into text worth parsing.

Slack wraps mentions, broadcasts and links in angle brackets and escapes &, <, >. None of that
markup means anything clinically, and a broadcast (`<!channel>`) must never be echoed back, so it
goes before parsing. Control characters go too; the text is cut to a sane length.
"""
from __future__ import annotations

import re
import unicodedata

_USER_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_BROADCAST = re.compile(r"<!(?:channel|here|everyone|subteam\^[A-Z0-9]+)(?:\|[^>]*)?>")
_OTHER_SPECIAL = re.compile(r"<![^>]*>")
_CHANNEL_LINK = re.compile(r"<#[CG][A-Z0-9]+(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]*)(?:\|([^>]*))?>")
# Plain-text broadcasts some clients send without markup.
_BARE_BROADCAST = re.compile(r"(?<![\w@])@(?:channel|here|everyone)\b", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


def clean_text(text: str, max_chars: int = 4000) -> str:
    """Markup-free, single-spaced text, at most max_chars long."""
    if not text:
        return ""
    text = text[: max_chars * 4]  # bound the work on absurd input before any regex runs
    text = _USER_MENTION.sub(" ", text)
    text = _BROADCAST.sub(" ", text)
    text = _OTHER_SPECIAL.sub(" ", text)
    text = _CHANNEL_LINK.sub(lambda m: f" {m.group(1) or ''} ", text)
    text = _LINK.sub(lambda m: f" {m.group(2) or ''} ", text)
    text = _BARE_BROADCAST.sub(" ", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0]
    return text


def has_words(text: str) -> bool:
    """True when there is something to parse: at least one letter or digit."""
    return any(ch.isalnum() for ch in text)
