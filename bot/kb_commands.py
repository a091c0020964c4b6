"""`carebot kb ...`: check, export and search the knowledge base."""
from __future__ import annotations

import argparse
import json
import sys

from dialogues.reach import unreachable
from knowledge import load_knowledge
from knowledge.checks import citation_problems, prerequisite_conflicts, untagged_treatment_problems
from knowledge.seeds import coverage_problems, load_seeds


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    kb = subparsers.add_parser("kb", help="check, export or search the knowledge base")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    check = kb_sub.add_parser("check", help="validate statements and lexicon; print counts")
    check.set_defaults(handler=check_command)
    export = kb_sub.add_parser("export", help="every statement as JSON")
    export.add_argument("--json", action="store_true", default=True, help="JSON array (the default)")
    export.set_defaults(handler=export_command)
    search = kb_sub.add_parser("search", help="statements that mention a term or any synonym of it")
    search.add_argument("term", nargs="+")
    search.set_defaults(handler=search_command)


def check_command(args: argparse.Namespace) -> int:
    kb = load_knowledge()
    seeds = load_seeds()
    checks = {
        "every clinical sentence of the seeds is quoted word for word": coverage_problems(seeds, kb.statements),
        "every source title and citation names only what its seed gives": citation_problems(seeds, kb.statements),
        "every statement naming a treatment with prerequisites is tagged with it": untagged_treatment_problems(kb),
        "every statement is quoted by some question": [
            f"{statement_id}: no question reaches it (check its topics and entities)"
            for statement_id in unreachable(kb)
        ],
    }
    counts = kb.counts()
    print(f"knowledge base OK: {len(kb)} statements, {len(kb.lexicon.entries)} lexicon entries")
    print("by source: " + ", ".join(f"{k} {v}" for k, v in counts["source"].items()))
    print("by topic:  " + ", ".join(f"{k} {v}" for k, v in counts["topic"].items()))
    problems = [problem for found in checks.values() for problem in found]
    if problems:
        print(f"\n{len(problems)} problem(s) against the seeds and the lexicon:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    for passed in checks:
        print(passed)
    notes = prerequisite_conflicts(kb)
    if notes:
        print(f"\nnote: {len(notes)} statement(s) name a treatment to say when it does not apply:")
        for note in notes:
            print(f"  - {note}")
    return 0


def export_command(args: argparse.Namespace) -> int:
    json.dump(load_knowledge().export(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def search_command(args: argparse.Namespace) -> int:
    kb = load_knowledge()
    term = " ".join(args.term)
    found = kb.search(term)
    entry = kb.lexicon.resolve(term)
    shown = f"'{term}'" + (f" ({entry.label})" if entry and entry.label.casefold() != term.casefold() else "")
    if not found:
        print(f"No statement mentions {shown}.")
        return 1
    print(f"{len(found)} statement(s) mention {shown}:\n")
    for s in found:
        print(f"[{s.id}] {s.text}\n    — {s.citation}\n")
    return 0
