"""`carebot replay` on replay files, through a stand-in core: pass/fail, reports, -k, --update."""
from __future__ import annotations

import io
import json
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable, List

import pytest

from bot.replay.progress import Progress
from bot.replay.runner import ReplayCase, ReplayTurn, run_cases

from .conftest import replay_with
from .fakes import FakeEngine

Write = Callable[[str, str], Path]

SUITE = """\
# Dosing conversations (a comment the update must keep)
conversations:
  - name: lanreotide dose, then route by pronoun
    turns:
      - user: "what's the dose of somatuline?"
        expect:
          kind: answer  # keep me too
          intent: dosing
          entities: {drug: lanreotide}
          slots: {drug: lanreotide}
          reply_contains: ["120 mg"]
          reply_not_contains: ["everolimus"]
          reply_matches: ["every 4 weeks|q4w"]
          cites: [drug_label]
      - user: "and how is it given?"
        expect: {kind: answer, reply_contains: ["deep subcutaneous"]}

  - name: dose with no drug asks which, then octreotide answers
    turns:
      - user: "dose?"
        expect: {kind: clarify, cites: [], suggestions_contain: [octreotide]}
      - user: "octreotide"
        expect: {kind: answer, slots: {drug: octreotide}, reply_contains: ["30mg"]}

  - name: metformin dose gives no dose
    turns:
      - user: "metformin dose?"
        expect: {kind: fallback, entities: {drug: unknown}, reply_not_contains: ["mg"], cites: []}
"""

WRONG = SUITE.replace('reply_contains: ["30mg"]', 'reply_contains: ["300mg"]')


async def test_a_passing_suite_exits_0(write: Write, fake_engine: FakeEngine) -> None:
    code, out, err = await replay_with(fake_engine, str(write("suite.yml", SUITE)))
    assert code == 0, out + err
    assert out.splitlines()[:3] == [
        "PASS  lanreotide dose, then route by pronoun",
        "PASS  dose with no drug asks which, then octreotide answers",
        "PASS  metformin dose gives no dose",
    ]
    assert "3 conversations: 3 passed, 0 failed (5 turns" in out


async def test_a_false_expectation_fails_loudly_and_is_named(write: Write, fake_engine: FakeEngine) -> None:
    path = write("suite.yml", WRONG)
    code, out, _ = await replay_with(fake_engine, str(path))
    assert code == 1
    assert "FAIL  dose with no drug asks which, then octreotide answers" in out
    details = out.split("FAILED", 1)[1]
    assert f"({path}:18)" in details
    assert 'turn 2 (line 22): user: "octreotide"' in details
    assert 'expected: kind: answer; slots: {drug: octreotide}; reply_contains: ["300mg"]' in details
    assert 'reply_contains "300mg": not in the reply' in details
    assert "closest passage in the reply: '30mg'" in details
    assert "| Octreotide: dosing" in details  # what carebot said
    assert "3 conversations: 2 passed, 1 failed" in out


async def test_k_selects_by_name_ignoring_case(write: Write, fake_engine: FakeEngine) -> None:
    code, out, _ = await replay_with(fake_engine, str(write("suite.yml", WRONG)), "-k", "METFORMIN")
    assert code == 0 and out.startswith("PASS  metformin dose gives no dose\n")
    assert "1 conversation: 1 passed" in out
    code, _, err = await replay_with(fake_engine, str(write("suite.yml", WRONG)), "-k", "nothing like it")
    assert code == 2 and "no conversation matches -k 'nothing like it'" in err


async def test_an_invalid_file_exits_2_and_replays_nothing(write: Write, fake_engine: FakeEngine) -> None:
    good = write("a/good.yml", SUITE)
    bad = write("a/bad.yml", SUITE.replace("suggestions_contain", "suggestion_contains"))
    code, out, err = await replay_with(fake_engine, str(good.parent))
    assert code == 2 and out == ""
    assert str(bad) in err and "dose with no drug asks which" in err and "unknown key 'suggestion_contains'" in err
    assert fake_engine.calls == []


@pytest.mark.parametrize("argv, message", [
    ([], "give at least one replay file"),
    (["x.yml", "--slack-export", "dir"], "not both"),
    (["--slack-export", "dir", "--update"], "--update rewrites replay files"),
    (["x.yml", "--bot-user", "U1"], "--bot-user only applies"),
    (["--slack-export", "dir", "--compare", "kind,colour"], "unknown colour"),
    (["no/such/folder"], "no such file or folder"),
])
async def test_bad_usage_exits_2(fake_engine: FakeEngine, argv: List[str], message: str) -> None:
    code, _, err = await replay_with(fake_engine, *argv)
    assert code == 2 and message in err


async def test_each_conversation_starts_fresh_and_is_reset(write: Write, fake_engine: FakeEngine) -> None:
    await replay_with(fake_engine, str(write("suite.yml", SUITE)))
    ids = list(dict.fromkeys(fake_engine.calls))
    assert len(ids) == 3 and sorted(fake_engine.resets) == sorted(ids)


async def test_a_core_that_raises_is_an_error_and_the_rest_still_runs(write: Write, fake_engine: FakeEngine, tmp_path: Path) -> None:
    fake_engine.fail_on = "somatuline"
    junit = tmp_path / "junit.xml"
    code, out, _ = await replay_with(fake_engine, str(write("suite.yml", SUITE)), "--junit", str(junit))
    assert code == 1
    assert "FAIL  lanreotide dose, then route by pronoun" in out and "PASS  metformin dose gives no dose" in out
    assert "error:    RuntimeError: boom" in out and "(1 later turn(s) not run)" in out
    root = ET.parse(junit).getroot()
    assert root.get("errors") == "1" and root.get("failures") == "0"
    assert root.find(".//testcase/error") is not None


async def test_the_internal_error_apology_never_passes_as_a_fallback(write: Write, fake_engine: FakeEngine) -> None:
    path = write("crash.yml", "conversations:\n  - name: crash\n    turns:\n      - user: crash\n        expect: {kind: fallback}\n")
    code, out, _ = await replay_with(fake_engine, str(path))
    assert code == 1 and "internal-error apology" in out


async def test_junit_is_valid_and_names_failures(write: Write, fake_engine: FakeEngine, tmp_path: Path) -> None:
    # control characters in a message must not make the XML unreadable
    suite = WRONG + '  - name: "bell \\a in a name"\n    turns:\n      - user: "ding\\a\\x1b dose?"\n        expect: {kind: answer}\n'
    junit = tmp_path / "reports" / "junit.xml"
    code, out, _ = await replay_with(fake_engine, str(write("suite.yml", suite)), "--junit", str(junit))
    assert code == 1 and f"JUnit report: {junit}" in out
    root = ET.parse(junit).getroot()  # parses: the file is well-formed XML
    assert root.tag == "testsuites" and root.get("tests") == "4" and root.get("failures") == "2"
    [suite_element] = root.findall("testsuite")
    cases = suite_element.findall("testcase")
    assert [c.get("name") for c in cases][:3] == [
        "lanreotide dose, then route by pronoun",
        "dose with no drug asks which, then octreotide answers",
        "metformin dose gives no dose",
    ]
    assert all(c.get("classname", "").endswith("suite") and c.get("time") for c in cases)
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message", "").startswith('turn 2: reply_contains "300mg"')
    assert "octreotide" in (failure.text or "")
    assert cases[0].find("failure") is None
    assert "\\x07" in (cases[3].get("name") or "")


async def test_json_report_is_machine_readable(write: Write, fake_engine: FakeEngine, tmp_path: Path) -> None:
    report = tmp_path / "replay.json"
    code, _, _ = await replay_with(fake_engine, str(write("suite.yml", WRONG)), "--json", str(report))
    assert code == 1
    data = json.loads(report.read_text())
    assert data["version"] == 1
    assert data["summary"] == {**data["summary"], "conversations": 3, "passed": 2, "failed": 1, "turns": 5}
    failed = [c for c in data["conversations"] if not c["passed"]][0]
    turn = failed["turns"][1]
    assert turn["user"] == "octreotide" and turn["passed"] is False
    assert turn["failures"][0]["check"] == "reply_contains"
    assert turn["reply"]["kind"] == "answer" and turn["reply"]["slots"]["drug"] == "octreotide"
    assert turn["reply"]["statements"] == ["guidelines-initial-ssa-dosing"]


async def test_quiet_prints_only_failures(write: Write, fake_engine: FakeEngine) -> None:
    _, out, _ = await replay_with(fake_engine, str(write("suite.yml", WRONG)), "-q")
    assert "PASS" not in out and out.count("FAIL  dose with no drug") == 2  # its line and its details


# --- --update --------------------------------------------------------------------------------

STALE = """\
# Stale expectations (this comment stays)
conversations:
  - name: stale
    turns:
      - user: "dose?"
        expect:
          kind: answer   # was an answer once
          intent: [dosing, next_steps]
          reply_contains: ["Which drug"]
          cites: [drug_label]
      - user: "octreotide"
        expect: {kind: clarify, entities: {drug: lanreotide}, slots: {drug: lanreotide}, reply_contains: ["30mg"]}
      - user: "and how is it given?"
      - user: "new case"
        expect:
          slots: {drug: octreotide}
          reply_not_contains: ["mg"]
"""


async def test_update_round_trips(write: Write, fake_engine: FakeEngine) -> None:
    path = write("stale.yml", STALE)
    code, _, _ = await replay_with(fake_engine, str(path))
    assert code == 1
    code, out, _ = await replay_with(fake_engine, str(path), "--update")
    assert code == 0, out
    assert f"updated {path}: 4 turn(s) updated" in out
    text = path.read_text()
    assert text == """\
# Stale expectations (this comment stays)
conversations:
  - name: stale
    turns:
      - user: "dose?"
        expect:
          kind: clarify  # was an answer once
          intent: [dosing, next_steps]
          reply_contains: ["Which drug"]
          cites: []
      - user: "octreotide"
        expect: {kind: answer, entities: {drug: octreotide}, slots: {drug: octreotide}, reply_contains: ["30mg"]}
      - user: "and how is it given?"
        expect:
          kind: answer
          intent: dosing
          slots: {drug: octreotide}
          cites: [guidelines-initial-ssa-dosing]
      - user: "new case"
        expect:
          slots: {drug: null}
          reply_not_contains: ["mg"]
"""
    code, out, _ = await replay_with(fake_engine, str(path))  # and now it replays green
    assert code == 0, out
    code, out, _ = await replay_with(fake_engine, str(path), "--update")  # nothing left to change
    assert code == 0 and f"{path}: unchanged" in out and path.read_text() == text


async def test_update_keeps_text_checks_and_still_fails_on_them(write: Write, fake_engine: FakeEngine) -> None:
    path = write("wrong.yml", WRONG)
    code, out, _ = await replay_with(fake_engine, str(path), "--update")
    assert code == 1 and 'reply_contains "300mg": not in the reply' in out
    assert path.read_text() == WRONG  # every structural key held, so nothing was rewritten


async def test_update_cites_keep_their_style(write: Write, fake_engine: FakeEngine) -> None:
    text = SUITE.replace("cites: [drug_label]", "cites: [research]").replace(
        'reply_contains: ["deep subcutaneous"]}', 'cites: [lanreotide-label-key-dosage]}')
    path = write("styles.yml", text)
    assert (await replay_with(fake_engine, str(path), "--update"))[0] == 0
    updated = path.read_text()
    assert "cites: [drug_label, guideline]" in updated  # source kinds stay source kinds
    assert "{kind: answer, cites: [lanreotide-label-dosage, guidelines-initial-ssa-dosing]}" in updated


async def test_update_only_touches_selected_conversations(write: Write, fake_engine: FakeEngine) -> None:
    path = write("stale.yml", STALE + STALE.split("conversations:\n", 1)[1].replace("name: stale", "name: other"))
    code, _, _ = await replay_with(fake_engine, str(path), "--update", "-k", "other")
    assert code == 0
    first, second = path.read_text().split("name: other")
    assert "kind: answer   # was an answer once" in first and "kind: clarify  # was an answer once" in second


async def test_update_leaves_a_conversation_the_core_failed_on(write: Write, fake_engine: FakeEngine) -> None:
    fake_engine.fail_on = "octreotide"
    path = write("stale.yml", STALE)
    code, out, _ = await replay_with(fake_engine, str(path), "--update")
    assert code == 1 and "not updated (the core failed): stale" in out and path.read_text() == STALE


async def test_update_keeps_other_layouts(write: Write, fake_engine: FakeEngine) -> None:
    compact = "conversations:\n- name: compact\n  turns:\n  - user: dose?\n    expect:\n      kind: answer\n"
    path = write("compact.yml", compact)
    assert (await replay_with(fake_engine, str(path), "--update"))[0] == 0
    assert path.read_text() == compact.replace("kind: answer", "kind: clarify")


# --- progress and the command line -----------------------------------------------------------


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_live_on_a_terminal_and_plain_for_big_suites_only() -> None:
    tty = _Tty()
    progress = Progress(3, tty)
    progress.start(1, "lanreotide dose")
    progress.clear()
    assert "[1/3] lanreotide dose" in tty.getvalue() and tty.getvalue().endswith("\r\x1b[K")
    small = io.StringIO()
    for i in range(1, 11):
        Progress(10, small).done(i)
    assert small.getvalue() == ""
    big = io.StringIO()
    progress = Progress(200, big)
    for i in range(1, 201):
        progress.start(i, "x")
        progress.done(i)
    assert big.getvalue().count("replayed ") == 10 and "replayed 200/200 conversations" in big.getvalue()
    assert Progress(200, _Tty(), enabled=False).mode is None


async def test_progress_goes_to_stderr_on_large_suites(fake_engine: FakeEngine) -> None:
    cases = [ReplayCase(f"c{i}", "here", "g", [ReplayTurn("hi")]) for i in range(120)]
    err = io.StringIO()
    progress = Progress(len(cases), err)
    await run_cases(fake_engine, cases, on_result=lambda i, n, r: progress.done(i))
    assert "replayed 120/120 conversations" in err.getvalue()


def test_the_carebot_command_dispatches_replay(write: Write, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture) -> None:
    """Through `bot.cli.main`, as `carebot replay` runs (in a thread: it makes its own event loop)."""
    from bot.cli import main
    import bot.replay.engine as engine_module

    async def fake_create(settings=None):  # type: ignore[no-untyped-def]
        return FakeEngine()

    monkeypatch.setattr(engine_module, "create_engine", fake_create)
    path = write("suite.yml", WRONG)
    codes: List[int] = []
    thread = threading.Thread(target=lambda: codes.append(main(["replay", str(path), "-k", "octreotide"])))
    thread.start()
    thread.join(60)
    assert codes == [1]
    assert "FAIL  dose with no drug asks which, then octreotide answers" in capsys.readouterr().out
