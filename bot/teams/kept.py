"""Answer cards kept so a feedback click can replace the card in place.

An `adaptiveCard/action` invoke carries the clicked button's data, not the card it sits on, and
Teams replaces the card with whatever card the invoke's response holds. So the card (its
feedback area aside, the layout of knowledge statements and catalogue lines) is kept in the state
store under a random token that the feedback buttons carry. The store is shared by replicas, so
any replica can answer the click. An answer is never recomputed for this: a re-run could differ
from what the user read.

What is kept is the rendered reply, not the user's question; it expires after `CARD_TTL_SECONDS`,
after which a click is still recorded and answered with a short thanks instead of a new card.
"""
from __future__ import annotations

import json
import logging
import secrets
from typing import Optional

from bot.teams.cards import Card, FeedbackRef, FeedbackState, with_feedback
from dialogues.store import DeliveryStore, StoreUnavailable

log = logging.getLogger("carebot.teams")

CARD_TTL_SECONDS = 7 * 24 * 3600.0
_PREFIX = "teams-card:"


class KeptCards:
    def __init__(self, store: DeliveryStore, ttl: float = CARD_TTL_SECONDS) -> None:
        self.store = store
        self.ttl = ttl

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(12)

    async def keep(self, token: str, card: Card) -> bool:
        """Keep `card` under `token`; False (logged) when the store is down: the answer is still
        posted, and a click on it gets a thanks line instead of an updated card."""
        try:
            await self.store.put_share(_PREFIX + token, json.dumps(card, separators=(",", ":")), self.ttl)
        except StoreUnavailable:
            log.error("answer card not kept error=StoreUnavailable")
            return False
        return True

    async def update(self, ref: FeedbackRef, state: FeedbackState) -> Optional[Card]:
        """The kept card with its feedback area in `state` (kept that way for the next click),
        or None when it is gone (expired, or another click is updating it this instant)."""
        if not ref.card:
            return None
        key = _PREFIX + ref.card
        try:
            raw = await self.store.take_share(key)
        except StoreUnavailable:
            log.error("answer card not read error=StoreUnavailable")
            return None
        if raw is None:
            return None
        try:
            card = json.loads(raw)
        except ValueError:
            return None
        updated = with_feedback(card, state, ref) if isinstance(card, dict) else None
        try:
            await self.store.put_share(key, json.dumps(updated or card, separators=(",", ":")), self.ttl)
        except StoreUnavailable:
            log.error("answer card not kept error=StoreUnavailable")
        return updated
