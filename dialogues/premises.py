"""Compare the figures a user asserts with the figures the cited statements give.

Why: "everolimus 10 mg BID right?" answered with the standard statement and nothing else reads
as agreement. For each kind of figure the user wrote (dose, route, interval) the reply gets one
catalogue line saying whether it is the same as, or differs from, what the cited statements
give for that drug, quoting the statements' own words ("30mg", "deep subcutaneous").

Only figures about the drug asked are compared: a statement that doses two drugs ("octreotide
LAR 30mg ... or lanreotide 120mg ...") gives each figure to the drug named nearest before it.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable, List, Optional, Protocol, Sequence, Tuple

from dialogues import catalogue
from nlu.figures import (
    Figure,
    FigureKind,
    attribute,
    figures_about,
    read_figures,
    same_figure,
    statement_figures,
)


class StatementLike(Protocol):
    id: str
    text: str


class EntityLike(Protocol):
    entity: str
    value: str
    start: Optional[int]


SUBJECT_ENTITY_TYPES = ("drug", "procedure", "test", "class")


def check_premises(
    user_figures: Sequence[Figure],
    statements: Sequence[StatementLike],
    drug_label: str,
    drug_forms: Sequence[str] = (),
    other_forms: Optional[Sequence[str]] = None,
) -> List[str]:
    """Catalogue lines, one per kind of figure the user asserted, in the order the user wrote them.

    `drug_forms` are the lexicon's surface forms of the drug asked (`Lexicon.forms(id)`);
    `other_forms` those of every other drug, class, procedure and test (default: from the shipped
    lexicon), so that a figure named after another drug is never compared. Pass the user's
    figures already narrowed to this drug (`user_figures_about`). No statements, no lines.
    """
    if not user_figures or not statements:
        return []
    subject = tuple(dict.fromkeys(f for f in (drug_label, *drug_forms) if f))
    others = tuple(other_forms) if other_forms is not None else _lexicon_forms_except(subject)
    stated = [f for s in statements for f in _stated_figures(s.id, s.text, subject, others)]

    lines: List[str] = []
    for kind in dict.fromkeys(f.kind for f in user_figures):
        asserted = _distinct(f for f in user_figures if f.kind is kind)
        given = [f for f in stated if f.kind is kind]
        if not given:
            lines.append(catalogue.figure_not_stated(_words(asserted), kind.value))
            continue
        differing = [a for a in asserted if not any(same_figure(a, g) for g in given)]
        if differing:
            lines.append(catalogue.figure_differs(_words(differing), [f.text for f in _distinct(given)]))
        else:
            for figure in asserted:
                match = next(g for g in _distinct(given) if same_figure(figure, g))
                inside = _is_range(match) and figure.value != match.value
                lines.append(catalogue.figure_matches(figure.text, match.text, within_range=inside))
    return lines


def user_figures_about(
    text: str, entities: Sequence[EntityLike], subject_ids: Iterable[str]
) -> List[Figure]:
    """The figures in the user's message about the subject, using the parser's entity offsets.

    The parser's matcher knows misspellings and abbreviations ("lanreo") that plain surface forms
    miss. `subject_ids` are the asked drug and the classes that cover it. A message naming no
    subject ("90 mg ok?" as a follow-up) is about the conversation's subject.
    """
    wanted = set(subject_ids)
    mentions: List[Tuple[int, bool]] = [
        (e.start, e.value in wanted)
        for e in entities
        if e.entity in SUBJECT_ENTITY_TYPES and e.start is not None
    ]
    return attribute(read_figures(text), mentions)


def _distinct(figures: Iterable[Figure]) -> List[Figure]:
    """One figure per value, in first-seen order, keeping the fullest wording ("deep subcutaneous")."""
    best: dict = {}
    for figure in figures:
        kept = best.get(figure.value)
        if kept is None or len(figure.text) > len(kept.text):
            best[figure.value] = figure
    return list(best.values())


def _is_range(figure: Figure) -> bool:
    high = getattr(figure.value, "days_high", None) or getattr(figure.value, "amount_high", None)
    return high is not None


def _words(figures: Sequence[Figure]) -> str:
    return catalogue._join([f.text for f in figures], "and")


@lru_cache(maxsize=1024)
def _stated_figures(
    statement_id: str, text: str, subject: Tuple[str, ...], others: Tuple[str, ...]
) -> Tuple[Figure, ...]:
    """A statement's figures about the subject; statements are fixed, so this is read once."""
    figures = statement_figures(statement_id, text)
    return tuple(figures_about(text, figures, subject, others)) if figures else ()


@lru_cache(maxsize=64)
def _lexicon_forms_except(subject: Tuple[str, ...]) -> Tuple[str, ...]:
    """Every surface form in the shipped lexicon that is not one of the subject's."""
    from knowledge import default_knowledge

    lexicon = default_knowledge().lexicon
    own = {f.casefold() for f in subject}
    return tuple(
        form for entity_id in lexicon.entries for form in lexicon.forms(entity_id) if form.casefold() not in own
    )


__all__ = ["FigureKind", "check_premises", "user_figures_about"]
