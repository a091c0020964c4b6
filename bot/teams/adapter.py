"""The SDK's `CloudAdapterBase`, hosted on carebot's own aiohttp route.

`botbuilder-integration-aiohttp` (Microsoft's `CloudAdapter`) cannot be installed beside Rasa's
aiohttp pin, and it answers authentication failures with 500. So the endpoint authenticates the
request itself (`bot.teams.auth`) and hands the adapter the already-authenticated result; the
adapter builds the `TurnContext` and runs the bot's turn, and returns the invoke response, if any.

The adapter's own Connector client is not used to post answers: those are posted later, by the
shared responder, through `bot.teams.connector` (which must also work after a crash, from a stored
route, without a TurnContext). Only invoke responses go through the adapter, and those are
buffered into the HTTP response, never sent over the network.

For every activity the SDK builds a new Connector client and a new user-token client, and each
construction spends ~15 ms of CPU in msrest's retry-policy set-up, on the event loop. Both are
stateless toward the service and hold the shared credentials, so they are built once per service
URL and audience and reused: the turn then costs well under a millisecond of adapter time.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

from botbuilder.core import CloudAdapterBase, InvokeResponse, TurnContext
from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import BotFrameworkAuthentication, ClaimsIdentity
from botframework.connector.auth.authenticate_request_result import AuthenticateRequestResult
from botframework.connector.auth.connector_factory import ConnectorFactory
from botframework.connector.auth.user_token_client import UserTokenClient

log = logging.getLogger("carebot.teams")

Logic = Callable[[TurnContext], Awaitable[None]]
MAX_REUSED_CLIENTS = 32  # service URLs are a handful per cloud region


class _ReusedConnectors(ConnectorFactory):
    """A connector factory that hands out one client per (service URL, audience)."""

    def __init__(self, inner: ConnectorFactory, clients: "OrderedDict[Tuple[str, Optional[str]], ConnectorClient]") -> None:
        self._inner = inner
        self._clients = clients

    async def create(self, service_url: str, audience: Optional[str] = None) -> ConnectorClient:
        key = (service_url, audience)
        client = self._clients.get(key)
        if client is None:
            client = await self._inner.create(service_url, audience)
            self._clients[key] = client
            while len(self._clients) > MAX_REUSED_CLIENTS:
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(key)
        return client


class _ReusingAuthentication(BotFrameworkAuthentication):
    """The SDK's authentication, with its per-activity clients built once and reused."""

    def __init__(self, inner: BotFrameworkAuthentication) -> None:
        self.inner = inner
        self._connectors: "OrderedDict[Tuple[str, Optional[str]], ConnectorClient]" = OrderedDict()
        self._user_tokens: Dict[str, UserTokenClient] = {}

    def reusing(self, factory: Optional[ConnectorFactory]) -> Optional[ConnectorFactory]:
        return _ReusedConnectors(factory, self._connectors) if factory is not None else None

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        result = await self.inner.authenticate_request(activity, auth_header)
        result.connector_factory = self.reusing(result.connector_factory)
        return result

    async def authenticate_streaming_request(self, auth_header: str, channel_id_header: str) -> AuthenticateRequestResult:
        return await self.inner.authenticate_streaming_request(auth_header, channel_id_header)

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return self.reusing(self.inner.create_connector_factory(claims_identity))  # type: ignore[return-value]

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        claims: Dict[str, Any] = claims_identity.claims or {}
        app_id = str(claims.get("aud") or claims.get("appid") or "")
        client = self._user_tokens.get(app_id)
        if client is None:
            client = await self.inner.create_user_token_client(claims_identity)
            self._user_tokens[app_id] = client
        return client

    def create_bot_framework_client(self) -> Any:
        return self.inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return self.inner.get_originating_audience()

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self.inner.authenticate_channel_request(auth_header)


class TeamsAdapter(CloudAdapterBase):
    def __init__(self, authentication: BotFrameworkAuthentication) -> None:
        self._reusing = _ReusingAuthentication(authentication)
        super().__init__(self._reusing)
        # no on_turn_error: an exception reaches the endpoint, which answers 500 so Teams retries
        # (the delivery was claimed only if the turn got that far, and a retry is de-duplicated)

    async def process(self, authenticated: AuthenticateRequestResult, activity: Activity,
                      logic: Logic) -> Optional[InvokeResponse]:
        """Run one authenticated activity through the bot; the invoke response, or None."""
        if not isinstance(authenticated.connector_factory, _ReusedConnectors):
            authenticated.connector_factory = self._reusing.reusing(authenticated.connector_factory)
        return await self.process_activity(authenticated, activity, logic)
