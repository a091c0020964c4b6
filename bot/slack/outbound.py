"""The Slack side of the shared edge's `Outbound`: a core Reply -> Block Kit -> chat.postMessage
or a response_url. Where an answer goes comes from the stored route (`conversations.route_of`)."""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Optional

from bot.edge.types import ReplyContext, Route
from bot.slack import share
from bot.slack.blocks import render_notice, render_reply
from bot.slack.conversations import InChannel, ViaResponseUrl, destination_of
from bot.slack.deliver import DeliveryError, Poster
from dialogues.store import DeliveryStore
from dialogues.types import Reply

log = logging.getLogger("carebot.slack")


class SlackOutbound:
    platform = "slack"

    def __init__(self, poster: Poster, store: DeliveryStore) -> None:
        self.poster = poster
        self.store = store

    async def send_reply(self, route: Route, reply: Reply, context: ReplyContext) -> int:
        destination = destination_of(route)
        if context.recovered and isinstance(destination, InChannel):
            # the process that died may have posted it before it could mark it answered
            if await self.poster.already_posted(destination, context.delivery_key):
                log.info("recovered delivery was already answered conversation=%s", context.conversation_id)
                return 0
        share_value = None
        if context.private and context.user and reply.statements:
            share_value = await share.offer(self.store, share.SharedAnswer(
                context.conversation_id, reply, context.user, route.get("channel", "")))
        messages = render_reply(reply, context.conversation_id, asked=context.asked, share_value=share_value)
        await self.poster.post_all(destination, messages, delivery_key=context.delivery_key)
        return len(messages)

    async def send_notice(self, route: Route, text: str, context: Optional[ReplyContext] = None) -> None:
        await self.poster.post(destination_of(route), render_notice(text))

    async def working(self, route: Route) -> None:
        """Slack shows no typing indicator for apps; the answer is usually there within a second."""

    async def share(self, token: str, user: str, destination: ViaResponseUrl) -> bool:
        """Post a private answer into its channel; False when there is nothing (left) to share."""
        answer = await share.take(self.store, token, user)
        if answer is None:
            return False
        messages = render_reply(answer.reply, answer.conversation_id, shared_by=user, suggestions=False)
        try:
            await self.poster.post_all(replace(destination, in_channel=True), messages)
        except DeliveryError:
            await share.restore(self.store, token, answer)
            raise
        log.info("shared conversation=%s", answer.conversation_id)
        return True
