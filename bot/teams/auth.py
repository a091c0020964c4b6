"""Who may talk to carebot: the Bot Connector's signed JWT on every request, checked fail-closed.

The SDK's `BotFrameworkAuthentication.authenticate_request` does the cryptography (RS256 against
the Connector's published keys, the `msteams` endorsement, issuer, audience = our app id, expiry,
and the `serviceurl` claim against the activity). Around it:

- Every failure is `Unauthorized`, which the endpoint answers with 401. Microsoft's own aiohttp
  adapter lets signature, expiry and endorsement errors escape as 500s; a forged request must
  not look like a server fault (and Teams retries 5xx).
- Cheap checks run first, before the SDK: the header is `Bearer <jwt>`, the token is RS256 with a
  key id and was issued by the Bot Connector. Tokens of any other issuer (emulator, skills) would
  take SDK paths carebot does not use, with metadata URLs it does not configure; they are
  refused outright. The activity must be a Teams one with a service URL, so the endorsement and
  the `serviceurl` claim are always checked (the SDK skips both when those fields are empty).
- The SDK refreshes the OpenID keys with a blocking `requests.get` (no timeout) inside an async
  call. `OpenIdKeys` replaces that cache entry: fetched at start-up and refreshed in an executor,
  kept when a refresh fails, and refetched (at most every few minutes) when a token names a key
  it has not seen, which the SDK's version never does (it raises IndexError instead).
"""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

import jwt
import requests
from botbuilder.schema import Activity, CallerIdConstants
from botframework.connector.auth import AuthenticationConfiguration, BotFrameworkAuthentication
from botframework.connector.auth.authenticate_request_result import AuthenticateRequestResult
from botframework.connector.auth.bot_framework_authentication_factory import BotFrameworkAuthenticationFactory
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor, _OpenIdConfig, _OpenIdMetadata
from jwt.algorithms import RSAAlgorithm

from bot.teams.credentials import CONNECTOR_SCOPE, TeamsCredentialFactory
from bot.teams.settings import TeamsSettings

log = logging.getLogger("carebot.teams")

CHANNEL_ISSUER = "https://api.botframework.com"
TEAMS_CHANNEL = "msteams"
EMULATOR_METADATA_URL = "https://login.microsoftonline.com/botframework.com/v2.0/.well-known/openid-configuration"
KEYS_MAX_AGE = timedelta(days=1)
UNKNOWN_KEY_REFETCH_AFTER = timedelta(minutes=5)
FETCH_TIMEOUT_SECONDS = 10.0


class Unauthorized(Exception):
    """Refused: answered 401. `reason` is a short code for logs, never token or message content."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OpenIdKeys(_OpenIdMetadata):
    """The Connector's signing keys for the SDK's token extractor, never fetched on the loop."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._attempted = datetime.min  # the last fetch, whether it worked or not
        self._parsed: Dict[str, _OpenIdConfig] = {}
        self._parsed_from: Optional[List[Dict[str, Any]]] = None
        self._lock: Optional[asyncio.Lock] = None
        self._lock_loop: Optional[asyncio.AbstractEventLoop] = None

    async def get(self, key_id: str) -> Optional[_OpenIdConfig]:  # the SDK's interface
        if self.last_updated < datetime.now() - KEYS_MAX_AGE:
            await self.refresh(force=False)
        key = self._find(key_id)
        if key is None:
            # keys rotate, and a new key id shows up in a token first; a forged token naming
            # random key ids costs at most one fetch every few minutes
            await self.refresh(force=False)
            key = self._find(key_id)
        return key

    async def refresh(self, force: bool = True) -> None:
        """Fetch metadata and keys in an executor. Unforced, it does nothing when a fetch was
        tried in the last few minutes, and a failure keeps the keys already known rather than
        refusing everyone (it is tried again later). Forced (start-up), a failure raises."""
        async with self._single_flight():
            if not force and self._attempted >= datetime.now() - UNKNOWN_KEY_REFETCH_AFTER:
                return
            self._attempted = datetime.now()
            try:
                keys = await asyncio.get_running_loop().run_in_executor(None, self._fetch)
            except Exception as exc:
                if force or not self.keys:
                    raise
                log.warning("openid keys not refreshed error=%s; keeping %d known keys",
                            type(exc).__name__, len(self.keys))
                return
            self.keys = keys
            self.last_updated = datetime.now()
            log.info("openid keys loaded count=%d", len(keys))

    async def _refresh(self) -> None:  # the SDK's name, in case anything calls it directly
        await self.refresh(force=False)

    def _fetch(self) -> List[Dict[str, Any]]:
        response = requests.get(self.url, timeout=FETCH_TIMEOUT_SECONDS)
        response.raise_for_status()
        keys_url = response.json()["jwks_uri"]
        response = requests.get(keys_url, timeout=FETCH_TIMEOUT_SECONDS)
        response.raise_for_status()
        keys = response.json()["keys"]
        if not isinstance(keys, list):
            raise ValueError("jwks without a key list")
        return keys

    def _find(self, key_id: str) -> Optional[_OpenIdConfig]:
        """The key named `key_id`, parsed once per refresh (not on every request, as the SDK does)."""
        keys = self.keys or []
        if self._parsed_from is not keys:
            self._parsed, self._parsed_from = {}, keys
        if key_id not in self._parsed:
            found = next((k for k in keys if isinstance(k, dict) and k.get("kid") == key_id), None)
            if found is None:
                return None
            self._parsed[key_id] = _OpenIdConfig(RSAAlgorithm.from_jwk(json.dumps(found)),
                                                 found.get("endorsements", []))
        return self._parsed[key_id]

    def _single_flight(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock


class TeamsAuth:
    """Inbound authentication for one bot registration."""

    def __init__(self, settings: TeamsSettings, credentials: TeamsCredentialFactory) -> None:
        self.app_id = settings.app_id
        self.credentials = credentials
        self.framework: BotFrameworkAuthentication = BotFrameworkAuthenticationFactory.create(
            validate_authority=not settings.custom_login,
            to_channel_from_bot_login_url=settings.login_authority,
            to_channel_from_bot_oauth_scope=CONNECTOR_SCOPE,
            to_bot_from_channel_token_issuer=CHANNEL_ISSUER,
            oauth_url=CONNECTOR_SCOPE,
            to_bot_from_channel_open_id_metadata_url=settings.openid_metadata_url,
            to_bot_from_emulator_open_id_metadata_url=EMULATOR_METADATA_URL,
            caller_id=CallerIdConstants.public_azure_channel,
            credential_factory=credentials,
            auth_configuration=AuthenticationConfiguration(),
        )
        self.keys = _install_keys(settings.openid_metadata_url)

    async def prepare(self) -> None:
        """Load the signing keys now, in an executor, so no request waits on (or blocks for) them."""
        await self.keys.refresh()

    async def authenticate(self, header: Optional[str], activity: Activity) -> AuthenticateRequestResult:
        """The SDK's result for a request the Connector signed, else Unauthorized."""
        _precheck(header, activity)
        try:
            result = await self.framework.authenticate_request(activity, header)
        except Exception as exc:  # signature, expiry, audience, serviceurl, endorsement, unknown key...
            raise Unauthorized(f"rejected:{type(exc).__name__}") from None
        identity = result.claims_identity if result is not None else None
        if identity is None or not identity.is_authenticated:
            raise Unauthorized("not_authenticated")
        return result


def _precheck(header: Optional[str], activity: Activity) -> None:
    if not header or not header.strip():
        raise Unauthorized("missing_header")
    scheme, _, token = header.strip().partition(" ")
    if scheme != "Bearer" or not token or " " in token.strip():
        raise Unauthorized("not_bearer")
    try:
        head = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except Exception:
        raise Unauthorized("malformed_token") from None
    if head.get("alg") != "RS256" or not head.get("kid"):
        raise Unauthorized("algorithm_or_key_id")
    if claims.get("iss") != CHANNEL_ISSUER:
        raise Unauthorized("issuer")
    if activity.channel_id != TEAMS_CHANNEL:
        raise Unauthorized("channel")
    if not activity.service_url:
        raise Unauthorized("no_service_url")


def _install_keys(url: str) -> OpenIdKeys:
    """Make the SDK's token extractor use `OpenIdKeys` for `url` (its cache is per process)."""
    current = JwtTokenExtractor.metadataCache.get(url)
    if isinstance(current, OpenIdKeys):
        return current
    keys = OpenIdKeys(url)
    JwtTokenExtractor.metadataCache[url] = keys
    return keys
