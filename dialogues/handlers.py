"""One handler per intent. Each picks the statements that answer the question, nothing more.

Handlers receive a `TurnContext` whose slots are already filled (the manager checks what each
handler needs first, see `dialogues.manager.ROUTES`) and return a `Reply`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from dialogues import catalogue, compose, premises
from dialogues.state import CASE_SLOTS, ConversationState
from dialogues.types import Reply, ReplyKind
from knowledge import Applicability, EntityType, KnowledgeBase, Match, Topic
from knowledge.query import block_for
from nlu.types import IntentScore, ParseResult


@dataclass
class Unknown:
    """Something the message names that the knowledge base has nothing on."""

    kind: str  # drug | procedure | condition
    name: Optional[str]  # what may be said back (a vocabulary or curated name); None: never echo it


@dataclass
class TurnContext:
    """Everything a handler may use; the manager builds it once per turn."""

    kb: KnowledgeBase
    parse: ParseResult
    state: ConversationState
    intent: str
    text: str = ""
    # subjects named in this message, by slot ("drug" also holds classes)
    mentioned: Dict[str, List[str]] = field(default_factory=dict)
    new_facts: Dict[str, str] = field(default_factory=dict)  # facts this message stored or changed
    hypothetical: Dict[str, str] = field(default_factory=dict)  # facts for this answer only
    not_noted: List[str] = field(default_factory=list)  # catalogue lines: facts read but not stored
    unknowns: List[Unknown] = field(default_factory=list)
    prior_therapy: List[str] = field(default_factory=list)  # what the disease progressed on, this message
    hypothetical_prior: List[str] = field(default_factory=list)  # ... in a hypothetical ("what if she progressed on X")
    hypothetical_excluded: List[str] = field(default_factory=list)  # excluded for this answer only
    qualifier_notes: List[str] = field(default_factory=list)  # population / indication notes
    follow_up: bool = False  # the message continues the last question (pronoun, "and ...", a new fact)
    notes: List[str] = field(default_factory=list)  # manager's notes (e.g. message truncated)
    lead_extra: List[str] = field(default_factory=list)  # said before the answer (unknowns named, co-medication)

    @property
    def facts(self) -> Dict[str, Optional[str]]:
        """The case facts this answer uses: the stored ones, overlaid by this message's hypotheticals."""
        facts = self.state.facts()
        facts.update(self.hypothetical)
        return facts

    @property
    def excluded(self) -> List[str]:
        return list(dict.fromkeys([*self.state.excluded, *self.hypothetical_excluded]))

    def query(self, topic: Optional[Topic], entities: Sequence[str] = ()) -> List[Match]:
        return self.kb.query(topic, entities, self.facts, excluded=self.excluded)

    def label(self, entity_id: str) -> str:
        return self.kb.lexicon.label(entity_id)

    def scored_intent(self) -> IntentScore:
        return IntentScore(name=self.intent, confidence=self.parse.intent.confidence)

    def reply(self, kind: ReplyKind, **parts) -> Reply:
        lead = list(parts.pop("lead", []))
        said: List[str] = []
        if self.new_facts:
            said.append(catalogue.noted(catalogue.fact_label(k, v) for k, v in self.new_facts.items()))
        if self.prior_therapy:
            said.append(catalogue.excluded_now([self.label(e) for e in self.prior_therapy]))
        said.extend(self.not_noted)
        if self.hypothetical:
            said.append(catalogue.hypothetical([catalogue.fact_label(k, v) for k, v in self.hypothetical.items()]))
        said.extend(self.lead_extra)
        if kind is ReplyKind.answer:
            said.extend(self.qualifier_notes)
        notes = list(parts.pop("notes", [])) + self.notes
        return compose.build(
            kind,
            intent=self.scored_intent(),
            entities=self.parse.entities,
            slots=self.state.slots,
            lead=said + lead,
            notes=notes,
            **parts,
        )


def answer(ctx: TurnContext, topic: Topic, subject: Optional[str], matches: Sequence[Match],
           lead: Sequence[str] = (), keep_contradicted: bool = False, heading_label: Optional[str] = None) -> Reply:
    """Quote the matches that apply; when none does, say so and quote what the KB has instead."""
    subject_label = heading_label or (ctx.label(subject) if subject else None)
    shown, left_out, used = compose.split_by_facts(matches, ctx.facts, keep_contradicted, label=ctx.label)
    lead = list(lead)
    if used:
        lead.append(catalogue.based_on(used))
    if not shown and subject:
        lead.append(catalogue.nothing_on_topic(subject_label or subject, topic.value))
        related = [
            m for m in ctx.query(None, [subject])
            if m.applicability.value != "contradicted" and m.statement.id not in {x.statement.id for x in matches}
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
        lead.extend(_premises(ctx, subject, shown))
    cited, shared = compose.shared_caveat([compose.cite(m, ctx.facts, ctx.label) for m in shown])
    if shared:
        lead.append(catalogue.for_all_statements(shared))
    return ctx.reply(
        ReplyKind.answer,
        lead=lead,
        statements=cited,
        notes=left_out,
        suggestions=catalogue.suggestions_for(topic.value, subject),
    )


def _premises(ctx: TurnContext, subject: Optional[str], shown: Sequence[Match]) -> List[str]:
    """Name every figure, route or interval the user wrote that differs from (or matches) the statements."""
    entry = ctx.kb.lexicon.entries.get(subject or "")
    if entry is None or entry.type not in (EntityType.drug, EntityType.drug_class):
        return []
    ids = {subject, *ctx.kb.lexicon.classes_of(subject)} if subject else set()
    figures = premises.user_figures_about(ctx.text, ctx.parse.entities, ids)
    if not figures:
        return []
    forms = [f for member in ctx.kb.lexicon.expand(subject) for f in ctx.kb.lexicon.forms(member)]
    applicable = [m.statement for m in shown if m.applicability is not Applicability.contradicted]
    return premises.check_premises(figures, applicable, ctx.label(subject), forms)


# --- clinical handlers -------------------------------------------------------------------------

def dosing(ctx: TurnContext) -> Reply:
    drug = ctx.state.slots["drug"]
    named_procedures = ctx.mentioned.get("procedure", [])
    if named_procedures and not ctx.mentioned.get("drug"):
        drug = named_procedures[0]  # "PRRT dose?": what the KB has on PRRT, never another drug's dose
    assert drug is not None  # the route requires it
    return answer(ctx, Topic.dosing, drug, ctx.query(Topic.dosing, [drug]), keep_contradicted=True)


def procedure_explanation(ctx: TurnContext) -> Reply:
    named = ctx.mentioned.get("procedure") or [ctx.state.slots["procedure"]]
    procedures = [p for p in named if p]
    assert procedures
    label = " and ".join(ctx.label(p) for p in procedures) if len(procedures) > 1 else None
    return answer(ctx, Topic.procedure_explanation, procedures[0],
                  ctx.query(Topic.procedure_explanation, procedures), keep_contradicted=True, heading_label=label)


def next_steps(ctx: TurnContext) -> Reply:
    """About the subjects named, or the options for the case (minus what it progressed on or failed)."""
    tried = {*ctx.prior_therapy, *ctx.hypothetical_prior}
    named = [e for slot in ("drug", "procedure") for e in ctx.mentioned.get(slot, []) if e not in tried]
    if not named and ctx.follow_up and ctx.state.focus in ("drug", "procedure"):
        named = [e for e in [ctx.state.slots.get(ctx.state.focus)] if e and e not in ctx.excluded]
    if named:
        return answer(ctx, Topic.next_steps, named[0], ctx.query(Topic.next_steps, named), keep_contradicted=True)
    lead = []
    if tried:
        first = (ctx.prior_therapy or ctx.hypothetical_prior)[0]
        lead = [catalogue.prior_therapy(ctx.label(first))]
    return answer(ctx, Topic.next_steps, None, _case_options(ctx), lead=lead)


def _case_options(ctx: TurnContext) -> List[Match]:
    """The options for the case: the guidelines' (not the statements explaining one procedure), what the
    sources say of the case's management as a whole (statements naming no treatment), and any statement whose
    own conditions this case meets ("primary tumor resection ... is the treatment of choice" once resectable)."""
    return [
        m for m in ctx.query(Topic.next_steps)
        if (m.statement.source.kind.value == "guideline" and Topic.procedure_explanation not in m.statement.topics)
        or not m.statement.entities
        or (m.statement.conditions and m.applicability is Applicability.applies)
    ]


def monitoring(ctx: TurnContext) -> Reply:
    """Monitoring after what was named, always with the case's own schedule (CgA, imaging, symptoms)."""
    named = [e for slot in ("test", "drug", "procedure") for e in ctx.mentioned.get(slot, [])]
    if not named and ctx.follow_up and ctx.state.focus:
        named = [e for e in [ctx.state.slots.get(ctx.state.focus)] if e]
    general = [m for m in ctx.query(Topic.monitoring) if _about_the_case(ctx, m)]
    if named:
        specific = ctx.query(Topic.monitoring, named)
        if specific:
            seen = {m.statement.id for m in specific}
            return answer(ctx, Topic.monitoring, named[0], specific + [m for m in general if m.statement.id not in seen])
    return answer(ctx, Topic.monitoring, None, general)


def ruled_out(ctx: TurnContext, subject: str) -> List[str]:
    """Why a treatment does not apply to this case, said even when carebot only asks what the user wants to
    know about it: a clarifying question must not read as if the treatment were still an option."""
    block = block_for(subject, ctx.facts, ctx.kb.lexicon, ctx.excluded)
    if block is None:
        return []
    return [compose.block_caveat(block, {k: v for k, v in ctx.facts.items() if v}, ctx.label)]


def _about_the_case(ctx: TurnContext, match: Match) -> bool:
    """The case's own follow-up (CgA, imaging, prognosticators), not what to watch after one treatment: a
    statement that names a test, or names nothing."""
    types = {ctx.kb.lexicon.entries[e].type for e in match.statement.entities if e in ctx.kb.lexicon.entries}
    return not types or EntityType.test in types


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

# "what's the procedure next week?": the knowledge base says what is planned, so that is the answer.
THE_PLANNED_PROCEDURE = re.compile(
    r"\b(?:next (?:week|wk)|planned|scheduled|upcoming|booked|coming up|her procedure|the procedure)\b", re.I)
_PLANNED_STATEMENT = re.compile(r"\b(?:planned for|scheduled for)\b", re.I)


def planned_procedure(ctx: TurnContext) -> Reply:
    """The statements that say which procedure the case is planned for, instead of asking which one."""
    matches = [m for m in ctx.query(Topic.next_steps) if _PLANNED_STATEMENT.search(m.statement.text)]
    return answer(ctx, Topic.procedure_explanation, None, matches)


def ask_for(slot: str, topic: Topic):
    """A clarifier offering the subjects the knowledge base has statements on for this topic."""
    entity_type = {"drug": EntityType.drug, "procedure": EntityType.procedure}[slot]

    def ask(ctx: TurnContext) -> Reply:
        if slot == "procedure" and THE_PLANNED_PROCEDURE.search(ctx.text):
            return planned_procedure(ctx)
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
    """Only unknown things were named: say so, naming them by their vocabulary name, never the user's word."""
    names = unknown_names(ctx)
    said = catalogue.unknown_named(names) if names else catalogue.UNKNOWN_UNNAMED
    return ctx.reply(ReplyKind.fallback, lead=[said, catalogue.CAPABILITIES],
                     suggestions=list(catalogue.EXAMPLE_QUESTIONS))


def unknown_names(ctx: TurnContext) -> List[str]:
    return list(dict.fromkeys(u.name for u in ctx.unknowns if u.name))


def short_acting(ctx: TurnContext) -> Reply:
    return ctx.reply(ReplyKind.fallback, lead=[catalogue.short_acting(ctx.label("octreotide-short-acting"))],
                     suggestions=["What is the octreotide LAR dose?", "What is the lanreotide dose?"])


def out_of_scope(ctx: TurnContext) -> Reply:
    return ctx.reply(ReplyKind.fallback, lead=[catalogue.OUT_OF_SCOPE, catalogue.CAPABILITIES],
                     suggestions=list(catalogue.EXAMPLE_QUESTIONS))


def low_confidence(ctx: TurnContext) -> Reply:
    """Unsure of the intent: if a subject was named, ask what about it; else say what we answer."""
    named = [(slot, e) for slot in ("drug", "procedure", "test") for e in ctx.mentioned.get(slot, [])]
    if named:
        slot, subject = named[0]
        label = ctx.label(subject)
        return ctx.reply(ReplyKind.clarify, lead=[catalogue.ask_topic(label), *ruled_out(ctx, subject)],
                         suggestions=catalogue.topic_suggestions(slot, label))
    return ctx.reply(ReplyKind.fallback, lead=[catalogue.LOW_CONFIDENCE, catalogue.CAPABILITIES],
                     suggestions=list(catalogue.EXAMPLE_QUESTIONS))
