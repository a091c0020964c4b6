"""Answering, after the acknowledgement, for every chat platform: claim -> turn -> post -> answered.

A platform's listener translates a payload into an `Incoming` and calls `take`, which claims the
delivery (so a retry, at this replica or another, is not answered twice) and answers it in a
background task, so the platform gets its acknowledgement within its deadline. Then:

- Turns of one conversation run one at a time, in arrival order, with the reply posted before the
  next turn starts (`store.ordered`, which spans replicas when the store does): a follow-up must
  see the state the previous turn saved, and replies must read in order.
- Turns are computed under a concurrency limit (the model is CPU-bound); posting happens outside
  it, so a slow or throttled channel holds only its own conversation, never another's. The
  responder tells the core's CPU gate how many answers it has accepted, so that when they queue
  the loop gets to acknowledge new deliveries between two turns (dialogues/cpu_gate.py).
- The claim's lease is renewed while the answer is worked on; once the reply is posted the delivery
  is marked answered and its stored text deleted. A claim whose holder died is found by `recover`
  (at start-up and every few seconds after) and answered, or apologised for when its text is gone.
- When an answer cannot be given or posted, the user gets a short apology rather than silence;
  when a post may have landed but the platform did not say, neither a second copy nor an apology.

Logs carry delivery refs, conversation ids, counts, timings and error names, never message text.
"""
from __future__ import annotations

import asyncio
import logging
import time
import traceback
from typing import Awaitable, Optional, Set

from bot.edge import messages
from bot.edge.metrics import EdgeMetrics
from bot.edge.types import Core, DeliveryError, Incoming, Outbound, ReplyContext, Route
from dialogues.store import CLAIM_LEASE_SECONDS, Claim, DeliveryStore, Pending, StoreUnavailable
from dialogues.types import Reply, Turn

log = logging.getLogger("carebot.edge")

MAX_CONCURRENT_ANSWERS = 8
WORKING_AFTER_SECONDS = 1.0  # show "typing" when a turn takes longer than this


class Responder:
    def __init__(
        self,
        core: Core,
        outbound: Outbound,
        *,
        deliveries: Optional[DeliveryStore] = None,
        metrics: Optional[EdgeMetrics] = None,
        max_concurrent: int = MAX_CONCURRENT_ANSWERS,
        lease_seconds: Optional[float] = None,
        working_after: float = WORKING_AFTER_SECONDS,
    ) -> None:
        self.core = core
        self.outbound = outbound
        self.platform = outbound.platform
        self.deliveries: DeliveryStore = deliveries or core.store
        self.metrics = metrics or EdgeMetrics(outbound.platform)
        # the core's setting (CAREBOT_CLAIM_LEASE_SECONDS) unless given
        settings = getattr(core, "settings", None)
        self.lease = float(lease_seconds or getattr(settings, "claim_lease_seconds", CLAIM_LEASE_SECONDS))
        self.working_after = working_after
        self._slots = asyncio.Semaphore(max_concurrent)
        self._tasks: Set["asyncio.Task[None]"] = set()
        self._answers = 0  # accepted (claimed or recovered) and not yet finished
        gate = getattr(core, "cpu", None)  # an engine's CpuGate; test doubles may have none
        self._unwatch = gate.watch_backlog(lambda: self._answers) if gate is not None else None
        self._recovery: Optional["asyncio.Task[None]"] = None
        self._closing = False

    # ---- intake (called from listeners; never waits on the model or the network) ---------------

    async def take(self, incoming: Incoming) -> bool:
        """Claim and answer in the background. False when it is a duplicate (or the store is down,
        in which case the user is told and nothing was written)."""
        if self._closing:
            log.warning("shutting down; delivery %s left to a retry", incoming.ref)
            return False
        pending = Pending(self.platform, incoming.conversation_id, dict(incoming.route), incoming.text,
                          incoming.user, incoming.ref, tuple(incoming.keys))
        try:
            claim = await self.deliveries.claim(incoming.keys, pending, self.lease)
        except StoreUnavailable:
            log.error("claim failed ref=%s error=StoreUnavailable", incoming.ref)
            self.metrics.failure("store")
            self.notify(incoming.route, messages.UNAVAILABLE, incoming.ref)
            return False
        if claim is None:
            self.metrics.deduplicated.inc()
            log.info("duplicate delivery ref=%s", incoming.ref)
            return False
        self._spawn_answer(claim, incoming)
        return True

    def background(self, work: Awaitable[None]) -> None:
        """Run a platform's own follow-up (a share, a menu) as an answer task: awaited on close."""
        self._spawn(work)

    def notify(self, route: Route, text: str, ref: str) -> None:
        """Post one short line of carebot's own (refusal, thanks, expiry)."""
        self._spawn(self._notice(route, text, ref))

    async def once(self, key: str) -> bool:
        """True the first time `key` is seen (a refusal said once per channel per day)."""
        try:
            return await self.deliveries.mark_once(key)
        except StoreUnavailable:
            return False

    # ---- lifecycle --------------------------------------------------------------------------------

    @property
    def busy(self) -> int:
        return len(self._tasks)

    @property
    def answers_in_flight(self) -> int:
        """Deliveries accepted (claimed or recovered) whose answer has not finished."""
        return self._answers

    def start_recovery(self, every: Optional[float] = None) -> None:
        """Answer deliveries another holder claimed and never finished: now, then every `every` s."""
        if self._recovery is None:
            self._recovery = asyncio.ensure_future(self._recover_forever(every or self.lease / 2))

    async def recover(self) -> int:
        """One sweep: take over expired claims of this platform and answer them. Returns how many."""
        try:
            claims = await self.deliveries.recover(self.platform, self.lease)
        except StoreUnavailable:
            return 0
        for claim in claims:
            pending = claim.pending
            if pending is None:
                continue
            self.metrics.recovered.inc()
            log.warning("answering a delivery left unanswered ref=%s conversation=%s",
                        pending.ref, pending.conversation_id)
            if pending.text is None:
                self._spawn(self._late_apology(claim, pending))
                continue
            incoming = Incoming(self.platform, claim.keys, pending.conversation_id, pending.text,
                                pending.user, dict(pending.route), pending.ref, recovered=True)
            self._spawn_answer(claim, incoming)
        return len(claims)

    async def wait_idle(self, timeout: float = 30.0) -> None:
        """Until every accepted question has been answered (tests, and a graceful stop)."""
        deadline = time.monotonic() + timeout
        while self._tasks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise asyncio.TimeoutError(f"{len(self._tasks)} answers still running")
            await asyncio.wait(set(self._tasks), timeout=remaining)

    async def close(self, timeout: float = 20.0) -> None:
        """Stop taking work, let answers in flight finish, cancel what is left after `timeout`
        (their claims are released, so the next process to start answers them)."""
        self._closing = True
        if self._recovery is not None:
            self._recovery.cancel()
            await asyncio.gather(self._recovery, return_exceptions=True)
        try:
            await self.wait_idle(timeout)
        except asyncio.TimeoutError:
            log.warning("stopping with %d answers unfinished", len(self._tasks))
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None

    # ---- work -------------------------------------------------------------------------------------

    def _spawn(self, work: Awaitable[None]) -> "asyncio.Future[None]":
        task = asyncio.ensure_future(work)
        self._tasks.add(task)  # a strong reference: the loop keeps only weak ones
        task.add_done_callback(self._tasks.discard)
        return task

    def _spawn_answer(self, claim: Claim, incoming: Incoming) -> None:
        """Count the answer as accepted now, in the iteration that accepted it, not when its task
        first runs: a burst is accepted in one iteration and its turns all start in the next."""
        self._answers += 1
        self._spawn(self._answer(claim, incoming)).add_done_callback(self._answer_finished)

    def _answer_finished(self, _task: "asyncio.Task[None]") -> None:
        self._answers -= 1  # a callback, so an answer cancelled before it started counts too

    async def _recover_forever(self, every: float) -> None:
        while True:
            try:
                await self.recover()
            except Exception as exc:  # a sweep that fails is tried again; it must not stop the loop
                log.error("recovery sweep failed error=%s", _name(exc))
            await asyncio.sleep(every)

    async def _answer(self, claim: Claim, incoming: Incoming) -> None:
        started = time.perf_counter()
        self.metrics.in_progress.inc()
        heartbeat = asyncio.ensure_future(self._keep_lease(claim))
        conversation_id = incoming.conversation_id
        done = False
        try:
            async with self.core.store.ordered(conversation_id):
                reply = await self._think(incoming)
                thought = time.perf_counter()
                if reply is None:
                    await self._notice(incoming.route, messages.APOLOGY, incoming.ref)
                else:
                    await self._post(incoming, claim, reply)
            done = True
            if reply is not None:
                log.info(
                    "answered ref=%s conversation=%s kind=%s statements=%s core_ms=%d post_ms=%d",
                    incoming.ref, conversation_id, reply.kind.value, ",".join(reply.statement_ids) or "-",
                    (thought - started) * 1000, (time.perf_counter() - thought) * 1000,
                )
        except StoreUnavailable:
            log.error("answer failed ref=%s conversation=%s error=StoreUnavailable", incoming.ref, conversation_id)
            self.metrics.failure("store")
            await self._notice(incoming.route, messages.UNAVAILABLE, incoming.ref)
            # the user was told to ask again: once the store is back, the delivery is done, so no
            # replica answers it late on top of that line
            self._spawn(self._answered_when_back(claim))
        except asyncio.CancelledError:
            await asyncio.shield(self._release(claim))
            raise
        finally:
            heartbeat.cancel()
            self.metrics.in_progress.dec()
        if done:
            self.metrics.reply_seconds.observe(time.perf_counter() - started)
            await self._answered(claim)

    async def _think(self, incoming: Incoming) -> Optional[Reply]:
        """The turn, under the concurrency limit; None when the core failed (it promises not to)."""
        async with self._slots:
            working = asyncio.get_running_loop().call_later(
                self.working_after, lambda: self._spawn(self._working(incoming.route)))
            try:
                return await self.core.handle_ordered(Turn(
                    text=incoming.text, conversation_id=incoming.conversation_id,
                    user=incoming.user, platform=self.platform,
                ))
            except StoreUnavailable:
                raise
            except Exception as exc:
                log.error("answer failed ref=%s conversation=%s stage=core error=%s",
                          incoming.ref, incoming.conversation_id, _name(exc))
                self.metrics.failure("core")
                return None
            finally:
                working.cancel()

    async def _post(self, incoming: Incoming, claim: Claim, reply: Reply) -> None:
        """Post the reply; on failure, apologise unless the post may have landed."""
        context = ReplyContext(conversation_id=incoming.conversation_id, delivery_key=claim.keys[0],
                               user=incoming.user, asked=incoming.asked, private=incoming.private,
                               recovered=incoming.recovered)
        try:
            await self.outbound.send_reply(incoming.route, reply, context)
        except DeliveryError as exc:
            self.metrics.failure("post")
            if exc.landed is None or exc.landed:
                # it may be (or is) in the channel already: a second copy or an apology would
                # contradict what the user sees
                log.error("answer delivery unknown ref=%s conversation=%s error=%s; not re-posted",
                          incoming.ref, incoming.conversation_id, exc.reason)
                return
            log.error("answer not delivered ref=%s conversation=%s error=%s",
                      incoming.ref, incoming.conversation_id, exc.reason)
            if not exc.permanent:
                await self._notice(incoming.route, messages.APOLOGY, incoming.ref)
            return
        except Exception as exc:
            self.metrics.failure("render")
            log.error("answer failed ref=%s conversation=%s stage=render error=%s",
                      incoming.ref, incoming.conversation_id, _name(exc))
            await self._notice(incoming.route, messages.APOLOGY, incoming.ref)
            return
        self.metrics.answered.inc()

    async def _late_apology(self, claim: Claim, pending: Pending) -> None:
        await self._notice(pending.route, messages.LATE_APOLOGY, pending.ref)
        await self._answered(claim)

    async def _notice(self, route: Route, text: str, ref: str) -> None:
        try:
            await self.outbound.send_notice(route, text)
        except DeliveryError as exc:
            # logged once, with the reason code only (never the platform's response body)
            log.error("notice not delivered ref=%s error=%s", ref, exc.reason)
        except Exception as exc:
            log.error("notice failed ref=%s error=%s", ref, _name(exc))

    async def _working(self, route: Route) -> None:
        try:
            await self.outbound.working(route)
        except Exception as exc:  # a typing indicator is a courtesy; its failure changes nothing
            log.debug("working indicator failed error=%s", _name(exc))

    async def _keep_lease(self, claim: Claim) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                if not await self.deliveries.renew(claim, self.lease):
                    log.warning("claim lost while answering key=%s", claim.keys[0].split(":", 1)[0])
                    return
            except StoreUnavailable:
                continue

    async def _answered(self, claim: Claim) -> None:
        try:
            await self.deliveries.answered(claim)
        except StoreUnavailable:
            # the reply is out; the claim will look unfinished and be retried after its lease,
            # which is the duplicate window the note describes
            log.error("answered mark failed error=StoreUnavailable")

    async def _answered_when_back(self, claim: Claim, every: float = 1.0) -> None:
        deadline = time.monotonic() + max(300.0, self.lease * 10)
        while time.monotonic() < deadline and not self._closing:
            try:
                await self.deliveries.answered(claim)
                return
            except StoreUnavailable:
                await asyncio.sleep(every)

    async def _release(self, claim: Claim) -> None:
        try:
            await self.deliveries.release(claim)
        except Exception:
            pass


def _name(exc: BaseException) -> str:
    """The exception's type and where it was raised; not its message, which may quote input."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"
