"""The replay command end to end through the real core (loaded once per test session)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from .conftest import replay_with

Write = Callable[[str, str], Path]
EXPORT = Path(__file__).resolve().parents[2] / "fixtures" / "slack_export"

LANREOTIDE = """\
conversations:
  - name: lanreotide dose, then route by pronoun
    turns:
      - user: "what's the dose of somatuline?"
        expect:
          kind: answer
          intent: dosing
          entities: {drug: lanreotide}
          slots: {drug: lanreotide}
          reply_contains: ["120 mg"]
          reply_matches: ["every 4 weeks|q4w"]
          cites: [drug_label]
      - user: "and how is it given?"
        expect: {kind: answer, reply_contains: ["deep subcutaneous"]}
"""


async def test_a_true_expectation_passes_and_a_false_one_fails_loudly(write: Write, real_engine: Any) -> None:
    code, out, _ = await replay_with(real_engine, str(write("ok.yml", LANREOTIDE)))
    assert code == 0, out
    wrong = LANREOTIDE.replace('reply_contains: ["120 mg"]', 'reply_contains: ["90 mg"]')
    code, out, _ = await replay_with(real_engine, str(write("wrong.yml", wrong)))
    assert code == 1
    assert "FAIL  lanreotide dose, then route by pronoun" in out
    assert 'turn 1 (line 4): user: "what\'s the dose of somatuline?"' in out
    assert 'reply_contains "90 mg": not in the reply' in out
    assert "120 mg" in out.split("FAILED", 1)[1]  # the reply is shown


async def test_update_round_trips_through_the_core(write: Write, real_engine: Any) -> None:
    stale = """\
# kept
conversations:
  - name: clarify then octreotide
    turns:
      - user: "dose?"
        expect: {kind: answer, reply_contains: ["octreotide"]}  # kept too
      - user: "octreotide"
        expect:
          kind: clarify
          slots: {drug: lanreotide}
          reply_contains: ["intramuscular"]
          cites: [research]
      - user: "and how is it given?"
"""
    path = write("stale.yml", stale)
    assert (await replay_with(real_engine, str(path)))[0] == 1
    code, out, _ = await replay_with(real_engine, str(path), "--update")
    assert code == 0, out
    text = path.read_text()
    assert text.startswith("# kept\n") and "# kept too" in text
    assert 'expect: {kind: clarify, reply_contains: ["octreotide"]}' in text
    assert 'reply_contains: ["intramuscular"]' in text and "slots: {drug: octreotide}" in text
    assert "cites: [guideline]" in text
    assert (await replay_with(real_engine, str(path)))[0] == 0


async def test_slack_export_replay_on_the_sample_export(real_engine: Any) -> None:
    code, out, _ = await replay_with(real_engine, "--slack-export", str(EXPORT), "--compare", "kind,cites")
    assert code == 1
    head = out.split("=" * 30, 1)[0]  # the line per conversation, before the details
    lines = [line for line in head.splitlines() if line.startswith(("SAME  ", "DIFF  "))]
    assert len(lines) == 6
    # the monitoring answer recorded then cited one statement; carebot now cites more
    assert "DIFF  #tumour-board thread 1709550000.000200 (2024-03-04 11:00 UTC)" in lines
    assert "now also cites:" in out and "guidelines-monitoring-cga-imaging" in out
    # the lanreotide thread (dose, route, correction across two days) is answered as then
    assert "SAME  #tumour-board thread 1709546400.000100 (2024-03-04 10:00 UTC)" in lines
    assert "SAME  #ward-4b thread 1709640000.000100 (2024-03-05 12:00 UTC)" in lines
