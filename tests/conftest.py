"""Shared fixtures: the real model, trained at most once per session and loaded once.

`make test` trains first (a no-op when the fingerprint matches the model in models/), so these
fixtures normally only load it. Engines are cheap once the parser is loaded: each test gets its
own state store, so tests never share conversations.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Awaitable, Callable, Optional

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from bot.logs import configure_logging  # noqa: E402

configure_logging()

# a real redis-server for the Redis store's tests (started on first use, stopped at the end)
pytest_plugins = ["tests.redis_server"]


@pytest.fixture(scope="session")
def model_path() -> Path:
    from dialogues.settings import CoreSettings
    from nlu.model import ensure_model

    return ensure_model(CoreSettings().models_dir)


@pytest.fixture(scope="session")
def parser(model_path: Path):
    from nlu.parser import Parser

    return Parser.load(model_path)


EngineFactory = Callable[..., Awaitable["object"]]


@pytest.fixture
def make_engine(parser, tmp_path: Path) -> Callable[..., "object"]:
    """Build an Engine on the shared parser with its own store (SQLite file in tmp_path by default)."""
    from dialogues.engine import Engine
    from dialogues.settings import CoreSettings
    from dialogues.store import SQLiteStore
    from knowledge import default_knowledge

    def build(store_path: Optional[Path] = None, **settings) -> Engine:
        config = CoreSettings(state_path=store_path or tmp_path / "state.db", **settings)
        store = SQLiteStore(config.state_path, ttl_seconds=config.conversation_ttl_days * 86400)
        return Engine(parser, default_knowledge(), store, config)

    return build


@pytest.fixture
def engine(make_engine):
    return make_engine()


@pytest.fixture(autouse=True)
def _standard_loop_policy() -> None:
    """Loading Rasa imports Sanic, which sets uvloop's loop policy as a side effect; that policy has
    no child watcher, so tests that start server processes (replicas, crash recovery) would get
    NotImplementedError from create_subprocess_exec. The session's loop is a standard one; give it
    the standard policy back before every test."""
    from tests.bot.edge.processes import standard_loop_policy

    standard_loop_policy()
