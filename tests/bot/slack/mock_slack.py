"""A local stand-in for Slack: the Web API, response_url endpoints and a Socket Mode server.

It runs on 127.0.0.1 (reached through SLACK_API_URL), records every call the bot makes, checks the
bot token like Slack does, rejects blocks that break Slack's limits (as Slack answers
`invalid_blocks`), and can be told to fail the next call to a method (429 with Retry-After, 5xx,
or an `ok: false` error) to exercise retries and apologies.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
TEAM_ID = "T0CARE"
BOT_USER = "UBOT"
BOT_ID = "BBOT"


@dataclass
class Call:
    method: str  # a Web API method, or "response_url"
    path: str
    data: Dict[str, Any]
    status: int
    answered: Dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.answered.get("ok", True) is True

    def texts(self) -> List[str]:
        """Every text field in the message: `text` and all text inside blocks."""
        found = [str(self.data.get("text", ""))]
        _collect_texts(self.data.get("blocks") or [], found)
        return found


@dataclass
class _Fault:
    status: int = 200
    body: Optional[Dict[str, Any]] = None
    retry_after: Optional[int] = None


class MockSlack:
    def __init__(self) -> None:
        self.calls: List[Call] = []
        self.socket_acks: List[Dict[str, Any]] = []
        self._faults: Dict[str, List[_Fault]] = {}
        self._ts = itertools.count(1)
        self._runner: Optional[web.AppRunner] = None
        self._sockets: List[web.WebSocketResponse] = []
        self._socket_ready = asyncio.Event()
        self._changed = asyncio.Event()
        self.url = ""

    # ---- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> "MockSlack":
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
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
                  body: Optional[Dict[str, Any]] = None, times: int = 1) -> None:
        """The next `times` calls to `method` get this answer instead of the normal one."""
        fault = _Fault(status=status, body=body, retry_after=retry_after if status == 429 else None)
        self._faults.setdefault(method, []).extend([fault] * times)

    # ---- inspection -----------------------------------------------------------------------------

    def of(self, method: str, **match: Any) -> List[Call]:
        return [c for c in self.calls if c.method == method and all(c.data.get(k) == v for k, v in match.items())]

    def posts(self, **match: Any) -> List[Call]:
        """Messages Slack accepted through chat.postMessage."""
        return [c for c in self.of("chat.postMessage", **match) if c.ok]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 30.0, what: str = "calls") -> Any:
        """Poll until `predicate()` is truthy (woken by every recorded call); its value is returned."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what}; calls: {[c.method for c in self.calls]}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 0.5))
            except asyncio.TimeoutError:
                pass

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
        await asyncio.wait_for(self._socket_ready.wait(), timeout)

    async def push(self, envelope: Dict[str, Any]) -> None:
        """Send an envelope to the connected Socket Mode client, as Slack does."""
        await self.wait_socket()
        await self._sockets[-1].send_str(json.dumps(envelope))

    # ---- handlers -------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        data = await _read_body(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        fault = self._faults.get(method, [None]).pop(0) if self._faults.get(method) else None
        if fault is not None:
            body = fault.body or {"ok": False, "error": "ratelimited" if fault.status == 429 else "fatal_error"}
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return self._record(method, request, data, fault.status, body, headers)
        if method == "apps.connections.open":
            if token != APP_TOKEN:
                return self._record(method, request, data, 200, {"ok": False, "error": "invalid_auth"})
            ws_url = self.url.replace("http://", "ws://") + "/socket"
            return self._record(method, request, data, 200, {"ok": True, "url": ws_url})
        if token != BOT_TOKEN:
            return self._record(method, request, data, 200, {"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            body = {"ok": True, "url": "https://care.slack.com/", "team": "Care team", "user": "carebot",
                    "team_id": TEAM_ID, "user_id": BOT_USER, "bot_id": BOT_ID, "is_enterprise_install": False}
        elif method == "chat.postMessage":
            problem = _block_problem(data.get("blocks"))
            if problem or not data.get("channel"):
                body = {"ok": False, "error": "invalid_blocks" if problem else "channel_not_found",
                        "errors": [problem] if problem else []}
            else:
                ts = f"{int(time.time())}.{next(self._ts):06d}"
                body = {"ok": True, "channel": data["channel"], "ts": ts,
                        "message": {"ts": ts, "text": data.get("text"), "blocks": data.get("blocks")}}
        elif method == "chat.postEphemeral":
            body = {"ok": True, "message_ts": f"{int(time.time())}.{next(self._ts):06d}"}
        else:
            body = {"ok": True}
        return self._record(method, request, data, 200, body)

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        data = await _read_body(request)
        fault = self._faults.get("response_url", [None]).pop(0) if self._faults.get("response_url") else None
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return self._record("response_url", request, data, fault.status, fault.body or {"ok": False}, headers)
        problem = _block_problem(data.get("blocks"))
        if problem:
            return self._record("response_url", request, data, 400, {"ok": False, "error": "invalid_blocks"})
        return self._record("response_url", request, data, 200, {"ok": True})

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1,
                                      "connection_info": {"app_id": "A0CARE"}, "debug_info": {}}))
        self._socket_ready.set()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.socket_acks.append(json.loads(message.data))
                self._changed.set()
        return ws

    def _record(self, method: str, request: web.Request, data: Dict[str, Any], status: int,
                body: Dict[str, Any], headers: Optional[Dict[str, str]] = None) -> web.StreamResponse:
        self.calls.append(Call(method=method, path=request.path, data=data, status=status, answered=body))
        self._changed.set()
        return web.json_response(body, status=status, headers=headers or {})


async def _read_body(request: web.Request) -> Dict[str, Any]:
    raw = await request.text()
    if not raw:
        return {}
    if request.content_type == "application/json":
        return json.loads(raw)
    data: Dict[str, Any] = dict(parse_qsl(raw))
    for key in ("blocks", "attachments"):
        if isinstance(data.get(key), str):
            data[key] = json.loads(data[key])
    return data


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


def _collect_texts(node: Any, found: List[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                found.append(value)
            else:
                _collect_texts(value, found)
    elif isinstance(node, list):
        for item in node:
            _collect_texts(item, found)
