"""The Teams side of `bot.edge.types.Outbound`: a core `Reply` rendered as cards and posted.

The shared responder calls this after each turn (and after a crash, with a route read back from
the store), so everything it needs is in the route: the service URL, the conversation (for a
channel, the thread), the tenant, the activity to reply to and the bot's id.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional

from bot.edge.types import DeliveryError, ReplyContext, Route
from bot.teams import cards
from bot.teams.connector import Connector, Target
from bot.teams.kept import KeptCards
from dialogues.types import Reply

log = logging.getLogger("carebot.teams")


class TeamsOutbound:
    platform = "teams"

    def __init__(self, connector: Connector, kept: KeptCards) -> None:
        self.connector = connector
        self.kept = kept

    async def send_reply(self, route: Route, reply: Reply, context: ReplyContext) -> int:
        """Post the answer's card(s) in order; returns how many were posted. The last card holds
        the feedback buttons and is kept for their in-place update before it is posted, so a
        quick click finds it."""
        feedback = None
        if reply.statements:
            feedback = cards.FeedbackRef(context.conversation_id, tuple(reply.statement_ids), reply.audit_id,
                                         KeptCards.new_token())
        parts = cards.render_answer(reply, feedback, asked=context.asked)
        if feedback is not None:
            # if this fails (logged), clicks are still recorded; they get a thanks line instead
            await self.kept.keep(str(feedback.card), parts[-1].card)
        posted = 0
        for part in parts:
            try:
                await self._post(route, cards.answer_activity(part), reply=True)
            except DeliveryError as exc:
                if posted:  # the first part is in the chat: an apology would contradict it
                    raise DeliveryError(exc.reason, landed=True, permanent=exc.permanent) from None
                raise
            posted += 1
        return posted

    async def send_notice(self, route: Route, text: str, context: Optional[ReplyContext] = None) -> None:
        await self._post(route, cards.notice_activity(text), reply=bool(route.get("reply_to")))

    async def working(self, route: Route) -> None:
        """Teams' typing indicator, in the conversation (thread) the answer will go to."""
        await self._post(route, {"type": "typing"}, reply=False)

    async def _post(self, route: Route, activity: Dict[str, Any], *, reply: bool) -> str:
        reply_to = route.get("reply_to") if reply else None
        return await self.connector.send(_target(route), _address(route, activity, reply_to), reply_to or None)

    async def close(self) -> None:
        await self.connector.close()


def _target(route: Route) -> Target:
    try:
        return Target(service_url=route["service_url"], conversation=route["conversation"],
                      tenant=route.get("tenant", ""))
    except KeyError:
        raise DeliveryError("bad_route", landed=False, permanent=True) from None


def _address(route: Route, activity: Dict[str, Any], reply_to: Optional[str] = None) -> Dict[str, Any]:
    addressed = dict(activity)
    addressed["conversation"] = {"id": route["conversation"]}
    if route.get("tenant"):
        addressed["conversation"]["tenantId"] = route["tenant"]
        addressed["channelData"] = {"tenant": {"id": route["tenant"]}}
    if route.get("bot_id"):
        addressed["from"] = {"id": route["bot_id"]}
    if reply_to:
        addressed["replyToId"] = reply_to
    return addressed
