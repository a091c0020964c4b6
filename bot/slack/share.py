"""Private answers waiting to be shared into their channel.

A slash-command answer is ephemeral, and Slack does not send an ephemeral message's content back
when its button is clicked; the button carries a random token and the answer is kept here until
then. It is kept in memory, for as long as a response_url is valid (30 minutes): an answer is
never recomputed for sharing, since a re-run could differ from what the user read. After a
restart the token is unknown and the user is asked to run the command again.
"""
from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Optional

from dialogues.types import Reply

SHARE_TTL_SECONDS = 30 * 60
SHARE_CAPACITY = 1000


@dataclass(frozen=True)
class SharedAnswer:
    conversation_id: str
    reply: Reply
    asked: str
    user: str  # only the user who asked may share it
    channel: str


class ShareCache:
    def __init__(
        self,
        ttl_seconds: float = SHARE_TTL_SECONDS,
        capacity: int = SHARE_CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._capacity = capacity
        self._clock = clock
        self._items: "OrderedDict[str, tuple[float, SharedAnswer]]" = OrderedDict()

    def put(self, answer: SharedAnswer) -> str:
        token = secrets.token_urlsafe(16)
        self._items[token] = (self._clock() + self._ttl, answer)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)
        return token

    def take(self, token: str) -> Optional[SharedAnswer]:
        """The answer for `token`, once: a second click does not post it twice."""
        item = self._items.pop(token, None)
        if item is None or item[0] < self._clock():
            return None
        return item[1]

    def restore(self, token: str, answer: SharedAnswer) -> None:
        """Put an answer back after its share failed to post, so the user can click again."""
        self._items[token] = (self._clock() + self._ttl, answer)

    def __len__(self) -> int:
        return len(self._items)
