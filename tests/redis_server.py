"""A real redis-server for the tests (pytest plugin: `pytest_plugins = ["tests.redis_server"]`).

The Redis store is tested against Redis itself, not a fake: its guarantees live in Lua scripts,
key expiry and reconnection, which only the real server has. One server per session, on a free
loopback port, without persistence; each test gets a database of its own (`redis_url`), flushed
before and after. A missing redis-server fails the tests rather than skipping them, so a green run
always means the Redis store was tested.
"""
from __future__ import annotations

import atexit
import itertools
import shutil
from typing import Iterator

import pytest

from mocks.redis_server import DATABASES, RedisServer, start_redis


def _serve(tls: bool) -> Iterator[RedisServer]:
    try:
        server = start_redis(tls=tls)
    except FileNotFoundError as exc:
        pytest.fail(str(exc), pytrace=False)
    atexit.register(server.stop)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server for the whole session; killed at its end (and if pytest itself dies)."""
    yield from _serve(tls=False)


@pytest.fixture(scope="session")
def redis_tls_server() -> Iterator[RedisServer]:
    """The same, listening for rediss:// only; its `url` carries the CA file to trust."""
    yield from _serve(tls=True)


_databases = itertools.cycle(range(1, DATABASES))


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """A URL of a database of this test's own, empty at the start and flushed at the end. A test
    that stopped the server gets it started again afterwards."""
    db = next(_databases)
    redis_server.start()
    redis_server.flush(db)
    yield redis_server.url_for(db)
    redis_server.start()
    redis_server.flush(db)
