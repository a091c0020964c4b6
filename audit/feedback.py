"""`carebot feedback report`: which statements and intents users find unhelpful, and why.

Feedback records come from the chat edges' helpful / not-helpful buttons (dialogues.store.Feedback):
the statement ids of the answer, helpful or not, an optional reason from a fixed menu, and the
answer's audit record id. The intent is not in the feedback: it is joined from the audit record.
Ranked by not-helpful rate, then by how many said so, so a statement one person disliked once does
not outrank one ten people disliked; `min_count` hides the ones with too few votes to mean much.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from dialogues.store import FEEDBACK_REASONS, Feedback

NO_AUDIT_RECORD = "(no audit record)"
NO_INTENT = "(no intent)"


@dataclass
class Tally:
    helpful: int = 0
    not_helpful: int = 0
    reasons: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return self.helpful + self.not_helpful

    @property
    def rate(self) -> float:
        return self.not_helpful / self.total if self.total else 0.0

    def add(self, feedback: Feedback) -> None:
        if feedback.helpful:
            self.helpful += 1
            return
        self.not_helpful += 1
        # only the fixed menu is counted: anything else is not ours to print (it could be free text)
        self.reasons[feedback.reason if feedback.reason in FEEDBACK_REASONS else "no_reason"] += 1

    def as_json(self) -> Dict[str, Any]:
        return {"helpful": self.helpful, "not_helpful": self.not_helpful, "total": self.total,
                "not_helpful_rate": round(self.rate, 4), "reasons": dict(self.reasons.most_common())}


@dataclass
class FeedbackReport:
    statements: Dict[str, Tally] = field(default_factory=dict)
    intents: Dict[str, Tally] = field(default_factory=dict)
    total: int = 0
    unlinked: int = 0  # feedback whose audit record was not found (no id, or purged)

    def ranked(self, table: str, min_count: int = 1) -> List[Tuple[str, Tally]]:
        rows = [(key, t) for key, t in getattr(self, table).items() if t.total >= min_count]
        return sorted(rows, key=lambda row: (-row[1].rate, -row[1].not_helpful, -row[1].total, row[0]))

    def as_json(self, min_count: int = 1) -> Dict[str, Any]:
        return {
            "feedback": self.total,
            "without_audit_record": self.unlinked,
            "statements": [{"statement": k, **t.as_json()} for k, t in self.ranked("statements", min_count)],
            "intents": [{"intent": k, **t.as_json()} for k, t in self.ranked("intents", min_count)],
        }


def build_report(feedback: Iterable[Feedback], intents_by_audit_id: Mapping[str, Optional[str]]) -> FeedbackReport:
    """`intents_by_audit_id`: the intent of each audit record the feedback names (None: no intent);
    an id missing from it has no audit record."""
    report = FeedbackReport()
    for item in feedback:
        report.total += 1
        for sid in dict.fromkeys(item.statement_ids):
            report.statements.setdefault(sid, Tally()).add(item)
        if item.audit_id and item.audit_id in intents_by_audit_id:
            intent = intents_by_audit_id[item.audit_id] or NO_INTENT
        else:
            intent = NO_AUDIT_RECORD
            report.unlinked += 1
        report.intents.setdefault(intent, Tally()).add(item)
    return report


def _reasons(tally: Tally) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in tally.reasons.most_common()) or "-"


def render(report: FeedbackReport, texts: Mapping[str, str], min_count: int = 1, top: int = 20) -> str:
    if not report.total:
        return "No feedback yet."
    lines = [f"{report.total} feedback record(s)"
             + (f", {report.unlinked} without an audit record (no intent known)" if report.unlinked else "")]
    for table, title in (("statements", "Statements"), ("intents", "Intents")):
        rows = report.ranked(table, min_count)
        width = max([len(key) for key, _ in rows[:top]] + [2])
        lines.append(f"\n{title} by not-helpful rate ({len(rows)} with at least {min_count} vote(s)):")
        lines.append(f"  {'rate':>6}  {'not/all':>8}  {'id':<{width}}  reasons")
        for key, tally in rows[:top]:
            lines.append(f"  {tally.rate:6.0%}  {tally.not_helpful:>3}/{tally.total:<4}  {key:<{width}}  {_reasons(tally)}")
            if table == "statements" and key in texts:
                text = texts[key]
                lines.append(f"  {'':6}  {'':8}  \u201c{text[:90]}{'...' if len(text) > 90 else ''}\u201d")
    return "\n".join(lines)


def write_chart(report: FeedbackReport, path: Path, min_count: int = 1, top: int = 15) -> Path:
    """A PNG for the knowledge maintainers' meeting: not-helpful rate per statement and per intent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    tables: Sequence[Tuple[str, str]] = (("statements", "Statements"), ("intents", "Intents"))
    rows = {table: report.ranked(table, min_count)[:top] for table, _ in tables}
    heights = [max(1, len(rows[t])) for t, _ in tables]
    fig, axes = plt.subplots(2, 1, figsize=(10, 2 + 0.4 * sum(heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=True)
    for ax, (table, title) in zip(axes, tables):
        found = rows[table]
        ax.set_title(f"{title}: not-helpful rate (at least {min_count} vote(s))", loc="left", fontsize=11)
        ax.set_xlim(0, 1.15)
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        if not found:
            ax.text(0.5, 0.5, "no feedback yet", ha="center", va="center", transform=ax.transAxes)
            ax.set_yticks([])
            continue
        labels = [key for key, _ in reversed(found)]
        rates = [t.rate for _, t in reversed(found)]
        bars = ax.barh(labels, rates, color="#c0504d")
        for bar, (_, tally) in zip(bars, reversed(found)):
            ax.text(bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2,
                    f"{tally.not_helpful}/{tally.total}", va="center", fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
    fig.suptitle(f"carebot feedback ({report.total} record(s))", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


async def load_feedback(settings: Any) -> Tuple[List[Feedback], List[str]]:
    """Every feedback record, from the SQLite state file (when it exists) and from the Redis
    stream (when CAREBOT_REDIS_URL is set), through the state stores' own read APIs; and the
    sources read, to say where the numbers come from."""
    from dialogues.store import SQLiteStore

    found: List[Feedback] = []
    sources: List[str] = []
    ttl = settings.conversation_ttl_days * 86400
    if Path(settings.state_path).is_file():
        sqlite_store = SQLiteStore(settings.state_path, ttl_seconds=ttl)
        try:
            found.extend(sqlite_store.feedback())
        finally:
            await sqlite_store.close()
        sources.append(f"SQLite {settings.state_path} (table feedback)")
    if settings.redis_url:
        from dialogues.redis_store import RedisStore

        redis_store = await RedisStore.connect(settings.redis_url, ttl)
        try:
            found.extend(await redis_store.feedback_records())
        finally:
            await redis_store.close()
        sources.append("Redis (stream carebot:feedback)")
    return sorted(found, key=lambda f: f.at), sources


async def intents_for(audit_store: Any, feedback: Iterable[Feedback]) -> Dict[str, Optional[str]]:
    """The intent of every audit record the feedback names (ids without a record are left out)."""
    intents: Dict[str, Optional[str]] = {}
    for audit_id in dict.fromkeys(f.audit_id for f in feedback if f.audit_id):
        record = await audit_store.get(audit_id)
        if record is not None:
            intents[audit_id] = record.get("intent")
    return intents
