"""Replay files are validated strictly: every mistake is an error naming file, line, conversation and key."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from bot.replay.schema import ReplayFileError, discover, load_all, load_replay_file

Write = Callable[[str, str], Path]

VALID = """\
conversations:
  - name: lanreotide dose, then route by pronoun
    turns:
      - user: "what's the dose of somatuline?"
        expect:
          kind: answer
          intent: dosing
          entities: {drug: lanreotide}
          slots: {drug: lanreotide, sstr_status: null}
          reply_contains: ["120 mg"]
          reply_not_contains: ["octreotide"]
          reply_matches: ["every 4 weeks|q4w"]
          cites: [drug_label]
      - user: "and how is it given?"
        expect: {kind: answer, reply_contains: ["deep subcutaneous"]}
      - user: "x"
        repeat: 3
"""


def problems(path: Path, known=None) -> str:
    with pytest.raises(ReplayFileError) as caught:
        load_replay_file(path, known)
    return str(caught.value)


def test_the_issue_example_loads(write: Write) -> None:
    loaded = load_replay_file(write("ok.yml", VALID))
    [conversation] = loaded.conversations
    assert conversation.name == "lanreotide dose, then route by pronoun"
    assert conversation.line == 2 and conversation.turn_lines == (4, 14, 16)
    first = conversation.conversation.turns[0].expect
    assert [k.value for k in first.kind] == ["answer"] and first.intent == ["dosing"]
    assert first.entities == {"drug": ["lanreotide"]} and first.slots == {"drug": "lanreotide", "sstr_status": None}
    assert conversation.conversation.turns[2].text == "xxx"
    assert conversation.conversation.turns[2].expect.is_empty()


def test_a_misspelt_key_names_file_line_conversation_and_key(write: Write) -> None:
    path = write("typo.yml", VALID.replace("reply_contains: [\"120 mg\"]", "reply_contain: [\"120 mg\"]"))
    message = problems(path)
    assert str(path) in message and ":10:" in message
    assert "conversation 'lanreotide dose, then route by pronoun'" in message and "turn 1" in message
    assert "unknown key 'reply_contain'" in message and "did you mean 'reply_contains'" in message


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("kind: answer\n", "kind: answr\n", "expect.kind: value is not a valid enumeration member"),
        ("slots: {drug", "slots: {drgu", "unknown slot 'drgu' (did you mean 'drug'?)"),
        ("entities: {drug", "entities: {drugs", "unknown entity type 'drugs'"),
        ("every 4 weeks|q4w", "(every 4 weeks", "invalid regular expression"),
        ("cites: [drug_label]", "cites: [Drug Label]", "neither a source kind"),
        ("reply_not_contains: [\"octreotide\"]", "reply_not_contains: [\"\"]", "an empty string matches every reply"),
        ("  - name: lanreotide", "  - nam: lanreotide", "unknown key 'nam' (did you mean 'name'?)"),
        ("      - user: \"x\"\n", "      - usr: \"x\"\n", "turn 3: unknown key 'usr'"),
        ("    turns:", "    turn:", "unknown key 'turn' (did you mean 'turns'?)"),
        ("conversations:", "conversation:", "unknown key 'conversation'"),
        ("        repeat: 3", "        repeat: 0", "turn 3: repeat: ensure this value is greater than or equal to 1"),
    ],
)
def test_mistakes_are_named(write: Write, old: str, new: str, expected: str) -> None:
    assert old in VALID
    assert expected in problems(write("bad.yml", VALID.replace(old, new, 1)))


def test_every_mistake_is_reported_at_once(write: Write) -> None:
    text = VALID.replace("kind: answer\n", "kind: answr\n").replace("reply_contains: [\"120", "reply_contain: [\"120")
    with pytest.raises(ReplayFileError) as caught:
        load_replay_file(write("two.yml", text))
    assert len(caught.value.problems) == 2


def test_duplicate_conversation_names_are_rejected(write: Write) -> None:
    text = VALID + VALID.split("conversations:\n", 1)[1]
    assert "same name as #1" in problems(write("dup.yml", text))


def test_duplicate_yaml_keys_are_rejected(write: Write) -> None:
    text = VALID.replace("intent: dosing\n", "intent: dosing\n          intent: monitoring\n")
    assert "invalid YAML" in problems(write("dupkey.yml", text))


@pytest.mark.parametrize("text, expected", [
    ("", "the file is empty"),
    ("- a\n- b\n", "expected a mapping"),
    ("conversations: [\n", "invalid YAML"),
    ("conversations: []\n", "at least 1"),
    ("conversations:\n  - name: x\n    turns: []\n", "at least 1"),
    ("conversations:\n  - name: x\n    turns:\n      - expect: {kind: answer}\n", "user: required key is missing"),
])
def test_malformed_files(write: Write, text: str, expected: str) -> None:
    assert expected in problems(write("bad.yml", text))


def test_statement_ids_are_checked_against_the_knowledge_base(write: Write) -> None:
    path = write("ids.yml", VALID.replace("cites: [drug_label]", "cites: [drug_label, lanreotide-label-dosag]"))
    message = problems(path, known=["lanreotide-label-dosage"])
    assert "no statement has id 'lanreotide-label-dosag'" in message and "did you mean 'lanreotide-label-dosage'" in message
    load_replay_file(path)  # without the knowledge base only the shape is checked


def test_discover_finds_yaml_recursively_and_rejects_missing_paths(write: Write, tmp_path: Path) -> None:
    a = write("suite/a.yml", VALID)
    b = write("suite/deeper/b.yaml", VALID)
    write("suite/notes.txt", "not a replay")
    write("suite/.hidden/c.yml", VALID)
    assert discover([tmp_path / "suite"]) == [a, b]
    assert discover([a, tmp_path / "suite"]) == [a, b]  # no file twice
    with pytest.raises(FileNotFoundError, match="no-such"):
        discover([tmp_path / "no-such"])


def test_load_all_collects_problems_from_every_file(write: Write) -> None:
    good = write("good.yml", VALID)
    bad1 = write("bad1.yml", "conversations: []\n")
    bad2 = write("bad2.yml", "")
    files, found = load_all([good, bad1, bad2])
    assert [f.path for f in files] == [good]
    assert any("bad1.yml" in p for p in found) and any("bad2.yml" in p for p in found)
