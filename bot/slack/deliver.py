"""Posting rendered messages to where an answer belongs: a channel thread, a DM or a response_url.

Kept apart from the listeners so "where does it go" and "how is it sent" are each in one place,
and so every send goes through the retrying clients from `webapi`.
"""
from __future__ import annotations

import asyncio
from typing import Callable, Optional, Sequence

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.edge.metrics import EdgeMetrics
from bot.slack.blocks import SlackMessage
from bot.slack.conversations import Destination, InChannel, ViaResponseUrl
from bot.slack.webapi import build_webhook


from bot.edge.types import DeliveryError  # noqa: E402  (re-exported: the shared edge's error)


# What a failed post can raise; callers turn these into a DeliveryError with a loggable reason.
SEND_ERRORS = (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError, OSError)


class Poster:
    def __init__(
        self,
        client: AsyncWebClient,
        webhook_factory: Callable[[str], AsyncWebhookClient] = build_webhook,
        metrics: Optional[EdgeMetrics] = None,
    ) -> None:
        self.client = client
        self._webhook = webhook_factory
        self.metrics = metrics

    async def post_all(self, destination: Destination, messages: Sequence[SlackMessage],
                       delivery_key: Optional[str] = None) -> None:
        """In order; a long answer's parts must read top to bottom."""
        for message in messages:
            await self.post(destination, message, delivery_key)

    async def post(self, destination: Destination, message: SlackMessage,
                   delivery_key: Optional[str] = None) -> None:
        try:
            if isinstance(destination, InChannel):
                await self.client.chat_postMessage(
                    channel=destination.channel,
                    thread_ts=destination.thread_ts,
                    text=message.text,
                    blocks=message.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                    metadata=message.metadata,
                )
                return
            response = await self._webhook(destination.url).send(
                text=message.text,
                blocks=message.blocks,
                response_type="in_channel" if destination.in_channel else "ephemeral",
                replace_original=False,
            )
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            status = exc.response.status_code if exc.response is not None else "?"
            raise DeliveryError(f"{error or 'http_' + str(status)}") from None
        except SEND_ERRORS as exc:
            raise DeliveryError(type(exc).__name__) from None
        if response.status_code != 200:
            raise DeliveryError(f"response_url_http_{response.status_code}")


__all__ = ["DeliveryError", "Poster", "SEND_ERRORS", "InChannel", "ViaResponseUrl"]
