"""The bot's own identity toward the Bot Connector: one MSAL app, tokens fetched off the event loop.

Two gaps in botframework-connector 4.17.1 are closed here:

- It does not forward `validate_authority` to MSAL, so for any authority host other than
  login.microsoftonline.com MSAL first asks login.microsoftonline.com for "instance discovery".
  With `TEAMS_LOGIN_URL` set (a sovereign or private cloud, or a local mock) that call would leak
  to, or fail against, the public cloud. `TeamsCredentialFactory` therefore builds the MSAL app
  itself, with `authority=TEAMS_LOGIN_URL, validate_authority=False`, and hands it to every
  credentials object it creates (`credentials.app`).
- It builds a fresh MSAL app (with an empty token cache) for every credentials object, i.e. for
  every inbound activity; sharing one app shares its token cache.

MSAL is synchronous (`requests`): building the app does tenant discovery over the network and a
token request is a network call, so both run in an executor, never on the event loop.
TLS trust for the authority comes from `REQUESTS_CA_BUNDLE`, which `requests` honours itself.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Optional, Tuple

import jwt
from botframework.connector.auth import (
    AuthenticationConstants,
    MicrosoftAppCredentials,
    PasswordServiceClientCredentialFactory,
)
from msal import ConfidentialClientApplication
from msrest.authentication import Authentication

from bot.teams.settings import TeamsSettings

log = logging.getLogger("carebot.teams")

CONNECTOR_SCOPE = AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE  # https://api.botframework.com
TOKEN_EARLY_REFRESH_SECONDS = 300.0  # use a token until 5 minutes before it expires
TOKEN_UNKNOWN_EXPIRY_SECONDS = 60.0  # an opaque token (no readable exp) is asked for again soon


class CredentialsError(Exception):
    """The authority refused the app id / secret, or could not be reached. `reason` is a code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TeamsCredentialFactory(PasswordServiceClientCredentialFactory):
    """The SDK's password credential factory, with one MSAL app built the way carebot needs."""

    def __init__(self, app_id: str, password: str, tenant_id: str, authority: str, validate_authority: bool) -> None:
        super().__init__(app_id, password, tenant_id)
        self.authority = authority
        self.validate_authority = validate_authority
        self._app: Optional[ConfidentialClientApplication] = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: TeamsSettings) -> "TeamsCredentialFactory":
        assert settings.app_id and settings.tenant_id  # checked by load_settings
        return cls(settings.app_id, settings.password(), settings.tenant_id,
                   settings.login_authority, validate_authority=not settings.custom_login)

    async def is_authentication_disabled(self) -> bool:
        # The SDK treats an empty app id as "authentication disabled" and then accepts requests
        # without a token. carebot never runs that way: fail closed.
        return False

    def msal_app(self) -> ConfidentialClientApplication:
        """The shared MSAL app. Blocking the first time (tenant discovery): call in an executor."""
        with self._lock:
            if self._app is None:
                self._app = ConfidentialClientApplication(
                    client_id=self.app_id,
                    client_credential=self.password,
                    authority=self.authority,
                    validate_authority=self.validate_authority,
                )
            return self._app

    async def create_credentials(self, app_id: str, oauth_scope: str, login_endpoint: str,
                                 validate_authority: bool) -> Authentication:
        credentials = await super().create_credentials(app_id, oauth_scope, login_endpoint, validate_authority)
        if isinstance(credentials, MicrosoftAppCredentials) and self._app is not None:
            credentials.app = self._app  # the SDK builds its own only when this is unset
        return credentials


class TokenSource:
    """Bearer tokens for calls to the Bot Connector, cached until shortly before they expire."""

    def __init__(self, factory: TeamsCredentialFactory, clock=time.monotonic) -> None:
        self.factory = factory
        self._clock = clock
        self._cached: Optional[Tuple[str, float]] = None
        self._lock: Optional[asyncio.Lock] = None
        self._lock_loop: Optional[asyncio.AbstractEventLoop] = None

    async def prepare(self) -> None:
        """Build the MSAL app and fetch a first token: proves the app id, secret and tenant
        before any message is taken. Raises CredentialsError."""
        await self.token()

    def forget(self) -> None:
        """Drop the cached token (the Connector said 401: ask again next time)."""
        self._cached = None

    async def token(self) -> str:
        cached = self._cached
        if cached is not None and cached[1] > self._clock():
            return cached[0]
        async with self._single_flight():
            cached = self._cached
            if cached is not None and cached[1] > self._clock():
                return cached[0]
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(None, self.factory.msal_app)
            except ValueError:
                # MSAL's tenant discovery said no: an unknown tenant, or not an authority
                raise CredentialsError("authority_refused") from None
            except Exception as exc:
                raise CredentialsError(f"token_unavailable:{type(exc).__name__}") from None
            try:
                credentials = await self.factory.create_credentials(
                    self.factory.app_id, CONNECTOR_SCOPE, self.factory.authority, self.factory.validate_authority)
                token = await loop.run_in_executor(None, credentials.get_access_token)  # type: ignore[attr-defined]
            except PermissionError:
                # MSAL answered with an error (invalid_client, unauthorized_client...): the message
                # may quote the request, so only the class of failure is kept
                raise CredentialsError("token_refused") from None
            except Exception as exc:
                raise CredentialsError(f"token_unavailable:{type(exc).__name__}") from None
            self._cached = (token, self._clock() + _lifetime(token))
            return token

    def _single_flight(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock


def _lifetime(token: str) -> float:
    """Seconds this token may still be used: until 5 minutes before its `exp` (read, not
    verified: it is our own token, fresh from the authority)."""
    try:
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except Exception:
        exp = None
    if not isinstance(exp, (int, float)):
        return TOKEN_UNKNOWN_EXPIRY_SECONDS
    return max(0.0, float(exp) - time.time() - TOKEN_EARLY_REFRESH_SECONDS)
