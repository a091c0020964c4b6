"""Replay a Slack workspace export: did carebot answer then what it answers now?

A standard export (no Slack access needed) is a folder holding `users.json`, `channels.json`
(and `groups.json`, `mpims.json`, `dms.json` when present) and one folder per conversation with a
JSON array of messages per day (`YYYY-MM-DD.json`). Channel folders are named after the channel;
DM folders after the DM's id.

What is rebuilt:
- carebot's user is the user with `is_bot: true` whose name, real name or display name contains
  "carebot" (or the one given with `--bot-user`); its messages are those posted by that user, by
  its `profile.bot_id`, or with a `bot_profile` named carebot. Other bots are ignored.
- In channels, a conversation is a thread (or a lone top-level message) in which a person
  mentioned carebot (`<@U…>`) or carebot posted. In a DM with carebot, the whole DM is one
  conversation (as the Slack edge keys DMs by channel). A top-level carebot message that is not
  in a thread (as older versions posted) answers the latest top-level mention it had not answered.
- A person's message is replayed when it mentions carebot, got a carebot reply, or is in a DM
  with carebot; other chatter in a thread was not addressed to carebot and is left out, as it
  was then. Replayed in time order, each conversation from a fresh state.

What was said then, per replayed message (the carebot messages after it, before the next person's):
- kind: `metadata.event_payload.kind` (Slack message metadata, event type `carebot_reply`); if
  absent and the cited statements are known, a reply citing statements was an `answer`;
  otherwise the kind is unknown and not compared.
- cited statements: `metadata.event_payload.statement_ids`; else the ids carried by carebot's
  feedback buttons (an `actions` block whose `block_id` starts with `carebot_feedback`, each
  button's `value` being `{"c": conversation, "s": [statement ids]}`, as `bot.slack.blocks`
  writes them); else blocks whose `block_id` is `statement:<id>`. When none is present they are
  unknown and not compared.
- text: `metadata.event_payload.text` if present (the plain reply), else the message `text`
  (which the Slack renderer sets to the escaped plain reply; "(continued, part N of M)" texts of
  split answers are skipped). Both sides are normalised (Slack escapes, mrkdwn emphasis,
  bullets, spacing) before comparing, and a difference is shown as a unified diff.
A message that got no carebot reply then is replayed (it may set the case) but not compared.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

from bot.replay.checks import Failure
from bot.replay.diffing import unified
from bot.replay.runner import ReplayCase, ReplayTurn
from dialogues.types import Reply

BOT_NAME = "carebot"
METADATA_EVENT = "carebot_reply"
STATEMENT_BLOCK_PREFIX = "statement:"
FEEDBACK_BLOCK_PREFIX = "carebot_feedback"
_CONTINUED = re.compile(r"^\(continued, part \d+ of \d+\)$")
COMPARABLE = ("kind", "cites", "text")
_DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
# Messages that are not someone talking: joins, topic changes, deletions, huddles...
_HUMAN_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message"}


class SlackExportError(Exception):
    """The folder is not a usable Slack export; the message says which file and why."""


@dataclass
class SlackMessage:
    ts: str
    text: str
    user: Optional[str]
    thread_ts: Optional[str]
    subtype: Optional[str]
    raw: Dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def order(self) -> Decimal:
        return _ts(self.ts)


@dataclass
class RecordedReply:
    """What carebot said then, as far as the export tells."""

    text: str
    kind: Optional[str] = None  # None: not recorded and not inferable
    statement_ids: Optional[List[str]] = None  # None: not recorded
    ts: str = ""


@dataclass
class ExportTurn:
    message: SlackMessage
    recorded: Optional[RecordedReply] = None


@dataclass
class ExportConversation:
    channel_id: str
    channel_name: str
    is_dm: bool
    thread_ts: Optional[str]
    folder: Path
    turns: List[ExportTurn] = field(default_factory=list)

    @property
    def name(self) -> str:
        if self.is_dm:
            return f"DM {self.channel_id}"
        return f"#{self.channel_name} thread {self.thread_ts} ({_when(self.thread_ts)})"


@dataclass
class SlackExport:
    path: Path
    bot_user_id: str
    bot_ids: FrozenSet[str]
    conversations: List[ExportConversation]
    skipped_messages: int = 0  # people's messages in carebot threads that were not addressed to it


@dataclass(frozen=True)
class _Channel:
    id: str
    name: str
    folder: Path
    is_dm: bool
    members: Tuple[str, ...] = ()


def read_export(path: Path | str, bot_user: Optional[str] = None) -> SlackExport:
    """Read an export folder and rebuild every conversation carebot took part in."""
    root = Path(path)
    if not root.is_dir():
        raise SlackExportError(f"{root}: not a folder (a Slack export is an unzipped folder)")
    users = _read_json(root / "users.json", required=True)
    if not isinstance(users, list):
        raise SlackExportError(f"{root / 'users.json'}: expected a JSON array of users")
    bot_user_id, bot_ids = find_bot(users, bot_user)
    conversations: List[ExportConversation] = []
    skipped = 0
    for channel in _channels(root):
        messages = _messages(channel.folder)
        if channel.is_dm:
            found, dropped = _dm_conversation(channel, messages, bot_user_id, bot_ids)
        else:
            found, dropped = _thread_conversations(channel, messages, bot_user_id, bot_ids)
        conversations.extend(found)
        skipped += dropped
    return SlackExport(root, bot_user_id, frozenset(bot_ids), conversations, skipped)


def find_bot(users: List[Dict[str, Any]], explicit: Optional[str] = None) -> Tuple[str, Set[str]]:
    """carebot's user id and bot ids, from `--bot-user` or from a bot user named like carebot."""
    if explicit:
        match = next((u for u in users if u.get("id") == explicit), None)
        bot_ids = {str(match["profile"]["bot_id"])} if match and match.get("profile", {}).get("bot_id") else set()
        return explicit, bot_ids
    candidates = []
    for user in users:
        if not user.get("is_bot"):
            continue
        profile = user.get("profile") or {}
        names = [user.get("name"), user.get("real_name"), profile.get("real_name"), profile.get("display_name")]
        if any(BOT_NAME in str(n).casefold() for n in names if n):
            candidates.append(user)
    if not candidates:
        bots = ", ".join(f"{u.get('id')} ({u.get('name')})" for u in users if u.get("is_bot")) or "none"
        raise SlackExportError(f"no bot user named like {BOT_NAME!r} in users.json (bot users: {bots}); "
                               "name it with --bot-user U…")
    if len(candidates) > 1:
        ids = ", ".join(str(u.get("id")) for u in candidates)
        raise SlackExportError(f"several bot users are named like {BOT_NAME!r} ({ids}); choose one with --bot-user")
    user = candidates[0]
    bot_id = (user.get("profile") or {}).get("bot_id")
    return str(user["id"]), {str(bot_id)} if bot_id else set()


def cases_from_export(export: SlackExport, compare: Iterable[str] = COMPARABLE) -> List[ReplayCase]:
    """One replay case per rebuilt conversation; each turn checks the reply against what was said then."""
    compared = frozenset(compare)
    cases = []
    for conversation in export.conversations:
        turns = []
        for turn in conversation.turns:
            recorded = turn.recorded
            check = (lambda reply, r=recorded: compare_reply(r, reply, compared)) if recorded else None
            turns.append(ReplayTurn(
                user=turn.message.text,
                check=check,
                expectation=describe_recorded(recorded) if recorded else "(no carebot reply then; not compared)",
                sender=turn.message.user,
            ))
        group = f"slack.dm.{conversation.channel_id}" if conversation.is_dm else f"slack.{conversation.channel_name}"
        source = f"{conversation.folder}" + (f" thread {conversation.thread_ts}" if conversation.thread_ts else "")
        cases.append(ReplayCase(conversation.name, source, group, turns))
    return cases


def compare_reply(recorded: RecordedReply, reply: Reply, compare: FrozenSet[str] = frozenset(COMPARABLE)) -> List[Failure]:
    """Where the reply now differs from the one then (only what the export recorded)."""
    failures: List[Failure] = []
    if "kind" in compare and recorded.kind is not None and recorded.kind != reply.kind.value:
        failures.append(Failure("kind", recorded.kind, reply.kind.value))
    if "cites" in compare and recorded.statement_ids is not None:
        then, now = recorded.statement_ids, reply.statement_ids
        if set(then) != set(now):
            added = [s for s in now if s not in then]
            removed = [s for s in then if s not in now]
            detail = "; ".join(filter(None, [
                f"now also cites: {', '.join(added)}" if added else "",
                f"no longer cites: {', '.join(removed)}" if removed else "",
            ]))
            failures.append(Failure("cites", ", ".join(then) or "nothing", ", ".join(now) or "nothing", detail))
    if "text" in compare:
        before, after = normalise_text(recorded.text), normalise_text(reply.text)
        if before != after:
            failures.append(Failure("text", "the text carebot sent then", "a different text",
                                    unified(before, after, "then (Slack export)", "now")))
    return failures


def describe_recorded(recorded: RecordedReply) -> str:
    parts = [f"as then: {recorded.kind or 'kind not recorded'}"]
    if recorded.statement_ids is None:
        parts.append("statements not recorded")
    else:
        parts.append("cites [" + ", ".join(recorded.statement_ids) + "]" if recorded.statement_ids else "cites nothing")
    return ", ".join(parts)


_LINK = re.compile(r"<((?:https?|mailto):[^|>]*)(?:\|([^>]*))?>")
_EMPHASIS = re.compile(r"(?<![\w*_~])([*_~])(?=\S)(.+?)(?<=\S)\1(?![\w*_~])")
_BULLET = re.compile(r"^\s*(?:[•◦▪‣·*-]|\d+[.)])\s+")


def normalise_text(text: str) -> str:
    """Slack's rendering taken off, so only wording differences count."""
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text or "")
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    lines = []
    for line in text.splitlines():
        line = _EMPHASIS.sub(r"\2", line)
        line = _BULLET.sub("- ", line)
        line = line.lstrip("> ").strip() if line.startswith(">") else line.strip()
        line = " ".join(line.split())
        if line:
            lines.append(line)
    return "\n".join(lines)


# --- reading -------------------------------------------------------------------------------


def _read_json(path: Path, required: bool = False) -> Any:
    if not path.exists():
        if required:
            raise SlackExportError(f"{path}: missing (is this an unzipped Slack workspace export?)")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SlackExportError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise SlackExportError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None


def _channels(root: Path) -> List[_Channel]:
    """Every conversation folder: those the index files list, then any other day-file folder."""
    channels: List[_Channel] = []
    seen: Set[Path] = set()
    for index, is_dm in (("channels.json", False), ("groups.json", False), ("mpims.json", False), ("dms.json", True)):
        entries = _read_json(root / index) or []
        if not isinstance(entries, list):
            raise SlackExportError(f"{root / index}: expected a JSON array")
        for entry in entries:
            channel_id = str(entry.get("id", ""))
            name = str(entry.get("name") or channel_id)
            folder = next((root / n for n in (name, channel_id) if n and (root / n).is_dir()), None)
            if folder is None or folder in seen:
                continue
            seen.add(folder)
            channels.append(_Channel(channel_id or name, name, folder, is_dm, tuple(entry.get("members") or ())))
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p not in seen):
        if any(_DAY_FILE.match(f.name) for f in folder.iterdir()):
            is_dm = folder.name.startswith("D")
            channels.append(_Channel(folder.name, folder.name, folder, is_dm))
    return channels


def _messages(folder: Path) -> List[SlackMessage]:
    messages: List[SlackMessage] = []
    for day in sorted(f for f in folder.iterdir() if _DAY_FILE.match(f.name)):
        data = _read_json(day)
        if not isinstance(data, list):
            raise SlackExportError(f"{day}: expected a JSON array of messages")
        for raw in data:
            if not isinstance(raw, dict) or raw.get("type", "message") != "message" or not raw.get("ts"):
                continue
            messages.append(SlackMessage(
                ts=str(raw["ts"]),
                text=str(raw.get("text") or ""),
                user=raw.get("user"),
                thread_ts=str(raw["thread_ts"]) if raw.get("thread_ts") else None,
                subtype=raw.get("subtype"),
                raw=raw,
            ))
    messages.sort(key=lambda m: m.order)
    return messages


# --- rebuilding conversations -------------------------------------------------------------


def _is_bot_message(message: SlackMessage, bot_user: str, bot_ids: Set[str]) -> bool:
    raw = message.raw
    if message.user == bot_user or (raw.get("bot_id") and str(raw["bot_id"]) in bot_ids):
        return True
    profile = raw.get("bot_profile") or {}
    return BOT_NAME in str(profile.get("name", "")).casefold()


def _is_person_message(message: SlackMessage) -> bool:
    raw = message.raw
    return (message.subtype in _HUMAN_SUBTYPES and bool(message.user) and message.user != "USLACKBOT"
            and not raw.get("bot_id") and not raw.get("bot_profile"))


def _mentions(message: SlackMessage, bot_user: str) -> bool:
    return f"<@{bot_user}>" in message.text or f"<@{bot_user}|" in message.text


def _dm_conversation(channel: _Channel, messages: List[SlackMessage], bot_user: str,
                     bot_ids: Set[str]) -> Tuple[List[ExportConversation], int]:
    has_bot = bot_user in channel.members or any(_is_bot_message(m, bot_user, bot_ids) for m in messages)
    if not has_bot:
        return [], 0
    conversation = ExportConversation(channel.id, channel.name, True, None, channel.folder)
    _fill_turns(conversation, messages, bot_user, bot_ids, addressed=lambda m, replied: True)
    return ([conversation] if conversation.turns else []), 0


def _thread_conversations(channel: _Channel, messages: List[SlackMessage], bot_user: str,
                          bot_ids: Set[str]) -> Tuple[List[ExportConversation], int]:
    threads: Dict[str, List[SlackMessage]] = {}
    unanswered: List[str] = []  # top-level mentions carebot has not replied to yet, oldest first
    for message in messages:
        is_bot = _is_bot_message(message, bot_user, bot_ids)
        if message.thread_ts:
            key = message.thread_ts
        elif is_bot and unanswered:
            key = unanswered[-1]  # an unthreaded reply answers the latest unanswered mention
        else:
            key = message.ts
        threads.setdefault(key, []).append(message)
        if is_bot and key in unanswered:
            unanswered.remove(key)
        elif not message.thread_ts and _is_person_message(message) and _mentions(message, bot_user):
            unanswered.append(message.ts)
    found: List[ExportConversation] = []
    skipped = 0
    for thread_ts, members in sorted(threads.items(), key=lambda item: _ts(item[0])):
        members.sort(key=lambda m: m.order)
        involved = any(_is_bot_message(m, bot_user, bot_ids) for m in members) or any(
            _is_person_message(m) and _mentions(m, bot_user) for m in members)
        if not involved:
            continue
        conversation = ExportConversation(channel.id, channel.name, False, thread_ts, channel.folder)
        skipped += _fill_turns(conversation, members, bot_user, bot_ids,
                               addressed=lambda m, replied: replied or _mentions(m, bot_user))
        if conversation.turns:
            found.append(conversation)
    return found, skipped


def _fill_turns(conversation: ExportConversation, messages: List[SlackMessage], bot_user: str,
                bot_ids: Set[str], addressed) -> int:
    """Pair each person's message with the carebot messages that followed it; returns how many
    people's messages were left out as not addressed to carebot."""
    pairs: List[Tuple[SlackMessage, List[SlackMessage]]] = []
    for message in messages:
        if _is_bot_message(message, bot_user, bot_ids):
            if pairs:
                pairs[-1][1].append(message)
        elif _is_person_message(message):
            pairs.append((message, []))
    skipped = 0
    for message, replies in pairs:
        if not addressed(message, bool(replies)):
            skipped += 1
            continue
        conversation.turns.append(ExportTurn(message, _recorded(replies) if replies else None))
    return skipped


def _recorded(replies: List[SlackMessage]) -> RecordedReply:
    texts: List[str] = []
    kind: Optional[str] = None
    ids: Optional[List[str]] = None
    for reply in replies:
        payload = _payload(reply.raw)
        if isinstance(payload.get("text"), str):
            texts.append(str(payload["text"]))
        elif not _CONTINUED.match(reply.text.strip()):
            texts.append(reply.text)
        kind = kind or (str(payload["kind"]) if payload.get("kind") else None)
        found = _statement_ids(reply.raw, payload)
        if found is not None:
            ids = (ids or []) + [i for i in found if i not in (ids or [])]
    if kind is None and ids:
        kind = "answer"  # only answers cite statements
    return RecordedReply("\n".join(texts), kind, ids, replies[0].ts)


def _payload(raw: Dict[str, Any]) -> Dict[str, Any]:
    metadata = raw.get("metadata") or {}
    if metadata.get("event_type") not in (None, METADATA_EVENT):
        return {}
    payload = metadata.get("event_payload")
    return payload if isinstance(payload, dict) else {}


def _statement_ids(raw: Dict[str, Any], payload: Dict[str, Any]) -> Optional[List[str]]:
    if isinstance(payload.get("statement_ids"), list):
        return [str(i) for i in payload["statement_ids"]]
    blocks = [b for b in raw.get("blocks") or [] if isinstance(b, dict)]
    for block in blocks:
        if not str(block.get("block_id", "")).startswith(FEEDBACK_BLOCK_PREFIX):
            continue
        for element in block.get("elements") or []:
            try:
                value = json.loads(element.get("value", ""))
            except (AttributeError, TypeError, ValueError):
                continue
            if isinstance(value, dict) and isinstance(value.get("s"), list):
                return [str(i) for i in value["s"]]
    ids = [str(b["block_id"])[len(STATEMENT_BLOCK_PREFIX):] for b in blocks
           if str(b.get("block_id", "")).startswith(STATEMENT_BLOCK_PREFIX)]
    return ids or None


def _ts(value: Optional[str]) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def _when(ts: Optional[str]) -> str:
    try:
        return datetime.fromtimestamp(float(ts or 0), tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, ValueError, OSError):
        return "unknown time"
