"""One handler per intent. Each picks the statements that answer the question, nothing more.

Handlers receive a `TurnContext` whose slots are already filled (the manager checks what each
handler needs first, see `dialogues.manager.ROUTES`) and return a `Reply`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from dialogues import catalogue, compose
from dialogues.state import CASE_SLOTS, ConversationState
from dialogues.types import Reply, ReplyKind
from knowledge import EntityType, KnowledgeBase, Match, Topic
from nlu.types import IntentScore, ParseResult


@dataclass
class TurnContext:
    """Everything a handler may use; the manager builds it once per turn."""

    kb: KnowledgeBase
    parse: ParseResult
    state: ConversationState
    intent: str
    # subjects named in this message, by slot ("drug" also holds classes)
    mentioned: Dict[str, List[str]] = field(default_factory=dict)
    new_facts: Dict[str, str] = field(default_factory=dict)  # facts this message stated or changed
    unknown_terms: List[str] = field(default_factory=list)
    prior_therapy: List[str] = field(default_factory=list)  # what the disease progressed on
    follow_up: bool = False  # the message continues the last question (pronoun, "and ...", a new fact)
    notes: List[str] = field(default_factory=list)  # manager's notes (e.g. message truncated)

    @property
    def facts(self) -> Dict[str, Optional[str]]:
        return self.state.facts()

    def label(self, entity_id: str) -> str:
        return self.kb.lexicon.label(entity_id)

    def scored_intent(self) -> IntentScore:
        return IntentScore(name=self.intent, confidence=self.parse.intent.confidence)

    def reply(self, kind: ReplyKind, **parts) -> Reply:
        lead = list(parts.pop("lead", []))
        if self.new_facts:
            lead.insert(0, catalogue.noted(catalogue.fact_label(k, v) for k, v in self.new_facts.items()))
        notes = list(parts.pop("notes", [])) + self.notes
        return compose.build(
            kind,
            intent=self.scored_intent(),
            entities=self.parse.entities,
            slots=self.state.slots,
            lead=lead,
            notes=notes,
            **parts,
        )


def answer(ctx: TurnContext, topic: Topic, subject: Optional[str], matches: Sequence[Match],
           lead: Sequence[str] = (), keep_contradicted: bool = False) -> Reply:
    """Quote the matches that apply; when none does, say so and quote what the KB has instead."""
    subject_label = ctx.label(subject) if subject else None
    shown, left_out, used = compose.split_by_facts(matches, ctx.facts, keep_contradicted)
    lead = list(lead)
    if used:
        lead.append(catalogue.based_on(used))
    if not shown and subject:
        lead.append(catalogue.nothing_on_topic(subject_label or subject, topic.value))
        related = [
            m for m in ctx.kb.query(None, [subject], ctx.facts)
            if m.applicability.value != "contradicted" and m not in matches
        ]
        if not related:
            return ctx.reply(ReplyKind.fallback, lead=lead, notes=left_out,
                             suggestions=catalogue.suggestions_for(topic.value, subject))
        lead.append(catalogue.related_instead(subject_label or subject))
        shown = related
    elif not shown:
        return ctx.reply(ReplyKind.fallback, lead=lead, notes=left_out,
                         suggestions=catalogue.suggestions_for(topic.value, subject))
    else:
        lead.insert(0, catalogue.heading(subject_label, topic.value))
    return ctx.reply(
        ReplyKind.answer,
        lead=lead,
        statements=[compose.cite(m, ctx.facts) for m in shown],
        notes=left_out,
        suggestions=catalogue.suggestions_for(topic.value, subject),
    )


# --- clinical handlers -------------------------------------------------------------------------

def dosing(ctx: TurnContext) -> Reply:
    drug = ctx.state.slots["drug"]
    assert drug is not None  # the route requires it
    return answer(ctx, Topic.dosing, drug, ctx.kb.query(Topic.dosing, [drug], ctx.facts), keep_contradicted=True)


def procedure_explanation(ctx: TurnContext) -> Reply:
    procedure = ctx.state.slots["procedure"]
    assert procedure is not None
    return answer(ctx, Topic.procedure_explanation, procedure,
                  ctx.kb.query(Topic.procedure_explanation, [procedure], ctx.facts), keep_contradicted=True)


def next_steps(ctx: TurnContext) -> Reply:
    """About the subjects named, or the options for the case (minus a therapy it progressed on)."""
    named = [e for slot in ("drug", "procedure") for e in ctx.mentioned.get(slot, []) if e not in ctx.prior_therapy]
    if not named and ctx.follow_up and ctx.state.focus in ("drug", "procedure"):
        named = [e for e in [ctx.state.slots.get(ctx.state.focus)] if e]
    if named:
        subject = named[0]
        return answer(ctx, Topic.next_steps, subject, ctx.kb.query(Topic.next_steps, named, ctx.facts))
    if ctx.prior_therapy:
        # progression on lanreotide rules out its class too: octreotide is not a next step
        failed = set().union(*(
            ctx.kb.lexicon.expand(c) for e in ctx.prior_therapy for c in [e, *ctx.kb.lexicon.classes_of(e)]
        ))
        matches = [
            m for m in _case_options(ctx)
            if not set(m.statement.entities) & failed
        ]
        lead = [catalogue.prior_therapy(ctx.label(ctx.prior_therapy[0]))]
        return answer(ctx, Topic.next_steps, None, matches, lead=lead)
    return answer(ctx, Topic.next_steps, None, _case_options(ctx))


def _case_options(ctx: TurnContext) -> List[Match]:
    """The guidelines' options for the case (not the statements explaining one procedure)."""
    return [
        m for m in ctx.kb.query(Topic.next_steps, (), ctx.facts)
        if m.statement.source.kind.value == "guideline" and Topic.procedure_explanation not in m.statement.topics
    ]


def monitoring(ctx: TurnContext) -> Reply:
    named = [e for slot in ("test", "drug", "procedure") for e in ctx.mentioned.get(slot, [])]
    if not named and ctx.follow_up and ctx.state.focus:
        named = [e for e in [ctx.state.slots.get(ctx.state.focus)] if e]
    if named:
        matches = ctx.kb.query(Topic.monitoring, named, ctx.facts)
        if matches:
            return answer(ctx, Topic.monitoring, named[0], matches)
    # the case's monitoring, not what to watch after one particular procedure
    procedures = set(ctx.kb.lexicon.ids_of_type(EntityType.procedure))
    general = [m for m in ctx.kb.query(Topic.monitoring, (), ctx.facts) if not procedures & set(m.statement.entities)]
    return answer(ctx, Topic.monitoring, None, general)


def case_update(ctx: TurnContext) -> Reply:
    """Acknowledge the facts (the manager re-answers the last question instead when there is one)."""
    known = [catalogue.fact_label(s, v) for s in CASE_SLOTS if (v := ctx.state.slots.get(s))]
    lead = [] if ctx.new_facts else ([catalogue.based_on(known)] if known else [catalogue.LOW_CONFIDENCE])
    return ctx.reply(ReplyKind.smalltalk, lead=lead,
                     suggestions=["What are the next steps?", "Is PRRT an option?"])


CLINICAL = {
    "dosing": dosing,
    "procedure_explanation": procedure_explanation,
    "next_steps": next_steps,
    "monitoring": monitoring,
}


# --- clarifying questions ----------------------------------------------------------------------

def ask_for(slot: str, topic: Topic):
    """A clarifier offering the subjects the knowledge base has statements on for this topic."""
    entity_type = {"drug": EntityType.drug, "procedure": EntityType.procedure}[slot]

    def ask(ctx: TurnContext) -> Reply:
        options = ctx.kb.entities_with_topic(topic, entity_type)
        from dialogues.state import Pending

        ctx.state.pending = Pending(intent=ctx.intent, slot=slot, options=options)
        labels = [ctx.label(o) for o in options]
        return ctx.reply(ReplyKind.clarify, lead=[catalogue.ask_which(slot, labels)], suggestions=labels)

    return ask


# --- everything else ---------------------------------------------------------------------------

def greet(ctx: TurnContext) -> Reply:
    return ctx.reply(ReplyKind.smalltalk, lead=[catalogue.GREETING], suggestions=list(catalogue.EXAMPLE_QUESTIONS))


def thanks(ctx: TurnContext) -> Reply:
    return ctx.reply(ReplyKind.smalltalk, lead=[catalogue.THANKS])


def help_(ctx: TurnContext) -> Reply:
    return ctx.reply(ReplyKind.smalltalk, lead=[catalogue.HELP], suggestions=list(catalogue.EXAMPLE_QUESTIONS))


def affirm(ctx: TurnContext) -> Reply:
    return ctx.reply(ReplyKind.smalltalk, lead=[catalogue.AFFIRM_NOTHING_PENDING],
                     suggestions=list(catalogue.EXAMPLE_QUESTIONS))


def deny(ctx: TurnContext) -> Reply:
    return ctx.reply(ReplyKind.smalltalk, lead=[catalogue.DENY_ACK], suggestions=list(catalogue.EXAMPLE_QUESTIONS))


def no_adjustments(ctx: TurnContext) -> Reply:
    drug = ctx.state.slots.get("drug")
    label = ctx.label(drug) if drug else "a"
    suggestions = [f"What is the {label} dose?"] if drug else list(catalogue.EXAMPLE_QUESTIONS)
    return ctx.reply(ReplyKind.fallback, lead=[catalogue.no_adjustments(label), catalogue.CAPABILITIES],
                     suggestions=suggestions)


def unknown_terms(ctx: TurnContext) -> Reply:
    return ctx.reply(ReplyKind.fallback, lead=[catalogue.unknown_terms(ctx.unknown_terms), catalogue.CAPABILITIES],
                     suggestions=list(catalogue.EXAMPLE_QUESTIONS))


def out_of_scope(ctx: TurnContext) -> Reply:
    return ctx.reply(ReplyKind.fallback, lead=[catalogue.OUT_OF_SCOPE, catalogue.CAPABILITIES],
                     suggestions=list(catalogue.EXAMPLE_QUESTIONS))


def low_confidence(ctx: TurnContext) -> Reply:
    """Unsure of the intent: if a subject was named, ask what about it; else say what we answer."""
    named = [(slot, e) for slot in ("drug", "procedure", "test") for e in ctx.mentioned.get(slot, [])]
    if named:
        slot, subject = named[0]
        label = ctx.label(subject)
        return ctx.reply(ReplyKind.clarify, lead=[catalogue.ask_topic(label)],
                         suggestions=catalogue.topic_suggestions(slot, label))
    return ctx.reply(ReplyKind.fallback, lead=[catalogue.LOW_CONFIDENCE, catalogue.CAPABILITIES],
                     suggestions=list(catalogue.EXAMPLE_QUESTIONS))
