"""The Slack Web API client carebot posts with, and the token check run at start-up.

Slack rate-limits its methods (429 with Retry-After) and, like any service, sometimes drops a
connection or answers 5xx. slack_sdk's retry handlers wait and try again for every method that is
safe to repeat (auth.test, conversations.history...), so a busy minute delays an answer instead of
losing it. Every client (Bolt's, ours, response_url webhooks) is built here so they all share the
same base URL and retry policy.

Posting a message is not safe to repeat: Slack does not de-duplicate posts, and a connection that
drops after Slack accepted one would post the answer twice. So no handler here retries
`chat.postMessage`; `bot.slack.deliver.Poster` does, and only when it can tell the post did not
land. response_url webhooks cannot be checked, so they are never re-sent after a dropped connection.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Tuple

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack.settings import SettingsError, SlackSettings

log = logging.getLogger("carebot.slack")

RATE_LIMIT_RETRIES = 3
TRANSIENT_RETRIES = 2
REQUEST_TIMEOUT_SECONDS = 15
# Methods that post: never repeated by a retry handler (see the module docstring).
POST_METHODS = frozenset({"chat.postMessage"})


def is_post(request: HttpRequest) -> bool:
    return request.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] in POST_METHODS


class TransientServerErrorRetryHandler(AsyncServerErrorRetryHandler):
    """slack_sdk's server-error handler retries 500 and 503; gateways also answer 502 and 504."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: Optional[HttpResponse] = None,
        error: Optional[Exception] = None,
    ) -> bool:
        if is_post(request):
            return False
        return response is not None and response.status_code in (500, 502, 503, 504)


class RateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """Retry-After for every method but posts (the Poster follows it, per post, with a deadline)."""

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: Optional[HttpResponse] = None, error: Optional[Exception] = None) -> bool:
        if is_post(request):
            return False
        return await super()._can_retry_async(state=state, request=request, response=response, error=error)


class ConnectionErrorRetryHandler(AsyncConnectionErrorRetryHandler):
    """A dropped connection is retried only for methods that change nothing: a post may have landed."""

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: Optional[HttpResponse] = None, error: Optional[Exception] = None) -> bool:
        if is_post(request):
            return False
        return await super()._can_retry_async(state=state, request=request, response=response, error=error)


def retry_handlers() -> List[AsyncRetryHandler]:
    """A fresh list per client: handlers are cheap, and sharing them between clients is not
    documented as safe."""
    return [
        RateLimitRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ConnectionErrorRetryHandler(max_retry_count=TRANSIENT_RETRIES),
        TransientServerErrorRetryHandler(max_retry_count=TRANSIENT_RETRIES),
    ]


def webhook_retry_handlers() -> List[AsyncRetryHandler]:
    """response_url posts: 429 and 5xx are retried (Slack did not take the message); a dropped
    connection is not (it may have, and a response_url message cannot be looked up)."""
    return [
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        AsyncServerErrorRetryHandler(max_retry_count=TRANSIENT_RETRIES),
    ]


def error_of(exc: BaseException) -> Tuple[str, Optional[int], Optional[float]]:
    """(error code, HTTP status, Retry-After seconds) of a failed Web API call, whatever shape
    the response has: a dict body, a text/plain string, bytes, None, or an aiohttp response (a
    body slack_sdk could not parse). Never raises and never returns body text: the code is
    Slack's `error` field when it is a short identifier, else `http_<status>`."""
    response = getattr(exc, "response", None)
    status = _int(getattr(response, "status_code", None))
    if status is None:
        status = _int(getattr(response, "status", None))
    data = getattr(response, "data", None)
    code: Optional[str] = None
    if isinstance(data, Mapping):
        error = data.get("error")
        if isinstance(error, str) and 0 < len(error) <= 64 and error.replace("_", "").replace(".", "").isalnum():
            code = error
    if code is None:
        code = "ratelimited" if status == 429 else (f"http_{status}" if status is not None else "no_response")
    return code, status, _retry_after(getattr(response, "headers", None))


def _retry_after(headers: Any) -> Optional[float]:
    if headers is None:
        return None
    try:
        for key in headers.keys():
            if str(key).lower() == "retry-after":
                value = float(str(headers[key]).strip())
                return value if 0 <= value < 24 * 3600 else None
    except (AttributeError, TypeError, ValueError):
        return None
    return None


def _int(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def build_web_client(settings: SlackSettings, *, with_token: bool = True) -> AsyncWebClient:
    token = settings.bot_token.get_secret_value() if (with_token and settings.bot_token) else None
    return AsyncWebClient(
        token=token,
        base_url=settings.api_url,
        timeout=REQUEST_TIMEOUT_SECONDS,
        retry_handlers=retry_handlers(),
        logger=_sdk_log(),
    )


def _sdk_log() -> logging.Logger:
    """slack_sdk writes whole request and response bodies (message text) to its logger when that
    logger's own level is DEBUG or unset, whatever the handlers let through: give it its own
    logger, set to INFO, so those lines are never even formatted."""
    logger = logging.getLogger("slack_sdk.web.async_client.carebot")
    if logger.level == logging.NOTSET or logger.level < logging.INFO:
        logger.setLevel(logging.INFO)
    return logger


def build_webhook(url: str) -> AsyncWebhookClient:
    """A client for one response_url: 429 and 5xx are retried, dropped connections are not."""
    return AsyncWebhookClient(url=url, timeout=REQUEST_TIMEOUT_SECONDS, retry_handlers=webhook_retry_handlers(),
                              logger=_sdk_log())


@dataclass(frozen=True)
class BotIdentity:
    """Who the token belongs to, from auth.test: needed to recognise our own messages and
    mentions of us."""

    team_id: str
    user_id: str
    bot_id: Optional[str]
    team: Optional[str] = None
    url: Optional[str] = None
    enterprise_id: Optional[str] = None


class SlackUnreachable(Exception):
    """auth.test could not be completed: network or Slack trouble, not a settings mistake."""


async def check_token(client: AsyncWebClient) -> BotIdentity:
    """Call auth.test once; a rejected token is a settings problem (SettingsError)."""
    try:
        response = await client.auth_test()
    except SlackApiError as exc:
        error, _, _ = error_of(exc)
        if error in ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"):
            raise SettingsError(
                [
                    f"SLACK_BOT_TOKEN was rejected by Slack ({error}). Copy the current Bot User OAuth "
                    "Token from 'OAuth & Permissions' (reinstall the app if it was revoked)."
                ]
            ) from None
        raise SlackUnreachable(f"auth.test failed: {error}") from None
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
        raise SlackUnreachable(f"could not reach the Slack Web API ({type(exc).__name__})") from None
    except (AttributeError, ValueError, TypeError):  # a 200 whose body is not JSON
        raise SlackUnreachable("auth.test answered something that is not JSON") from None
    if not isinstance(response.data, dict):
        raise SlackUnreachable("auth.test answered something that is not JSON")
    if not response.get("bot_id") or not response.get("user_id") or not response.get("team_id"):
        raise SettingsError(
            ["SLACK_BOT_TOKEN is not a bot token (auth.test returned no bot_id). Use the xoxb- Bot User OAuth Token."]
        )
    identity = BotIdentity(
        team_id=response["team_id"],
        user_id=response["user_id"],
        bot_id=response.get("bot_id"),
        team=response.get("team"),
        url=response.get("url"),
        enterprise_id=response.get("enterprise_id"),
    )
    log.info("slack token ok team=%s bot_user=%s", identity.team_id, identity.user_id)
    return identity
