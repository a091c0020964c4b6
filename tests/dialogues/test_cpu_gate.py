"""The CPU gate: one turn's CPU at a time, in arrival order, and the event loop served between
turns when they queue (what keeps a chat platform's acknowledgements prompt beyond saturation)."""
from __future__ import annotations

import asyncio
from typing import List

import pytest

from dialogues.cpu_gate import CpuGate


async def _ready_after(iterations: int, done: List[str], name: str) -> None:
    """Stands for an acknowledgement: work that needs `iterations` turns of the event loop."""
    for _ in range(iterations):
        await asyncio.sleep(0)
    done.append(name)


async def _section(gate: CpuGate, name: str, log: List[str]) -> None:
    async with gate.section():
        log.append(f"{name} in")
        log.append(f"{name} out")  # no await between: a section is one CPU-bound block


async def test_sections_are_exclusive_and_first_in_first_out() -> None:
    gate, log = CpuGate(), []
    await asyncio.gather(*(_section(gate, name, log) for name in "abcd"))
    assert log == ["a in", "a out", "b in", "b out", "c in", "c out", "d in", "d out"]


async def _queue_behind_a_holder(gate: CpuGate, log: List[str]) -> List["asyncio.Future[None]"]:
    """Section "a" holds the gate (awaiting, as no real section does, so the others can queue)
    while "b", "c" and "d" arrive; returns all four, with "a" released."""
    go = asyncio.Event()

    async def holder() -> None:
        async with gate.section():
            log.append("a in")
            await go.wait()
            log.append("a out")

    sections = [asyncio.ensure_future(holder())]
    await asyncio.sleep(0)
    sections += [asyncio.ensure_future(_section(gate, name, log)) for name in "bcd"]
    await asyncio.sleep(0)
    assert gate.queued
    go.set()
    return sections


async def test_queued_sections_let_the_loop_run_between_them() -> None:
    """An ack that needs three loop iterations, arriving while turns queue, is done before the
    next turn starts."""
    gate, log = CpuGate(breathe=3), []
    sections = await _queue_behind_a_holder(gate, log)
    ack = asyncio.ensure_future(_ready_after(3, log, "ack"))
    await asyncio.gather(ack, *sections)
    assert log.index("ack") < log.index("b in"), log
    assert [entry for entry in log if entry != "ack"] == [
        "a in", "a out", "b in", "b out", "c in", "c out", "d in", "d out"]


async def test_without_breathing_the_same_ack_waits_for_more_turns() -> None:
    """The counter-test: the same race with breathe=0 lets a turn through first (so the test
    above measures the breathing, not an accident of scheduling)."""
    gate, log = CpuGate(breathe=0), []
    sections = await _queue_behind_a_holder(gate, log)
    ack = asyncio.ensure_future(_ready_after(3, log, "ack"))
    await asyncio.gather(ack, *sections)
    assert log.index("ack") > log.index("b in"), log


async def test_turns_started_in_one_iteration_need_the_edge_backlog() -> None:
    """Sections never await, so turns whose tasks start in the same loop iteration reach the gate
    one after another with nobody waiting: alone, the gate cannot tell they are a burst. That is
    why an edge reports the answers it has accepted (next test)."""
    gate, log = CpuGate(breathe=3), []
    sections = [asyncio.ensure_future(_section(gate, name, log)) for name in "abcd"]
    ack = asyncio.ensure_future(_ready_after(1, log, "ack"))
    await asyncio.gather(ack, *sections)
    assert log.index("ack") == len(log) - 1, log

    log.clear()
    accepted = 4
    gate.watch_backlog(lambda: accepted)
    sections = [asyncio.ensure_future(_section(gate, name, log)) for name in "abcd"]
    ack = asyncio.ensure_future(_ready_after(3, log, "ack"))
    await asyncio.gather(ack, *sections)
    assert log.index("ack") < log.index("b in"), log


async def test_a_lone_section_does_not_yield() -> None:
    """Nothing queued: the section starts at once (breathing would cost a quiet machine ~0.17 ms a
    turn for nothing)."""
    gate, log = CpuGate(breathe=3), []
    asyncio.get_running_loop().call_soon(log.append, "other")
    async with gate.section():
        log.append("section")
    assert log == ["section"]


async def test_an_edge_backlog_makes_even_the_first_section_breathe() -> None:
    """An edge accepts a burst in one loop iteration, before any of its turns reaches the gate:
    its count is what tells the first turn that others follow."""
    gate, log = CpuGate(breathe=3), []
    backlog = 5
    unwatch = gate.watch_backlog(lambda: backlog)
    asyncio.ensure_future(_ready_after(2, log, "ack"))
    async with gate.section():
        log.append("section")
    assert log == ["ack", "section"]
    unwatch()
    asyncio.get_running_loop().call_soon(log.append, "other")
    async with gate.section():
        log.append("after unwatch")
    assert log[-1] == "after unwatch"
    await asyncio.sleep(0)


async def test_a_backlog_of_one_is_the_section_itself() -> None:
    gate, log = CpuGate(breathe=3), []
    gate.watch_backlog(lambda: 1)
    asyncio.get_running_loop().call_soon(log.append, "other")
    async with gate.section():
        log.append("section")
    assert log == ["section"]
    await asyncio.sleep(0)


async def test_a_failing_section_releases_the_gate() -> None:
    gate, log = CpuGate(), []
    with pytest.raises(RuntimeError):
        async with gate.section():
            raise RuntimeError("boom")
    await asyncio.wait_for(_section(gate, "next", log), 1)
    assert log == ["next in", "next out"]


async def test_a_cancelled_waiter_does_not_block_the_gate() -> None:
    gate, log = CpuGate(), []
    holder_in, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with gate.section():
            holder_in.set()
            await release.wait()

    first = asyncio.ensure_future(holder())
    await holder_in.wait()
    waiter = asyncio.ensure_future(_section(gate, "cancelled", log))
    await asyncio.sleep(0)
    waiter.cancel()
    release.set()
    await first
    await asyncio.wait_for(_section(gate, "next", log), 1)
    assert log == ["next in", "next out"]
    assert not gate.queued


def test_one_gate_serves_successive_event_loops() -> None:
    """`carebot ask` and the terminal chat may run one engine under several asyncio.run calls."""
    gate, log = CpuGate(), []
    asyncio.run(_section(gate, "first", log))
    asyncio.run(_section(gate, "second", log))
    assert log == ["first in", "first out", "second in", "second out"]


def test_breathe_cannot_be_negative() -> None:
    with pytest.raises(ValueError):
        CpuGate(breathe=-1)
