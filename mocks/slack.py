"""A local stand-in for Slack, shared by the tests and the benchmarks, and requests signed as Slack signs them.

`MockSlack` serves the Web API, response_url endpoints and a Socket Mode server on 127.0.0.1
(reached through SLACK_API_URL). It records every call the bot makes, checks the bot token like
Slack does, rejects blocks that break Slack's limits (as Slack answers `invalid_blocks`), and
serves `conversations.history` / `conversations.replies` from the messages it accepted, with their
metadata, so a poster can look up whether a message landed. Faults are scripted per method and,
where it matters, per channel:

- `fail_next`: the next calls get another answer (429 with Retry-After, 5xx, an `ok: false`
  error, a text/plain body);
- `drop_next`: the connection drops after Slack accepted the post (it is recorded and visible in
  the history; the client sees a disconnect), or before (`accepted=False`);
- `delay`: a channel's posts land at once but are answered only after a delay (a slow Slack);
- `gone`: every post to a channel fails with `channel_not_found` (or another permanent error).

`MockWebApi` runs the same mock on its own event loop in a thread, for the benchmark: its main
loop is busy for seconds at a time (loading the model, timing turns), and Slack must answer the
server's `auth.test` meanwhile, as the real one would. It records when each message arrives on the
`time.perf_counter()` clock the load generator uses, so latency needs no clock synchronisation.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple, Union
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from mocks.texts import collect_texts
from mocks.threaded import ThreadedMock
from mocks.waiting import wait_until

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
TEAM_ID = "T0CARE"
BOT_USER = "UBOT"
BOT_ID = "BBOT"
ASKER = "UNURSE1"
CHANNEL = "CBENCH0001"  # the benchmark's one channel
METADATA_EVENT = "carebot_reply"  # bot.slack.blocks.METADATA_EVENT; not imported: the mock knows no carebot code


# ---- signing -----------------------------------------------------------------------------------


def new_signing_secret() -> str:
    return secrets.token_hex(16)


def sign(body: Union[bytes, str], secret: str, timestamp: Optional[int] = None) -> Dict[str, str]:
    """Slack's v0 scheme: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    raw = body.encode() if isinstance(body, str) else body
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def mention_body(text: str, ts: str, thread_ts: Optional[str], event_id: str, client_msg_id: str,
                 channel: str = CHANNEL, user: str = ASKER) -> Dict[str, Any]:
    """The Events API envelope of an app_mention, as Slack delivers it."""
    event: Dict[str, Any] = {
        "type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts, "channel": channel,
        "event_ts": ts, "client_msg_id": client_msg_id, "team": TEAM_ID,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return {
        "token": "legacy-verification-token", "team_id": TEAM_ID, "api_app_id": "A0CARE", "event": event,
        "type": "event_callback", "event_id": event_id, "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER, "is_bot": True,
                            "is_enterprise_install": False}],
    }


# ---- what the mock records ---------------------------------------------------------------------


@dataclass
class Call:
    method: str  # a Web API method, or "response_url"
    path: str
    data: Dict[str, Any]
    status: int
    answered: Any = field(default_factory=dict)  # the body Slack answered (a dict; a str for text/plain)
    at: float = field(default_factory=time.monotonic)
    arrived: float = field(default_factory=time.perf_counter)
    dropped: bool = False  # the connection was dropped instead of answering

    @property
    def ok(self) -> bool:
        """Slack accepted it (for chat.postMessage: the message is in the channel), whatever the
        client saw."""
        answered = self.answered if isinstance(self.answered, dict) else {}
        return self.status == 200 and answered.get("ok", True) is True and isinstance(self.answered, dict)

    @property
    def ts(self) -> Optional[str]:
        return self.answered.get("ts") if isinstance(self.answered, dict) else None

    def texts(self) -> List[str]:
        """Every text field in the message: `text` and all text inside blocks."""
        found = [str(self.data.get("text", ""))]
        collect_texts(self.data.get("blocks") or [], found)
        return found

    def metadata_payload(self) -> Dict[str, Any]:
        metadata = self.data.get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("event_payload"), dict):
            return metadata["event_payload"]
        return {}


@dataclass
class Post:
    """One chat.postMessage, as the benchmark scores it."""

    channel: str
    thread_ts: Optional[str]
    text: str
    at: float  # time.perf_counter() when the request arrived
    first_part: bool  # False for "(continued, part n of m)" messages of a long answer


@dataclass
class _Fault:
    status: int = 200
    body: Optional[Dict[str, Any]] = None
    retry_after: Optional[int] = None
    text: Optional[str] = None  # a text/plain body instead of JSON
    channel: Optional[str] = None  # only calls for this channel
    drop: bool = False  # drop the connection instead of answering
    accepted: bool = True  # with drop: whether Slack accepted the post first

    def matches(self, data: Dict[str, Any]) -> bool:
        return self.channel is None or data.get("channel") == self.channel


@dataclass
class _Delay:
    seconds: float
    remaining: Optional[int]  # None: every call


class MockSlack:
    def __init__(self, *, bot_token: str = BOT_TOKEN, app_token: str = APP_TOKEN,
                 on_post: Optional[Callable[[Call], None]] = None) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.calls: List[Call] = []
        self.counts: Dict[str, int] = {}  # calls per method, faults included
        self.rejected = 0  # calls refused for a wrong token
        self.socket_acks: List[Dict[str, Any]] = []
        self._faults: Dict[str, List[_Fault]] = {}
        self._delays: Dict[Tuple[str, Optional[str]], _Delay] = {}
        self._gone: Dict[str, str] = {}
        self._on_post = on_post
        self._ts = itertools.count(1)
        self._runner: Optional[web.AppRunner] = None
        self._sockets: List[web.WebSocketResponse] = []
        self._socket_ready: Optional[asyncio.Event] = None
        self._changed: Optional[asyncio.Event] = None
        self.url = ""

    # ---- lifecycle ------------------------------------------------------------------------------

    async def start(self, port: int = 0) -> "MockSlack":
        self._socket_ready = asyncio.Event()
        self._changed = asyncio.Event()
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{bound}"
        return self

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.url}/respond/{name}"

    # ---- scripting ------------------------------------------------------------------------------

    def fail_next(self, method: str, *, status: int = 429, retry_after: Optional[int] = 1,
                  body: Optional[Dict[str, Any]] = None, times: int = 1, channel: Optional[str] = None,
                  text: Optional[str] = None) -> None:
        """The next `times` calls to `method` (for `channel`, if given) get this answer instead of
        the normal one: `body` as JSON, or `text` as a text/plain body."""
        fault = _Fault(status=status, body=body, retry_after=retry_after if status == 429 else None,
                       text=text, channel=channel)
        self._faults.setdefault(method, []).extend([fault] * times)

    def rate_limit(self, channel: Optional[str], times: int, retry_after: int = 1,
                   method: str = "chat.postMessage") -> None:
        """Answer 429 with Retry-After to the next `times` posts (to `channel`)."""
        self.fail_next(method, status=429, retry_after=retry_after, times=times, channel=channel)

    def drop_next(self, method: str = "chat.postMessage", *, times: int = 1, channel: Optional[str] = None,
                  accepted: bool = True) -> None:
        """Drop the connection of the next `times` calls. With `accepted`, Slack took the post first:
        it is recorded, it is in the channel's history, and the client never hears so."""
        fault = _Fault(drop=True, accepted=accepted, channel=channel)
        self._faults.setdefault(method, []).extend([fault] * times)

    def delay(self, channel: Optional[str], seconds: float, *, times: Optional[int] = None,
              method: str = "chat.postMessage") -> None:
        """Answer posts to `channel` (every channel: None) only after `seconds`; each lands (is
        recorded, is in the history) when it arrives, as a slow Slack would."""
        self._delays[(method, channel)] = _Delay(seconds, times)

    def gone(self, channel: str, error: str = "channel_not_found") -> None:
        """Every post to `channel` fails with `error` from now on (a deleted or archived channel)."""
        self._gone[channel] = error

    def clear_faults(self) -> None:
        self._faults.clear()
        self._delays.clear()
        self._gone.clear()

    # ---- inspection -----------------------------------------------------------------------------

    def of(self, method: str, **match: Any) -> List[Call]:
        return [c for c in self.calls if c.method == method and all(c.data.get(k) == v for k, v in match.items())]

    def posts(self, **match: Any) -> List[Call]:
        """Messages Slack accepted through chat.postMessage (also those whose answer was dropped)."""
        return [c for c in self.of("chat.postMessage", **match) if c.ok]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 30.0, what: str = "calls") -> Any:
        """Poll until `predicate()` is truthy (woken by every recorded call); its value is returned."""
        return await wait_until(predicate, self._changed, timeout, what, lambda: [c.method for c in self.calls])

    async def wait_posts(self, count: int = 1, timeout: float = 30.0, **match: Any) -> List[Call]:
        def found() -> Optional[List[Call]]:
            posts = self.posts(**match)
            return posts if len(posts) >= count else None

        return await self.wait_for(found, timeout, what=f"{count} chat.postMessage {match}")

    async def wait_responses(self, name: str, count: int = 1, timeout: float = 30.0) -> List[Call]:
        def found() -> Optional[List[Call]]:
            calls = [c for c in self.calls if c.method == "response_url" and c.path.endswith("/" + name)]
            return calls if len(calls) >= count else None

        return await self.wait_for(found, timeout, what=f"{count} response_url posts to {name}")

    # ---- Socket Mode ----------------------------------------------------------------------------

    async def wait_socket(self, timeout: float = 10.0) -> None:
        assert self._socket_ready is not None, "start() the mock first"
        await asyncio.wait_for(self._socket_ready.wait(), timeout)

    async def push(self, envelope: Dict[str, Any]) -> None:
        """Send an envelope to the connected Socket Mode client, as Slack does."""
        await self.wait_socket()
        await self._sockets[-1].send_str(json.dumps(envelope))

    # ---- handlers -------------------------------------------------------------------------------

    def _next_fault(self, method: str, data: Dict[str, Any]) -> Optional[_Fault]:
        queue = self._faults.get(method)
        if not queue:
            return None
        for index, fault in enumerate(queue):
            if fault.matches(data):
                return queue.pop(index)
        return None

    def _delay_for(self, method: str, data: Dict[str, Any]) -> float:
        for key in ((method, data.get("channel")), (method, None)):
            delay = self._delays.get(key)
            if delay is None or (key[1] is not None and key[1] != data.get("channel")):
                continue
            if delay.remaining is not None:
                if delay.remaining <= 0:
                    continue
                delay.remaining -= 1
            return delay.seconds
        return 0.0

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        self.counts[method] = self.counts.get(method, 0) + 1
        data = await _read_body(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip() or str(data.get("token") or "")
        fault = self._next_fault(method, data)
        if fault is not None and fault.drop:
            if fault.accepted and token == self.bot_token and method == "chat.postMessage":
                self._record(method, request, data, 200, self._accept_post(data), dropped=True)
            else:
                self._record(method, request, data, 0, {}, dropped=True)
            return _drop(request)
        if fault is not None:
            if fault.text is not None:
                body: Any = fault.text
            else:
                body = fault.body or {"ok": False, "error": "ratelimited" if fault.status == 429 else "fatal_error"}
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return self._respond_with(method, request, data, fault.status, body, headers)
        if method == "apps.connections.open":
            if token != self.app_token:
                self.rejected += 1
                return self._respond_with(method, request, data, 200, {"ok": False, "error": "invalid_auth"})
            ws_url = self.url.replace("http://", "ws://") + "/socket"
            return self._respond_with(method, request, data, 200, {"ok": True, "url": ws_url})
        if token != self.bot_token:
            self.rejected += 1
            return self._respond_with(method, request, data, 200, {"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            body = {"ok": True, "url": "https://care.slack.com/", "team": "Care team", "user": "carebot",
                    "team_id": TEAM_ID, "user_id": BOT_USER, "bot_id": BOT_ID, "is_enterprise_install": False}
        elif method == "chat.postMessage":
            problem = _block_problem(data.get("blocks"))
            channel = data.get("channel")
            if problem or not channel:
                body = {"ok": False, "error": "invalid_blocks" if problem else "channel_not_found",
                        "errors": [problem] if problem else []}
            elif channel in self._gone:
                body = {"ok": False, "error": self._gone[channel]}
            else:
                body = self._accept_post(data)
                delay = self._delay_for(method, data)
                if delay:
                    call = self._record(method, request, data, 200, body)  # landed now, answered later
                    await asyncio.sleep(delay)
                    call.at = time.monotonic()
                    return web.json_response(body)
        elif method == "chat.postEphemeral":
            body = {"ok": True, "message_ts": self._new_ts()}
        elif method in ("conversations.history", "conversations.replies"):
            body = self._history(method, data)
        else:
            body = {"ok": True}
        return self._respond_with(method, request, data, 200, body)

    def _accept_post(self, data: Dict[str, Any]) -> Dict[str, Any]:
        ts = self._new_ts()
        return {"ok": True, "channel": data["channel"], "ts": ts,
                "message": {"ts": ts, "text": data.get("text"), "blocks": data.get("blocks")}}

    def _new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _history(self, method: str, data: Dict[str, Any]) -> Dict[str, Any]:
        """conversations.history (top-level messages, newest first) or .replies (one thread, oldest
        first), from the posts Slack accepted; metadata only with include_all_metadata."""
        channel = data.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self._gone:
            return {"ok": False, "error": self._gone[channel]}
        with_metadata = str(data.get("include_all_metadata", "")).lower() in ("1", "true")
        oldest = _float(data.get("oldest"), 0.0)
        latest = _float(data.get("latest"), float("inf"))
        posts = [c for c in self.posts(channel=channel) if oldest <= _float(c.ts, 0.0) <= latest]
        if method == "conversations.replies":
            root = data.get("ts")
            if not root:
                return {"ok": False, "error": "invalid_arguments"}
            posts = [c for c in posts if c.data.get("thread_ts") == root or c.ts == root]
            posts.sort(key=lambda c: _float(c.ts, 0.0))
        else:
            posts = [c for c in posts if not c.data.get("thread_ts")]
            posts.sort(key=lambda c: _float(c.ts, 0.0), reverse=True)
        limit = max(1, min(int(_float(data.get("limit"), 100)), 1000))
        start = int(_float(data.get("cursor"), 0))
        page = posts[start:start + limit]
        messages = []
        for call in page:
            message: Dict[str, Any] = {"type": "message", "ts": call.ts, "text": call.data.get("text", ""),
                                       "user": BOT_USER, "bot_id": BOT_ID}
            if call.data.get("thread_ts"):
                message["thread_ts"] = call.data["thread_ts"]
            if with_metadata and isinstance(call.data.get("metadata"), dict):
                message["metadata"] = call.data["metadata"]
            messages.append(message)
        more = start + limit < len(posts)
        return {"ok": True, "messages": messages, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        data = await _read_body(request)
        self.counts["response_url"] = self.counts.get("response_url", 0) + 1
        fault = self._next_fault("response_url", data)
        if fault is not None and fault.drop:
            self._record("response_url", request, data, 200 if fault.accepted else 0, {"ok": True}, dropped=True)
            return _drop(request)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            body: Any = fault.text if fault.text is not None else (fault.body or {"ok": False})
            return self._respond_with("response_url", request, data, fault.status, body, headers)
        problem = _block_problem(data.get("blocks"))
        if problem:
            return self._respond_with("response_url", request, data, 400, {"ok": False, "error": "invalid_blocks"})
        return self._respond_with("response_url", request, data, 200, {"ok": True})

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1,
                                      "connection_info": {"app_id": "A0CARE"}, "debug_info": {}}))
        assert self._socket_ready is not None and self._changed is not None
        self._socket_ready.set()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.socket_acks.append(json.loads(message.data))
                self._changed.set()
        return ws

    def _record(self, method: str, request: web.Request, data: Dict[str, Any], status: int,
                body: Any, dropped: bool = False) -> Call:
        call = Call(method=method, path=request.path, data=data, status=status, answered=body, dropped=dropped)
        self.calls.append(call)
        if self._on_post is not None and method == "chat.postMessage" and call.ok:
            self._on_post(call)
        if self._changed is not None:
            self._changed.set()
        return call

    def _respond_with(self, method: str, request: web.Request, data: Dict[str, Any], status: int,
                      body: Any, headers: Optional[Dict[str, str]] = None) -> web.StreamResponse:
        self._record(method, request, data, status, body)
        if isinstance(body, str):
            return web.Response(text=body, status=status, headers=headers or {}, content_type="text/plain")
        return web.json_response(body, status=status, headers=headers or {})


def _drop(request: web.Request) -> web.StreamResponse:
    """Close the connection without an answer: the client sees ServerDisconnectedError."""
    transport = request.transport
    if transport is not None:
        transport.abort() if hasattr(transport, "abort") else transport.close()
    raise asyncio.CancelledError()


class MockWebApi(ThreadedMock[MockSlack]):
    """`MockSlack` on its own event loop in a thread (the benchmark's), recording `Post`s."""

    def __init__(self) -> None:
        self.posts: List[Post] = []  # appended by the mock's thread, read by the benchmark's
        super().__init__(MockSlack(on_post=self._posted), "mock-slack-web-api", "the mock Slack Web API")

    @property
    def slack(self) -> MockSlack:
        return self.mock

    @property
    def calls(self) -> Dict[str, int]:
        return self.slack.counts

    @property
    def rejected(self) -> int:
        return self.slack.rejected

    @property
    def url(self) -> str:
        return self.slack.url

    @property
    def api_url(self) -> str:
        return self.slack.api_url

    def _posted(self, call: Call) -> None:
        text = str(call.data.get("text") or "")
        self.posts.append(Post(channel=str(call.data.get("channel")), thread_ts=call.data.get("thread_ts"),
                               text=text, at=call.arrived, first_part=not text.startswith("(continued, part ")))


# ---- helpers -----------------------------------------------------------------------------------


async def _read_body(request: web.Request) -> Dict[str, Any]:
    data: Dict[str, Any] = dict(request.query)
    raw = await request.text()
    if not raw:
        return data
    if request.content_type == "application/json":
        parsed = json.loads(raw)
        if isinstance(parsed, dict):
            data.update(parsed)
        return data
    data.update(parse_qsl(raw))
    for key in ("blocks", "attachments", "metadata"):
        if isinstance(data.get(key), str):
            try:
                data[key] = json.loads(data[key])
            except ValueError:
                pass
    return data


def _float(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _block_problem(blocks: Any) -> Optional[str]:
    """What Slack would reject in these blocks (the limits carebot must respect), or None."""
    if blocks is None:
        return None
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "more than 50 blocks"
    block_ids = set()
    for block in blocks:
        if "block_id" in block:
            if block["block_id"] in block_ids:
                return "duplicate block_id"
            block_ids.add(block["block_id"])
        kind = block.get("type")
        if kind == "section" and not 1 <= len(block["text"]["text"]) <= 3000:
            return "section text length"
        if kind == "header" and len(block["text"]["text"]) > 150:
            return "header too long"
        if kind == "context":
            if not 1 <= len(block["elements"]) <= 10:
                return "context elements"
            if any(len(e["text"]) > 3000 for e in block["elements"]):
                return "context text length"
        if kind == "actions":
            if not 1 <= len(block["elements"]) <= 25:
                return "actions elements"
            ids = [e["action_id"] for e in block["elements"]]
            if len(ids) != len(set(ids)):
                return "duplicate action_id"
            for element in block["elements"]:
                if len(element["text"]["text"]) > 75 or len(element.get("value", "")) > 2000:
                    return "button too long"
    return None


__all__ = [
    "APP_TOKEN", "ASKER", "BOT_ID", "BOT_TOKEN", "BOT_USER", "CHANNEL", "METADATA_EVENT", "TEAM_ID",
    "Call", "MockSlack", "MockWebApi", "Post", "mention_body", "new_signing_secret", "sign",
]
