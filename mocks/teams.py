"""Local stand-ins for the Microsoft side of Teams, shared by the tests and the benchmarks.

Everything runs on 127.0.0.1 and is reached through carebot's own settings, so the real Teams
edge runs unchanged against it:

- `SigningKeys` + `mint_token`: the RSA key the "Bot Connector" signs inbound requests with, and
  RS256 JWTs as the Connector sends them (issuer https://api.botframework.com, audience the app id,
  the `serviceurl` claim). Tests mint forged ones too: a foreign key, a wrong audience, expired...
- `OpenIdServer` (TEAMS_OPENID_METADATA_URL): the OpenID metadata and the JWKS, each key endorsed
  for `msteams`. It serves from a thread of its own, because the SDK fetches it with a blocking
  `requests.get` and must be answered even if that ever happens on the caller's event loop.
- `TokenAuthority` (TEAMS_LOGIN_URL): an OAuth authority over TLS (MSAL accepts only https) with a
  self-signed certificate made here with `cryptography`; point REQUESTS_CA_BUNDLE at `ca_bundle`.
  It serves MSAL's tenant discovery and the client-credentials token endpoint, from a thread.
- `MockConnector`: the Bot Connector REST API (`/v3/conversations/.../activities`), recording
  every activity the bot posts, replies to or updates (messages, typing), checking the bearer
  token, and scripted to fail (429 with Retry-After, 412, 5xx). `ThreadedConnector` runs it on
  its own event loop in a thread, for a benchmark whose loop is busy for seconds at a time.
- `ChannelClient` and the `*_activity` builders: requests as the Connector sends them to
  `POST /api/messages`.
"""
from __future__ import annotations

import asyncio
import datetime
import http.server
import ipaddress
import itertools
import json
import ssl
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, unquote, urlparse

import aiohttp
import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

from mocks.texts import collect_texts
from mocks.threaded import ThreadedMock
from mocks.waiting import wait_until

APP_ID = "3f1c2b8e-6a4d-4e1f-9b7a-2c5d8e9f0a1b"
APP_PASSWORD = "mock-client-secret"
TENANT_ID = "0b9c5f6e-1d2a-4b3c-8e7f-6a5b4c3d2e1f"
OTHER_TENANT_ID = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
BOT_ID = f"28:{APP_ID}"
BOT_NAME = "carebot"
CHANNEL_ISSUER = "https://api.botframework.com"
TEAMS_CHANNEL = "msteams"


# ---- signing keys and tokens ---------------------------------------------------------------------


class SigningKeys:
    """An RSA key pair with a key id, as the Connector publishes it (JWK with endorsements)."""

    def __init__(self, kid: Optional[str] = None, endorsements: Tuple[str, ...] = (TEAMS_CHANNEL,)) -> None:
        self.kid = kid or f"mock-{uuid.uuid4().hex[:12]}"
        self.endorsements = list(endorsements)
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> Dict[str, Any]:
        key = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        key.update({"kid": self.kid, "use": "sig", "alg": "RS256", "endorsements": self.endorsements})
        return key


def mint_token(keys: SigningKeys, *, audience: str = APP_ID, service_url: Optional[str] = None,
               issuer: str = CHANNEL_ISSUER, lifetime: float = 3600.0, issued_at: Optional[float] = None,
               kid: Optional[str] = None, extra: Optional[Dict[str, Any]] = None) -> str:
    """An RS256 JWT shaped like the Bot Connector's: pass another key, audience, issuer or
    service URL (or a negative lifetime) to forge one that must be refused."""
    now = time.time() if issued_at is None else issued_at
    claims: Dict[str, Any] = {"iss": issuer, "aud": audience, "nbf": int(now) - 60, "iat": int(now),
                              "exp": int(now + lifetime)}
    if service_url is not None:
        claims["serviceurl"] = service_url
    claims.update(extra or {})
    return jwt.encode(claims, keys.private_key, algorithm="RS256", headers={"kid": kid or keys.kid})


# ---- servers in threads ----------------------------------------------------------------------------


class _ThreadedServer:
    """An http.server in a daemon thread; `handle(method, path, headers, body)` answers."""

    def __init__(self, name: str, tls: Optional[ssl.SSLContext] = None) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload = owner.handle(self.command, self.path, dict(self.headers), body)
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)
        self.lock = threading.Lock()

    def handle(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> Tuple[int, Any]:
        raise NotImplementedError

    def start(self) -> "_ThreadedServer":
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


class OpenIdServer(_ThreadedServer):
    """TEAMS_OPENID_METADATA_URL: the metadata document and the JWKS, from its own thread."""

    METADATA_PATH = "/v1/.well-known/openidconfiguration"

    def __init__(self, keys: List[SigningKeys]) -> None:
        super().__init__("mock-teams-openid")
        self.keys = list(keys)
        self.fetches = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metadata_url(self) -> str:
        return f"{self.url}{self.METADATA_PATH}"

    def handle(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> Tuple[int, Any]:
        with self.lock:
            self.fetches += 1
            if path == self.METADATA_PATH:
                return 200, {"issuer": CHANNEL_ISSUER, "authorization_endpoint": f"{self.url}/authorize",
                             "jwks_uri": f"{self.url}/keys", "id_token_signing_alg_values_supported": ["RS256"],
                             "token_endpoint_auth_methods_supported": ["private_key_jwt"]}
            if path == "/keys":
                return 200, {"keys": [key.jwk() for key in self.keys]}
        return 404, {"error": "not_found"}


def self_signed_certificate(directory: Path) -> Tuple[Path, Path]:
    """A certificate for 127.0.0.1 / localhost that is its own CA; returns (cert, key) PEM paths."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "carebot mock authority")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "authority-cert.pem", directory / "authority-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class TokenAuthority(_ThreadedServer):
    """TEAMS_LOGIN_URL over TLS: MSAL's tenant discovery and the client-credentials token grant.

    Tokens are JWTs signed by a key of its own (carebot reads their `exp` to cache them); the mock
    Connector accepts exactly the tokens this authority issued.
    """

    def __init__(self, directory: Optional[Path] = None, *, tenant: str = TENANT_ID, client_id: str = APP_ID,
                 client_secret: str = APP_PASSWORD, lifetime: float = 3600.0) -> None:
        self._tmp = None if directory is not None else tempfile.TemporaryDirectory(prefix="carebot-mock-authority-")
        self.directory = Path(directory or self._tmp.name)  # type: ignore[union-attr]
        self.ca_bundle, key_path = self_signed_certificate(self.directory)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_bundle, key_path)
        super().__init__("mock-teams-authority", tls=context)
        self.tenant, self.client_id, self.client_secret, self.lifetime = tenant, client_id, client_secret, lifetime
        self.keys = SigningKeys()
        self.issued: List[str] = []
        self.refused = 0
        self.discoveries = 0

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def login_url(self) -> str:
        return f"{self.url}/{self.tenant}"

    def valid(self, token: str) -> bool:
        with self.lock:
            return token in self.issued

    def handle(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> Tuple[int, Any]:
        route = urlparse(path).path
        prefix = f"/{self.tenant}"
        if method == "GET" and route == f"{prefix}/v2.0/.well-known/openid-configuration":
            with self.lock:
                self.discoveries += 1
            return 200, {
                "issuer": f"{self.url}/{self.tenant}/v2.0",
                "authorization_endpoint": f"{self.url}{prefix}/oauth2/v2.0/authorize",
                "token_endpoint": f"{self.url}{prefix}/oauth2/v2.0/token",
                "jwks_uri": f"{self.url}{prefix}/discovery/v2.0/keys",
                "response_types_supported": ["code", "token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "tenant_region_scope": "NA",
            }
        if method == "POST" and route == f"{prefix}/oauth2/v2.0/token":
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
            if (form.get("grant_type") != "client_credentials" or form.get("client_id") != self.client_id
                    or form.get("client_secret") != self.client_secret):
                with self.lock:
                    self.refused += 1
                return 401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret."}
            token = mint_token(self.keys, audience=CHANNEL_ISSUER, issuer=f"{self.url}/{self.tenant}/v2.0",
                               lifetime=self.lifetime, extra={"appid": self.client_id, "jti": uuid.uuid4().hex})
            with self.lock:
                self.issued.append(token)
            return 200, {"token_type": "Bearer", "expires_in": int(self.lifetime), "ext_expires_in": int(self.lifetime),
                         "access_token": token}
        return 404, {"error": "not_found"}

    def close(self) -> None:
        super().close()
        if self._tmp is not None:
            self._tmp.cleanup()


# ---- the Bot Connector -----------------------------------------------------------------------------


@dataclass
class Call:
    """One request the bot made to the Connector."""

    method: str  # POST or PUT
    conversation: str  # decoded, e.g. 19:x@thread.tacv2;messageid=1
    activity_id: Optional[str]  # POST: the activity replied to; PUT: the activity updated
    data: Dict[str, Any]
    status: int
    authorization: str = ""
    answered_id: Optional[str] = None
    at: float = field(default_factory=time.monotonic)
    arrived: float = field(default_factory=time.perf_counter)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def type(self) -> str:
        return str(self.data.get("type") or "")

    def card(self) -> Optional[Dict[str, Any]]:
        """The Adaptive Card this message carries, if any."""
        for attachment in self.data.get("attachments") or ():
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                return attachment.get("content")
        return None

    def texts(self) -> List[str]:
        """The message text and every text inside its card."""
        found = [str(self.data.get("text") or "")]
        collect_texts(self.card() or {}, found)
        return [text for text in found if text]


@dataclass
class _Fault:
    status: int
    retry_after: Optional[str]
    activity_type: str


class MockConnector:
    """The Bot Connector's REST API, on the caller's event loop (see ThreadedConnector)."""

    PREFIX = "/teams"  # serviceUrls carry a path (https://smba.trafficmanager.net/amer/)

    def __init__(self, *, accept_token: Optional[Callable[[str], bool]] = None,
                 on_post: Optional[Callable[[Call], None]] = None) -> None:
        self.calls: List[Call] = []
        self.accept_token = accept_token
        self.on_post = on_post
        self._faults: List[_Fault] = []
        self._ids = itertools.count(1_700_000_000_000)
        self._changed: Optional[asyncio.Event] = None
        self._runner: Optional[web.AppRunner] = None
        self.url = ""

    async def start(self, port: int = 0) -> "MockConnector":
        self._changed = asyncio.Event()
        app = web.Application()
        base = self.PREFIX + "/v3/conversations/{conversation}/activities"
        app.router.add_post(base, self._activity)
        app.router.add_post(base + "/{activity}", self._activity)
        app.router.add_put(base + "/{activity}", self._activity)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{bound}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def service_url(self) -> str:
        return f"{self.url}{self.PREFIX}/"

    # ---- scripting ------------------------------------------------------------------------------

    def fail_next(self, status: int = 429, *, retry_after: Optional[float] = 1, times: int = 1,
                  activity_type: str = "message") -> None:
        """The next `times` posts of `activity_type` get `status` (429 with Retry-After)."""
        header = None if retry_after is None or status != 429 else f"{retry_after:g}"
        self._faults.extend(_Fault(status, header, activity_type) for _ in range(times))

    # ---- inspection -----------------------------------------------------------------------------

    def of(self, conversation: Optional[str] = None, activity_type: Optional[str] = "message",
           method: Optional[str] = None) -> List[Call]:
        return [c for c in self.calls
                if (conversation is None or c.conversation == conversation)
                and (activity_type is None or c.type == activity_type)
                and (method is None or c.method == method)]

    def posts(self, conversation: Optional[str] = None) -> List[Call]:
        """Messages accepted (POST, 2xx)."""
        return [c for c in self.of(conversation, "message", "POST") if c.ok]

    def typing(self, conversation: Optional[str] = None) -> List[Call]:
        return [c for c in self.of(conversation, "typing", "POST") if c.ok]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 30.0, what: str = "calls") -> Any:
        """Poll until `predicate()` is truthy (woken by every recorded call); its value is returned."""
        return await wait_until(predicate, self._changed, timeout, what, lambda: [(c.method, c.type, c.status) for c in self.calls])

    async def wait_posts(self, count: int = 1, conversation: Optional[str] = None, timeout: float = 30.0) -> List[Call]:
        def found() -> Optional[List[Call]]:
            posts = self.posts(conversation)
            return posts if len(posts) >= count else None

        return await self.wait_for(found, timeout, what=f"{count} messages in {conversation or 'any conversation'}")

    # ---- the API ----------------------------------------------------------------------------------

    async def _activity(self, request: web.Request) -> web.StreamResponse:
        conversation = unquote(request.match_info["conversation"])
        activity_id = request.match_info.get("activity")
        authorization = request.headers.get("Authorization", "")
        try:
            data = await request.json()
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        token = authorization[len("Bearer "):] if authorization.startswith("Bearer ") else ""
        status, headers, answer = 201 if request.method == "POST" else 200, {}, {}
        if self.accept_token is not None and not self.accept_token(token):
            status, answer = 401, {"error": {"code": "Unauthorized", "message": "Authorization has been denied."}}
        else:
            fault = next((f for f in self._faults if f.activity_type == data.get("type")), None)
            if fault is not None:
                self._faults.remove(fault)
                status = fault.status
                answer = {"error": {"code": "Throttled" if status == 429 else "ServiceError", "message": "scripted"}}
                if fault.retry_after is not None:
                    headers["Retry-After"] = fault.retry_after
            elif request.method == "PUT":
                answer = {"id": activity_id}
            else:
                answer = {"id": str(next(self._ids))}
        call = Call(request.method, conversation, activity_id, data, status, authorization,
                    answer.get("id") if 200 <= status < 300 else None)
        self.calls.append(call)
        if self._changed is not None:
            self._changed.set()
        if call.ok and call.method == "POST" and call.type == "message" and self.on_post is not None:
            self.on_post(call)
        return web.json_response(answer, status=status, headers=headers)


class ThreadedConnector(ThreadedMock[MockConnector]):
    """`MockConnector` on its own event loop in a thread (the benchmark's)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(MockConnector(**kwargs), "mock-teams-connector", "the mock Bot Connector")

    @property
    def connector(self) -> MockConnector:
        return self.mock

    @property
    def service_url(self) -> str:
        return self.connector.service_url


# ---- everything Microsoft, together ------------------------------------------------------------------


class TeamsCloud:
    """The signing keys, the OpenID server and the token authority, started together; `settings()`
    gives the TEAMS_* values that point carebot at them. Set REQUESTS_CA_BUNDLE to `ca_bundle`
    (process-wide: `requests` reads it per request) before carebot fetches a token."""

    def __init__(self) -> None:
        self.keys = SigningKeys()
        self.openid = OpenIdServer([self.keys])
        self.authority = TokenAuthority()

    def start(self) -> "TeamsCloud":
        self.openid.start()
        self.authority.start()
        return self

    def close(self) -> None:
        self.openid.close()
        self.authority.close()

    @property
    def ca_bundle(self) -> str:
        return str(self.authority.ca_bundle)

    def settings(self) -> Dict[str, str]:
        """Keyword arguments for `bot.teams.settings.TeamsSettings` (or, upper-cased with the
        TEAMS_ prefix, environment variables)."""
        return {"app_id": APP_ID, "app_password": APP_PASSWORD, "tenant_id": TENANT_ID,
                "openid_metadata_url": self.openid.metadata_url, "login_url": self.authority.login_url}

    def environment(self) -> Dict[str, str]:
        return {f"TEAMS_{key.upper()}": value for key, value in self.settings().items()} | {
            "REQUESTS_CA_BUNDLE": self.ca_bundle}

    def token(self, service_url: str, **kwargs: Any) -> str:
        return mint_token(self.keys, service_url=service_url, **kwargs)


# ---- activities as the Connector sends them ---------------------------------------------------------


def new_id(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:16]


def personal_conversation(user: str = "29:nurse") -> Dict[str, Any]:
    return {"id": f"a:{new_id()}", "conversationType": "personal", "tenantId": TENANT_ID}


def channel_conversation(root: Optional[str] = None, channel: Optional[str] = None) -> Dict[str, Any]:
    """A channel thread: the channel id with `;messageid=<root post id>`."""
    channel = channel or f"19:{new_id()}@thread.tacv2"
    return {"id": f"{channel};messageid={root or new_message_id()}", "conversationType": "channel",
            "isGroup": True, "tenantId": TENANT_ID}


def new_message_id() -> str:
    return str(int(time.time() * 1000) * 1000 + uuid.uuid4().int % 1000)


def _base(activity_type: str, conversation: Dict[str, Any], service_url: str, *, activity_id: Optional[str] = None,
          user: str = "29:nurse", user_aad: str = "aad-nurse", tenant: str = TENANT_ID) -> Dict[str, Any]:
    return {
        "type": activity_type,
        "id": activity_id or new_message_id(),
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "channelId": TEAMS_CHANNEL,
        "serviceUrl": service_url,
        "from": {"id": user, "name": "A nurse", "aadObjectId": user_aad},
        "recipient": {"id": BOT_ID, "name": BOT_NAME},
        "conversation": dict(conversation),
        "channelData": {"tenant": {"id": tenant}},
        "locale": "en-GB",
    }


def message_activity(text: str, conversation: Dict[str, Any], service_url: str, *, mention: bool = False,
                     **kwargs: Any) -> Dict[str, Any]:
    """A user's message; with `mention`, addressed as `<at>carebot</at> text`, as in channels."""
    activity = _base("message", conversation, service_url, **kwargs)
    activity["textFormat"] = "plain"
    activity["entities"] = [{"type": "clientInfo", "locale": "en-GB", "platform": "Web"}]
    if mention:
        activity["text"] = f"<at>{BOT_NAME}</at> {text}"
        activity["entities"].append({"type": "mention", "text": f"<at>{BOT_NAME}</at>",
                                     "mentioned": {"id": BOT_ID, "name": BOT_NAME}})
    else:
        activity["text"] = text
    if conversation.get("conversationType") == "channel":
        channel_id = conversation["id"].split(";")[0]
        activity["channelData"].update({"teamsChannelId": channel_id, "channel": {"id": channel_id},
                                        "team": {"id": channel_id}})
    return activity


def installed_activity(conversation: Dict[str, Any], service_url: str, *, bot_added: bool = True,
                       **kwargs: Any) -> Dict[str, Any]:
    """conversationUpdate: carebot (or, with bot_added=False, a person) added."""
    activity = _base("conversationUpdate", conversation, service_url, **kwargs)
    member = {"id": BOT_ID} if bot_added else {"id": "29:newcomer", "aadObjectId": "aad-newcomer"}
    activity["membersAdded"] = [member]
    activity["channelData"]["eventType"] = "teamMemberAdded" if conversation.get("conversationType") == "channel" else None
    return activity


def card_action_activity(verb: str, data: Dict[str, Any], conversation: Dict[str, Any], service_url: str, *,
                         reply_to: Optional[str] = None, **kwargs: Any) -> Dict[str, Any]:
    """The invoke Teams sends when an Action.Execute button is clicked."""
    activity = _base("invoke", conversation, service_url, **kwargs)
    activity["name"] = "adaptiveCard/action"
    activity["value"] = {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"}
    if reply_to:
        activity["replyToId"] = reply_to
    return activity


class ChannelClient:
    """Sends activities to carebot's POST /api/messages as the Connector does (a bearer JWT)."""

    def __init__(self, bot_url: str, cloud: TeamsCloud) -> None:
        self.url = bot_url.rstrip("/") + "/api/messages"
        self.cloud = cloud
        self._session: Optional[aiohttp.ClientSession] = None
        self._tokens: Dict[str, Tuple[str, float]] = {}  # per serviceUrl: minting costs an RSA signature

    async def send(self, activity: Dict[str, Any], *, token: Optional[str] = "",
                   headers: Optional[Dict[str, str]] = None) -> Tuple[int, Any, float]:
        """POST `activity`. token "" (default) mints a valid one for its serviceUrl; None sends no
        Authorization header. Returns (status, parsed body or text, seconds)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        sent_headers = dict(headers or {})
        if token == "":
            token = self._token_for(str(activity.get("serviceUrl", "")))
        if token is not None:
            sent_headers["Authorization"] = f"Bearer {token}"
        started = time.monotonic()
        async with self._session.post(self.url, json=activity, headers=sent_headers) as response:
            text = await response.text()
            elapsed = time.monotonic() - started
            try:
                body: Any = json.loads(text) if text else None
            except ValueError:
                body = text
            return response.status, body, elapsed

    def _token_for(self, service_url: str) -> str:
        cached = self._tokens.get(service_url)
        if cached is None or cached[1] < time.time() + 60:
            cached = (self.cloud.token(service_url, lifetime=3600), time.time() + 3600)
            self._tokens[service_url] = cached
        return cached[0]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
