"""The bot's turn logic (an SDK `ActivityHandler`): authenticated Teams activities in, `Incoming`
messages, feedback and greetings out. Nothing clinical happens here.

- A message becomes an `Incoming` for the shared responder, which claims the delivery (a retry,
  here or at another replica, is not answered twice) and answers it in the background, so the
  HTTP request is acknowledged at once.
- An `adaptiveCard/action` invoke from a feedback button records the feedback (once per invoke)
  and answers with the updated card, which Teams shows in place of the clicked one.
- A `conversationUpdate` that adds carebot itself (install in a personal chat, a group chat or a
  team) gets one greeting per conversation: the once-only mark lasts as long as delivery claims
  (a day), which covers Teams' redeliveries; removing and re-adding carebot later greets again.
"""
from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any, List, Optional

from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
from botbuilder.schema import ChannelAccount

from bot.edge import messages
from bot.edge.responder import Responder
from bot.edge.types import Incoming
from bot.teams import cards
from bot.teams.conversations import (
    PLATFORM,
    conversation_of,
    delivery_key,
    from_bot,
    install_key,
    members_added_include_bot,
    question_text,
    route_of,
    user_of,
)
from bot.teams.kept import KeptCards
from dialogues.store import Feedback, StateStore, StoreUnavailable

log = logging.getLogger("carebot.teams")

ADAPTIVE_CARD_ACTION = "adaptiveCard/action"
CARD_RESPONSE = "application/vnd.microsoft.card.adaptive"
MESSAGE_RESPONSE = "application/vnd.microsoft.activity.message"
ERROR_RESPONSE = "application/vnd.microsoft.error"


class CarebotTeamsBot(ActivityHandler):
    def __init__(self, responder: Responder, store: StateStore, kept: KeptCards) -> None:
        super().__init__()
        self.responder = responder
        self.store = store
        self.kept = kept

    # ---- messages ---------------------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if from_bot(activity):
            log.debug("ignored activity=%s reason=bot", activity.id)
            return
        text = question_text(activity)
        if not text:
            log.debug("ignored activity=%s reason=empty", activity.id)
            return
        incoming = Incoming(
            platform=PLATFORM,
            keys=(delivery_key(activity),),
            conversation_id=conversation_of(activity),
            text=text,
            user=user_of(activity),
            route=route_of(activity),
            ref=str(activity.id),
        )
        await self.responder.take(incoming)

    # ---- install ----------------------------------------------------------------------------------

    async def on_members_added_activity(self, members_added: List[ChannelAccount], turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if not members_added_include_bot(activity):
            return  # people joining a team carebot is in: not carebot's business
        if await self.responder.once(install_key(activity)):
            log.info("installed conversation=%s activity=%s", conversation_of(activity), activity.id)
            self.responder.notify(route_of(activity, reply=False), messages.GREETING, str(activity.id))

    # ---- feedback -----------------------------------------------------------------------------------

    async def on_invoke_activity(self, turn_context: TurnContext) -> Optional[InvokeResponse]:
        if turn_context.activity.name == ADAPTIVE_CARD_ACTION:
            return await self._card_action(turn_context)
        return await super().on_invoke_activity(turn_context)

    async def _card_action(self, turn_context: TurnContext) -> InvokeResponse:
        activity = turn_context.activity
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("action") if isinstance(value.get("action"), dict) else {}
        verb = action.get("verb")
        ref = cards.FeedbackRef.from_data(action.get("data"))
        if (action.get("type") != "Action.Execute" or verb not in cards.FEEDBACK_VERBS or ref is None
                or not ref.conversation_id.startswith(f"{PLATFORM}:")
                or (verb == cards.VERB_REASON) != (ref.reason is not None)):
            log.warning("card action not understood activity=%s", activity.id)
            return _invoke(400, ERROR_RESPONSE, {"code": "BadRequest", "message": "Unknown action."})
        helpful = verb == cards.VERB_HELPFUL
        if await self.responder.once(f"{PLATFORM}:invoke:{activity.conversation.id}:{activity.id}"):
            try:
                await self.store.add_feedback(Feedback(
                    ref.conversation_id, ref.statement_ids, helpful, user_of(activity), ref.reason, ref.audit_id))
            except StoreUnavailable:
                log.error("feedback not stored activity=%s error=StoreUnavailable", activity.id)
                return _invoke(200, MESSAGE_RESPONSE, messages.UNAVAILABLE)
            log.info("feedback conversation=%s helpful=%s reason=%s statements=%s", ref.conversation_id,
                     helpful, ref.reason or "-", ",".join(ref.statement_ids) or "-")
        state = cards.FeedbackState.ask_reason if verb == cards.VERB_NOT_HELPFUL else cards.FeedbackState.thanked
        card = await self.kept.update(ref, state)
        if card is None:
            # the kept card expired: the click still counted; say so without touching the card
            return _invoke(200, MESSAGE_RESPONSE, messages.THANKS)
        return _invoke(200, CARD_RESPONSE, card)


def _invoke(status: int, kind: str, value: Any) -> InvokeResponse:
    """The HTTP answer to an adaptiveCard/action invoke: always 200 at the HTTP level, with the
    card-action status inside, as Universal Actions expects."""
    return InvokeResponse(status=int(HTTPStatus.OK), body={"statusCode": status, "type": kind, "value": value})
