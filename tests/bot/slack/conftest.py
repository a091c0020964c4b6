"""Fixtures: the real engine (once per session), a mock Slack, and the bot served over loopback.

The engine is the real dialogue engine (NLU model and knowledge base); only Slack is simulated.
Loading it takes seconds (TensorFlow), so it is shared by every test in the session, with its
SQLite state in a temporary directory. Each test gets its own mock Slack and its own bot server
on an ephemeral port, and uses fresh channel ids, so tests do not see each other's conversations.
"""
from __future__ import annotations

import warnings
from typing import Any, AsyncIterator

import pytest_asyncio

from dialogues.settings import CoreSettings

from .harness import Bot, start_bot, stop_bot
from .mock_slack import MockSlack


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine(tmp_path_factory: Any) -> AsyncIterator[Any]:
    with warnings.catch_warnings(record=True):
        # TensorFlow, jax and Rasa warn about their own dependencies on import; not ours to fix
        warnings.simplefilter("ignore")
        from dialogues.engine import Engine

        state = tmp_path_factory.mktemp("slack-state") / "state.db"
        core = await Engine.create(CoreSettings(state_path=state), say=lambda _: None)
    yield core
    await core.close()


@pytest_asyncio.fixture(loop_scope="session")
async def slack() -> AsyncIterator[MockSlack]:
    mock = await MockSlack().start()
    yield mock
    await mock.close()


@pytest_asyncio.fixture(loop_scope="session")
async def bot(engine: Any, slack: MockSlack) -> AsyncIterator[Bot]:
    running = await start_bot(engine, slack)
    yield running
    await stop_bot(running)
