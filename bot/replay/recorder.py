"""Recording: a conversation someone just had becomes a replay file in one step.

`carebot chat --record FILE` feeds every turn to a `Recorder` and saves it at the end. The saved
expectations are what was observed (kind, intent, entities, slots, cites), so the file replays
green until the behaviour changes; whoever keeps it adds `reply_contains` checks for the words
that matter. The file holds the messages as typed, so it is written only where asked.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.replay.observed import observed_expect
from bot.replay.schema import load_replay_file
from bot.replay.yamlio import atomic_write, dump, flow_map, flow_seq, load_for_edit, message_text, writer
from dialogues.types import Reply

HEADER = (
    "Recorded by carebot on {date}. The expectations are what carebot did then:\n"
    "check they are right, and add reply_contains for what the answer must say."
)


class Recorder:
    """Collects (message, reply) pairs of one conversation and saves them as a replay file."""

    def __init__(self, name: str) -> None:
        if not name or not name.strip():
            raise ValueError("a recorded conversation needs a name")
        self.name = name.strip()
        self._turns: List[Tuple[str, Reply]] = []

    def add(self, user_text: str, reply: Reply) -> None:
        self._turns.append((user_text, reply))

    def __len__(self) -> int:
        return len(self._turns)

    def conversation(self) -> CommentedMap:
        """The conversation as a YAML node: name, then each turn with its observed expectation."""
        turns = CommentedSeq()
        previous: Dict[str, Optional[str]] = {}
        for user_text, reply in self._turns:
            expect = CommentedMap()
            for key, value in observed_expect(reply, previous).items():
                expect[key] = flow_map(value) if isinstance(value, dict) else flow_seq(value) if isinstance(value, list) else value
            turns.append(CommentedMap([("user", message_text(user_text)), ("expect", expect)]))
            previous = dict(reply.slots)
        return CommentedMap([("name", message_text(self.name)), ("turns", turns)])

    def save(self, path: Path | str, append: bool = False) -> Path:
        """Write the replay file (replacing it), or with `append=True` add this conversation to an
        existing one. Raises ValueError when nothing was recorded; the result always validates."""
        if not self._turns:
            raise ValueError("nothing to save: no turn was recorded")
        path = Path(path)
        if append and path.exists():
            data, yaml = load_for_edit(path.read_text(encoding="utf-8"))
            conversation = self.conversation()
            conversation["name"] = _unique_name(self.name, [str(c.get("name", "")) for c in data["conversations"]])
            data["conversations"].append(conversation)
        else:
            yaml = writer()
            data = CommentedMap([("conversations", CommentedSeq([self.conversation()]))])
            date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
            data.yaml_set_start_comment(HEADER.format(date=date))
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, dump(yaml, data))
        load_replay_file(path)  # what we write must be a valid test; fail loudly here if not
        return path


def _unique_name(name: str, taken: List[str]) -> str:
    existing = {t.casefold() for t in taken}
    if name.casefold() not in existing:
        return name
    number = 2
    while f"{name} ({number})".casefold() in existing:
        number += 1
    return f"{name} ({number})"
