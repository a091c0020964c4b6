"""`carebot chat`, `carebot ask` and `carebot run`: the terminal edges of the core.

Like every edge, these only turn input into `Turn`s and print `Reply`s; the engine decides.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import IO, Any, Dict, Optional

from dialogues.types import Reply, Turn

DEFAULT_JSON_CONVERSATION = "default"


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    chat = sub.add_parser("chat", help="chat in the terminal (reads until end of input)")
    chat.add_argument("--conversation", metavar="NAME", help="resume (or start) a named conversation")
    chat.add_argument("--record", metavar="FILE", type=Path, help="save the session as a replay file")
    chat.set_defaults(handler=chat_command)

    ask = sub.add_parser("ask", help="answer one question, or JSON lines from standard input")
    ask.add_argument("question", nargs="*")
    ask.add_argument("--json", action="store_true", help="JSON output; with no question, read JSON lines")
    ask.add_argument("--conversation", metavar="NAME", help="ask within a named conversation")
    ask.set_defaults(handler=ask_command)

    run = sub.add_parser("run", help="what `make run` starts: the configured chat platform, else the terminal chat")
    run.set_defaults(handler=run_command)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def _engine():
    from dialogues.engine import Engine

    return await Engine.create(say=_stderr)


def render_terminal(reply: Reply) -> str:
    """Reply.text plus the suggestions, for a person at a terminal."""
    if not reply.suggestions:
        return reply.text
    tries = "\n".join(f"  - {s}" for s in reply.suggestions)
    return f"{reply.text}\n\nYou could ask:\n{tries}"


def reply_record(conversation: str, text: str, reply: Reply) -> Dict[str, Any]:
    """The documented `carebot ask --json` object."""
    return {
        "conversation": conversation,
        "text": text,
        "kind": reply.kind.value,
        "intent": {"name": reply.intent.name, "confidence": round(reply.intent.confidence, 4)} if reply.intent else None,
        "entities": [{"entity": e.entity, "value": e.value, "text": e.text} for e in reply.entities],
        "slots": reply.slots,
        "statements": [
            {"id": s.id, "text": s.text, "source": {"kind": s.source.kind, "title": s.source.title},
             "citation": s.citation}
            for s in reply.statements
        ],
        "reply": reply.text,
        "suggestions": reply.suggestions,
    }


# --- chat --------------------------------------------------------------------------------------

def chat_command(args: argparse.Namespace) -> int:
    return asyncio.run(chat(args.conversation, args.record, sys.stdin, sys.stdout))


async def chat(name: Optional[str], record: Optional[Path], stdin: IO[str], stdout: IO[str]) -> int:
    interactive = stdin.isatty() and stdout.isatty()
    conversation = f"cli:{name}" if name else f"cli:{uuid.uuid4().hex[:12]}"
    if interactive:
        _stderr("Loading carebot ...")
    engine = await _engine()
    recorder = None
    if record is not None:
        from bot.replay.recorder import Recorder

        recorder = Recorder(name or "recorded chat")
    if interactive:
        print("carebot: ask about this case's dosing, procedures, next steps or monitoring. "
              "Ctrl-D to quit, \"new case\" to start over.\n", file=stdout)
    try:
        while True:
            if interactive:
                stdout.write("you> ")
                stdout.flush()
            line = stdin.readline()
            if not line:
                break
            line = line.rstrip("\n")
            if not interactive and not line.strip():
                continue
            reply = await engine.handle(Turn(text=line, conversation_id=conversation, user="cli", platform="cli"))
            if recorder is not None:
                recorder.add(line, reply)
            print(("\n" if interactive else "") + render_terminal(reply) + "\n", file=stdout, flush=True)
    finally:
        await engine.close()
        if recorder is not None and record is not None:
            if len(recorder):
                recorder.save(record)
                _stderr(f"Saved the conversation as a replay file: {record}")
            else:
                _stderr("Nothing was said, so no replay file was written.")
    return 0


# --- ask ---------------------------------------------------------------------------------------

def ask_command(args: argparse.Namespace) -> int:
    if args.question:
        return asyncio.run(ask_one(" ".join(args.question), args.conversation, args.json, sys.stdout))
    if not args.json:
        _stderr("carebot ask: give a question, or use --json to read JSON lines from standard input")
        return 2
    return asyncio.run(ask_stream(sys.stdin, sys.stdout, args.conversation))


async def ask_one(question: str, name: Optional[str], as_json: bool, stdout: IO[str]) -> int:
    engine = await _engine()
    conversation = f"cli:{name}" if name else f"cli:ask-{uuid.uuid4().hex[:12]}"
    try:
        reply = await engine.handle(Turn(text=question, conversation_id=conversation, user="cli"))
    finally:
        await engine.close()
    if as_json:
        print(json.dumps(reply_record(conversation, question, reply), ensure_ascii=False), file=stdout)
    else:
        print(render_terminal(reply), file=stdout)
    return 0


async def ask_stream(stdin: IO[str], stdout: IO[str], default: Optional[str]) -> int:
    """One JSON object out per line in; a bad line gets an error object, never a crash."""
    engine = await _engine()
    default_conversation = default or DEFAULT_JSON_CONVERSATION
    try:
        for number, line in enumerate(stdin, start=1):
            if not line.strip():
                continue
            conversation, text, error = _read_line(line, default_conversation)
            if error is not None:
                out: Dict[str, Any] = {"line": number, "error": error}
            else:
                reply = await engine.handle(Turn(text=text, conversation_id=conversation, user="cli"))
                out = reply_record(conversation, text, reply)
            stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
            stdout.flush()
    finally:
        await engine.close()
    return 0


def _read_line(line: str, default_conversation: str):
    stripped = line.strip()
    if not stripped.startswith("{"):
        return default_conversation, line.rstrip("\n"), None
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        return None, None, f"not valid JSON: {exc.msg} at column {exc.colno}"
    if not isinstance(data.get("text"), str):
        return None, None, "a JSON line needs a string field \"text\""
    conversation = data.get("conversation", default_conversation)
    if not isinstance(conversation, (str, int)) or not str(conversation).strip():
        return None, None, "\"conversation\" must be a non-empty string"
    return str(conversation), data["text"], None


# --- run ---------------------------------------------------------------------------------------

def run_command(args: argparse.Namespace) -> int:
    """Serve the chat platform whose settings are present; the terminal chat when none is."""
    from bot.edge.platforms import configured

    present = configured()
    if len(present) > 1:
        names = " and ".join(p.title for p in present)
        _stderr(f"carebot: settings for {names} are all present; `carebot run` serves one. "
                f"Use `carebot serve {present[0].name}` (or another), or unset the others.")
        return 2
    if present:
        return present[0].serve_from_env()
    return asyncio.run(chat(None, None, sys.stdin, sys.stdout))
