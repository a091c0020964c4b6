"""Idle and slow connections cannot exhaust the server (issue 15, item 1).

carebot's real Slack service (`echo_server.py`: the HTTP server, Bolt, the responder and the
poster of `carebot serve slack --http`, on a core that needs no model, so it starts in a second)
runs in a process of its own with an open-file limit of 1024 (common on hosts and containers)
against the mock Slack. 1,000 silent connections and 200 that send half their
headers are held open (and reopened when the server closes them) while real signed events keep
arriving: every event must still be acknowledged and answered, the process must stay under its
limit, half-sent headers must be cut after the header timeout, and the log must not be flooded.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, AsyncIterator, List, Optional, Tuple

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.servers import ServerProcess, start_server
from mocks.slack import BOT_TOKEN, MockSlack, new_signing_secret, sign
from tests.bot.edge.processes import standard_loop_policy
from tests.bot.slack.slack_requests import event_body, message, new_id

resource = pytest.importorskip("resource")

NOFILE = 1024
SILENT, HALF_HEADERS = 1000, 200
HEADER_TIMEOUT = 3.0
HELPER = Path(__file__).with_name("nofile_limit.py")
SERVER = Path(__file__).with_name("echo_server.py")
HALF_REQUEST = b"POST /slack/events HTTP/1.1\r\nHost: carebot\r\nContent-Type: appl"


def _raise_own_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"this test holds {needed} connections; the open-file limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed if hard == resource.RLIM_INFINITY else min(hard, needed), hard))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server(tmp_path_factory: Any) -> AsyncIterator[Tuple[ServerProcess, MockSlack, str]]:
    _raise_own_limit(4096)
    standard_loop_policy()
    workdir = tmp_path_factory.mktemp("http-limits")
    slack = await MockSlack().start()
    secret = new_signing_secret()
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": secret, "SLACK_API_URL": slack.api_url,
           "CAREBOT_STATE_PATH": str(workdir / "state.db"), "CAREBOT_HTTP_HEADER_TIMEOUT": str(HEADER_TIMEOUT)}
    command = [sys.executable, str(HELPER), str(NOFILE), "--", sys.executable, str(SERVER)]
    process = await start_server("slack", workdir, env, command=command)
    try:
        await process.ready(timeout=120)
        yield process, slack, secret
    finally:
        await process.stop()
        await slack.close()


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def log_lines(process: ServerProcess) -> List[str]:
    return process.log_path.read_text(errors="replace").splitlines()


async def connect(port: int, first_bytes: bytes = b"") -> Optional[Tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
    except (OSError, asyncio.TimeoutError):
        return None
    if first_bytes:
        writer.write(first_bytes)
    return reader, writer


async def closed_by_server(reader: asyncio.StreamReader, timeout: float) -> bool:
    """True once the server closed the connection (or answered on it): the read returned."""
    try:
        await asyncio.wait_for(reader.read(1024), timeout)
        return True
    except asyncio.TimeoutError:
        return False
    except (ConnectionError, OSError):
        return True


async def ask(session: aiohttp.ClientSession, url: str, secret: str, channel: str) -> Tuple[int, float]:
    body = json.dumps(event_body(message("what is the lanreotide dose?", channel))).encode()
    headers = {"Content-Type": "application/json", **sign(body, secret)}
    started = time.monotonic()
    try:
        async with session.post(url + "/slack/events", data=body, headers=headers,
                                timeout=aiohttp.ClientTimeout(total=3)) as response:
            return response.status, time.monotonic() - started
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return 0, time.monotonic() - started


async def test_the_server_runs_under_the_open_file_limit(server: Any) -> None:
    process, _, _ = server
    limits = Path(f"/proc/{process.pid}/limits").read_text()
    line = next(l for l in limits.splitlines() if l.startswith("Max open files"))
    assert line.split()[3] == str(NOFILE)


async def test_half_sent_headers_are_cut_after_the_header_timeout(server: Any) -> None:
    process, _, _ = server
    port = int(process.url.rsplit(":", 1)[1])
    started = time.monotonic()
    held = [c for c in await asyncio.gather(*(connect(port, HALF_REQUEST if i % 2 else b"") for i in range(20))) if c]
    assert len(held) == 20
    cut = await asyncio.gather(*(closed_by_server(reader, HEADER_TIMEOUT + 5) for reader, _ in held))
    elapsed = time.monotonic() - started
    for _, writer in held:
        writer.close()
    assert all(cut)
    assert HEADER_TIMEOUT - 0.5 <= elapsed <= HEADER_TIMEOUT + 5


async def test_1200_idle_connections_do_not_stop_real_events(server: Any) -> None:
    process, slack, secret = server
    port = int(process.url.rsplit(":", 1)[1])
    lines_before = len(log_lines(process))
    holding = True
    reopened = 0
    peak_files = open_files(process.pid)

    async def hold(first_bytes: bytes) -> None:
        """One attacker slot: keep a connection open, reopening it a second after the server closes it."""
        nonlocal reopened
        while holding:
            connection = await connect(port, first_bytes)
            if connection is None:
                await asyncio.sleep(1.0)
                continue
            reader, writer = connection
            while holding and not await closed_by_server(reader, 0.5):
                pass
            writer.close()
            if holding:
                reopened += 1
                await asyncio.sleep(1.0)

    async def watch_files() -> None:
        nonlocal peak_files
        while holding:
            peak_files = max(peak_files, open_files(process.pid))
            await asyncio.sleep(0.1)

    attackers = [asyncio.ensure_future(hold(b"")) for _ in range(SILENT)]
    attackers += [asyncio.ensure_future(hold(HALF_REQUEST)) for _ in range(HALF_HEADERS)]
    watcher = asyncio.ensure_future(watch_files())
    channels: List[str] = []
    acks: List[Tuple[int, float]] = []
    try:
        await asyncio.sleep(1.0)  # the flood is in place
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            for _ in range(8):
                channel = new_id("D")
                channels.append(channel)
                acks.append(await ask(session, process.url, secret, channel))
                await asyncio.sleep(0.5)
            await asyncio.sleep(HEADER_TIMEOUT)  # the flood outlives a header timeout
            async with session.get(process.url + "/metrics") as response:
                assert response.status == 200
                page = await response.text()
    finally:
        holding = False
        await asyncio.gather(*attackers, watcher, return_exceptions=True)

    assert [status for status, _ in acks] == [200] * 8, acks
    assert max(seconds for _, seconds in acks) < 3.0
    for channel in channels:
        await slack.wait_posts(channel=channel, timeout=15)
    assert peak_files < NOFILE - 64, peak_files  # room to spare for the store and for posting
    assert reopened > 0  # the server closed idle connections (evicted, or timed out)
    gauges = [s.value for f in text_string_to_metric_families(page) for s in f.samples
              if s.name == "carebot_open_connections"]
    assert gauges and 1 <= gauges[0] < NOFILE
    new_lines = log_lines(process)[lines_before:]
    assert len(new_lines) < 50, new_lines[:10]
    assert not [line for line in new_lines if "Traceback" in line]
