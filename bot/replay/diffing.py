"""Readable differences between what a reply said and what was expected (or said before).

Reply text is a handful of long lines (one statement each), so a line diff alone would show a
whole statement as changed for one word; `unified` diffs lines, and `closest_passage` finds where
in a reply a missing phrase nearly occurs, which is usually what the reader needs to see.
"""
from __future__ import annotations

import difflib
import re
from typing import List, Optional

# A sentence ends at . ! or ? followed by a capital or an opening quote ("ref. 1)" does not end one).
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z\u201c\"(])")
_MAX_LINES = 60


def unified(expected: str, actual: str, expected_label: str = "expected", actual_label: str = "actual") -> str:
    """A unified diff of two texts, split into sentences so a changed word shows in its sentence."""
    before = _sentences(expected)
    after = _sentences(actual)
    lines = list(difflib.unified_diff(before, after, expected_label, actual_label, n=2, lineterm=""))
    if len(lines) > _MAX_LINES:
        lines = lines[:_MAX_LINES] + [f"... ({len(lines) - _MAX_LINES} more diff lines)"]
    return "\n".join(lines)


def closest_passage(needle: str, text: str) -> Optional[str]:
    """The run of words in `text` most like `needle`, or None if nothing is close enough to help."""
    words = [m for m in re.finditer(r"\S+", text)]
    size = len(needle.split())
    if not words or size == 0:
        return None
    target = needle.casefold()
    best, best_ratio = None, 0.0
    for length in range(max(1, size - 2), size + 3):
        for first in range(0, max(1, len(words) - length + 1)):
            last = words[min(first + length, len(words)) - 1]
            candidate = text[words[first].start():last.end()]
            ratio = difflib.SequenceMatcher(None, target, candidate.casefold(), autojunk=False).ratio()
            if ratio > best_ratio:
                best, best_ratio = candidate, ratio
    return best if best_ratio >= 0.6 else None


def excerpt(text: str, limit: int = 1200) -> str:
    """Long replies cut for a terminal; the JSON report keeps them whole."""
    text = printable(text)
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more characters]"


def printable(text: str) -> str:
    """Control characters shown as escapes, so a report never moves the reader's cursor."""
    return "".join(ch if ch in "\n\t" or ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _sentences(text: str) -> List[str]:
    out: List[str] = []
    for line in text.splitlines() or [""]:
        parts = _SENTENCE_BREAK.split(line) if len(line) > 100 else [line]
        out.extend(printable(part) for part in parts)
    return out
