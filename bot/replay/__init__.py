"""Conversation replays: recorded conversations replayed through the whole core, with reports.

Modules, one job each:
- `schema`: the replay-file format, strictly validated (a typo names file, line, conversation, key);
- `checks`: whether a reply meets a turn's expectation; `diffing`: readable differences;
- `runner`: replays conversations through the core, each from a fresh state;
- `report` (text and JSON), `junit`, `progress`: what the person and the CI see;
- `observed`, `update`, `recorder`, `yamlio`: expectations written from what carebot did;
- `slack_export`: conversations rebuilt from a Slack workspace export;
- `engine`: the core a replay talks to, created once per process with an in-memory store.
The `carebot replay` command is `bot.replay_commands`.
"""
from bot.replay.recorder import Recorder

__all__ = ["Recorder"]
