"""Answering, after the acknowledgement: core turn -> Block Kit -> Slack, in background tasks.

Slack wants a 200 within 3 seconds and the model may take longer on a cold start, so listeners
only translate and claim a delivery, then hand a `Question` here and return. Answers in one
conversation run one at a time in arrival order (a follow-up must see the state the previous turn
saved); different conversations run concurrently, up to a bound. When an answer cannot be given
or posted, the user gets a short apology rather than silence.

Logs carry delivery ids, conversation ids, counts, timings and error names, never message text.
"""
from __future__ import annotations

import asyncio
import logging
import time
import traceback
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import AsyncIterator, Awaitable, Dict, Optional, Protocol, Set

from bot.render.blocks import render_notice, render_reply
from bot.slack.conversations import Destination, Place, ViaResponseUrl
from bot.slack.deliver import DeliveryError, Poster
from bot.slack.share import ShareCache, SharedAnswer
from dialogues.store import StateStore
from dialogues.types import Reply, Turn

log = logging.getLogger("carebot.slack")

APOLOGY = "Sorry, I could not answer that just now. Please try again in a minute."
MAX_CONCURRENT_ANSWERS = 8


class Core(Protocol):
    """What the Slack edge needs from the dialogue engine (dialogues.engine.Engine)."""

    store: StateStore

    async def handle(self, turn: Turn) -> Reply: ...


@dataclass(frozen=True)
class Question:
    place: Place
    text: str
    user: Optional[str]
    ref: str  # the delivery it came from (event id, trigger id), for logs
    asked: Optional[str] = None  # shown above the answer when the asker's message is not visible
    private: bool = False  # a slash-command answer: offer to share it in the channel


class Responder:
    def __init__(
        self,
        core: Core,
        poster: Poster,
        shares: Optional[ShareCache] = None,
        *,
        max_concurrent: int = MAX_CONCURRENT_ANSWERS,
    ) -> None:
        self.core = core
        self.poster = poster
        self.shares = shares or ShareCache()
        self._slots = asyncio.Semaphore(max_concurrent)
        self._locks: Dict[str, asyncio.Lock] = {}
        self._waiting: Dict[str, int] = {}
        self._tasks: Set["asyncio.Task[None]"] = set()
        self._closing = False

    # ---- intake (called from listeners; never blocks on the model or the network) -------------

    def ask(self, question: Question) -> None:
        self._spawn(self._answer(question))

    def notify(self, destination: Destination, text: str, ref: str) -> None:
        """Post one short message of carebot's own (refusal, thanks, expiry)."""
        self._spawn(self._notice(destination, text, ref))

    def share(self, token: str, user: str, destination: ViaResponseUrl, ref: str) -> None:
        self._spawn(self._share(token, user, destination, ref))

    # ---- lifecycle --------------------------------------------------------------------------------

    @property
    def busy(self) -> int:
        return len(self._tasks)

    async def wait_idle(self, timeout: float = 30.0) -> None:
        """Until every accepted question has been answered (tests, and a graceful stop)."""
        deadline = time.monotonic() + timeout
        while self._tasks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise asyncio.TimeoutError(f"{len(self._tasks)} answers still running")
            await asyncio.wait(set(self._tasks), timeout=remaining)

    async def close(self, timeout: float = 20.0) -> None:
        """Stop taking work, let answers in flight finish, cancel what is left after `timeout`."""
        self._closing = True
        try:
            await self.wait_idle(timeout)
        except asyncio.TimeoutError:
            log.warning("stopping with %d answers unfinished", len(self._tasks))
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # ---- work -------------------------------------------------------------------------------------

    def _spawn(self, work: Awaitable[None]) -> None:
        if self._closing:
            log.warning("shutting down; a delivery was dropped")
            work.close()  # type: ignore[attr-defined]
            return
        task = asyncio.ensure_future(work)
        self._tasks.add(task)  # a strong reference: the loop keeps only weak ones
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, question: Question) -> None:
        conversation_id = question.place.conversation_id
        async with self._conversation(conversation_id), self._slots:
            started = time.perf_counter()
            try:
                reply = await self.core.handle(
                    Turn(text=question.text, conversation_id=conversation_id, user=question.user)
                )
            except Exception as exc:  # the core promises not to raise; if it does, say sorry
                log.error("answer failed ref=%s conversation=%s stage=core error=%s",
                          question.ref, conversation_id, _name(exc))
                await self._apologise(question.place.destination, question.ref)
                return
            thought = time.perf_counter()
            try:
                share_value = None
                if question.private and question.user and reply.statements:
                    share_value = self.shares.put(
                        SharedAnswer(conversation_id, reply, question.asked or question.text,
                                     question.user, question.place.channel)
                    )
                messages = render_reply(reply, conversation_id, asked=question.asked, share_value=share_value)
                await self.poster.post_all(question.place.destination, messages)
            except DeliveryError as exc:
                log.error("answer not delivered ref=%s conversation=%s error=%s",
                          question.ref, conversation_id, exc.reason)
                await self._apologise(question.place.destination, question.ref)
                return
            except Exception as exc:
                log.error("answer failed ref=%s conversation=%s stage=render error=%s",
                          question.ref, conversation_id, _name(exc))
                await self._apologise(question.place.destination, question.ref)
                return
            log.info(
                "answered ref=%s conversation=%s kind=%s statements=%s parts=%d core_ms=%d post_ms=%d",
                question.ref, conversation_id, reply.kind.value, ",".join(reply.statement_ids) or "-",
                len(messages), (thought - started) * 1000, (time.perf_counter() - thought) * 1000,
            )

    async def _share(self, token: str, user: str, destination: ViaResponseUrl, ref: str) -> None:
        answer = self.shares.take(token)
        if answer is None or answer.user != user:
            if answer is not None:
                self.shares.restore(token, answer)
            await self._notice(destination, "That answer is no longer available to share. "
                               "Run /carebot again to get a fresh one.", ref)
            return
        messages = render_reply(answer.reply, answer.conversation_id, asked=answer.asked,
                                shared_by=user, suggestions=False)
        try:
            await self.poster.post_all(replace(destination, in_channel=True), messages)
        except DeliveryError as exc:
            self.shares.restore(token, answer)
            log.error("share not delivered ref=%s error=%s", ref, exc.reason)
            await self._apologise(destination, ref)
            return
        log.info("shared ref=%s conversation=%s", ref, answer.conversation_id)

    async def _notice(self, destination: Destination, text: str, ref: str) -> None:
        try:
            await self.poster.post(destination, render_notice(text))
        except DeliveryError as exc:
            log.error("notice not delivered ref=%s error=%s", ref, exc.reason)

    async def _apologise(self, destination: Destination, ref: str) -> None:
        try:
            await self.poster.post(destination, render_notice(APOLOGY))
        except DeliveryError as exc:
            log.error("apology not delivered ref=%s error=%s", ref, exc.reason)

    @asynccontextmanager
    async def _conversation(self, conversation_id: str) -> AsyncIterator[None]:
        """One answer at a time per conversation, FIFO (asyncio.Lock is fair)."""
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        self._waiting[conversation_id] = self._waiting.get(conversation_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[conversation_id] -= 1
            if not self._waiting[conversation_id]:
                del self._waiting[conversation_id]
                del self._locks[conversation_id]


def _name(exc: BaseException) -> str:
    """The exception's type and where it was raised; not its message, which may quote input."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"
