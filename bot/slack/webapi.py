"""The Slack Web API client carebot posts with, and the token check run at start-up.

Slack rate-limits chat.postMessage (429 with Retry-After) and, like any service, sometimes drops a
connection or answers 5xx. slack_sdk's retry handlers wait and try again, so a busy minute delays
an answer instead of losing it. Every client (Bolt's, ours, response_url webhooks) is built here
so they all share the same base URL and retry policy.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import List, Optional

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
        return response is not None and response.status_code in (500, 502, 503, 504)


def retry_handlers() -> List[AsyncRetryHandler]:
    """A fresh list per client: handlers are cheap, and sharing them between clients is not
    documented as safe."""
    return [
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        AsyncConnectionErrorRetryHandler(max_retry_count=TRANSIENT_RETRIES),
        TransientServerErrorRetryHandler(max_retry_count=TRANSIENT_RETRIES),
    ]


def build_web_client(settings: SlackSettings, *, with_token: bool = True) -> AsyncWebClient:
    token = settings.bot_token.get_secret_value() if (with_token and settings.bot_token) else None
    return AsyncWebClient(
        token=token,
        base_url=settings.api_url,
        timeout=REQUEST_TIMEOUT_SECONDS,
        retry_handlers=retry_handlers(),
        logger=logging.getLogger("slack_sdk.web.async_client"),
    )


def build_webhook(url: str) -> AsyncWebhookClient:
    """A client for one response_url, with the same retry policy as the Web API client."""
    return AsyncWebhookClient(url=url, timeout=REQUEST_TIMEOUT_SECONDS, retry_handlers=retry_handlers())


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
        error = exc.response.get("error") if exc.response is not None else None
        if error in ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"):
            raise SettingsError(
                [
                    f"SLACK_BOT_TOKEN was rejected by Slack ({error}). Copy the current Bot User OAuth "
                    "Token from 'OAuth & Permissions' (reinstall the app if it was revoked)."
                ]
            ) from None
        raise SlackUnreachable(f"auth.test failed: {error or exc.response.status_code}") from None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise SlackUnreachable(f"could not reach the Slack Web API ({type(exc).__name__})") from None
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
