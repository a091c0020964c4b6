"""A delivery taken over after a crash is answered once: not again when the process that died had
already posted its answer (found by the delivery key in the message's metadata), and answered
when it had not."""
from __future__ import annotations

from typing import Any

from bot.slack.blocks import render_notice
from bot.slack.conversations import InChannel, route_of
from dialogues.store import Pending

from .harness import Bot
from .mock_slack import TEAM_ID
from .slack_requests import new_id, new_ts


async def _left_unanswered(engine: Any, channel: str, root: str, key: str) -> None:
    """What a process that died leaves: a claim in progress whose lease has run out."""
    pending = Pending("slack", f"slack:{TEAM_ID}:{channel}:{root}", route_of(InChannel(channel, root)),
                      "lanreotide dose?", "UNURSE1", key, (key,))
    assert await engine.store.claim((key,), pending, lease_seconds=0.0)


async def test_an_answer_the_dead_process_had_posted_is_not_posted_again(bot: Bot, engine: Any) -> None:
    channel, root, key = new_id("C"), new_ts(), f"slack:event:{new_id('Ev')}"
    await _left_unanswered(engine, channel, root, key)
    # it had posted the answer (with its delivery key) and died before marking it answered
    await bot.service.responder.outbound.poster.post_all(InChannel(channel, root), [render_notice("answer")], key)
    assert await bot.service.responder.recover() >= 1
    await bot.service.responder.wait_idle()
    assert len(bot.posts_in(channel)) == 1
    assert await engine.store.recover("slack", lease_seconds=0.0) == []  # done, not taken over again


async def test_an_answer_the_dead_process_had_not_posted_is_posted_once(bot: Bot, engine: Any) -> None:
    channel, root, key = new_id("C"), new_ts(), f"slack:event:{new_id('Ev')}"
    await _left_unanswered(engine, channel, root, key)
    assert await bot.service.responder.recover() >= 1
    await bot.service.responder.wait_idle()
    [answer] = bot.posts_in(channel)
    assert "120 mg" in " ".join(answer.texts())
