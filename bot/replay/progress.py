"""A progress display for large replays, on stderr so stdout stays a clean report.

On a terminal, one line redrawn in place ("[12/340] name"); the report lines printed to stdout
clear it first so the two never mix. Not on a terminal (CI logs), a plain line every tenth of the
way, and only for suites big enough that a silent minute would make someone wonder.
"""
from __future__ import annotations

import shutil
import sys
from typing import Optional, TextIO

from bot.replay.diffing import printable

MANY_CONVERSATIONS = 100


class Progress:
    def __init__(self, total: int, stream: Optional[TextIO] = None, enabled: Optional[bool] = None) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        is_tty = bool(getattr(self.stream, "isatty", lambda: False)())
        if enabled is False or total <= 1:
            self.mode: Optional[str] = None
        elif is_tty:
            self.mode = "live"
        elif enabled or total >= MANY_CONVERSATIONS:
            self.mode = "lines"
        else:
            self.mode = None
        self._shown = False
        self._step = max(1, total // 10)

    def start(self, index: int, name: str) -> None:
        """A conversation is about to be replayed."""
        if self.mode != "live":
            return
        width = shutil.get_terminal_size((80, 20)).columns - 1
        text = f"[{index}/{self.total}] {printable(name)}"
        self.stream.write("\r\x1b[K" + text[:width])
        self.stream.flush()
        self._shown = True

    def done(self, index: int) -> None:
        """A conversation finished (its report line has been printed)."""
        if self.mode == "lines" and (index % self._step == 0 or index == self.total):
            self.stream.write(f"replayed {index}/{self.total} conversations\n")
            self.stream.flush()

    def clear(self) -> None:
        """Erase the live line before something else is printed to the same terminal."""
        if self.mode == "live" and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False
