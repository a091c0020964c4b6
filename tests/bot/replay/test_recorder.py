"""Recording: a conversation becomes a replay file that validates and replays green."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.replay import Recorder
from bot.replay.schema import load_replay_file
from dialogues.types import Reply, Turn

from .conftest import replay_with
from .fakes import FakeEngine


async def record(engine: FakeEngine, name: str, *messages: str) -> Recorder:
    recorder = Recorder(name)
    for text in messages:
        recorder.add(text, await engine.handle(Turn(text=text, conversation_id="chat-1", user="U1")))
    return recorder


async def test_a_recorded_conversation_replays_green(tmp_path: Path) -> None:
    recorder = await record(FakeEngine(), "dose, clarify, reset", "dose?", "lanreotide", "new case", "metformin dose?")
    path = recorder.save(tmp_path / "recorded" / "session.yml")
    text = path.read_text()
    assert text.startswith("# Recorded by carebot on ")
    assert """\
      - user: "dose?"
        expect:
          kind: clarify
          intent: dosing
          cites: []
      - user: "lanreotide"
        expect:
          kind: answer
          intent: dosing
          entities: {drug: lanreotide}
          slots: {drug: lanreotide}
          cites: [lanreotide-label-dosage, guidelines-initial-ssa-dosing]
      - user: "new case"
        expect:
          kind: smalltalk
          intent: reset
          slots: {drug: null}
          cites: []
""" in text
    loaded = load_replay_file(path)
    assert loaded.conversations[0].name == "dose, clarify, reset"
    code, out, _ = await replay_with(FakeEngine(), str(path))
    assert code == 0, out


async def test_append_adds_a_conversation_with_a_unique_name(tmp_path: Path) -> None:
    path = tmp_path / "session.yml"
    (await record(FakeEngine(), "lanreotide", "lanreotide dose")).save(path)
    (await record(FakeEngine(), "lanreotide", "octreotide dose")).save(path, append=True)
    names = [c.name for c in load_replay_file(path).conversations]
    assert names == ["lanreotide", "lanreotide (2)"]
    (await record(FakeEngine(), "again", "dose?")).save(path)  # without append, the file is replaced
    assert [c.name for c in load_replay_file(path).conversations] == ["again"]


def test_nothing_recorded_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nothing to save"):
        Recorder("empty").save(tmp_path / "x.yml")
    with pytest.raises(ValueError):
        Recorder("  ")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200),
       name=st.text(min_size=1, max_size=40).filter(lambda s: bool(s.strip())))
def test_any_message_survives_saving(tmp_path: Path, text: str, name: str) -> None:
    """Whatever someone typed (control characters, emoji, YAML syntax) is replayed as typed."""
    recorder = Recorder(name)
    recorder.add(text, Reply(kind="fallback", text="I didn't find a question in that message."))
    path = recorder.save(tmp_path / "any.yml")
    loaded = load_replay_file(path)
    assert loaded.conversations[0].conversation.turns[0].user == text
    assert loaded.conversations[0].name == name.strip()
