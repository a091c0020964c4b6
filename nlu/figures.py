"""Read the dose figures, routes and intervals in a text, as typed values that can be compared.

Why: a user who writes "everolimus 10 mg BID right?" asserts a premise. Quoting the standard
statement in silence reads as agreement, so the dialogue compares what the user wrote with what
the cited statements give (`dialogues.premises`). Both sides are read by this one reader, so
"q4w", "every 4 weeks", "q28d" and "monthly" land on the same `Interval`, and "10mg" equals
"10 mg".

Units are a small explicit table rather than pint: the doses care teams write use a handful of
units, pint would add a dependency and ~1 ms per parse, and it knows nothing of routes,
frequencies ("BID", "q4w") or BSA doses ("mg/m2"), which are most of the job.

Pure and fast: one compiled regex pass per text (well under 0.1 ms for a chat message). The
text and the figures read from it may contain patient details: never log them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from fractions import Fraction
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple, Union


class FigureKind(str, Enum):
    dose = "dose"
    route = "route"
    interval = "interval"  # frequencies too: BID is an interval of half a day


class Route(str, Enum):
    """Route families: "deep subcutaneous" and "subcutaneous" are one family."""

    subcutaneous = "subcutaneous"
    intramuscular = "intramuscular"
    intravenous = "intravenous"
    oral = "oral"
    intra_arterial = "intra-arterial"


# unit as written (casefolded) -> (canonical unit, dimension, factor to the dimension's base unit)
_UNITS: Dict[str, Tuple[str, str, Decimal]] = {}


def _unit(canonical: str, dimension: str, factor: str, *spellings: str) -> None:
    for spelling in (canonical, *spellings):
        _UNITS[spelling.casefold()] = (canonical, dimension, Decimal(factor))


_unit("mg", "mass", "1", "milligram", "milligrams", "mgs")
_unit("mcg", "mass", "0.001", "µg", "μg", "ug", "microgram", "micrograms", "mcgs")
_unit("g", "mass", "1000", "gm", "gram", "grams")
_unit("mg/m2", "mass/area", "1", "mg/m²", "mg/m^2", "mg/sqm", "mg/sq m", "mg per m2", "mg/m 2")
_unit("mg/kg", "mass/weight", "1", "mg per kg")
_unit("mcg/kg", "mass/weight", "0.001", "µg/kg", "μg/kg", "ug/kg", "mcg per kg")
_unit("GBq", "activity", "1")
_unit("MBq", "activity", "0.001")
_unit("mCi", "activity", "0.037", "millicurie", "millicuries")
_unit("IU", "units", "1", "international units", "units")


@dataclass(frozen=True)
class Dose:
    """An amount in the unit it was written in; `unit` None for a bare number ("lanreo 120 q4w")."""

    amount: Decimal
    unit: Optional[str]
    amount_high: Optional[Decimal] = None  # for a range ("100-200 mcg")

    def span(self) -> Optional[Tuple[str, Decimal, Decimal]]:
        """(dimension, low, high) in the dimension's base unit; None without a unit."""
        if self.unit is None:
            return None
        _, dimension, factor = _UNITS[self.unit.casefold()]
        high = self.amount_high if self.amount_high is not None else self.amount
        return dimension, self.amount * factor, high * factor


@dataclass(frozen=True)
class Interval:
    """Days between doses, as an exact fraction: every 4 weeks = 28, daily = 1, BID = 1/2.

    A month counts as 4 weeks, so "monthly", "q4w" and "every 4 weeks" compare equal (the
    schedule care teams mean); replies quote words, never this number.
    """

    days: Fraction
    days_high: Optional[Fraction] = None  # for a range ("every 3-6 months")

    @property
    def low(self) -> Fraction:
        return self.days

    @property
    def high(self) -> Fraction:
        return self.days_high if self.days_high is not None else self.days


Value = Union[Dose, Route, Interval]


@dataclass(frozen=True)
class Figure:
    kind: FigureKind
    value: Value
    text: str  # the words as written (whitespace collapsed): "90mg", "subcut", "every 4 weeks"
    start: int
    end: int
    from_user: bool = True  # False for figures read from a knowledge statement


def same_figure(asserted: Figure, stated: Figure) -> bool:
    """Whether an asserted figure agrees with a stated one: same kind, and inside its range.

    A bare number ("lanreo 120") is compared with the stated amount in the stated unit.
    """
    if asserted.kind is not stated.kind:
        return False
    a, s = asserted.value, stated.value
    if isinstance(a, Route):
        return a is s
    if isinstance(a, Interval) and isinstance(s, Interval):
        return s.low <= a.low and a.high <= s.high
    if isinstance(a, Dose) and isinstance(s, Dose):
        if a.unit is None or s.unit is None:
            s_high = s.amount_high if s.amount_high is not None else s.amount
            a_high = a.amount_high if a.amount_high is not None else a.amount
            return s.amount <= a.amount and a_high <= s_high
        a_span, s_span = a.span(), s.span()
        assert a_span is not None and s_span is not None
        return a_span[0] == s_span[0] and s_span[1] <= a_span[1] and a_span[2] <= s_span[2]
    return False


# --- the reader -----------------------------------------------------------------------------

_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}
_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|\.\d+)"
_COUNT = rf"(?:{_NUM}|{'|'.join(_WORD_NUMBERS)})"
_TO = r"\s*(?:-|–|to)\s*"


def _alternatives(spellings: Sequence[str]) -> str:
    return "|".join(re.escape(s).replace(r"\ ", r"\s+") for s in sorted(spellings, key=len, reverse=True))


_PERIOD_DAYS = {"h": Fraction(1, 24), "d": Fraction(1), "w": Fraction(7), "m": Fraction(28)}
_PERIOD = (
    r"(?P<{name}>h(?:rs?|ours?)?|d(?:ays?)?|w(?:ks?|eeks?)?|m(?:o(?:s|nths?)?)?)"
)
_TIMES = {"once": 1, "twice": 2, "thrice": 3}
_PER = r"(?:\s*(?:a|per|/|each|every)\s*|\s+)"
_PER_PERIOD = {
    "day": 1, "daily": 1, "d": 1, "week": 7, "weekly": 7, "wk": 7, "w": 7, "month": 28, "monthly": 28, "mo": 28,
}
_ABBREVIATED = {  # Latin and pharmacy abbreviations -> days between doses
    "qd": Fraction(1), "od": Fraction(1), "qday": Fraction(1), "q day": Fraction(1), "daily": Fraction(1),
    "once daily": Fraction(1), "once a day": Fraction(1), "every day": Fraction(1), "each day": Fraction(1),
    "per day": Fraction(1), "a day": Fraction(1), "nightly": Fraction(1), "every night": Fraction(1),
    "every morning": Fraction(1), "qam": Fraction(1), "qhs": Fraction(1), "qpm": Fraction(1),
    "bid": Fraction(1, 2), "bd": Fraction(1, 2), "twice daily": Fraction(1, 2), "twice a day": Fraction(1, 2),
    "tid": Fraction(1, 3), "tds": Fraction(1, 3), "thrice daily": Fraction(1, 3),
    "qid": Fraction(1, 4), "qds": Fraction(1, 4),
    "weekly": Fraction(7), "once weekly": Fraction(7), "once a week": Fraction(7), "every week": Fraction(7),
    "each week": Fraction(7), "q week": Fraction(7), "qweek": Fraction(7), "qwk": Fraction(7),
    "per week": Fraction(7), "a week": Fraction(7),
    "every other week": Fraction(14), "every second week": Fraction(14), "alternate weeks": Fraction(14),
    "fortnightly": Fraction(14), "every other day": Fraction(2), "every second day": Fraction(2),
    "alternate days": Fraction(2), "qod": Fraction(2),
    "monthly": Fraction(28), "once monthly": Fraction(28), "once a month": Fraction(28),
    "every month": Fraction(28), "each month": Fraction(28), "q month": Fraction(28), "qmonth": Fraction(28),
    "qmo": Fraction(28), "per month": Fraction(28), "a month": Fraction(28),
    "every other month": Fraction(56),
}
_GUARDED_ABBREVIATIONS = {
    "od", "bd", "a day", "a week", "a month", "per day", "per week", "per month", "each day", "each week",
    "each month", "every day", "every week", "every month", "every morning", "every night", "nightly",
}
# dotted forms: "b.i.d.", "t.i.d", "q.d.", "o.d."
_DOTTED = {"b.i.d": "bid", "t.i.d": "tid", "q.i.d": "qid", "q.d": "qd", "o.d": "od", "b.d": "bd"}

_ROUTES: Dict[str, Route] = {
    "deep subcutaneous": Route.subcutaneous, "deep subcutaneously": Route.subcutaneous,
    "deep sc": Route.subcutaneous, "deep subcut": Route.subcutaneous, "deep s.c.": Route.subcutaneous,
    "subcutaneous": Route.subcutaneous, "subcutaneously": Route.subcutaneous,
    "sub-cutaneous": Route.subcutaneous, "sub-cutaneously": Route.subcutaneous,
    "subcut": Route.subcutaneous, "sub-cut": Route.subcutaneous, "subq": Route.subcutaneous,
    "sub-q": Route.subcutaneous, "sub q": Route.subcutaneous, "sc": Route.subcutaneous,
    "s.c.": Route.subcutaneous, "s.c": Route.subcutaneous, "s/c": Route.subcutaneous,
    "sq": Route.subcutaneous, "under the skin": Route.subcutaneous,
    "intramuscular": Route.intramuscular, "intramuscularly": Route.intramuscular,
    "intra-muscular": Route.intramuscular, "intra-muscularly": Route.intramuscular,
    "im": Route.intramuscular, "i.m.": Route.intramuscular, "i.m": Route.intramuscular,
    "into the muscle": Route.intramuscular,
    "intravenous": Route.intravenous, "intravenously": Route.intravenous,
    "intra-venous": Route.intravenous, "iv": Route.intravenous, "i.v.": Route.intravenous,
    "i.v": Route.intravenous,
    "oral": Route.oral, "orally": Route.oral, "po": Route.oral, "p.o.": Route.oral, "p.o": Route.oral,
    "by mouth": Route.oral, "per os": Route.oral,
    "intra-arterial": Route.intra_arterial, "intra-arterially": Route.intra_arterial,
    "intraarterial": Route.intra_arterial, "intraarterially": Route.intra_arterial,
    "intra arterial": Route.intra_arterial, "ia": Route.intra_arterial, "i.a.": Route.intra_arterial,
}
# Short forms that are also ordinary words or numerals: read only in a dose's company, or as written.
_GUARDED_ROUTES = {"im", "iv", "ia", "sq", "po"}
_NOT_BEFORE = re.compile(r"\s*(?:contrast|fluids?|access|line|hydration|iron)\b", re.I)
_NOT_AFTER = re.compile(r"(?:stage|grade|type|class|phase|cycle|day|week|ct|gen|generation|lines?)\W*$", re.I)

_PATTERN = re.compile(
    r"(?<![\w.])(?:"
    # a dose: amount (or range) and unit
    rf"(?P<amount>{_NUM})(?:{_TO}(?P<amount_high>{_NUM}))?\s*(?P<unit>{_alternatives(list(_UNITS))})"
    r"(?![\w%^²])"
    rf"(?!/(?!\s*(?:{_COUNT})?\s*(?:d|days?|w|wks?|weeks?|mo|months?)\b))"  # "9 g/dL" is no dose
    # an interval with a count: every 4 weeks, q4w, q28d, q 2 wks, every 3-6 months, q12h
    rf"|(?:every|each|q)\s*(?P<count>{_COUNT})(?:{_TO}(?P<count_high>{_COUNT}))?\s*"
    + _PERIOD.format(name="period") + r"\b"
    # N times a period: 2x/day, three times a day, 3 times daily, twice weekly, once a month
    rf"|(?P<times>{_COUNT}\s*(?:x|times)|once|twice|thrice){_PER}"
    r"(?P<per>daily|weekly|monthly|day|week|wk|month|mo|d|w)\b"
    # fixed phrases and abbreviations
    rf"|(?P<abbr>{_alternatives(list(_ABBREVIATED) + list(_DOTTED))})\.?(?![\w'’])"
    # routes
    rf"|(?P<route>{_alternatives(list(_ROUTES))})(?![\w'’])"
    r")"
    # a schedule written after a dose's slash: "120mg/4wk", "10 mg/d"
    rf"|(?<=\w)\s*/\s*(?P<slash_count>{_COUNT})?\s*" + _PERIOD.format(name="slash_period") + r"\b",
    re.IGNORECASE,
)
# a bare number just before an interval or a route is a dose without its unit ("lanreo 120 q4w")
_BARE = re.compile(rf"(?<![\w.\-/–])(?P<amount>{_NUM})\s+$")


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern only admits numbers
        raise ValueError(f"not a number: {text!r}") from None


def _count(text: str) -> Fraction:
    text = text.casefold()
    if text in _WORD_NUMBERS:
        return Fraction(_WORD_NUMBERS[text])
    return Fraction(_decimal(text))


def _words(text: str) -> str:
    return " ".join(text.split())


def _figure(match: "re.Match[str]", text: str, from_user: bool, previous: Optional[Figure]) -> Optional[Figure]:
    groups = match.groupdict()
    words = _words(match.group(0))
    start, end = match.span()
    if groups["unit"]:
        canonical = _unit_of(groups["unit"])
        high = _decimal(groups["amount_high"]) if groups["amount_high"] else None
        return Figure(FigureKind.dose, Dose(_decimal(groups["amount"]), canonical, high), words, start, end, from_user)
    if groups["count"]:
        unit = _PERIOD_DAYS[groups["period"][0].casefold()]
        low = _count(groups["count"]) * unit
        high = _count(groups["count_high"]) * unit if groups["count_high"] else None
        if low <= 0 or (high is not None and high < low):
            return None
        return Figure(FigureKind.interval, Interval(low, high), words, start, end, from_user)
    if groups["slash_period"]:
        if previous is None or previous.kind is not FigureKind.dose or previous.end != start:
            return None  # "c/w" is "consistent with", not weekly
        count = _count(groups["slash_count"]) if groups["slash_count"] else Fraction(1)
        if count <= 0:
            return None
        strip = " \t\n/" if groups["slash_count"] else " \t\n"
        start += len(match.group(0)) - len(match.group(0).lstrip(strip))
        words = _words(text[start:end])
        return Figure(FigureKind.interval, Interval(count * _PERIOD_DAYS[groups["slash_period"][0].casefold()]),
                      words, start, end, from_user)
    if groups["times"]:
        times = groups["times"].casefold()
        count = _TIMES.get(times) or _count(re.sub(r"\s*(?:x|times)$", "", times))
        if not count:
            return None
        days = Fraction(_PER_PERIOD[groups["per"].casefold()]) / Fraction(count)
        return Figure(FigureKind.interval, Interval(days), words, start, end, from_user)
    if groups["abbr"]:
        key = " ".join(groups["abbr"].casefold().split())
        key = _DOTTED.get(key, key)
        if key in _GUARDED_ABBREVIATIONS and not _after_figure(text, start, previous):
            return None  # everyday words ("a day", "every morning", "OD"): read them beside a figure only
        return Figure(FigureKind.interval, Interval(_ABBREVIATED[key]), words, start, end, from_user)
    if groups["route"]:
        key = " ".join(groups["route"].casefold().split())
        if key in _GUARDED_ROUTES and not _guarded_route_ok(groups["route"], text, start, previous):
            return None
        return Figure(FigureKind.route, _ROUTES[key], words, start, end, from_user)
    return None  # pragma: no cover


def _unit_of(written: str) -> str:
    key = re.sub(r"\s+", " ", written.casefold())
    key = re.sub(r"\s*/\s*", "/", key)
    if key not in _UNITS:
        key = key.replace(" ", "")
    return _UNITS[key][0]


def _after_figure(text: str, start: int, previous: Optional[Figure]) -> bool:
    """Whether `start` directly follows a figure or a bare number ("30mg im", "10 mg a day", "30 im")."""
    if previous is not None and previous.end <= start and not text[previous.end:start].strip(" ,/"):
        return True
    return bool(_BARE.search(text, max(0, start - 24), start))


def _guarded_route_ok(written: str, text: str, start: int, previous: Optional[Figure]) -> bool:
    """IM/IV/IA/SQ/PO as written in capitals, or after a dose; never "stage IV" or "im" for "I'm"."""
    if _NOT_AFTER.search(text[max(0, start - 12):start]):
        return False
    if written.casefold() == "sq" and re.match(r"\s*\.?\s*m\b", text[start + 2:start + 6], re.I):
        return False  # "mg/sq m" is area, not a route
    if _NOT_BEFORE.match(text, start + len(written)):
        return False  # "IV contrast", "IV fluids": not how a drug is given
    return written.isupper() or _after_figure(text, start, previous)


def read_figures(text: str, *, from_user: bool = True) -> List[Figure]:
    """Every dose, route and interval in `text`, in reading order.

    Numbers that are not figures are left alone: "12 yo", "5-year survival", "60-95%", "177Lu",
    "Ga-68", "q4w" (an interval, not a dose), "for 1-2 days" (a duration, not a schedule).
    """
    if not text:
        return []
    figures: List[Figure] = []
    for match in _PATTERN.finditer(text):
        figure = _figure(match, text, from_user, figures[-1] if figures else None)
        if figure is None:
            continue
        if figure.kind is not FigureKind.dose:
            bare = _BARE.search(text, max(0, figure.start - 24), figure.start)
            if bare and not _NOT_AFTER.search(text[max(0, bare.start() - 12):bare.start()]) and (
                not figures or figures[-1].end <= bare.start()
            ):
                amount = bare.group("amount")
                figures.append(
                    Figure(FigureKind.dose, Dose(_decimal(amount), None), amount,
                           bare.start(), bare.start() + len(amount), from_user)
                )
        figures.append(figure)
    return figures


# --- which drug a figure is about -----------------------------------------------------------

@lru_cache(maxsize=64)
def _mentions(forms: Tuple[str, ...]) -> "re.Pattern[str]":
    alternatives = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?!\w)", re.IGNORECASE)


def figures_about(
    text: str, figures: Sequence[Figure], subject_forms: Sequence[str], other_forms: Sequence[str]
) -> List[Figure]:
    """The figures that belong to the subject, finding names by their surface forms.

    "octreotide LAR 30mg IM every 4 weeks or lanreotide 120mg SC every 4 weeks" gives lanreotide
    only 120mg, SC and its every 4 weeks (see `attribute`).
    """
    subject = {f.casefold() for f in subject_forms if f}
    forms = tuple(sorted({f.casefold() for f in (*subject_forms, *other_forms) if f}))
    if not forms:
        return list(figures)
    mentions = [(m.start(), m.group(0).casefold() in subject) for m in _mentions(forms).finditer(text)]
    return attribute(figures, mentions)


def attribute(figures: Sequence[Figure], mentions: Sequence[Tuple[int, bool]]) -> List[Figure]:
    """Keep the figures whose nearest name before them is the subject's.

    `mentions` are (offset, is_the_subject) for every drug, class, procedure or test named. A
    figure before any name goes with the first name after it ("120 mg of lanreotide?"); a text
    that names nothing ("Dosage: 120 mg every 4 weeks", "90 mg ok?") is about the subject.
    """
    ordered = sorted(mentions)
    about: List[Figure] = []
    for figure in figures:
        before = [is_subject for position, is_subject in ordered if position < figure.start]
        after = [is_subject for position, is_subject in ordered if position >= figure.end]
        owner = before[-1] if before else after[0] if after else True
        if owner:
            about.append(figure)
    return about


_STATEMENT_CACHE: Dict[str, Tuple[str, Tuple[Figure, ...]]] = {}


def statement_figures(statement_id: str, text: str) -> Tuple[Figure, ...]:
    """A statement's figures, read once per statement id (re-read if its text changed)."""
    cached = _STATEMENT_CACHE.get(statement_id)
    if cached is None or cached[0] != text:
        cached = (text, tuple(read_figures(text, from_user=False)))
        _STATEMENT_CACHE[statement_id] = cached
    return cached[1]
