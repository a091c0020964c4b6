"""`carebot replay --update`: accept what the core now does, as a reviewable change to the files.

Rules, chosen so the diff shows only what changed in behaviour:
- Only the structural keys are rewritten: kind, intent, entities, slots, cites. `reply_*`,
  `not_cites` and `suggestions_contain` say what matters about a reply; they stay as written (if
  they now fail, the replay still fails and says so).
- A structural key that is written and still holds is left exactly as written (an author's
  `kind: [answer, fallback]` or `cites: [drug_label]` survives). One that no longer holds is
  rewritten from the observed reply, in the same shape: the same entity types and slot names,
  source kinds stay source kinds, ids stay ids.
- A turn that checks none of the structural keys (a skeleton of user lines) gets all of them.
- A conversation in which the core raised is not touched.
Comments, key order, quoting and indentation are kept (ruamel.yaml round-trip).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ruamel.yaml.comments import CommentedMap

from bot.replay.checks import check_reply
from bot.replay.observed import (
    STRUCTURAL_KEYS,
    cites_style,
    observed_cites,
    observed_entities,
    observed_expect,
    observed_intent,
    observed_kind,
    observed_slots,
)
from bot.replay.runner import ConversationResult
from bot.replay.schema import Expect, LoadedFile
from bot.replay.yamlio import atomic_write, dump, flow_map, flow_seq, load_for_edit
from dialogues.types import Reply

KEY_ORDER = ("kind", "intent", "entities", "slots", "reply_contains", "reply_not_contains", "reply_matches",
             "reply_equals", "cites", "not_cites", "suggestions_contain")


@dataclass
class FileUpdate:
    path: Path
    changed_turns: int = 0
    not_updated: List[str] = field(default_factory=list)  # conversations the core failed on
    written: bool = False


def update_file(loaded: LoadedFile, results: Sequence[ConversationResult], write: bool = True) -> FileUpdate:
    """Rewrite `loaded`'s expectations from `results` (results of conversations in this file)."""
    report = FileUpdate(loaded.path)
    text = loaded.path.read_text(encoding="utf-8")
    data, yaml = load_for_edit(text)
    for result in results:
        origin = result.case.origin
        if origin is None or origin.path != loaded.path:
            continue
        specs = origin.conversation.turns
        if result.error is not None or len(result.turns) < len(specs):
            report.not_updated.append(origin.name)
            continue
        raw_turns = data["conversations"][origin.index]["turns"]
        previous_slots: Dict[str, Optional[str]] = {}
        for index, outcome in enumerate(result.turns):
            assert outcome.reply is not None
            if update_turn(raw_turns[index], specs[index].expect, outcome.reply, previous_slots):
                report.changed_turns += 1
            previous_slots = dict(outcome.reply.slots)
    new_text = dump(yaml, data)
    if new_text != text and write:
        atomic_write(loaded.path, new_text)
        report.written = True
    return report


def update_turn(raw_turn: CommentedMap, expect: Expect, reply: Reply,
                previous_slots: Mapping[str, Optional[str]]) -> bool:
    """Rewrite one turn's structural keys in place; True if anything changed."""
    written = [key for key in STRUCTURAL_KEYS if key in expect.__fields_set__]
    node = raw_turn.get("expect")
    if not written:
        if node is None:
            node = CommentedMap()
            raw_turn.insert(_position_after(raw_turn, ("user", "repeat")), "expect", node)
        for key, value in observed_expect(reply, previous_slots).items():
            _put(node, key, value)
        return True
    changed = False
    for key in written:
        alone = Expect.construct(_fields_set={key}, **{key: getattr(expect, key)})
        if not check_reply(alone, reply):
            continue
        if key == "intent" and observed_intent(reply) is None:
            del node[key]
        else:
            _put(node, key, _observed(key, expect, reply))
        changed = True
    return changed


def _observed(key: str, expect: Expect, reply: Reply) -> Any:
    if key == "kind":
        return observed_kind(reply)
    if key == "intent":
        return observed_intent(reply)
    if key == "entities":
        return observed_entities(reply, types=list((expect.entities or {}).keys()))
    if key == "slots":
        return observed_slots(reply, names=list((expect.slots or {}).keys()))
    return observed_cites(reply, cites_style(expect.cites))


def _put(node: CommentedMap, key: str, value: Any) -> None:
    if isinstance(value, dict):
        value = flow_map(value)
    elif isinstance(value, list):
        value = flow_seq(value)
    if key in node:
        node[key] = value
        return
    rank = KEY_ORDER.index(key)
    before = [k for k in node if k in KEY_ORDER and KEY_ORDER.index(k) < rank]
    node.insert(list(node).index(before[-1]) + 1 if before else 0, key, value)


def _position_after(node: CommentedMap, keys: Sequence[str]) -> int:
    present = [i for i, k in enumerate(node) if k in keys]
    return present[-1] + 1 if present else len(node)
