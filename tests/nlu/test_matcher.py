"""The lexicon term matcher: brand names, variants, misspellings, unknown things, qualifiers, case facts."""
from __future__ import annotations

import time
from typing import List, Optional, Tuple

import pytest

from knowledge.loader import load_lexicon_file
from nlu.clean import clean_text
from nlu.drugs import DrugVocabulary, compile_vocabulary, lexicon_forms, normalise
from nlu.matcher import TermMatcher, variants

lexicon = load_lexicon_file()
vocabulary = compile_vocabulary(lexicon)  # what training stores in the model (~2 s)
matcher = TermMatcher.from_lexicon(lexicon, vocabulary)


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


@pytest.mark.parametrize("word, name", [("metformin", "metformin"), ("vancomycin", "vancomycin"),
                                        ("rituximab", "rituximab"), ("capecitabine", "capecitabine"),
                                        ("Keytruda", "pembrolizumab")])
def test_unknown_drugs_are_flagged(word: str, name: str) -> None:
    (entity,) = matcher.find(f"{word} dose?")
    assert (entity.entity, entity.value, entity.text, entity.name) == ("drug", "unknown", word, name)


def named(text: str) -> List[Tuple[str, str, Optional[str]]]:
    return [(f.entity, f.value, f.name) for f in matcher.find(clean_text(text))]


UNKNOWN_DRUG = "drug", "unknown"
UNKNOWN_PROCEDURE = "procedure", "unknown"
UNKNOWN_CONDITION = "condition", "unknown"
CHILD = ("population", "child", "a child")


@pytest.mark.parametrize(
    "text, expected",
    [
        # drugs the lexicon does not know, named by their generic name from the vocabulary
        ("lasix dose?", [(*UNKNOWN_DRUG, "furosemide")]),
        ("and eliquis?", [(*UNKNOWN_DRUG, "apixaban")]),
        ("zofran dose", [(*UNKNOWN_DRUG, "ondansetron")]),
        ("Xeloda", [(*UNKNOWN_DRUG, "capecitabine")]),
        ("everolimus dose, pt on itraconazole",
         [("drug", "everolimus", None), (*UNKNOWN_DRUG, "itraconazole")]),
        ("epirubicin for TACE?", [(*UNKNOWN_DRUG, "epirubicin"), ("procedure", "tace", None)]),
        ("cabozantinib after everolimus?", [(*UNKNOWN_DRUG, "cabozantinib"), ("drug", "everolimus", None)]),
        ("5-FU", [(*UNKNOWN_DRUG, "fluorouracil")]),
        ("CAPTEM or FOLFOX or FOLFIRINOX", [(*UNKNOWN_DRUG, "CAPTEM (capecitabine and temozolomide)"),
                                           (*UNKNOWN_DRUG, "FOLFOX"), (*UNKNOWN_DRUG, "FOLFIRINOX")]),
        ("Afinitor dose", [("drug", "everolimus", None)]),
        # procedures the knowledge base does not cover; the longest match wins over "ablation"
        ("ablation?", [("procedure", "rfa", None)]),
        ("microwave ablation vs RFA", [(*UNKNOWN_PROCEDURE, "microwave ablation"), ("procedure", "rfa", None)]),
        ("cryoablation", [(*UNKNOWN_PROCEDURE, "cryoablation")]),
        ("MWA or irreversible electroporation",
         [(*UNKNOWN_PROCEDURE, "microwave ablation"), (*UNKNOWN_PROCEDURE, "irreversible electroporation")]),
        ("histotripsy?", [(*UNKNOWN_PROCEDURE, "histotripsy")]),
        ("is liver transplant an option?", [(*UNKNOWN_PROCEDURE, "liver transplant")]),
        ("hepatic artery infusion pump?", [(*UNKNOWN_PROCEDURE, "hepatic artery infusion pump")]),
        ("HAI pump", [(*UNKNOWN_PROCEDURE, "hepatic artery infusion pump")]),
        ("Y-90 dosing", [(*UNKNOWN_PROCEDURE, "SIRT/Y-90 dosing")]),
        ("Y90 vs SIRT", [("procedure", "tare", None), ("procedure", "tare", None)]),
        # other diseases and comorbidities
        ("how should we treat her hypertension", [(*UNKNOWN_CONDITION, "hypertension")]),
        ("diabetes", [(*UNKNOWN_CONDITION, "diabetes")]),
        ("small cell lung cancer?", [(*UNKNOWN_CONDITION, "small cell lung cancer")]),
        ("carcinoid heart disease", [(*UNKNOWN_CONDITION, "carcinoid heart disease")]),
        # populations and ages
        ("lanreotide dose for a 12 yo", [("drug", "lanreotide", None), CHILD]),
        ("in a kid", [CHILD]),
        ("12 year old", [CHILD]),
        ("age 15", [CHILD]),
        ("15F with NET", [CHILD]),
        ("paediatric dosing", [CHILD]),
        ("pediatric", [CHILD]),
        ("adolescent", [CHILD]),
        ("45 yo, stage 4", []),
        ("pregnant, lanreotide?", [("population", "pregnancy", "pregnancy"), ("drug", "lanreotide", None)]),
        ("breastfeeding", [("population", "breastfeeding", "breastfeeding")]),
        # other indications
        ("lanreotide dose for acromegaly", [("drug", "lanreotide", None), ("indication", "acromegaly", "acromegaly")]),
        ("for carcinoid syndrome", [("indication", "carcinoid-syndrome", "carcinoid syndrome")]),
        # dose changes
        ("can we double the lanreotide dose?", [("dose_change", "increase", "a higher dose"), ("drug", "lanreotide", None)]),
        # a bare verb before a drug ("increase octreotide") is read by the dialogue manager, not here:
        # "CgA increase" and "hold on" must not become dose changes
        ("increase octreotide", [("drug", "octreotide", None)]),
        ("CgA increase since march", [("test", "chromogranin-a", None)]),
        ("go up to 40 mg", [("dose_change", "increase", "a higher dose")]),
        ("escalate?", [("dose_change", "increase", "a higher dose")]),
        ("bump up the dose", [("dose_change", "increase", "a higher dose")]),
        ("uptitrate", [("dose_change", "increase", "a higher dose")]),
        ("she missed her shot last week, what now?", [("dose_change", "missed-dose", "a missed or late dose")]),
        ("late dose", [("dose_change", "missed-dose", "a missed or late dose")]),
        ("delayed shot", [("dose_change", "missed-dose", "a missed or late dose")]),
        ("give both octreotide and lanreotide", [("dose_change", "combine", "combining treatments"),
                                                 ("drug", "octreotide", None), ("drug", "lanreotide", None)]),
        ("combine two SSAs", [("dose_change", "combine", "combining somatostatin analogs"),
                              ("class", "somatostatin-analog", None)]),
        ("both lesions", []),
        ("hold lanreotide before TACE", [("drug", "lanreotide", None), ("procedure", "tace", None)]),
        ("double-check the dose", []),
        # a word carebot does not know is never an entity, so never echoed
        ("pt Abdulsalam Haddad, what's next?", []),
    ],
)
def test_unknown_things_and_qualifiers(text: str, expected: list) -> None:
    assert named(text) == expected


@pytest.mark.parametrize("text", ["pt Abdulsalam Haddad, what's next?", "Mr Salam Ahmadi lanreotide dose",
                                  "Dr Vilanova said", "pt Guillermo Olazabal"])
def test_names_are_never_echoed(text: str) -> None:
    """Only names from the vocabulary or curated labels are ever quoted back, and a name is no drug."""
    assert not [f for f in matcher.find(text) if f.name is not None]


def test_vocabulary_names_no_lexicon_drug() -> None:
    known = lexicon_forms(lexicon)
    assert not [n for n in vocabulary.names if normalise(n) in known]
    assert not [f for f in known if vocabulary.get(f) is not None]
    for entry in lexicon.entries:
        if entry.type.value == "drug":
            assert entry.label.lower() not in {n.lower() for n in vocabulary.names}, entry.id


def test_vocabulary_round_trip_is_fast() -> None:
    text = vocabulary.to_json()
    started = time.perf_counter()
    loaded = DrugVocabulary.from_json(text)
    assert time.perf_counter() - started < 0.5  # ~20 ms on a quiet 2-core VM; generous under load
    assert loaded.get("lasix") == "furosemide" and len(loaded) == len(vocabulary)


@pytest.mark.parametrize("raw", ["lan\u200breotide dose", "ｌａｎｒｅｏｔｉｄｅ dose", "&lt;b&gt;lanreotide&lt;/b&gt; dose",
                                 "lanre\u00adotide dose"])
def test_normalised_text_resolves(raw: str) -> None:
    assert named(raw) == [("drug", "lanreotide", None)]


def test_spans_of_unknown_drugs_and_qualifiers_point_at_the_text() -> None:
    text = "can we double the eliquis for a 12 yo"
    for f in matcher.find(text):
        assert text[f.start:f.end] == f.text


@pytest.mark.parametrize("text", ["what does the guideline say", "somatostatin receptor expression",
                                  "post-embolization syndrome", "routine follow up", "in april"])
def test_ordinary_words_are_not_drugs(text: str) -> None:
    assert [f for f in found(text) if f[0] in ("drug", "class")] == []


def test_adjacent_duplicates_merge() -> None:
    (entity,) = matcher.find("afinitr everolimus")
    assert (entity.value, entity.text) == ("everolimus", "afinitr everolimus")


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
        ("a &amp; b &lt;3", "a & b <3"),
        ("tab\there\x00\x1b", "tab here"),
        ("@here dose?", "dose?"),
        ("lan\u200breotide", "lanreotide"),
        ("ｌａｎｒｅｏｔｉｄｅ", "lanreotide"),
        ("&lt;b&gt;dose&lt;/b&gt; &#39;q4w&#39;", "dose 'q4w'"),
        ("&amp;lt;!channel&amp;gt; hi", "hi"),
        ("<!DOCTYPE html> hi <!-- x -->", "hi"),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_clean_text_bounds_length() -> None:
    assert len(clean_text("word " * 10000, max_chars=100)) <= 100
