"""Posting rendered messages to where an answer belongs: a channel thread, a DM or a response_url.

Kept apart from the listeners so "where does it go" and "how is it sent" are each in one place.
Slack does not de-duplicate posts, so a post is repeated only when carebot can tell it did not land:

- Every chat.postMessage carries message metadata (`carebot_reply`) naming its delivery key and
  part. After a dropped connection, a timeout, a 5xx or an unreadable answer, the poster looks for
  that message with conversations.replies (a thread) or conversations.history (a channel or DM)
  before re-posting. Found: done, no apology. Not found: posted again. Cannot tell (the lookup
  failed): `DeliveryError(landed=None)`, and the responder neither re-posts nor apologises, since
  a second copy of a clinical answer is worse than a missing one.
- 429: Retry-After is followed (plus a little jitter) for up to `RATE_LIMIT_BUDGET_SECONDS` per
  post. The wait is per post and per channel: a throttled channel's posts wait, others go on.
- `channel_not_found`, `is_archived`, `not_in_channel`: the channel is remembered and never posted
  to again by this process (`DeliveryError(permanent=True)`: no apology into it either).
- Any other error (`invalid_auth`, `invalid_blocks`...): `DeliveryError` with Slack's code.

Whatever the shape of Slack's answer (a JSON error, a text/plain body, nothing, bytes), only
`DeliveryError` leaves this module, carrying an error code, never a body or message text. Every
Web API error is counted by code in `EdgeMetrics.api_errors`.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Sequence

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.edge.metrics import EdgeMetrics
from bot.edge.types import DeliveryError
from bot.slack.blocks import METADATA_EVENT, SlackMessage
from bot.slack.conversations import Destination, InChannel, ViaResponseUrl
from bot.slack.webapi import build_webhook, error_of
from dialogues.store import PENDING_TEXT_TTL_SECONDS

log = logging.getLogger("carebot.slack")

# What a failed post can raise; callers turn these into a DeliveryError with a loggable reason.
SEND_ERRORS = (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError, OSError)

RATE_LIMIT_BUDGET_SECONDS = 60.0  # following Retry-After, per post, before giving up
RETRY_JITTER_SECONDS = 0.5  # added to each Retry-After, so throttled posts do not return in lockstep
DEFAULT_RETRY_AFTER_SECONDS = 1.0  # a 429 without Retry-After
UNSURE_RETRIES = 2  # re-posts after a failure that turned out not to have landed
NOT_SENT_RETRIES = 2  # re-posts after a failure to connect (nothing was sent)
SETTLE_SECONDS = 1.0  # before looking a post up: a request Slack is still processing may yet land
LOOKUP_PAGES = 5  # history pages searched for a post (Slack's default page: 100 messages)
LOOKUP_MARGIN_SECONDS = 120.0  # clock skew between us and Slack's message timestamps
GONE_ERRORS = frozenset({"channel_not_found", "is_archived", "not_in_channel"})
MAX_GONE_CHANNELS = 10_000


class Poster:
    def __init__(
        self,
        client: AsyncWebClient,
        webhook_factory: Callable[[str], AsyncWebhookClient] = build_webhook,
        metrics: Optional[EdgeMetrics] = None,
        *,
        rate_limit_budget: float = RATE_LIMIT_BUDGET_SECONDS,
        settle_seconds: float = SETTLE_SECONDS,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self._webhook = webhook_factory
        self.metrics = metrics
        self.rate_limit_budget = rate_limit_budget
        self.settle_seconds = settle_seconds
        self._sleep = sleep
        self._clock = clock
        self._gone: "OrderedDict[str, str]" = OrderedDict()  # channel -> the error that said so
        self._not_before: Dict[str, float] = {}  # channel -> when Slack lets us post there again

    # ---- the API the outbound side calls ------------------------------------------------------------

    async def post_all(self, destination: Destination, messages: Sequence[SlackMessage],
                       delivery_key: Optional[str] = None) -> None:
        """In order; a long answer's parts must read top to bottom. Raises DeliveryError."""
        key = delivery_key or _new_key()
        for part, message in enumerate(messages, start=1):
            await self.post(destination, message, key, part=part)

    async def post(self, destination: Destination, message: SlackMessage,
                   delivery_key: Optional[str] = None, *, part: int = 1) -> None:
        """Post one message. Raises DeliveryError, and nothing else."""
        try:
            if isinstance(destination, InChannel):
                await self._post_in_channel(destination, message, delivery_key or _new_key(), part)
            else:
                await self._post_response_url(destination, message)
        except DeliveryError:
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or a client failure before anything was sent
            self._count("client_error")
            raise DeliveryError(f"client_error_{type(exc).__name__}", landed=False) from None

    async def already_posted(self, destination: InChannel, delivery_key: str,
                             within_seconds: float = PENDING_TEXT_TTL_SECONDS) -> bool:
        """True when the first part of the answer to `delivery_key` is in the channel (a process
        that died posted it). False when it is not, or when that cannot be told: a delivery taken
        over after a crash is then answered, rather than lost."""
        return bool(await self._landed(destination, delivery_key, 1, time.time() - within_seconds))

    def is_gone(self, channel: str) -> bool:
        return channel in self._gone

    def forget_gone(self, channel: str) -> None:
        """carebot was added back to `channel` (member_joined_channel): it may post there again."""
        self._gone.pop(channel, None)

    # ---- chat.postMessage ---------------------------------------------------------------------------

    async def _post_in_channel(self, destination: InChannel, message: SlackMessage, key: str, part: int) -> None:
        channel = destination.channel
        gone = self._gone.get(channel)
        if gone is not None:
            raise DeliveryError(gone, landed=False, permanent=True)
        metadata = _with_delivery(message.metadata, key, part)
        deadline = self._clock() + self.rate_limit_budget
        since = time.time()
        unsure = not_sent = 0
        failure = ""
        while True:
            await self._wait_turn(channel, deadline)
            try:
                await self.client.chat_postMessage(
                    channel=channel,
                    thread_ts=destination.thread_ts,
                    text=message.text,
                    blocks=message.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                    metadata=metadata,
                )
                return
            except SlackApiError as exc:
                code, status, retry_after = error_of(exc)
                self._count(code)
                if status == 429 or code == "ratelimited":
                    self._throttle(channel, retry_after, deadline)
                    continue
                if code in GONE_ERRORS:
                    self._remember_gone(channel, code)
                    raise DeliveryError(code, landed=False, permanent=True) from None
                readable = isinstance(getattr(exc.response, "data", None), Mapping)
                if status is None or status >= 500 or (status < 400 and not readable):
                    # a server or gateway error, or an answer that is not Slack's JSON: it may have landed
                    failure = code
                else:
                    raise DeliveryError(code, landed=False) from None  # invalid_auth, invalid_blocks...
            except aiohttp.ClientConnectorError:
                # nothing was sent: the connection could not be made
                self._count("connect_failed")
                not_sent += 1
                if not_sent > NOT_SENT_RETRIES:
                    raise DeliveryError("connect_failed", landed=False) from None
                await self._sleep(0.5 * not_sent)
                continue
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError, AttributeError,
                    TypeError) as exc:
                # dropped connection, timeout, or a 200 whose body is not JSON: it may have landed
                failure = _transport_code(exc)
                self._count(failure)
            landed = await self._landed(destination, key, part, since)
            if landed:
                log.info("post confirmed after %s channel=%s part=%d", failure, channel, part)
                return
            if landed is None:
                raise DeliveryError(failure, landed=None)
            unsure += 1
            if unsure > UNSURE_RETRIES:
                raise DeliveryError(failure, landed=False)
            log.info("post did not land after %s channel=%s part=%d; posting again", failure, channel, part)

    async def _wait_turn(self, channel: str, deadline: float) -> None:
        """Wait until Slack lets this channel be posted to; only posts to this channel wait."""
        until = self._not_before.get(channel)
        if until is None:
            return
        wait = until - self._clock()
        if wait <= 0:
            if self._not_before.get(channel) == until:
                del self._not_before[channel]
            return
        if self._clock() + wait > deadline:
            raise DeliveryError("ratelimited", landed=False)
        await self._sleep(wait)

    def _throttle(self, channel: str, retry_after: Optional[float], deadline: float) -> None:
        wait = (DEFAULT_RETRY_AFTER_SECONDS if retry_after is None else retry_after)
        wait += random.uniform(0, RETRY_JITTER_SECONDS)
        until = self._clock() + wait
        self._not_before[channel] = max(self._not_before.get(channel, 0.0), until)
        if until > deadline:
            raise DeliveryError("ratelimited", landed=False)

    def _remember_gone(self, channel: str, code: str) -> None:
        if channel not in self._gone:
            log.warning("channel unusable channel=%s error=%s; carebot will not post there again", channel, code)
        self._gone[channel] = code
        self._gone.move_to_end(channel)
        while len(self._gone) > MAX_GONE_CHANNELS:
            self._gone.popitem(last=False)

    async def _landed(self, destination: InChannel, key: str, part: int, since: float) -> Optional[bool]:
        """Whether the post with this delivery key and part is in the channel: True, False, or None
        when it cannot be told (the lookup failed, or the history is longer than we search)."""
        if self.settle_seconds:
            await self._sleep(self.settle_seconds)
        oldest = f"{max(0.0, since - LOOKUP_MARGIN_SECONDS):.6f}"
        cursor: Optional[str] = None
        for _ in range(LOOKUP_PAGES):
            try:
                if destination.thread_ts:
                    response = await self.client.conversations_replies(
                        channel=destination.channel, ts=destination.thread_ts, oldest=oldest,
                        include_all_metadata=True, limit=200, cursor=cursor)
                else:
                    response = await self.client.conversations_history(
                        channel=destination.channel, oldest=oldest, include_all_metadata=True,
                        limit=200, cursor=cursor)
                data = response.data
            except SlackApiError as exc:
                code, _, _ = error_of(exc)
                self._count(code)
                log.warning("cannot tell whether a post landed channel=%s error=%s", destination.channel, code)
                return None
            except Exception as exc:  # a dropped lookup, an unreadable answer
                self._count(_transport_code(exc))
                log.warning("cannot tell whether a post landed channel=%s error=%s",
                            destination.channel, _transport_code(exc))
                return None
            if not isinstance(data, Mapping) or not isinstance(data.get("messages"), list):
                return None
            if any(_is_part(m, key, part) for m in data["messages"]):
                return True
            meta = data.get("response_metadata")
            cursor = meta.get("next_cursor") if isinstance(meta, Mapping) else None
            if not data.get("has_more") or not cursor:
                return False
        return None

    # ---- response_url -------------------------------------------------------------------------------

    async def _post_response_url(self, destination: ViaResponseUrl, message: SlackMessage) -> None:
        try:
            response = await self._webhook(destination.url).send(
                text=message.text,
                blocks=message.blocks,
                response_type="in_channel" if destination.in_channel else "ephemeral",
                replace_original=False,
            )
        except aiohttp.ClientConnectorError:
            self._count("connect_failed")
            raise DeliveryError("connect_failed", landed=False) from None
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            # it may have been shown, and a response_url message cannot be looked up: do not repeat it
            self._count(_transport_code(exc))
            raise DeliveryError(_transport_code(exc), landed=None) from None
        status = getattr(response, "status_code", None)
        if status != 200:
            code = f"response_url_http_{status}"
            self._count(code)
            raise DeliveryError(code, landed=False)

    def _count(self, code: str) -> None:
        if self.metrics is not None:
            try:
                self.metrics.api_error(code)
            except Exception:  # counting must never stop a post
                pass


def _with_delivery(metadata: Optional[Mapping[str, Any]], key: str, part: int) -> Dict[str, Any]:
    """The renderer's metadata (reply kind, statement ids), plus the delivery key and part."""
    payload: Dict[str, Any] = {}
    if isinstance(metadata, Mapping) and isinstance(metadata.get("event_payload"), Mapping):
        payload.update(metadata["event_payload"])
    payload["delivery"] = key
    payload["part"] = part
    return {"event_type": METADATA_EVENT, "event_payload": payload}


def _is_part(message: Any, key: str, part: int) -> bool:
    if not isinstance(message, Mapping):
        return False
    metadata = message.get("metadata")
    if not isinstance(metadata, Mapping) or metadata.get("event_type") != METADATA_EVENT:
        return False
    payload = metadata.get("event_payload")
    return (isinstance(payload, Mapping) and payload.get("delivery") == key
            and str(payload.get("part")) == str(part))


def _transport_code(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, ConnectionError)):
        return "connection_dropped"
    if isinstance(exc, (ValueError, AttributeError, TypeError)):
        return "unreadable_response"
    return "connection_error"


def _new_key() -> str:
    """A key for a message of carebot's own (a notice), so that it too can be looked up."""
    return "notice:" + uuid.uuid4().hex


__all__ = ["DeliveryError", "Poster", "SEND_ERRORS", "InChannel", "ViaResponseUrl"]
