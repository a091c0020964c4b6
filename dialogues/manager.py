"""The dialogue manager: a declared table of routes, not nested ifs.

For each intent, `ROUTES` says which slots its handler needs, what it asks when one is missing,
and which handler answers. Everything not in the table goes to the fallback. The manager's job
is only to turn a parse plus the conversation's state into a context and pick the route:

  1. what the message says about the case, read from how each fact was asserted (dialogues.facts):
     stored, used for this answer only, or named as not stored; treatments it progressed on;
  2. the answer to a pending clarifying question, corrections and follow-ups;
  3. unknown things: named (by their vocabulary name, never the user's word) and never answered
     with the previous subject; beside a known subject, named first and the known one answered;
  4. dose changes of any wording and short-acting octreotide, which no statement answers;
  5. the route for the intent (a new case fact re-answers the last question's route).

Commands that need no NLU ("new case") are answered before any of this.
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
from knowledge.schema import CLINICAL_INTENTS as SCHEMA_CLINICAL, Intent
from dialogues.facts import read_facts
from dialogues.handlers import Unknown
from nlu.types import FALLBACK_INTENT, QUALIFIER_ENTITIES, Assertion, SUBJECT_ENTITIES, UNKNOWN, UNKNOWN_ENTITIES, ParseResult

Handler = Callable[[TurnContext], Reply]


@dataclass(frozen=True)
class Route:
    needs: Tuple[str, ...]  # slots that must be filled before the handler runs
    ask: Optional[Handler]  # what to do when one is missing (a clarifying question)
    run: Handler


ROUTES: Dict[str, Route] = {
    #  intent                     needs            when missing                                   handler
    Intent.dosing: Route(("drug",), handlers.ask_for("drug", Topic.dosing), handlers.dosing),
    Intent.procedure_explanation: Route(("procedure",), handlers.ask_for("procedure", Topic.procedure_explanation),
                                        handlers.procedure_explanation),
    Intent.next_steps: Route((), None, handlers.next_steps),
    Intent.monitoring: Route((), None, handlers.monitoring),
    Intent.case_update: Route((), None, handlers.case_update),
    Intent.greet: Route((), None, handlers.greet),
    Intent.thanks: Route((), None, handlers.thanks),
    Intent.help: Route((), None, handlers.help_),
    Intent.affirm: Route((), None, handlers.affirm),
    Intent.deny: Route((), None, handlers.deny),
    Intent.out_of_scope: Route((), None, handlers.out_of_scope),
}
ROUTES = {intent.value: route for intent, route in ROUTES.items()}  # looked up by the parser's intent name


def _check_routes() -> None:
    """Every declared intent has a route and every clinical one a handler (checked at import, like PTB's
    validated ConversationHandler): an intent added to knowledge.schema.Intent cannot be forgotten here."""
    missing = [i.value for i in Intent if i.value not in ROUTES]
    if missing or set(handlers.CLINICAL) != {i.value for i in SCHEMA_CLINICAL}:
        raise RuntimeError(f"dialogues.manager.ROUTES does not cover the intents {missing or 'clinical'}")


_check_routes()
FALLBACK = Route((), None, handlers.low_confidence)
CLINICAL_INTENTS = tuple(handlers.CLINICAL)

# Said to the bot, these mean "forget this case" whatever the model thinks.
_RESET = re.compile(r"^\W*(?:new case|reset|start over|clear( the)? case|forget (it|everything|the case))\W*$", re.I)
# "sorry, I meant octreotide" / "no, octreotide" / "actually lanreotide": replace the subject, same question.
_CORRECTION = re.compile(r"\b(?:i meant|i mean|sorry|actually|correction|not that|instead)\b|^\s*no\b", re.I)
# Words that tie a message to the previous one: "and how is it given?", "what about octreotide?"
_FOLLOW_UP = re.compile(r"^\s*(?:and|also|what about|how about|same for|ok and|then)\b|\b(?:it|that|this|those|them|one)\b", re.I)

# Patient-specific dose changes: the knowledge base has only standard doses, so these are refused.
_ADJUSTMENT = re.compile(
    r"\b(?:renal|kidney|creatinine|crcl|egfr|gfr|dialysis|hepatic impairment|liver (?:function|impairment|failure)"
    r"|lfts?|bilirubin|child[- ]pugh|adjust\w*|reduc\w*|lower(?:ing)? the dose|increas\w* the dose|titrat\w*"
    r"|per kg|weight[- ]based|elderly|missed (?:a )?dose"
    r"|hold(?:ing)? the dose|toxicit\w*|side effects?)\b",
    re.I,
)
_LONG_ACTING = re.compile(r"\b(?:LAR|depot|long[- ]acting)\b", re.I)
# Only what the LAR product never is: mcg doses, several times a day, IV, or saying so. A subcutaneous
# route alone is not enough: "octreotide 30 mg subcut?" is an LAR question with a wrong route, which the
# premise check names.
_SHORT_ACTING_FIGURE = re.compile(
    r"(?<![a-z])(?:mcg|micrograms?|\u00b5g|ug|tid|t\.i\.d\.|tds|t\.d\.s\.|bid|b\.i\.d\.|bd|qid|q[468]h"
    r"|three times|twice (?:a )?daily|i\.?v\.?|intravenous\w*|short[- ]acting|immediate[- ]release)\b",
    re.I,
)
# An unknown drug taken together with the subject: "pt on itraconazole", "she's also on", "with", "interaction".
_COMEDICATION = re.compile(
    r"\b(?:also on|(?:is|she's|shes|he's|pt|patient|currently|already) (?:also )?on|taking|takes|with|plus|together"
    r"|interact\w*|concurrent\w*|concomitant\w*|co-?administ\w*|combin\w*|alongside)\b",
    re.I,
)
# "what's the procedure next week?", "what is she booked in for next wk": which procedure, not what it involves
_ASKS_WHICH_PROCEDURE = re.compile(r"\b(?:what|which)\b", re.I)
_CHANGE_VERB = re.compile(
    r"\b(?:increase|increasing|decrease|decreasing|reduce|reducing|raise|lower|double|halve|titrate|uptitrate"
    r"|escalate|bump|hold|holding|pause|skip)\s+(?:the\s+|her\s+|his\s+)?$|\bup\s+(?:the|her|his)\s+$",
    re.I,
)
_DOSE = re.compile(r"\bdos(?:e|es|ing|age)\b", re.I)
_WHAT_ABOUT = re.compile(r"^\W*(?:and\s+)?(?:what|how)\s+about\b", re.I)
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
        named_known = any(ctx.mentioned.get(slot) for slot in ("drug", "procedure"))
        comedication = self._comedication(ctx, text, intent)
        if comedication:
            ctx.intent = intent = comedication
        elif ctx.unknowns and not named_known and intent in CLINICAL_INTENTS + ("out_of_scope", "case_update",
                                                                                FALLBACK_INTENT):
            self._forget_subject(ctx)
            return self._finish(ctx, handlers.unknown_terms(ctx))
        if intent in (FALLBACK_INTENT, "out_of_scope", "next_steps") and not named_known \
                and handlers.THE_PLANNED_PROCEDURE.search(text) and _ASKS_WHICH_PROCEDURE.search(text):
            return self._finish(ctx, handlers.planned_procedure(ctx))
        if intent == "case_update" and ctx.hypothetical and not ctx.new_facts:
            intent = ctx.intent = self._best_clinical(ctx)  # a hypothetical is always a question
        if intent == "case_update" and not (ctx.new_facts or ctx.not_noted or ctx.prior_therapy) \
                and not ctx.state.pending:
            intent = ctx.intent = FALLBACK_INTENT  # states no fact: not a case update
        if intent == "procedure_explanation" and ctx.mentioned.get("drug") and not ctx.mentioned.get("procedure"):
            intent = ctx.intent = "next_steps"  # "should she stay on lanreotide?" names no procedure
        route = ROUTES.get(intent, FALLBACK)
        self._fill_subject(ctx)
        if ctx.unknowns and (named_known or comedication):
            self._name_unknowns_beside(ctx, comedication is not None)
        if self._asks_dose_change(ctx, text, intent):
            return self._finish(ctx, handlers.no_adjustments(ctx))
        if "octreotide-short-acting" in ctx.mentioned.get("drug", []) or (
                not ctx.mentioned.get("drug") and state.slots.get("drug") == "octreotide"
                and (intent in CLINICAL_INTENTS or ctx.follow_up) and _SHORT_ACTING_FIGURE.search(text)):
            return self._finish(ctx, handlers.short_acting(ctx))
        missing = [slot for slot in route.needs if not state.slots.get(slot)]
        if intent == "dosing" and ctx.mentioned.get("procedure"):
            missing = []  # "PRRT dose?": answered about PRRT (no dosing statement), never another drug
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
        ctx = TurnContext(kb=self.kb, parse=parse, state=state, intent=parse.intent.name, text=text)
        reading = read_facts(text, parse.entities)
        for slot, value in reading.stored.items():
            if state.slots.get(slot) != value:
                ctx.new_facts[slot] = value
            state.slots[slot] = value
        ctx.hypothetical = {k: v for k, v in reading.hypothetical.items() if k not in reading.stored}
        ctx.not_noted = reading.not_noted
        populations: List[str] = []
        indications: List[str] = []
        for entity in parse.entities:
            if entity.entity in QUALIFIER_ENTITIES:
                # "not pregnant" and "her daughter is pregnant" say nothing about whom the statements cover
                about_patient = entity.assertion not in (Assertion.negated, Assertion.other_experiencer)
                names = populations if entity.entity == "population" else indications
                if entity.entity != "dose_change" and entity.name and about_patient and entity.name not in names:
                    names.append(entity.name)
                continue
            if entity.entity not in SUBJECT_ENTITIES and entity.entity not in UNKNOWN_ENTITIES:
                continue
            if entity.value == UNKNOWN:
                ctx.unknowns.append(Unknown(entity.entity, entity.name))
                continue
            slot = SUBJECT_SLOT.get(entity.entity)
            if slot is None:
                continue
            value = self._product(entity.value, entity.text, text)
            ids = ctx.mentioned.setdefault(slot, [])
            if value not in ids:
                ids.append(value)
        if populations:
            ctx.qualifier_notes.append(catalogue.not_covered(populations, population=True))
        if indications:
            ctx.qualifier_notes.append(catalogue.not_covered(indications, population=False))
        ctx.prior_therapy = reading.prior_therapy
        ctx.hypothetical_prior = reading.hypothetical_prior
        ctx.hypothetical_excluded = self._expand_tried(reading.hypothetical_prior)
        for entity_id in self._expand_tried(reading.prior_therapy):
            if entity_id not in state.excluded:
                state.excluded.append(entity_id)
        return ctx

    def _product(self, entity_id: str, written: str, text: str) -> str:
        """Octreotide written with a short-acting figure ("100 mcg tid", "IV") is the short-acting product,
        which no LAR statement answers; "octreotide LAR 30 mg" stays LAR."""
        if entity_id != "octreotide" or _LONG_ACTING.search(written):
            return entity_id
        return "octreotide-short-acting" if _SHORT_ACTING_FIGURE.search(text) and \
            "octreotide-short-acting" in self.kb.lexicon.entries else entity_id

    def _expand_tried(self, tried: List[str]) -> List[str]:
        """Progression on lanreotide rules out its class too: octreotide is not a next step."""
        lexicon = self.kb.lexicon
        expanded: List[str] = []
        for entity_id in tried:
            group = [entity_id, *lexicon.classes_of(entity_id)]
            for member in group:
                for covered in sorted(lexicon.expand(member)):
                    if covered not in expanded:
                        expanded.append(covered)
        return expanded

    def _best_clinical(self, ctx: TurnContext) -> str:
        ranked = [r.name for r in ctx.parse.ranking if r.name in CLINICAL_INTENTS]
        return ranked[0] if ranked else "next_steps"

    def _asks_dose_change(self, ctx: TurnContext, text: str, intent: str) -> bool:
        if any(e.entity == "dose_change" for e in ctx.parse.entities):
            return True
        for entity in ctx.parse.entities:  # "increase the octreotide?", "halve her everolimus"
            if entity.entity in ("drug", "class") and _CHANGE_VERB.search(text[: entity.start or 0]):
                return True
        return (intent == "dosing" or bool(_DOSE.search(text))) and bool(_ADJUSTMENT.search(text))

    def _comedication(self, ctx: TurnContext, text: str, intent: str) -> Optional[str]:
        """'she's also on clarithromycin, does that change it' after an everolimus answer: an unknown drug taken
        with the conversation's drug. Returns the intent to answer with (the last question's), else None."""
        if ctx.mentioned.get("drug") or not any(u.kind == "drug" for u in ctx.unknowns):
            return None
        if not ctx.state.slots.get("drug") or not _COMEDICATION.search(text):
            return None
        return ctx.state.last_intent if ctx.state.last_intent in CLINICAL_INTENTS else "dosing"

    def _name_unknowns_beside(self, ctx: TurnContext, comedication: bool = False) -> None:
        """Unknown things named beside a known subject: say what there is nothing on first, then answer
        only about the known subject ("everolimus dose, pt on itraconazole")."""
        names = handlers.unknown_names(ctx)
        drugs = [u.name for u in ctx.unknowns if u.kind == "drug" and u.name]
        subject = next(iter(ctx.mentioned.get("drug", [])), None) or (ctx.state.slots.get("drug") if comedication else None)
        taken_with = comedication or ctx.intent == "dosing" or bool(_COMEDICATION.search(ctx.text))
        if subject and drugs and taken_with:
            ctx.lead_extra.append(catalogue.comedication(ctx.label(subject), drugs))
            names = [n for n in names if n not in drugs]
        if names:
            ctx.lead_extra.insert(0, catalogue.unknown_named(names))
        elif not drugs:
            ctx.lead_extra.insert(0, catalogue.UNKNOWN_UNNAMED)

    def _forget_subject(self, ctx: TurnContext) -> None:
        """An unknown thing became the subject: the previous drug must never answer for it ("and lasix dose?")."""
        for unknown in ctx.unknowns:
            if unknown.kind in ("drug", "procedure"):  # a condition fills no subject slot
                ctx.state.slots[unknown.kind] = None
        ctx.state.focus = None
        ctx.state.last_intent = None

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
        qualified = bool(ctx.qualifier_notes)  # "what about in a kid", "and in pregnancy?"
        if parsed in (FALLBACK_INTENT, "affirm", "deny", "case_update", "out_of_scope") and last in CLINICAL_INTENTS:
            if (mentioned_subject or qualified) and _FOLLOW_UP.search(text):
                return last
        if parsed in (FALLBACK_INTENT, "out_of_scope") and ctx.new_facts and not mentioned_subject:
            return "case_update"
        treatment = any(ctx.mentioned.get(s) for s in ("drug", "procedure"))
        if parsed == FALLBACK_INTENT and treatment and _WHAT_ABOUT.search(text):
            return last if last in CLINICAL_INTENTS else "next_steps"  # "what about surgery?": is it an option
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
            if slot == "test" and ctx.new_facts and ctx.intent == "case_update":
                continue  # "SSTR positive on dotatate PET": the scan is the evidence, not a new subject
            fresh = [i for i in ids if i not in ctx.prior_therapy]
            ctx.state.slots[slot] = (fresh or ids)[0]
            if fresh:  # a therapy already tried is remembered but is not the new focus
                ctx.state.focus = slot

    def _finish(self, ctx: TurnContext, reply: Reply) -> Reply:
        ctx.state.turns += 1
        if reply.slots != ctx.state.slots:
            reply = reply.copy(update={"slots": dict(ctx.state.slots)})
        return reply

