"""Fixtures for testing the replay machinery: a fast stand-in core, the real core (loaded once per
session and shared with tests/test_conversations.py), and a way to run `carebot replay`."""
from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any, AsyncIterator, Callable, List, Tuple

import pytest
import pytest_asyncio

from bot.replay.engine import close_shared_engine, shared_engine
from bot.replay_commands import add_parser, run_replay

from .fakes import FakeEngine

Replay = Callable[..., Any]


@pytest.fixture
def fake_engine() -> FakeEngine:
    return FakeEngine()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def real_engine(parser: Any) -> AsyncIterator[Any]:
    """The core on the session's NLU parser (tests/conftest.py), shared with test_conversations."""
    engine = await shared_engine(parser)
    yield engine
    await close_shared_engine()


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="carebot")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["replay", *argv])


async def replay_with(engine: Any, *argv: str) -> Tuple[int, str, str]:
    """`carebot replay ARGV` through the given core: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = await run_replay(parse_args(list(argv)), engine=engine, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write
