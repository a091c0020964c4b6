"""`carebot train`, `carebot parse`, `carebot eval nlu`."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from dialogues.settings import CoreSettings


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    train = sub.add_parser("train", help="train the NLU model (nothing to do when inputs are unchanged)")
    train.add_argument("--force", action="store_true", help="retrain even if the model is up to date")
    train.add_argument("--quiet", action="store_true", help="no progress display")
    train.set_defaults(handler=train_command)

    parse = sub.add_parser("parse", help="intent, confidence, ranking and entities of one message")
    parse.add_argument("text", nargs="+")
    parse.add_argument("--json", action="store_true", help="print the ParseResult as JSON")
    parse.set_defaults(handler=parse_command)

    evaluate = sub.add_parser("eval", help="evaluate a model")
    eval_sub = evaluate.add_subparsers(dest="eval_command", required=True)
    nlu = eval_sub.add_parser("nlu", help="accuracy, per-intent P/R/F1, entity F1, misclassified examples")
    nlu.add_argument("--data", type=Path, default=None, help="Rasa-format test data (default: the held-out split)")
    nlu.add_argument("--out", type=Path, default=Path("reports"), help="where to write the JSON report and PNG")
    nlu.add_argument("--summary-only", action="store_true",
                     help="print only the example count and aggregate accuracies; write no report "
                          "(for a validation split that error analysis must never see)")
    nlu.set_defaults(handler=eval_nlu_command)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def train_command(args: argparse.Namespace) -> int:
    from nlu.model import train

    train(CoreSettings().models_dir, force=args.force, quiet=args.quiet)
    return 0


def _load_parser():
    from nlu.model import ensure_model
    from nlu.parser import Parser

    return Parser.load(ensure_model(CoreSettings().models_dir, say=_stderr))


def parse_command(args: argparse.Namespace) -> int:
    from nlu.clean import clean_text

    parser = _load_parser()
    result = asyncio.run(parser.parse(clean_text(" ".join(args.text), CoreSettings().max_message_chars)))
    if args.json:
        print(result.json(indent=2))
        return 0
    print(f"intent: {result.intent.name} ({result.intent.confidence:.3f})")
    print("ranking: " + ", ".join(f"{r.name} {r.confidence:.3f}" for r in result.ranking[:5]))
    if result.entities:
        print("entities:")
        for e in result.entities:
            print(f"  {e.entity} = {e.value}  (\u201c{e.text}\u201d)")
    else:
        print("entities: none")
    return 0


def eval_nlu_command(args: argparse.Namespace) -> int:
    from nlu.evaluate import HELDOUT_PATH, evaluate, load_examples, write_outputs

    path = args.data or HELDOUT_PATH
    if not path.is_file():
        _stderr(f"carebot: no test data at {path}")
        return 2
    report = asyncio.run(evaluate(_load_parser(), load_examples(path)))
    print(f"{len(report.outcomes)} examples from {path}")
    print(f"intent accuracy  {report.intent_accuracy:.3f}")
    print(f"entity accuracy  {report.entity_accuracy:.3f}   entity F1 {report.entity_f1():.3f}\n")
    if args.summary_only:
        # Nothing per example, per intent or per confusion cell: a validation split stays clean
        # only if nobody can see which of its examples fail.
        return 0
    print(f"{'intent':<24}{'precision':>10}{'recall':>10}{'f1':>8}{'n':>6}")
    for name, row in report.per_intent().items():
        print(f"{name:<24}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>8.3f}{int(row['support']):>6}")
    sweep = report.threshold_sweep()
    print("\nfallback threshold sweep (intent accuracy): "
          + ", ".join(f"{t:.1f} -> {acc:.3f}" for t, acc in sweep.items()))
    wrong = report.misclassified()
    if wrong:
        print(f"\nmisclassified ({len(wrong)}):")
        for o in wrong:
            print(f"  expected {o.example.intent}, got {o.intent} ({o.confidence:.2f}): {o.example.text}")
    bad_entities = report.wrong_entities()
    if bad_entities:
        print(f"\nwrong entities ({len(bad_entities)}):")
        for o in bad_entities:
            print(f"  expected {list(o.example.entities)}, got {list(o.entities)}: {o.example.text}")
    json_path, png_path = write_outputs(report, args.out)
    print(f"\nwrote {json_path} and {png_path}")
    return 0
