"""The WordNet side of the tag vocabulary: which synsets the branches (``tagger.engine.vocabulary_rules.RULES``)
include, and in which ways WordNet uses each GloVe token or phrase as a lemma (a thing, a role, a place, a person,
an excluded sense...). The builder (``tagger.engine.vocabulary_build``) filters on these kinds.
"""

from __future__ import annotations

from collections.abc import Iterable

from tagger.engine.vocabulary_rules import PERSON, PERSON_INSTANCES, PLACE_INSTANCES, RULES
from tagger.engine.wordnet import WordNet


def included_synsets(net: WordNet) -> set[str]:
    """Synsets inside the branches that RULES chooses (see RULES for how a synset inherits its parents' choice)."""
    decision: dict[str, bool | None] = {}

    def decide(wnid: str) -> bool | None:  # WordNet is at most ~20 levels deep: recursion is fine
        if wnid not in decision:
            if wnid in RULES:
                decision[wnid] = RULES[wnid]
            else:
                votes = [decide(p) for p in net.parents.get(wnid, ())]
                decision[wnid] = True if True in votes else (False if False in votes else None)
        return decision[wnid]

    return {wnid for wnid in net.lemmas if decide(wnid)}


def is_place_instance(net: WordNet, wnid: str) -> bool:
    """An instance (no is-a edge) in the noun.location / noun.object offset range: a country, city, river..."""
    return not net.parents.get(wnid) and PLACE_INSTANCES[0] <= wnid < PLACE_INSTANCES[1]


def below(net: WordNet, roots: Iterable[str]) -> set[str]:
    """The synsets ``roots`` and everything beneath them."""
    return set().union(*({r} | net.descendants(r) for r in roots))


def lemma_kinds(net: WordNet, rank: dict[str, int], inc: set[str] | None = None) -> dict[str, set[str]]:
    """GloVe token, or phrase of GloVe tokens (lower case, single spaces) -> the ways WordNet uses it as a lemma.

    'common': of an included synset ('role' too when that synset is a person); 'excluded': a lower-case lemma of a
    synset outside the branches ('excluded-proper' when capitalised, e.g. a genus or a language); 'place' / 'person'
    / 'instance': of an instance (a place, a person or god, anything else); 'acronym' and 'person-proper': lemmas
    with an all-caps word and capitalised lemmas of people (nationalities, faiths, "Einstein" as a genius), which do
    not count. Phrases only: 'latin', a capitalised lemma whose first word is a genus ("Tinca tinca", "Begonia
    rex"), and 'proper', one whose every word is capitalised ("Tom Collins", "Memorial Day"); neither counts.
    """
    inc = included_synsets(net) if inc is None else inc
    persons = net.descendants(PERSON) | {PERSON}
    out: dict[str, set[str]] = {}
    for wnid, lemmas in net.lemmas.items():
        if not net.parents.get(wnid):
            if PLACE_INSTANCES[0] <= wnid < PLACE_INSTANCES[1]:
                kind = "place"
            elif PERSON_INSTANCES[0] <= wnid < PERSON_INSTANCES[1]:
                kind = "person"
            else:
                kind = "instance"
        else:
            kind = "common" if wnid in inc else "excluded"
        for lemma in lemmas:
            parts = lemma.split()
            token = " ".join(parts).lower()
            if not parts or not all(w in rank for w in token.split(" ")):
                continue
            k = {kind}
            if kind == "excluded" and not lemma[:1].islower():
                k = {"excluded-proper"}
            elif kind == "common" and any(len(w) > 1 and w.isupper() for w in parts):
                k = {"acronym"}
            elif kind == "common" and wnid in persons:
                k = {"person-proper"} if lemma[:1].isupper() else {"common", "role"}
            elif kind == "common" and len(parts) > 1 and lemma[:1].isupper():
                if net.synsets(f"genus {parts[0]}"):
                    k = {"latin"}
                elif all(w[:1].isupper() for w in parts):
                    k = {"proper"}
            out.setdefault(token, set()).update(k)
    return out
