"""`carebot audit ...` and `carebot feedback report`: what an inspector and a knowledge maintainer run.

    carebot audit show ID|last      what that turn showed, rebuilt from its knowledge-base version
    carebot audit verify            the hash chain is intact (0) or names the first bad record (1)
    carebot audit export            records as JSON lines or CSV, optionally by date
    carebot audit stats             turns per day, reply kinds, fallback rate, most-quoted statements
    carebot audit purge             remove records past retention, leaving a verifiable anchor
    carebot audit pseudonym         an id's pseudonym under the configured key (to resolve one)
    carebot feedback report         statements and intents by not-helpful rate, and a PNG chart

None of these loads the NLU model. Exit codes: 0 ok, 1 a failure was found, 2 bad usage.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, List, NamedTuple, Optional, Tuple

DEFAULT_CHART = Path("reports/feedback.png")


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    audit = subparsers.add_parser("audit", help="the audit trail: show, verify, export, stats, purge, pseudonym")
    sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")

    show = sub.add_parser("show", help="what one turn showed, from the knowledge base at that version")
    show.add_argument("id", help="an audit record id (a reply's audit_id), or 'last'")
    show.set_defaults(handler=show_command)

    verify = sub.add_parser("verify", help="check the hash chain; exit 1 naming the first bad record")
    verify.add_argument("--head", metavar="HASH",
                        help="a record hash noted earlier (a previous verify, the JSON log): fail if it is gone")
    verify.set_defaults(handler=verify_command)

    export = sub.add_parser("export", help="records as JSON lines (whole records, re-verifiable) or CSV")
    _add_period(export)
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--output", "-o", metavar="FILE", type=Path, help="write here instead of standard output")
    export.set_defaults(handler=export_command)

    stats = sub.add_parser("stats", help="turns per day, reply kinds, fallback rate, most-quoted statements")
    _add_period(stats)
    stats.add_argument("--top", type=int, default=10, help="how many most-quoted statements (default 10)")
    stats.add_argument("--json", action="store_true", help="JSON output")
    stats.set_defaults(handler=stats_command)

    purge = sub.add_parser("purge", help="remove records older than CAREBOT_AUDIT_RETENTION_DAYS (default 6 years)")
    purge.add_argument("--dry-run", action="store_true", help="only say how many would be removed")
    purge.set_defaults(handler=purge_command)

    pseudonym = sub.add_parser("pseudonym", help="the pseudonym of a conversation or user id under the key")
    which = pseudonym.add_mutually_exclusive_group(required=True)
    which.add_argument("--conversation", metavar="ID")
    which.add_argument("--user", metavar="ID")
    pseudonym.set_defaults(handler=pseudonym_command)

    feedback = subparsers.add_parser("feedback", help="feedback from the chat buttons, for the knowledge maintainers")
    feedback_sub = feedback.add_subparsers(dest="feedback_command", required=True, metavar="ACTION")
    report = feedback_sub.add_parser("report", help="statements and intents by not-helpful rate, and a PNG chart")
    report.add_argument("--output", "-o", metavar="PNG", type=Path, default=DEFAULT_CHART,
                        help=f"the chart (default {DEFAULT_CHART})")
    report.add_argument("--min-count", type=int, default=1, metavar="N", help="leave out rows with fewer votes")
    report.add_argument("--top", type=int, default=20, metavar="N", help="rows per table (default 20)")
    report.add_argument("--json", action="store_true", help="JSON output instead of the table")
    report.set_defaults(handler=feedback_report_command)


# --- arguments -------------------------------------------------------------------------------------

class When(NamedTuple):
    at: datetime
    whole_day: bool  # given as YYYY-MM-DD: --until includes that whole day


def parse_date(value: str) -> When:
    """YYYY-MM-DD (a whole UTC day) or an ISO-8601 time; times without a zone are UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD) or an ISO-8601 time") from None
    at = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return When(at, whole_day=len(value.strip()) == 10)


def _add_period(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", type=parse_date, metavar="DATE", help="from this date or time (UTC), inclusive")
    parser.add_argument("--until", type=parse_date, metavar="DATE",
                        help="before this time, or through the end of this day when a date is given (UTC)")


def period(args: argparse.Namespace) -> Tuple[Optional[float], Optional[float]]:
    """(since, until) in epoch seconds, until exclusive."""
    since = args.since.at.timestamp() if args.since else None
    until = None
    if args.until is not None:
        until = (args.until.at + timedelta(days=1) if args.until.whole_day else args.until.at).timestamp()
    return since, until


# --- plumbing --------------------------------------------------------------------------------------

def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _settings():
    from dialogues.settings import CoreSettings

    return CoreSettings()


def _run(work: Callable[[Any, Any], Awaitable[int]], *, need_records: bool = True) -> int:
    """Open the configured audit store, run `work(store, settings)`, close the store. Without Redis
    and without a state file, there is nothing to read: 1 when records are needed, else `work`
    gets no store (and no file is created)."""
    import sqlite3

    from audit import open_store

    settings = _settings()
    missing = not settings.redis_url and not Path(settings.state_path).is_file()
    if missing and need_records:
        _err(f"carebot: no audit trail at {settings.state_path} (CAREBOT_STATE_PATH): nothing recorded there yet")
        return 1

    async def main() -> int:
        store = None if missing else open_store(settings)
        try:
            return await work(store, settings)
        finally:
            if store is not None:
                await store.close()

    try:
        return asyncio.run(main())
    except sqlite3.Error as exc:
        _err(f"carebot: cannot read the audit trail in {settings.state_path}: {type(exc).__name__}: {exc}")
        return 2
    except OSError as exc:  # includes connection errors
        _err(f"carebot: cannot read the audit store: {type(exc).__name__}")
        return 2
    except Exception as exc:
        if type(exc).__module__.startswith("redis"):
            _err(f"carebot: cannot read the audit store (Redis at CAREBOT_REDIS_URL): {type(exc).__name__}")
            return 2
        raise


# --- audit -----------------------------------------------------------------------------------------

def show_command(args: argparse.Namespace) -> int:
    from audit.reports import describe
    from audit.snapshot import Snapshot

    async def work(store: Any, settings: Any) -> int:
        record = await store.last() if args.id == "last" else await store.get(args.id)
        if record is None:
            _err(f"carebot: no audit record with id {args.id!r} in {_where(store)}")
            return 1
        version = record.get("kb_version")
        payload = await store.snapshot(version) if isinstance(version, str) else None
        text, problems = describe(record, Snapshot(version, payload) if payload is not None else None)
        print(text)
        for problem in problems:
            _err(f"carebot: {problem}")
        return 1 if problems else 0

    return _run(work)


def verify_command(args: argparse.Namespace) -> int:
    from audit.verify import verify_store

    async def work(store: Any, settings: Any) -> int:
        verdict = await verify_store(store, expect_hash=args.head)
        where = _where(store)
        if verdict.ok:
            if not verdict.checked:
                print(f"audit trail intact: no records yet in {where}")
                return 0
            start = (f"from seq {verdict.first_seq}, anchored by a purge" if verdict.anchored
                     else f"from seq {verdict.first_seq}")
            head = verdict.head
            print(f"audit trail intact: {verdict.checked} record(s) {start} to seq {head.seq} in {where}")
            print(f"head: seq {head.seq} id {head.id} hash {head.hash}")
            if args.head:
                print(f"contains the record with hash {args.head}")
            return 0
        first = verdict.first_problem
        print(f"audit trail BROKEN in {where}: {first.message}")
        others = len(verdict.problems) - 1
        if others:
            print(f"({others} more problem(s) after it; the first one is where tampering starts)")
        return 1

    return _run(work)


def export_command(args: argparse.Namespace) -> int:
    from audit.reports import read_records, write_csv, write_jsonl

    since, until = period(args)

    async def work(store: Any, settings: Any) -> int:
        records = [record async for record in read_records(store, since, until)]
        out = args.output.open("w", encoding="utf-8", newline="") if args.output else sys.stdout
        try:
            count = (write_csv if args.format == "csv" else write_jsonl)(records, out)
        finally:
            if args.output:
                out.close()
        if args.output:
            _err(f"exported {count} record(s) to {args.output}")
        return 0

    return _run(work)


def stats_command(args: argparse.Namespace) -> int:
    from audit.reports import Stats, read_records

    since, until = period(args)

    async def work(store: Any, settings: Any) -> int:
        stats = Stats()
        async for record in read_records(store, since, until):
            stats.add(record)
        if args.json:
            print(json.dumps(stats.as_json(args.top), indent=2))
        else:
            print(stats.render(args.top))
        return 0

    return _run(work)


def purge_command(args: argparse.Namespace) -> int:
    from audit import AuditSettings, carebot_version
    from audit.jsonlog import JsonLineLog
    from audit.record import iso_time
    from audit.retention import purge_expired

    audit_settings = AuditSettings()

    async def work(store: Any, settings: Any) -> int:
        result = await purge_expired(store, retention_days=audit_settings.retention_days, now=time.time(),
                                     carebot_version=carebot_version(), dry_run=args.dry_run)
        cutoff = iso_time(result.cutoff)
        if args.dry_run:
            print(f"{result.purged} record(s) older than {cutoff} ({audit_settings.retention_days:g} days) would be removed")
            return 0
        if result.anchor is None:
            print(f"nothing to purge: no record is older than {cutoff} ({audit_settings.retention_days:g} days)")
            return 0
        if audit_settings.log:
            copy = JsonLineLog(audit_settings.log)
            try:
                copy.write(result.anchor)
            finally:
                copy.close()
        print(f"removed {result.purged} record(s) older than {cutoff}; purge anchor seq {result.anchor['seq']} "
              f"(id {result.anchor['id']}) keeps the chain verifiable from seq {result.anchor['first_kept_seq']}")
        return 0

    return _run(work)


def pseudonym_command(args: argparse.Namespace) -> int:
    from audit import AuditConfigError, AuditSettings, load_key
    from audit.pseudonym import Pseudonymizer

    settings = _settings()
    try:
        key = load_key(AuditSettings(), settings.state_path, say=_err)
    except AuditConfigError as exc:
        _err(f"carebot: {exc}")
        return 2
    pseudonyms = Pseudonymizer(key.secret)
    kind, value = ("conversation", args.conversation) if args.conversation is not None else ("user", args.user)
    print(f"{kind} pseudonym {pseudonyms(kind, value)} (key id {pseudonyms.key_id})")
    return 0


# --- feedback --------------------------------------------------------------------------------------

def feedback_report_command(args: argparse.Namespace) -> int:
    from audit.feedback import build_report, intents_for, load_feedback, render, write_chart

    if args.min_count < 1 or args.top < 1:
        _err("carebot: --min-count and --top must be at least 1")
        return 2

    async def work(store: Any, settings: Any) -> int:
        feedback, sources = await load_feedback(settings)
        report = build_report(feedback, await intents_for(store, feedback) if store is not None else {})
        chart = write_chart(report, args.output, min_count=args.min_count, top=args.top)
        if args.json:
            print(json.dumps({**report.as_json(args.min_count), "sources": sources, "chart": str(chart)}, indent=2))
        else:
            print(render(report, _statement_texts(), min_count=args.min_count, top=args.top))
            print(f"\nread from: {'; '.join(sources) or 'no feedback store found'}")
            print(f"chart: {chart}")
        return 0

    return _run(work, need_records=False)


def _statement_texts() -> dict:
    """Current statement texts, to show beside ids (the knowledge base is what maintainers edit)."""
    from knowledge import KnowledgeError, default_knowledge

    try:
        return {s.id: s.text for s in default_knowledge().statements}
    except KnowledgeError:
        return {}


def _where(store: Any) -> str:
    describe = getattr(store, "describe", None)
    return describe() if describe else type(store).__name__


def main(argv: Optional[List[str]] = None) -> int:
    """These commands alone (for tests and for running them without the rest of the CLI)."""
    parser = argparse.ArgumentParser(prog="carebot")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)
