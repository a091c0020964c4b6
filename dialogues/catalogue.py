"""Every user-facing sentence carebot says that is not a knowledge statement.

Clarifying questions, refusals, acknowledgements, help and the safety line live here, in one
reviewed place, so a clinician can read all of it at once. None of it makes a clinical claim:
clinical content only ever comes from cited statements.
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Mapping, Sequence

SAFETY_LINE = (
    "Decision support only: the statements above are quoted verbatim from the cited sources. "
    "Check them against the current label and your local protocol."
)

# What carebot can answer, used by help and by every refusal.
CAPABILITIES = (
    "I answer questions about this case (metastatic well-differentiated pancreatic NET with liver "
    "metastases) by quoting cited statements from guidelines, the FDA drug label and research: "
    "dosing, what a procedure involves, next steps, and monitoring."
)
EXAMPLE_QUESTIONS = (
    "What is the lanreotide dose?",
    "What does TACE involve?",
    "What are the options if the disease progresses?",
    "How often should CgA and imaging be checked?",
)

GREETING = "Hello. " + CAPABILITIES
THANKS = "You're welcome."
HELP = CAPABILITIES + " You can also tell me case facts (for example \"she's SSTR positive\" or " \
    "\"progressed on lanreotide\") and I will use them. Say \"new case\" to start over."
RESET_DONE = "Starting a new case: I have forgotten the subject and the case facts of this conversation."
DENY_ACK = "OK. What would you like to know?"
AFFIRM_NOTHING_PENDING = "OK. What would you like to know?"

EMPTY_INPUT = "I didn't find a question in that message."
OUT_OF_SCOPE = "That is outside what I can answer."
LOW_CONFIDENCE = "I'm not sure what you're asking."
TRUNCATED_NOTE = "Your message was very long; I read only the first part of it."
INTERNAL_ERROR = "Something went wrong on my side and I could not answer. Please try again."
# The state store cannot be reached (a shared store is down): nothing was stored or changed.
UNAVAILABLE = ("carebot is temporarily unavailable: I could not reach my case memory, so nothing was "
               "stored and nothing was answered. Please try again in a minute.")
# Another message of this conversation was answered while this one was worked on (two replicas).
CROSSED = ("Your message crossed with another one in this conversation, so I did not answer it, "
           "to keep the case facts right. Please send it again.")


def ask_which(slot: str, options: Sequence[str]) -> str:
    return {
        "drug": f"Which drug do you mean? I have dosing statements for {_join(options, 'or')}.",
        "procedure": f"Which procedure do you mean? I can explain {_join(options, 'or')}.",
    }.get(slot, f"Which {slot} do you mean? Options: {_join(options, 'or')}.")


def no_adjustments(subject: str) -> str:
    return (
        f"My knowledge base has no statement on adjusting the {subject} dose for a particular patient "
        "(for example for kidney or liver function, side effects or missed doses), so I can't answer that. "
        "I won't guess an adjustment."
    )


def ask_topic(subject: str) -> str:
    return f"What would you like to know about {subject}: dosing, the procedure, next steps or monitoring?"


def heading(subject: str | None, topic: str) -> str:
    label = TOPIC_LABELS[topic]
    return f"{subject[:1].upper() + subject[1:]}: {label}" if subject else label[:1].upper() + label[1:]


TOPIC_LABELS: Dict[str, str] = {
    "dosing": "dosing",
    "procedure_explanation": "what the procedure involves",
    "next_steps": "next steps",
    "monitoring": "monitoring and follow-up",
}


def nothing_on_topic(subject: str, topic: str) -> str:
    return f"My knowledge base has nothing on {TOPIC_LABELS[topic]} for {subject}."


def related_instead(subject: str) -> str:
    return f"What it does say about {subject}:"


def noted(facts: Iterable[str]) -> str:
    return f"Noted: {_join(list(facts))}."


def based_on(facts: Iterable[str]) -> str:
    return f"Using the case facts: {_join(list(facts))}."


def prior_therapy(subject: str) -> str:
    return f"Options other than {subject}, which the disease progressed on:"


# Case facts as a clinician would read them.
FACT_LABELS: Dict[str, Dict[str, str]] = {
    "sstr_status": {"positive": "SSTR-positive", "negative": "SSTR-negative"},
    "disease_status": {"progressive": "progressive disease", "stable": "stable disease"},
    "resectability": {"resectable": "resectable", "unresectable": "unresectable"},
    "differentiation": {
        "well": "well differentiated",
        "moderately": "moderately differentiated",
        "poorly": "poorly differentiated",
    },
}


def fact_label(slot: str, value: str) -> str:
    return FACT_LABELS.get(slot, {}).get(value, f"{slot} {value}")


def needs_label(slot: str, values: Sequence[str]) -> str:
    return _join([fact_label(slot, v) for v in values], "or")


def caveat_depends(unmet: Mapping[str, Sequence[str]]) -> str:
    needs = "; ".join(needs_label(slot, values) for slot, values in unmet.items())
    return f"Applies if {needs}: not yet known for this case."


def caveat_contradicted(unmet: Mapping[str, Sequence[str]], facts: Mapping[str, str]) -> str:
    needs, actual = _needs_and_case(unmet, facts)
    return f"Does not apply to this case: it is for {needs}, and this case is {actual}."


def left_out(unmet: Mapping[str, Sequence[str]], facts: Mapping[str, str]) -> str:
    needs, actual = _needs_and_case(unmet, facts)
    return f"Not shown: what applies only to {needs}, because this case is {actual}."


def caveat_blocked(subject: str, needs: Mapping[str, Sequence[str]], facts: Mapping[str, str]) -> str:
    """A treatment the statement names that the case's facts rule out (the statement may name others)."""
    need, actual = _needs_and_case(needs, facts)
    return f"Does not apply to {subject} in this case: it is for {need}, and this case is {actual}."


def _needs_and_case(needs: Mapping[str, Sequence[str]], facts: Mapping[str, str]) -> tuple:
    need = "; ".join(needs_label(slot, values) for slot, values in needs.items())
    return need, _join([fact_label(slot, facts[slot]) for slot in needs if facts.get(slot)])


def caveat_excluded(subject: str) -> str:
    return f"Does not apply to {subject} in this case: the disease progressed on it or it failed."


def left_out_blocked(subject: str, needs: Mapping[str, Sequence[str]], facts: Mapping[str, str]) -> str:
    need, actual = _needs_and_case(needs, facts)
    return f"Not shown: what applies only to {subject}, which is for {need}; this case is {actual}."


def left_out_excluded(subjects: Sequence[str]) -> str:
    return (f"Excluded from the options: {_join(list(subjects))}, which the disease progressed on or which failed, "
            "earlier in this conversation.")


def for_all_statements(caveat: str) -> str:
    return f"For every statement below: {caveat}"


def excluded_now(subjects: Sequence[str]) -> str:
    return (f"Noted: the disease progressed on {_join(list(subjects))} or it failed; left out of the options "
            "for the rest of this conversation.")


# --- how a case fact was asserted (see dialogues.facts) --------------------------------------------

def not_noted_negated(labels: Sequence[str]) -> str:
    return (f"Not noted as a case fact: the message says the case is not {_join(list(labels), 'or')}, "
            "which does not say what it is.")


def not_noted_uncertain(labels: Sequence[str]) -> str:
    return f"Not noted as a case fact, because the message does not state it as certain: {_join(list(labels))}."


def not_noted_other(labels: Sequence[str]) -> str:
    return (f"Not noted as a case fact, because it was said of someone other than the patient: "
            f"{_join(list(labels))}.")


def hypothetical(labels: Sequence[str]) -> str:
    return (f"Answering for {_join(list(labels))} as a hypothetical: it is not noted as a case fact "
            "of this patient.")


# --- qualifiers that change what the statements mean -----------------------------------------------

def not_covered(names: Sequence[str], population: bool) -> str:
    """A population (a child, pregnancy) or another indication (acromegaly) the statements do not cover."""
    scope = "adults with GEP-NETs" if population else "GEP-NETs"
    return (f"Note: these statements cover adults with GEP-NETs; none of them covers {_join(list(names), 'or')}. "
            f"Quoted only as what the sources say for {scope}.")


def comedication(subject: str, others: Sequence[str]) -> str:
    quoted = _join([f"\u201c{n}\u201d" for n in others])
    return (f"My knowledge base has nothing on {quoted}: no statement covers {subject} with {_join(list(others))}, "
            f"so I can't say anything about giving them together. What the sources say about {subject} alone:")


def short_acting(subject: str) -> str:
    return (f"My knowledge base has nothing on {subject}: its octreotide statements are about octreotide LAR, "
            "a different product, so I won't answer with them.")


def unknown_named(names: Sequence[str]) -> str:
    quoted = _join([f"\u201c{n}\u201d" for n in names])
    return f"My knowledge base has nothing on {quoted}, so I can't answer that part. I won't guess."


UNKNOWN_UNNAMED = ("Your message names something my knowledge base has nothing on, so I can't answer that. "
                   "I won't guess a dose or a recommendation.")


# Follow-up questions worth a button after an answer on each clinical topic; all answerable from the KB.
SUGGESTIONS: Dict[str, List[str]] = {
    "dosing": ["What monitoring is recommended?", "What are the options if the disease progresses?"],
    "procedure_explanation": [
        "What should the patient expect after TACE?",
        "What are the alternatives to TACE?",
    ],
    "next_steps": ["Is PRRT an option?", "What does TACE involve?", "What monitoring is recommended?"],
    "monitoring": ["What are the next steps?", "What is the lanreotide dose?"],
}


def suggestions_for(intent: str, subject_id: str | None) -> List[str]:
    """Follow-up questions worth a button; all answerable from the knowledge base."""
    found = SUGGESTIONS.get(intent, list(EXAMPLE_QUESTIONS[:3]))
    if subject_id == "tace" and intent == "procedure_explanation":
        found = ["What are the alternatives to TACE?", "What monitoring is recommended?"]
    return list(found)


def topic_suggestions(slot: str, label: str) -> List[str]:
    """Questions about one subject, for when the intent is unclear."""
    first = {
        "drug": f"What is the {label} dose?",
        "procedure": f"What does {label} involve?",
        "test": f"How often should {label} be checked?",
    }[slot]
    return [first, f"What are the next steps with {label}?", "What monitoring is recommended?"]


def _join(items: Sequence[str], last: str = "and") -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


# --- premises: a figure the user wrote, set beside the cited statements' own words -----------
# Both sides are quoted as written ("90 mg", "30mg", "every 4 weeks"); nothing is recomputed, and
# a match is "the same as", never "correct", "right" or "yes".

FIGURE_KIND_NOUNS: Dict[str, str] = {"dose": "dose", "route": "route", "interval": "dosing interval"}


def figure_differs(user: str, stated: Sequence[str]) -> str:
    return f"You wrote {user}; the cited statements give {_join(list(stated), 'or')}."


def figure_matches(user: str, stated: str | None = None, *, within_range: bool = False) -> str:
    """`stated` is named too when its words differ from the user's ("q4w" and "every 4 weeks")."""
    if stated and within_range:
        return f"You wrote {user}: within the range the cited statement gives ({stated})."
    if stated and "".join(stated.split()).casefold() != "".join(user.split()).casefold():
        return f"You wrote {user}: the same as the cited statement ({stated})."
    return f"You wrote {user}: the same as the cited statement."


def figure_not_stated(user: str, kind: str) -> str:
    return f"You wrote {user}; the cited statements give no {FIGURE_KIND_NOUNS.get(kind, kind)}."


def mentions(documents: Sequence[str]) -> str:
    """After a citation: what the sentence names in its own words, which carebot has not checked."""
    return f"; mentions: {'; '.join(documents)}"


def _check_vocabulary() -> None:
    """The catalogue's tables against the vocabulary declared once in knowledge.schema, at import: a new
    case-slot value, clinical intent or topic without its words here fails start-up, not a conversation."""
    from knowledge.schema import CASE_SLOT_VALUES, CLINICAL_INTENTS, Topic

    problems = []
    for slot, values in CASE_SLOT_VALUES.items():
        missing = [v for v in values if v not in FACT_LABELS.get(slot, {})]
        if missing:
            problems.append(f"FACT_LABELS[{slot!r}] lacks {missing}")
    for table, name in ((TOPIC_LABELS, "TOPIC_LABELS"), (SUGGESTIONS, "SUGGESTIONS")):
        if set(table) != {i.value for i in CLINICAL_INTENTS} or set(table) != {t.value for t in Topic}:
            problems.append(f"{name} keys {sorted(table)} are not the clinical intents/topics")
    if problems:
        raise RuntimeError("dialogues/catalogue.py: " + "; ".join(problems))


_check_vocabulary()
