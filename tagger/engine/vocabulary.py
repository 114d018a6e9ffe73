"""The tag vocabulary the app loads: the words and phrases a tag cloud may show (resources/tag_vocabulary.txt).

The list is built offline and checked in (``tagger.engine.vocabulary_build``, ``python -m
tagger.engine.vocabulary_build --check``), so the app only reads a text file here and never needs GloVe or the
builder's word lists at run time. ``FUNCTION_WORDS`` lives here because search drops them from queries too.
"""

from __future__ import annotations

from functools import lru_cache

from tagger.paths import resource_path

VOCABULARY_FILE = "tag_vocabulary.txt"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# English function words: pronouns, determiners, prepositions, conjunctions, auxiliaries and the adverbs that
# WordNet also lists as nouns ("there" a location, "down" feathers, "back" a body part).
FUNCTION_WORDS = _words("""
    a about above across after afterwards again against ago ahead all almost alone along already also although
    always am among amongst an and another any anybody anyhow anyone anything anyway anywhere are around as aside
    at away back be became because become becomes been before beforehand behind being below beneath beside
    besides between beyond both but by can cannot could did do does doing done down downstairs during each either
    else elsewhere enough etc even ever every everybody everyone everything everywhere except far few for forth
    forward from further furthermore get gets getting go goes going gone got had has have having he hence her
    here hers herself high him himself his how however if in indeed inside instead into is it its itself just
    last least less let lot lots many may maybe me meanwhile might mine more moreover most mostly much must my
    myself near nearly neither never nevertheless next no nobody none noone nor not nothing now nowhere of off
    often on once one only onto or other others otherwise our ours ourselves out outside over own per perhaps
    quite rather really same see seem seemed seems several shall she should since so some somebody somehow
    someone something sometime sometimes somewhat somewhere soon still such than that the their theirs them
    themselves then thence there thereafter thereby therefore these they this those though through throughout
    thru thus till to together too toward towards under underneath unless unlike until up upon upstairs us very
    via was we well were what whatever when whenever where whereas whereabouts wherever whether which while whom
    whose why will with within without would yes yet you your yours yourself yourselves
""")


def parse(text: str) -> list[str]:
    """The entries of a vocabulary file: every line that is neither blank nor a '#' comment."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@lru_cache(maxsize=1)
def _load() -> tuple[str, ...]:
    return tuple(parse(resource_path(VOCABULARY_FILE).read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def vocabulary_words() -> frozenset[str]:
    """The vocabulary as a set: a stored automatic tag that is not in it was withdrawn since it was stored (a word
    blocked later, "crotch hair"), and a tag cloud leaves it out until the photo is indexed again."""
    return frozenset(_load())


def load_vocabulary() -> list[str]:
    """The committed tag vocabulary (read once, then cached); cheap, unlike build_vocabulary(). Single words and
    phrases ("ice cream": lower-case words joined by single spaces), commonest first."""
    return list(_load())
