"""The two sides every chat platform implements, in the spirit of Rasa's InputChannel/OutputChannel.

- Inbound: a platform's listener turns a payload into an `Incoming` (the text, the conversation it
  belongs to, every key the platform may redeliver it under, and a `route`: where the answer goes)
  and hands it to `bot.edge.responder.Responder.take`.
- Outbound: `Outbound.send_reply` renders a core `Reply` in the platform's markup and posts it;
  `send_notice` posts one short line of carebot's own (an apology, a refusal).

Everything else (claims and de-duplication, one answer at a time per conversation, the concurrency
limit, apologies, answering after a crash) is common and lives once, in the responder.
A `route` is a flat JSON-able dict because it is stored with an unanswered delivery (see
`dialogues.store.Pending`) and read back, possibly by another replica, after a crash.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Protocol, Tuple

from dialogues.store import StateStore
from dialogues.types import Reply, Turn

Route = Dict[str, str]


@dataclass(frozen=True)
class Incoming:
    """One message for carebot, translated from a platform payload. Holds message text: never log it."""

    platform: str
    keys: Tuple[str, ...]  # every id the platform may redeliver this message under
    conversation_id: str
    text: str
    user: Optional[str]
    route: Route
    ref: str  # the delivery, for logs (an event id, an activity id)
    asked: Optional[str] = None  # shown above the answer when the asker's message is not visible
    private: bool = False  # an answer only the asker sees (a slash command)
    recovered: bool = False  # taken over from a process that died: its answer may have been posted


@dataclass(frozen=True)
class ReplyContext:
    """What a renderer may need besides the reply itself."""

    conversation_id: str
    delivery_key: str  # the delivery's first key: lets a poster tell whether a post already landed
    user: Optional[str] = None
    asked: Optional[str] = None
    private: bool = False
    # taken over after a crash: a poster that can tell should not post what already landed
    recovered: bool = False


class DeliveryError(Exception):
    """A message could not be posted, after the platform client's own retries.

    `landed` is None when the poster cannot tell whether the platform accepted it (a dropped
    connection it could not check): the responder then neither re-posts nor apologises.
    """

    def __init__(self, reason: str, *, landed: Optional[bool] = False, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason  # an error code or status, never message content
        self.landed = landed
        self.permanent = permanent  # the destination is gone (channel_not_found): do not post there again


class Outbound(Protocol):
    platform: str

    async def send_reply(self, route: Route, reply: Reply, context: ReplyContext) -> int:
        """Render and post; returns the number of messages posted. Raises DeliveryError."""
        ...

    async def send_notice(self, route: Route, text: str, context: Optional[ReplyContext] = None) -> None:
        """Post one line of carebot's own. Raises DeliveryError."""
        ...

    async def working(self, route: Route) -> None:
        """Show that an answer is on its way (Teams' typing indicator); may do nothing."""
        ...


class Core(Protocol):
    """What an edge needs from the dialogue engine (dialogues.engine.Engine)."""

    store: StateStore

    async def handle(self, turn: Turn) -> Reply: ...

    async def handle_ordered(self, turn: Turn) -> Reply: ...
