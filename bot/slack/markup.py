"""Slack's markup, taken out of a message before the core sees it.

Slack wraps mentions, broadcasts and links in angle brackets and escapes &, < and >. None of that
markup means anything clinically, and a broadcast (`<!channel>`) must never be echoed back, so the
Slack edge removes it. Normalisation that is not Slack's (Unicode NFKC, format characters, HTML
entities and tags) is the core's, in `nlu.clean`.
"""
from __future__ import annotations

import re

_USER_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_BROADCAST = re.compile(r"<!(?:channel|here|everyone|subteam\^[A-Z0-9]+)(?:\|[^>]*)?>")
_OTHER_SPECIAL = re.compile(r"<![^>]*>")  # dates, unknown specials
_CHANNEL_LINK = re.compile(r"<#[CG][A-Z0-9]+(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]*)(?:\|([^>]*))?>")


def plain_text(text: str) -> str:
    """Mentions and broadcasts removed, channel links and links reduced to their labels.
    Slack's own escaping (&amp; &lt; &gt;) is left for the core, which undoes entities."""
    if not text:
        return ""
    text = _USER_MENTION.sub(" ", text)
    text = _BROADCAST.sub(" ", text)
    text = _OTHER_SPECIAL.sub(" ", text)
    text = _CHANNEL_LINK.sub(lambda m: f" {m.group(1) or ''} ", text)
    text = _LINK.sub(lambda m: f" {m.group(2) or ''} ", text)
    return text
