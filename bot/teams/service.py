"""Putting the Teams edge together: credentials, authentication, the Connector, the responder, the
SDK adapter and the HTTP server.

The same function builds what `carebot serve teams` runs and what the tests run against a mock
Connector, mock OpenID keys and a mock token authority, so the tests exercise the real wiring; only
the core (engine) is passed in, because it is slow to load and owned by the caller.

Start-up does the network work the SDK would otherwise do on the event loop, in an executor and
before the port opens: the OpenID signing keys are fetched, and the MSAL app is built and a first
token fetched (which also proves the app id, secret and tenant).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, Optional

from bot.edge.http import HttpServer, build_web_app, start_http
from bot.edge.metrics import EdgeMetrics
from bot.edge.responder import Responder
from bot.edge.types import Core
from bot.teams.adapter import TeamsAdapter
from bot.teams.app import CarebotTeamsBot
from bot.teams.auth import TeamsAuth
from bot.teams.connector import Connector
from bot.teams.credentials import TeamsCredentialFactory, TokenSource
from bot.teams.endpoint import MessagesEndpoint
from bot.teams.kept import KeptCards
from bot.teams.outbound import TeamsOutbound
from bot.teams.settings import DEFAULT_HOST, DEFAULT_PORT, TeamsSettings
from bot.teams.throttle import TenantThrottle

log = logging.getLogger("carebot.teams")



@dataclass
class TeamsService:
    responder: Responder
    outbound: TeamsOutbound
    auth: TeamsAuth
    tokens: TokenSource
    metrics: EdgeMetrics
    http: HttpServer

    async def close(self, timeout: float = 20.0) -> None:
        """Stop taking requests first, then let answers in flight finish, then close clients."""
        await self.http.close()
        await self.responder.close(timeout)
        await self.outbound.close()


def build_tokens(settings: TeamsSettings) -> TokenSource:
    return TokenSource(TeamsCredentialFactory.from_settings(settings))


async def start_service(
    settings: TeamsSettings,
    core: Core,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    tokens: Optional[TokenSource] = None,
    throttle: Optional[TenantThrottle] = None,
) -> TeamsService:
    """Start serving. `tokens` is the token source when the caller already proved the
    credentials (the runner does, before loading the model); otherwise they are proved here.
    Raises CredentialsError, or the fetch error for the OpenID keys, or OSError for the port."""
    settings.require()
    assert settings.tenant_id is not None
    if tokens is None:
        tokens = build_tokens(settings)
        await tokens.prepare()
    auth = TeamsAuth(settings, tokens.factory)
    await auth.prepare()
    metrics = EdgeMetrics("teams")
    connector = Connector(tokens.token, metrics, throttle=throttle, forget_token=tokens.forget)
    kept = KeptCards(core.store)
    outbound = TeamsOutbound(connector, kept)
    responder = Responder(core, outbound, metrics=metrics)
    bot = CarebotTeamsBot(responder, core.store, kept)
    endpoint = MessagesEndpoint(auth, TeamsAdapter(auth.framework), bot, metrics, settings.tenant_id)

    async def health() -> Dict[str, Any]:
        store_ok = await core.store.ping()
        return {"ok": store_ok, "platform": "teams", "store": "ok" if store_ok else "unavailable",
                "answers_in_flight": responder.busy}

    web_app = build_web_app(health, metrics)
    endpoint.install(web_app)
    try:
        http = await start_http(web_app, host, port)
    except OSError:
        await connector.close()
        raise
    responder.start_recovery()
    return TeamsService(responder=responder, outbound=outbound, auth=auth, tokens=tokens, metrics=metrics, http=http)
