"""Every conversation under tests/conversations/, replayed through the real core.

One pytest test per conversation, named after it, so a failure names the conversation (and its
message says which turn, what was expected and what carebot replied). The same files are what
`carebot replay tests/conversations` runs. The core loads once per test session.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator, List

import pytest
import pytest_asyncio

from bot.replay.engine import close_shared_engine, shared_engine
from bot.replay.report import failure_details
from bot.replay.runner import ReplayCase, cases_from_file, run_case
from bot.replay.schema import ReplayFileError, discover, load_replay_file
from knowledge import load_knowledge

CONVERSATIONS = Path(__file__).parent / "conversations"


def _collect() -> List[Any]:
    """A param per conversation; an invalid file is a failing param naming the file, not a
    collection error that would hide every other conversation."""
    known_ids = [s.id for s in load_knowledge().statements]
    params: List[Any] = []
    for path in discover([CONVERSATIONS]):
        try:
            loaded = load_replay_file(path, known_ids)
        except ReplayFileError as exc:
            params.append(pytest.param(exc, id=f"{path.name} is invalid"))
            continue
        params.extend(pytest.param(case, id=case.name) for case in cases_from_file(loaded))
    return params


CASES = _collect()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def replay_engine(parser: Any) -> AsyncIterator[Any]:
    """The core on the session's NLU parser (tests/conftest.py), with an in-memory store."""
    engine = await shared_engine(parser)
    yield engine
    await close_shared_engine()


def test_the_suite_is_big_enough() -> None:
    """The issue asks for at least 40 conversations; a lost file must not shrink the suite silently."""
    assert sum(1 for p in CASES if isinstance(p.values[0], ReplayCase)) >= 40


@pytest.mark.parametrize("case", CASES)
async def test_conversation(case: Any, replay_engine: Any) -> None:
    if isinstance(case, ReplayFileError):
        pytest.fail(str(case), pytrace=False)
    result = await run_case(replay_engine, case)
    if not result.passed:
        pytest.fail(failure_details(result), pytrace=False)
