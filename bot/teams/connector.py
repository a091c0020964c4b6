"""Posting to the Bot Connector (Teams' REST API for bots), with the retries Teams asks for.

The SDK's `ConnectorClient` signs each request synchronously on the event loop (an MSAL network
call on a token cache miss), sends it through `requests` in a thread, and retries with a policy
that ignores `Retry-After`. carebot calls the same three REST operations itself on aiohttp:

- POST {serviceUrl}/v3/conversations/{id}/activities            a new message (or typing)
- POST {serviceUrl}/v3/conversations/{id}/activities/{replyTo}  a reply (threads in channels)
- PUT  {serviceUrl}/v3/conversations/{id}/activities/{activity} an update in place

Retries follow Microsoft's guidance for Teams bots: 429 after `Retry-After` plus jitter; 412, 502,
503 and 504 with exponential backoff and jitter; and at most 50 requests per second per tenant
(`TenantThrottle`). A request that may have reached Teams without an answer (a timeout, a dropped
connection, a final 504) is not re-sent, because a second copy would show twice: it is reported
with `landed=None`, and the responder then neither re-posts nor apologises.

Errors carry the HTTP status or the exception's name, never a response body (which can echo
the message).
"""
from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Optional
from urllib.parse import quote

import aiohttp

from bot.edge.metrics import EdgeMetrics
from bot.edge.types import DeliveryError
from bot.teams.credentials import CredentialsError
from bot.teams.throttle import TenantThrottle

log = logging.getLogger("carebot.teams")

RETRY_STATUSES = frozenset({412, 429, 502, 503, 504})
GONE_STATUSES = frozenset({403, 404})  # the bot was removed, or the conversation no longer exists
MAX_ATTEMPTS = 5
MAX_RETRY_AFTER_SECONDS = 60.0  # a longer wait than this gives up: the answer would come too late
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 8.0
REQUEST_TIMEOUT_SECONDS = 20.0

TokenProvider = Callable[[], Awaitable[str]]


@dataclass(frozen=True)
class Target:
    """Where a request goes: the conversation's service URL, its id, and its tenant (throttling)."""

    service_url: str
    conversation: str
    tenant: str

    def activities_url(self, activity_id: Optional[str] = None) -> str:
        url = f"{self.service_url.rstrip('/')}/v3/conversations/{quote(self.conversation, safe='')}/activities"
        return f"{url}/{quote(activity_id, safe='')}" if activity_id else url


class Connector:
    def __init__(
        self,
        token: TokenProvider,
        metrics: EdgeMetrics,
        *,
        throttle: Optional[TenantThrottle] = None,
        forget_token: Optional[Callable[[], None]] = None,
        max_attempts: int = MAX_ATTEMPTS,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random = random.SystemRandom(),
    ) -> None:
        self._token = token
        self._forget_token = forget_token
        self.metrics = metrics
        self.throttle = throttle or TenantThrottle()
        self.max_attempts = max_attempts
        self.timeout = timeout
        self._sleep = sleep
        self._rng = rng
        self._session: Optional[aiohttp.ClientSession] = None

    async def send(self, target: Target, activity: Dict[str, Any], reply_to: Optional[str] = None) -> str:
        """Post a new activity (a reply when `reply_to` is set); returns the id Teams gave it."""
        answer = await self._call("POST", target, target.activities_url(reply_to or None), activity, idempotent=False)
        return str(answer.get("id") or "")

    async def update(self, target: Target, activity_id: str, activity: Dict[str, Any]) -> None:
        """Replace an activity already posted (safe to repeat)."""
        await self._call("PUT", target, target.activities_url(activity_id), dict(activity, id=activity_id),
                         idempotent=True)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ---- one request, with retries ----------------------------------------------------------------

    async def _call(self, method: str, target: Target, url: str, body: Dict[str, Any], *,
                    idempotent: bool) -> Dict[str, Any]:
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            await self.throttle.wait(target.tenant or "-")
            try:
                token = await self._token()
            except CredentialsError as exc:
                self.metrics.api_error("token")
                raise DeliveryError(exc.reason, landed=False) from None
            started = time.perf_counter()
            try:
                status, retry_after, answer = await self._request(method, url, body, token)
            except aiohttp.ClientConnectorError as exc:
                # the connection was never made: nothing reached Teams, so trying again is safe
                reason = type(exc).__name__
                self.metrics.api_error(reason)
                if attempt < self.max_attempts:
                    await self._pause(self._backoff(attempt), reason, attempt, target)
                    continue
                raise DeliveryError(reason, landed=False) from None
            except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
                reason = type(exc).__name__
                self.metrics.api_error(reason)
                if idempotent and attempt < self.max_attempts:
                    await self._pause(self._backoff(attempt), reason, attempt, target)
                    continue
                log.error("connector %s unanswered conversation=%s error=%s ms=%d", method, target.conversation,
                          reason, (time.perf_counter() - started) * 1000)
                raise DeliveryError(reason, landed=None) from None
            if 200 <= status < 300:
                return answer
            reason = f"http_{status}"
            self.metrics.api_error(reason)
            if status == 401 and not refreshed and self._forget_token is not None:
                refreshed = True  # a token revoked or expired early: ask for a new one, once
                self._forget_token()
                continue
            if status in RETRY_STATUSES and attempt < self.max_attempts:
                wait = self._retry_after(retry_after, attempt) if status == 429 else self._backoff(attempt)
                if wait is not None:
                    await self._pause(wait, reason, attempt, target)
                    continue
            raise DeliveryError(reason, landed=None if status == 504 else False,
                                permanent=status in GONE_STATUSES)

    async def _request(self, method: str, url: str, body: Dict[str, Any], token: str):
        session = self._client()
        async with session.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"},
                                   timeout=aiohttp.ClientTimeout(total=self.timeout)) as response:
            status = response.status
            retry_after = response.headers.get("Retry-After")
            answer: Dict[str, Any] = {}
            if 200 <= status < 300:
                try:
                    parsed = await response.json(content_type=None)
                except ValueError:
                    parsed = None
                answer = parsed if isinstance(parsed, dict) else {}
            else:
                await response.read()  # drained, not kept: it can echo the message
            return status, retry_after, answer

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        return self._session

    async def _pause(self, seconds: float, reason: str, attempt: int, target: Target) -> None:
        log.warning("connector retry conversation=%s error=%s attempt=%d wait_ms=%d",
                    target.conversation, reason, attempt, seconds * 1000)
        await self._sleep(seconds)

    def _backoff(self, attempt: int) -> float:
        """Exponential, with "equal jitter": half fixed, half random, so retries spread out."""
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def _retry_after(self, header: Optional[str], attempt: int) -> Optional[float]:
        """Retry-After (seconds or an HTTP date) plus up to 20% jitter, so clients told the same
        time do not all come back at once; backoff when absent; None (give up) when too long."""
        seconds = _parse_retry_after(header)
        if seconds is None:
            return max(1.0, self._backoff(attempt))
        if seconds > MAX_RETRY_AFTER_SECONDS:
            return None
        return seconds + self._rng.uniform(0, max(0.1, seconds * 0.2))


def _parse_retry_after(header: Optional[str]) -> Optional[float]:
    if not header:
        return None
    header = header.strip()
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())
