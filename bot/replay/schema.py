"""Replay files: the YAML format and its strict validation.

A replay file is a regression test written by people who maintain the knowledge base or the
training data, so a typo must never pass silently: unknown keys, unknown kinds, slot names and
entity types, and regexes that do not compile are errors that name the file, the line, the
conversation and the key. Files are read with ruamel.yaml (YAML 1.2, duplicate keys rejected)
because it keeps line numbers and is also what `--update` writes back with.

    conversations:
      - name: lanreotide dose, then route by pronoun
        turns:
          - user: "what's the dose of somatuline?"
            expect: {kind: answer, intent: dosing, entities: {drug: lanreotide},
                     reply_contains: ["120 mg"], cites: [drug_label]}

Every key under `expect` is optional; see `Expect` for what each one checks.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from pydantic import BaseModel, Extra, Field, ValidationError, validator
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from dialogues.state import ALL_SLOTS
from dialogues.types import ReplyKind
from nlu.types import CASE_FACT_ENTITIES, SUBJECT_ENTITIES

REPLY_KINDS: Tuple[str, ...] = tuple(kind.value for kind in ReplyKind)
SOURCE_KINDS: Tuple[str, ...] = ("guideline", "drug_label", "research")
ENTITY_TYPES: Tuple[str, ...] = tuple(SUBJECT_ENTITIES) + tuple(CASE_FACT_ENTITIES)
SLOT_NAMES: Tuple[str, ...] = tuple(ALL_SLOTS)
REPLAY_SUFFIXES: Tuple[str, ...] = (".yml", ".yaml")
_STATEMENT_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class ReplayFileError(Exception):
    """A replay file that cannot be used; `problems` holds one readable line per mistake."""

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid
        anystr_strip_whitespace = False


def _as_list(value: Any) -> Any:
    """`kind: answer` and `kind: [answer, fallback]` both mean 'one of these'."""
    return [value] if isinstance(value, str) else value


class Expect(_Strict):
    """What one turn must produce. Absent keys are not checked.

    Text checks (`reply_*`) look at `Reply.text`; `reply_contains`/`reply_not_contains` and
    `suggestions_contain` are case-insensitive substring checks, `reply_matches` is a
    case-insensitive `re.search` (write `(?-i:...)` for a case-sensitive part), and `reply_equals`
    compares the whole text exactly (a failure shows a unified diff).
    """

    kind: Optional[List[ReplyKind]] = Field(None, description="one of these reply kinds")
    intent: Optional[List[str]] = Field(None, description="one of these intent names")
    # entity type -> canonical value(s) found this turn; null means no entity of that type.
    entities: Optional[Dict[str, Optional[List[str]]]] = None
    # only the listed slots (after the turn) are compared; null means the slot must be empty.
    slots: Optional[Dict[str, Optional[str]]] = None
    reply_contains: List[str] = Field(default_factory=list)
    reply_not_contains: List[str] = Field(default_factory=list)
    reply_matches: List[str] = Field(default_factory=list)
    reply_equals: Optional[str] = None
    # source kinds or statement ids that must all be cited; [] means the reply cites nothing.
    cites: Optional[List[str]] = None
    # source kinds or statement ids that must not be cited.
    not_cites: List[str] = Field(default_factory=list)
    # substrings each found in at least one suggested follow-up question.
    suggestions_contain: List[str] = Field(default_factory=list)

    _wrap_kind = validator("kind", "intent", pre=True, allow_reuse=True)(_as_list)

    @validator("entities", pre=True)
    def _wrap_entity_values(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: _as_list(item) for key, item in value.items()}
        return value

    @validator("kind", "intent")
    def _not_empty(cls, value: Optional[List[Any]]) -> Optional[List[Any]]:
        if value is not None and not value:
            raise ValueError("give at least one value, or leave the key out")
        return value

    @validator("entities")
    def _known_entity_types(cls, value: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
        for key in value or {}:
            if key not in ENTITY_TYPES:
                raise ValueError(f"unknown entity type {key!r}{_did_you_mean(key, ENTITY_TYPES)}; "
                                 f"known: {', '.join(ENTITY_TYPES)}")
        return value

    @validator("slots")
    def _known_slots(cls, value: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
        for key in value or {}:
            if key not in SLOT_NAMES:
                raise ValueError(f"unknown slot {key!r}{_did_you_mean(key, SLOT_NAMES)}; "
                                 f"known: {', '.join(SLOT_NAMES)}")
        return value

    @validator("reply_contains", "reply_not_contains", "suggestions_contain", each_item=True)
    def _non_empty_text(cls, value: str) -> str:
        if not value:
            raise ValueError("an empty string matches every reply")
        return value

    @validator("reply_matches", each_item=True)
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
        return value

    @validator("cites", "not_cites", each_item=True)
    def _citation_shape(cls, value: str) -> str:
        if value not in SOURCE_KINDS and not _STATEMENT_ID.match(value):
            raise ValueError(f"{value!r} is neither a source kind ({', '.join(SOURCE_KINDS)}) "
                             "nor a statement id")
        return value

    def is_empty(self) -> bool:
        return not self.__fields_set__


class TurnSpec(_Strict):
    """One message as a person types it, and what carebot must do with it."""

    user: str = Field(..., description="the message text, sent as is (Slack markup included)")
    # The message is `user` repeated this many times: very long input without a 10 kB line.
    repeat: int = Field(1, ge=1, le=100_000)
    expect: Expect = Field(default_factory=Expect)

    @property
    def text(self) -> str:
        return self.user * self.repeat

    @validator("expect", pre=True)
    def _null_is_nothing(cls, value: Any) -> Any:
        return {} if value is None else value


class Conversation(_Strict):
    """A conversation replayed from a fresh state, turn by turn."""

    name: str = Field(..., min_length=1)
    description: Optional[str] = None
    turns: List[TurnSpec] = Field(..., min_items=1)

    @validator("name")
    def _name_has_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a conversation needs a name")
        return value.strip()


class ReplayFile(_Strict):
    conversations: List[Conversation] = Field(..., min_items=1)

    @validator("conversations")
    def _unique_names(cls, value: List[Conversation]) -> List[Conversation]:
        seen: Dict[str, int] = {}
        for index, conversation in enumerate(value, 1):
            key = conversation.name.casefold()
            if key in seen:
                raise ValueError(f"conversation #{index} has the same name as #{seen[key]}: "
                                 f"{conversation.name!r}; names must be unique so failures name one")
            seen[key] = index
        return value


@dataclass(frozen=True)
class LoadedConversation:
    """A validated conversation and where it was written, so reports can point at it."""

    conversation: Conversation
    path: Path
    index: int  # 0-based position in its file
    line: Optional[int] = None  # 1-based line of the conversation's entry
    turn_lines: Tuple[Optional[int], ...] = ()

    @property
    def name(self) -> str:
        return self.conversation.name

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else str(self.path)


@dataclass
class LoadedFile:
    path: Path
    model: ReplayFile
    conversations: List[LoadedConversation] = field(default_factory=list)


def yaml_loader() -> YAML:
    """Round-trip loader: keeps line numbers and comments, rejects duplicate keys."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def load_replay_file(path: Path, known_statement_ids: Optional[Iterable[str]] = None) -> LoadedFile:
    """Parse and validate one replay file, or raise ReplayFileError listing every mistake.

    With `known_statement_ids`, `cites`/`not_cites` entries that are not a source kind must be
    ids of the knowledge base: a misspelt id would otherwise only ever look "not cited".
    """
    path = Path(path)
    try:
        raw = yaml_loader().load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReplayFileError(path, [f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ReplayFileError(path, [f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        where = f"{path}:{line}" if line else str(path)
        raise ReplayFileError(path, [f"{where}: invalid YAML: {exc.problem or exc}"]) from None
    except YAMLError as exc:
        raise ReplayFileError(path, [f"{path}: invalid YAML: {exc}"]) from None
    if raw is None:
        raise ReplayFileError(path, [f"{path}: the file is empty; expected a 'conversations' list"])
    if not isinstance(raw, dict):
        raise ReplayFileError(path, [f"{path}: expected a mapping with a 'conversations' list"])
    try:
        model = ReplayFile.parse_obj(_plain(raw))
    except ValidationError as exc:
        raise ReplayFileError(path, [_describe_error(path, raw, error) for error in exc.errors()]) from None
    loaded = LoadedFile(path=path, model=model)
    problems: List[str] = []
    known = set(known_statement_ids) if known_statement_ids is not None else None
    for index, conversation in enumerate(model.conversations):
        raw_conversation = raw["conversations"][index]
        raw_turns = raw_conversation["turns"]
        turn_lines = tuple(_item_line(raw_turns, i) for i in range(len(conversation.turns)))
        loaded.conversations.append(
            LoadedConversation(conversation, path, index, _item_line(raw["conversations"], index), turn_lines)
        )
        if known is None:
            continue
        for turn_index, turn in enumerate(conversation.turns):
            for key in ("cites", "not_cites"):
                for value in getattr(turn.expect, key) or []:
                    if value not in SOURCE_KINDS and value not in known:
                        line = turn_lines[turn_index]
                        where = f"{path}:{line}" if line else str(path)
                        problems.append(
                            f"{where}: conversation {conversation.name!r}, turn {turn_index + 1}: "
                            f"expect.{key}: no statement has id {value!r}"
                            f"{_did_you_mean(value, sorted(known))}"
                        )
    if problems:
        raise ReplayFileError(path, problems)
    return loaded


def discover(paths: Iterable[Path | str]) -> List[Path]:
    """Replay files named on the command line: files as given, folders searched recursively.

    Raises FileNotFoundError naming a path that does not exist, so a mistyped folder is not a
    suite that silently passes with nothing in it.
    """
    found: List[Path] = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in REPLAY_SUFFIXES
                                and not any(part.startswith(".") for part in p.relative_to(path).parts)))
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    unique: List[Path] = []
    seen = set()
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def load_all(paths: Iterable[Path], known_statement_ids: Optional[Iterable[str]] = None) -> Tuple[List[LoadedFile], List[str]]:
    """Every file that loads, and the problems of those that do not (all of them, not the first)."""
    known = list(known_statement_ids) if known_statement_ids is not None else None
    files: List[LoadedFile] = []
    problems: List[str] = []
    for path in paths:
        try:
            files.append(load_replay_file(path, known))
        except ReplayFileError as exc:
            problems.extend(exc.problems)
    return files, problems


def _plain(node: Any) -> Any:
    """ruamel's commented containers as plain dicts/lists (pydantic wants ordinary types)."""
    if isinstance(node, dict):
        return {str(key) if not isinstance(key, str) else key: _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    return node


def _item_line(seq: Any, index: int) -> Optional[int]:
    try:
        return int(seq.lc.item(index)[0]) + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


def _key_line(mapping: Any, key: Any) -> Optional[int]:
    try:
        return int(mapping.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        try:
            return int(mapping.lc.line) + 1
        except (AttributeError, TypeError):
            return None


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


_FIELDS_BY_MODEL: Dict[str, List[str]] = {
    "file": list(ReplayFile.__fields__),
    "conversation": list(Conversation.__fields__),
    "turn": list(TurnSpec.__fields__),
    "expect": list(Expect.__fields__),
}


def _describe_error(path: Path, raw: Any, error: Dict[str, Any]) -> str:
    """One pydantic error as "file:line: conversation 'x', turn 2: expect.kind: problem"."""
    loc: Tuple[Any, ...] = tuple(error["loc"])
    node: Any = raw
    line: Optional[int] = None
    conversation: Optional[str] = None
    turn_no: Optional[int] = None
    rest: List[Any] = []  # the key path below the innermost conversation or turn
    for position, part in enumerate(loc):
        child: Any = None
        if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            line, child = _item_line(node, part) or line, node[part]
        elif isinstance(node, dict) and part in node:
            line, child = _key_line(node, part) or line, node[part]
        if position == 1 and loc[0] == "conversations" and isinstance(part, int):
            name = child.get("name") if isinstance(child, dict) else None
            conversation = f"conversation {str(name)!r}" if name is not None else f"conversation #{part + 1}"
            rest = []
        elif position == 3 and conversation and loc[2] == "turns" and isinstance(part, int):
            turn_no, rest = part + 1, []
        elif not (isinstance(part, int) and not isinstance(node, list)):
            rest.append(part)  # (a scalar wrapped into a list by a validator has no [0] in the file)
        node = child
    where = f"{path}:{line}" if line else str(path)
    context = ", ".join(filter(None, [conversation, f"turn {turn_no}" if turn_no else None]))
    if error["type"] == "value_error.extra":
        key, parent = str(rest[-1]), [str(p) for p in rest[:-1]]
        model = ("expect" if turn_no and parent == ["expect"] else "turn" if turn_no
                 else "conversation" if conversation else "file")
        allowed = _FIELDS_BY_MODEL[model]
        subject = _join_key(parent)
        message = f"unknown key {key!r}{_did_you_mean(key, allowed)}; allowed: {', '.join(allowed)}"
    else:
        subject = _join_key([str(p) if not isinstance(p, int) else f"[{p}]" for p in rest])
        message = "required key is missing" if error["type"] == "value_error.missing" else error["msg"]
    return where + ": " + (f"{context}: " if context else "") + (f"{subject}: " if subject else "") + message


def _join_key(parts: Sequence[str]) -> str:
    text = ""
    for part in parts:
        text += part if part.startswith("[") else ("." if text else "") + part
    return text
