"""Read-side views of the trail: export (JSON lines or CSV), stats, and the reconstruction of one
record (`audit show`). None of them needs the NLU model; all of them read only the store.
"""
from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any, AsyncIterator, Dict, Iterable, List, Optional, Tuple

from audit.chain import canonical_json, record_hash
from audit.record import PURGE, TURN
from audit.snapshot import Snapshot, reconstruct
from knowledge.schema import SOURCE_HEADINGS, SourceKind

CSV_COLUMNS = ("seq", "id", "type", "at", "platform", "conversation", "user", "key_id", "kind", "intent",
               "confidence", "statements", "caveats", "notes", "facts", "kb_version", "model", "carebot",
               "latency_ms", "withheld", "detail", "prev", "hash")
_JSON_COLUMNS = ("caveats", "notes", "facts")


async def read_records(store: Any, since: Optional[float] = None,
                       until: Optional[float] = None) -> AsyncIterator[Dict[str, Any]]:
    async for stored in store.scan(since, until):
        yield json.loads(stored.raw)


def write_jsonl(records: Iterable[Dict[str, Any]], out: IO[str]) -> int:
    """Each record as stored (canonical JSON): an export can be re-verified line by line."""
    count = 0
    for record in records:
        out.write(canonical_json(record) + "\n")
        count += 1
    return count


def csv_row(record: Dict[str, Any]) -> Dict[str, str]:
    row: Dict[str, str] = {}
    for column in CSV_COLUMNS:
        value = record.get(column)
        if column == "statements":
            row[column] = ";".join(value or [])
        elif column in _JSON_COLUMNS:
            row[column] = canonical_json(value) if value is not None else ""
        elif column == "detail":
            extra = {k: v for k, v in record.items() if k not in CSV_COLUMNS and k != "v"}
            row[column] = canonical_json(extra) if extra else ""
        else:
            row[column] = "" if value is None else str(value)
    return row


def write_csv(records: Iterable[Dict[str, Any]], out: IO[str]) -> int:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for record in records:
        writer.writerow(csv_row(record))
        count += 1
    return count


@dataclass
class Stats:
    turns: int = 0
    purges: int = 0
    per_day: Dict[str, int] = field(default_factory=dict)
    kinds: Counter = field(default_factory=Counter)
    intents: Counter = field(default_factory=Counter)
    platforms: Counter = field(default_factory=Counter)
    statements: Counter = field(default_factory=Counter)
    latencies: List[float] = field(default_factory=list)

    def add(self, record: Dict[str, Any]) -> None:
        if record.get("type") == PURGE:
            self.purges += 1
            return
        if record.get("type") != TURN:
            return
        self.turns += 1
        day = str(record.get("at", ""))[:10]
        self.per_day[day] = self.per_day.get(day, 0) + 1
        self.kinds[record.get("kind") or "?"] += 1
        self.intents[record.get("intent") or "-"] += 1
        self.platforms[record.get("platform") or "?"] += 1
        self.statements.update(record.get("statements") or [])
        if isinstance(record.get("latency_ms"), (int, float)):
            self.latencies.append(float(record["latency_ms"]))

    @property
    def fallback_rate(self) -> float:
        return self.kinds.get("fallback", 0) / self.turns if self.turns else 0.0

    def latency(self, quantile: float) -> Optional[float]:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]

    def top_statements(self, n: int = 10) -> List[Tuple[str, int]]:
        return sorted(self.statements.items(), key=lambda item: (-item[1], item[0]))[:n]

    def as_json(self, top: int = 10) -> Dict[str, Any]:
        return {
            "turns": self.turns,
            "purges": self.purges,
            "per_day": dict(sorted(self.per_day.items())),
            "kinds": dict(self.kinds.most_common()),
            "fallback_rate": round(self.fallback_rate, 4),
            "intents": dict(self.intents.most_common()),
            "platforms": dict(self.platforms.most_common()),
            "most_quoted": [{"statement": sid, "count": n} for sid, n in self.top_statements(top)],
            "latency_ms": {"p50": self.latency(0.5), "p95": self.latency(0.95)},
        }

    def render(self, top: int = 10) -> str:
        if not self.turns:
            return "No turns recorded in this period."
        lines = [f"{self.turns} turn(s); fallback rate {self.fallback_rate:.1%}"]
        lines.append("kinds:     " + ", ".join(f"{k} {n}" for k, n in self.kinds.most_common()))
        lines.append("intents:   " + ", ".join(f"{k} {n}" for k, n in self.intents.most_common()))
        lines.append("platforms: " + ", ".join(f"{k} {n}" for k, n in self.platforms.most_common()))
        if self.latencies:
            lines.append(f"latency:   p50 {self.latency(0.5):.1f} ms, p95 {self.latency(0.95):.1f} ms")
        lines.append("\nturns per day:")
        lines.extend(f"  {day}  {n}" for day, n in sorted(self.per_day.items()))
        lines.append(f"\nmost-quoted statements (top {top}):")
        lines.extend(f"  {n:6d}  {sid}" for sid, n in self.top_statements(top))
        if not self.statements:
            lines.append("  (none)")
        return "\n".join(lines)


def describe(record: Dict[str, Any], snapshot: Optional[Snapshot]) -> Tuple[str, List[str]]:
    """What the record says was shown, as text, and the problems found while reconstructing it
    (its hash, the snapshot's integrity, statement ids the snapshot lacks)."""
    problems: List[str] = []
    name = f"record seq {record.get('seq')} (id {record.get('id')})"
    if record_hash(record) != record.get("hash"):
        problems.append(f"{name}: its content does not match its hash (run `carebot audit verify`)")
    def field(label: str, value: Any) -> str:
        return f"  {label:<13}{value}"

    lines = [f"audit {name}", field("at", record.get("at"))]
    if record.get("type") == PURGE:
        lines.append(field("purge", f"removed {record.get('purged')} record(s) through seq {record.get('purged_through')} "
                                    f"(older than {record.get('cutoff')}, retention {record.get('retention_days')} days)"))
        lines.append(field("first kept", f"seq {record.get('first_kept_seq')}, prev {record.get('first_kept_prev')}"))
        return "\n".join(lines), problems
    facts = record.get("facts") or {}
    lines += [
        field("platform", record.get("platform")),
        field("conversation", record.get("conversation")),
        field("user", record.get("user") or "-"),
        field("key id", record.get("key_id")),
        field("reply", f"{record.get('kind')}, intent {record.get('intent') or '-'} "
                       f"(confidence {record.get('confidence')})"),
        field("case facts", ", ".join(f"{k}={v}" for k, v in sorted(facts.items())) or "-"),
        field("knowledge", record.get("kb_version")),
        field("NLU model", record.get("model")),
        field("carebot", record.get("carebot")),
        field("latency", f"{record.get('latency_ms')} ms"),
    ]
    if record.get("withheld"):
        lines.append(field("withheld", f"{record['withheld']} caveat/note line(s) that were not catalogue text"))
    ids = list(record.get("statements") or [])
    if not ids:
        lines.append("\nNo statements were quoted.")
    elif snapshot is None:
        problems.append(f"{name}: knowledge base version {str(record.get('kb_version'))[:16]} is not in the store, "
                        "so the statements cannot be reconstructed")
        lines.append("\nStatements quoted (ids only; their knowledge-base version is not stored): " + ", ".join(ids))
    else:
        if not snapshot.intact():
            problems.append(f"knowledge-base snapshot {snapshot.version[:16]} was changed: its content does not "
                            "hash to its version")
        caveats: Dict[str, List[str]] = {}
        for caveat in record.get("caveats") or []:
            for sid in caveat.get("statements", []):
                caveats.setdefault(sid, []).append(caveat.get("text", ""))
        lines.append(f"\nStatements shown ({len(ids)}), verbatim from knowledge base {snapshot.version[:16]}:")
        for shown in reconstruct(snapshot, ids):
            if shown.text is None:
                problems.append(f"{name}: statement '{shown.id}' is not in knowledge base version "
                                f"{snapshot.version[:16]}")
                lines.append(f"\n[{shown.id}] (not in this knowledge-base version)")
                continue
            heading = SOURCE_HEADINGS.get(SourceKind(shown.source_kind), shown.source_kind) \
                if shown.source_kind in {k.value for k in SourceKind} else shown.source_kind
            mentions = f"; mentions: {'; '.join(shown.mentions)}" if shown.mentions else ""
            lines.append(f"\n[{shown.id}] {heading}: \u201c{shown.text}\u201d")
            lines.append(f"    ({shown.citation}{mentions})")
            for caveat in caveats.get(shown.id, []):
                lines.append(f"    caveat: {caveat}")
    notes = record.get("notes") or []
    if notes:
        lines.append("\nNotes shown:")
        lines.extend(f"  {note}" for note in notes)
    return "\n".join(lines), problems
