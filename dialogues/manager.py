"""The dialogue manager: a declared table of routes, not nested ifs.

For each intent, `ROUTES` says which slots its handler needs, what it asks when one is missing,
and which handler answers. Everything not in the table goes to the fallback. The manager's job
is only to turn a parse plus the conversation's state into a context and pick the route:

  1. commands that need no NLU ("new case");
  2. the answer to a pending clarifying question;
  3. corrections and follow-ups that reuse the last question;
  4. unknown drugs or procedures, which are never guessed at, and dose adjustments;
  5. the route for the intent (a new case fact re-answers the last question's route).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

from dialogues import catalogue, compose, handlers
from dialogues.handlers import TurnContext
from dialogues.state import ConversationState
from dialogues.types import Reply, ReplyKind
from knowledge import KnowledgeBase, Topic
from nlu.types import CASE_FACT_ENTITIES, FALLBACK_INTENT, UNKNOWN, ParseResult

Handler = Callable[[TurnContext], Reply]


@dataclass(frozen=True)
class Route:
    needs: Tuple[str, ...]  # slots that must be filled before the handler runs
    ask: Optional[Handler]  # what to do when one is missing (a clarifying question)
    run: Handler


ROUTES: Dict[str, Route] = {
    #  intent                     needs            when missing                                   handler
    "dosing": Route(("drug",), handlers.ask_for("drug", Topic.dosing), handlers.dosing),
    "procedure_explanation": Route(("procedure",), handlers.ask_for("procedure", Topic.procedure_explanation),
                                   handlers.procedure_explanation),
    "next_steps": Route((), None, handlers.next_steps),
    "monitoring": Route((), None, handlers.monitoring),
    "case_update": Route((), None, handlers.case_update),
    "greet": Route((), None, handlers.greet),
    "thanks": Route((), None, handlers.thanks),
    "help": Route((), None, handlers.help_),
    "affirm": Route((), None, handlers.affirm),
    "deny": Route((), None, handlers.deny),
    "out_of_scope": Route((), None, handlers.out_of_scope),
}
FALLBACK = Route((), None, handlers.low_confidence)
CLINICAL_INTENTS = tuple(handlers.CLINICAL)

# Said to the bot, these mean "forget this case" whatever the model thinks.
_RESET = re.compile(r"^\W*(?:new case|reset|start over|clear( the)? case|forget (it|everything|the case))\W*$", re.I)
# "sorry, I meant octreotide" / "no, octreotide" / "actually lanreotide": replace the subject, same question.
_CORRECTION = re.compile(r"\b(?:i meant|i mean|sorry|actually|correction|not that|instead)\b|^\s*no\b", re.I)
# Words that tie a message to the previous one: "and how is it given?", "what about octreotide?"
_FOLLOW_UP = re.compile(r"^\s*(?:and|also|what about|how about|same for|ok and|then)\b|\b(?:it|that|this|those|them|one)\b", re.I)
# "progressed on lanreotide", "failed SSA", "after octreotide": the subject is a therapy already tried.
_PRIOR_THERAPY = re.compile(r"\b(?:progress\w*|fail\w*|grew|growing)\s+(?:on|after|through|despite)?\s*(?:the\s+)?$", re.I)

# Patient-specific dose changes: the knowledge base has only standard doses, so these are refused.
_ADJUSTMENT = re.compile(
    r"\b(?:renal|kidney|creatinine|crcl|egfr|gfr|dialysis|hepatic impairment|liver (?:function|impairment|failure)"
    r"|lfts?|bilirubin|child[- ]pugh|adjust\w*|reduc\w*|lower(?:ing)? the dose|increas\w* the dose|titrat\w*"
    r"|per kg|weight[- ]based|elderly|pregnan\w*|breastfeed\w*|pediatric|paediatric|missed (?:a )?dose"
    r"|hold(?:ing)? the dose|toxicit\w*|side effects?)\b",
    re.I,
)
_DOSE = re.compile(r"\bdos(?:e|es|ing|age)\b", re.I)
# "the first one" / "2nd" answering a clarifying question that offered options.
_ORDINALS = {"first": 0, "1st": 0, "one": 0, "second": 1, "2nd": 1, "two": 1, "third": 2, "3rd": 2,
             "three": 2, "fourth": 3, "4th": 3, "four": 3, "last": -1}
_ORDINAL = re.compile(r"\b(?:the\s+)?(" + "|".join(_ORDINALS) + r")\b(?:\s+one)?", re.I)

SUBJECT_SLOT = {"drug": "drug", "class": "drug", "procedure": "procedure", "test": "test"}


class DialogueManager:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    def is_reset(self, text: str) -> bool:
        return bool(_RESET.match(text))

    def reset_reply(self, state: ConversationState) -> Reply:
        return compose.build(ReplyKind.smalltalk, intent=None, entities=[], slots=state.slots,
                             lead=[catalogue.RESET_DONE], suggestions=list(catalogue.EXAMPLE_QUESTIONS))

    def empty_reply(self, state: ConversationState) -> Reply:
        return compose.build(ReplyKind.fallback, intent=None, entities=[], slots=state.slots,
                             lead=[catalogue.EMPTY_INPUT, catalogue.CAPABILITIES],
                             suggestions=list(catalogue.EXAMPLE_QUESTIONS))

    def respond(self, text: str, parse: ParseResult, state: ConversationState,
                notes: Optional[List[str]] = None) -> Reply:
        """Decide and answer one parsed message; mutates `state` to what the turn leaves behind."""
        ctx = self._context(text, parse, state)
        ctx.notes.extend(notes or [])
        intent = self._resolve_intent(ctx, text)
        ctx.intent = intent
        ctx.follow_up = bool(_FOLLOW_UP.search(text)) and not any(ctx.mentioned.values())
        if ctx.unknown_terms and not any(ctx.mentioned.get(slot) for slot in ("drug", "procedure")) \
                and intent in CLINICAL_INTENTS + ("out_of_scope", FALLBACK_INTENT):
            return self._finish(ctx, handlers.unknown_terms(ctx))
        if intent == "case_update" and not ctx.new_facts and not ctx.state.pending:
            intent = ctx.intent = FALLBACK_INTENT  # states no fact: not a case update
        route = ROUTES.get(intent, FALLBACK)
        self._fill_subject(ctx)
        if (intent == "dosing" or _DOSE.search(text)) and _ADJUSTMENT.search(text):
            return self._finish(ctx, handlers.no_adjustments(ctx))
        missing = [slot for slot in route.needs if not state.slots.get(slot)]
        if missing and route.ask is not None:
            return self._finish(ctx, route.ask(ctx))
        if intent == "case_update" and self._reanswer(ctx):
            route = ROUTES[ctx.intent]
        reply = route.run(ctx)
        if ctx.intent in CLINICAL_INTENTS and reply.kind is ReplyKind.answer:
            state.last_intent = ctx.intent
        return self._finish(ctx, reply)

    # --- steps -----------------------------------------------------------------------------

    def _context(self, text: str, parse: ParseResult, state: ConversationState) -> TurnContext:
        ctx = TurnContext(kb=self.kb, parse=parse, state=state, intent=parse.intent.name)
        for entity in parse.entities:
            if entity.entity in CASE_FACT_ENTITIES:
                if state.slots.get(entity.entity) != entity.value:
                    ctx.new_facts[entity.entity] = entity.value
                state.slots[entity.entity] = entity.value
            elif entity.entity in SUBJECT_SLOT:
                if entity.value == UNKNOWN:
                    if entity.text not in ctx.unknown_terms:
                        ctx.unknown_terms.append(entity.text[:60])
                    continue
                slot = SUBJECT_SLOT[entity.entity]
                ids = ctx.mentioned.setdefault(slot, [])
                if entity.value not in ids:
                    ids.append(entity.value)
                before = text[: entity.start or 0]
                if slot == "drug" and _PRIOR_THERAPY.search(before):
                    ctx.prior_therapy.append(entity.value)
        return ctx

    def _resolve_intent(self, ctx: TurnContext, text: str) -> str:
        state, parsed = ctx.state, ctx.parse.intent.name
        pending, state.pending = state.pending, None
        if pending is not None:
            if ctx.mentioned.get(pending.slot):
                return pending.intent
            chosen = _ORDINAL.search(text)
            if chosen and pending.options and len(text.split()) <= 4:
                index = _ORDINALS[chosen.group(1).lower()]
                if index < len(pending.options):
                    ctx.mentioned[pending.slot] = [pending.options[index]]
                    return pending.intent
            if parsed == "deny":
                return "deny"
        mentioned_subject = any(ctx.mentioned.get(s) for s in ("drug", "procedure", "test"))
        last = state.last_intent
        if last in CLINICAL_INTENTS and mentioned_subject and _CORRECTION.search(text):
            return last
        if parsed in (FALLBACK_INTENT, "affirm", "deny", "case_update") and last in CLINICAL_INTENTS:
            if mentioned_subject and _FOLLOW_UP.search(text):
                return last
        if parsed in (FALLBACK_INTENT, "out_of_scope") and ctx.new_facts and not mentioned_subject:
            return "case_update"
        return parsed

    def _reanswer(self, ctx: TurnContext) -> bool:
        """A new case fact after a clinical question: answer that question again under it."""
        previous = ctx.state.last_intent
        if previous not in CLINICAL_INTENTS or not ctx.new_facts:
            return False
        if not all(ctx.state.slots.get(slot) for slot in ROUTES[previous].needs):
            return False
        ctx.intent = previous
        ctx.follow_up = True
        return True

    def _fill_subject(self, ctx: TurnContext) -> None:
        """Subjects named in this message replace the conversation's (a correction is just that)."""
        for slot, ids in ctx.mentioned.items():
            fresh = [i for i in ids if i not in ctx.prior_therapy]
            ctx.state.slots[slot] = (fresh or ids)[0]
            if fresh:  # a therapy already tried is remembered but is not the new focus
                ctx.state.focus = slot

    def _finish(self, ctx: TurnContext, reply: Reply) -> Reply:
        ctx.state.turns += 1
        if reply.slots != ctx.state.slots:
            reply = reply.copy(update={"slots": dict(ctx.state.slots)})
        return reply

