"""Socket Mode: carebot opens a WebSocket to Slack instead of exposing a public URL.

Handy inside a hospital network with no inbound access. The same Bolt app and listeners serve
both modes; only the transport differs. The app-level token is checked before connecting:
slack_sdk's client would otherwise retry a rejected token forever.
"""
from __future__ import annotations

import logging

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.settings import SettingsError
from bot.slack.webapi import SlackUnreachable

log = logging.getLogger("carebot.slack")

_REJECTED = ("invalid_auth", "not_authed", "token_revoked", "token_expired", "not_allowed_token_type")


async def start_socket_mode(app: AsyncApp, app_token: str, client: AsyncWebClient) -> AsyncSocketModeHandler:
    handler = AsyncSocketModeHandler(
        app, app_token=app_token, web_client=client, logger=logging.getLogger("slack_sdk.socket_mode")
    )
    try:
        # The first WebSocket URL, fetched here so a bad token stops start-up with a clear message.
        handler.client.wss_uri = await handler.client.issue_new_wss_url()
    except SlackApiError as exc:
        await handler.close_async()
        error = exc.response.get("error") if exc.response is not None else None
        if error in _REJECTED:
            raise SettingsError(
                [f"SLACK_APP_TOKEN was rejected by Slack ({error}). Generate an app-level token with the "
                 "connections:write scope under 'Basic Information' > 'App-Level Tokens', and turn on "
                 "Socket Mode in the app settings."]
            ) from None
        raise SlackUnreachable(f"apps.connections.open failed: {error}") from None
    except (aiohttp.ClientError, OSError) as exc:
        await handler.close_async()
        raise SlackUnreachable(f"could not reach the Slack Web API ({type(exc).__name__})") from None
    await handler.connect_async()
    log.info("socket mode connected")
    return handler
