"""The lexicon term matcher: brand names, variants, misspellings, unknown drugs, case facts."""
from __future__ import annotations

from typing import List, Tuple

import pytest

from knowledge.loader import load_lexicon_file
from nlu.clean import clean_text
from nlu.matcher import TermMatcher, variants

matcher = TermMatcher.from_lexicon(load_lexicon_file())


def found(text: str) -> List[Tuple[str, str]]:
    return [(f.entity, f.value) for f in matcher.find(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Somatuline q4w right?", [("drug", "lanreotide")]),
        ("SOMATULINE DEPOT dose", [("drug", "lanreotide")]),
        ("sandostatin lar 30", [("drug", "octreotide")]),
        ("afinitor vs sutent", [("drug", "everolimus"), ("drug", "sunitinib")]),
        ("Lutathera or 177Lu-DOTATATE", [("drug", "lutetium-177-dotatate"), ("drug", "lutetium-177-dotatate")]),
        ("walk the resident through chemoembo", [("procedure", "tace")]),
        ("chemo-embolisation", [("procedure", "tace")]),
        ("Y90 vs SIRT", [("procedure", "tare"), ("procedure", "tare")]),
        ("drug eluting bead TACE", [("procedure", "deb-tace")]),
        ("CgA q3mo?", [("test", "chromogranin-a")]),
        ("how often are CT scans", [("test", "cross-sectional-imaging")]),
        ("pt progressed on SSAs", [("disease_status", "progressive"), ("class", "somatostatin-analog")]),
        ("well differentiated", [("differentiation", "well")]),
        ("well-differentiated", [("differentiation", "well")]),
        ("not resectable", [("resectability", "unresectable")]),
        ("no progression", [("disease_status", "stable")]),
        ("SSTR+ on dotatate PET", [("sstr_status", "positive"), ("test", "somatostatin-receptor-imaging")]),
        ("SSTR- on PET", [("sstr_status", "negative")]),
        ("SSTR status?", []),
    ],
)
def test_surface_forms(text: str, expected: list) -> None:
    assert found(text) == expected


@pytest.mark.parametrize("typo, drug", [("lanreotid", "lanreotide"), ("octreotid", "octreotide"),
                                        ("everolimous", "everolimus"), ("sunitnib", "sunitinib")])
def test_misspelt_drugs_resolve(typo: str, drug: str) -> None:
    assert found(f"{typo} dose?") == [("drug", drug)]


@pytest.mark.parametrize("word", ["metformin", "vancomycin", "rituximab", "capecitabine", "Keytruda"])
def test_unknown_drugs_are_flagged(word: str) -> None:
    (entity,) = matcher.find(f"{word} dose?")
    assert (entity.entity, entity.value, entity.text) == ("drug", "unknown", word)


@pytest.mark.parametrize("text", ["what does the guideline say", "somatostatin receptor expression",
                                  "post-embolization syndrome", "routine follow up", "in april"])
def test_ordinary_words_are_not_drugs(text: str) -> None:
    assert found(text) == []


def test_adjacent_duplicates_merge() -> None:
    (entity,) = matcher.find("sandostatn lar")
    assert (entity.value, entity.text) == ("octreotide", "sandostatn lar")


def test_spans_point_at_the_text() -> None:
    text = "is Somatuline given deep SC?"
    (entity,) = matcher.find(text)
    assert text[entity.start:entity.end] == "Somatuline"


def test_variants() -> None:
    assert set(variants("well-differentiated")) >= {"well differentiated", "welldifferentiated"}
    assert variants("SSTR-") == ["SSTR-"]


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("<@U0123ABCD> lanreotide dose?", "lanreotide dose?"),
        ("<!channel> <!here|here> hi", "hi"),
        ("see <https://example.org/x|the label>", "see the label"),
        ("a &amp; b &lt;3", "a & b <3"),
        ("tab\there\x00\x1b", "tab here"),
        ("@here dose?", "dose?"),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_clean_text_bounds_length() -> None:
    assert len(clean_text("word " * 10000, max_chars=100)) <= 100
