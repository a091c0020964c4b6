"""Putting the Slack edge together: clients, the shared responder, Bolt app, and one transport.

The same function builds what `carebot serve slack` runs and what the tests run against a mock
Slack, so the tests exercise the real wiring; only the core (engine) is passed in, because it is
slow to load and owned by the caller.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.edge.http import HttpServer, build_web_app, start_http
from bot.edge.metrics import EdgeMetrics
from bot.edge.responder import Responder
from bot.edge.types import Core
from bot.slack.app import PLATFORM, Listeners, build_app
from bot.slack.deliver import Poster
from bot.slack.outbound import SlackOutbound
from bot.slack.routes import add_slack_routes
from bot.slack.settings import Mode, SlackSettings
from bot.slack.socket_mode import start_socket_mode
from bot.slack.webapi import BotIdentity, build_web_client, check_token

log = logging.getLogger("carebot.slack")


@dataclass
class SlackService:
    app: AsyncApp
    responder: Responder
    identity: BotIdentity
    mode: Mode
    metrics: EdgeMetrics
    http: Optional[HttpServer] = None
    socket: Optional[AsyncSocketModeHandler] = None

    async def close(self, timeout: float = 20.0) -> None:
        """Stop taking requests first, then let answers in flight finish."""
        if self.http is not None:
            await self.http.close()
        if self.socket is not None:
            await self.socket.close_async()
        await self.responder.close(timeout)


async def start_service(
    settings: SlackSettings,
    core: Core,
    mode: Mode,
    *,
    host: str = "0.0.0.0",
    port: int = 3000,
    identity: Optional[BotIdentity] = None,
) -> SlackService:
    """Start serving. `identity` is the auth.test result when the caller already checked the
    token; otherwise it is checked here (raises SettingsError if Slack rejects it)."""
    settings.require(mode)
    assert settings.bot_token is not None  # checked by require()
    api = build_web_client(settings)
    if identity is None:
        identity = await check_token(api)
    metrics = EdgeMetrics(PLATFORM)
    outbound = SlackOutbound(Poster(api, metrics=metrics), core.store)
    responder = Responder(core, outbound, metrics=metrics)
    listeners = Listeners(identity=identity, responder=responder, outbound=outbound, store=core.store,
                          allowed_channels=settings.allowed_channels)
    app = build_app(
        identity=identity,
        bot_token=settings.bot_token.get_secret_value(),
        signing_secret=settings.signing_secret.get_secret_value() if settings.signing_secret else None,
        client=build_web_client(settings, with_token=False),
        listeners=listeners,
    )
    service = SlackService(app=app, responder=responder, identity=identity, mode=mode, metrics=metrics)

    async def health() -> dict:
        store_ok = await core.store.ping()
        return {"ok": store_ok, "mode": mode.value, "store": "ok" if store_ok else "unavailable",
                "answers_in_flight": responder.busy}

    if mode is Mode.http:
        web_app = add_slack_routes(build_web_app(health, metrics), app, metrics)
        service.http = await start_http(web_app, host, port)
    else:
        assert settings.app_token is not None
        service.socket = await start_socket_mode(
            app, settings.app_token.get_secret_value(), build_web_client(settings, with_token=False)
        )
    # deliveries a crashed process claimed and never answered: now, then every half lease
    responder.start_recovery()
    return service
