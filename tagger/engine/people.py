"""What the faces in a photo say about people words: one probability (0..1) per word, from count, size and place alone.

Only geometry is used, never who or what kind of person (no gender, no age): the words are about the photo, not the
people in it. The detector's threshold (0.9) already makes each face a confident one, so the rules below decide how
well the set of faces fits each word. Every size rule is a logistic step rather than a cut, so a face just under a
limit ranks just below one just over it instead of vanishing from a search.

Measured on Caltech-101 test photos (RetinaFace at 320 px; 145 `Faces` head-and-shoulders photos, 145 `Faces_easy`
crops of them, 300 photos of other classes, the bench's seed-0 sample): the largest face's height was 0.39-0.73 of the
photo's (median 0.60), its centre 0.27-0.70 across; 4 of the 300 others held a face (two Buddha statues at 0.15 and
0.18 of the height, the panda photo's real face at 0.12, a dalmatian's face at 0.84). Share of photos with p >= 0.5,
Faces / Faces_easy / others: person, people, face, portrait 1.000 / 1.000 / 0.013, 0.013, 0.003, 0.007; selfie
0.993 / 1.000 / 0.003 (these close-ups were taken by someone else: selfie is a heuristic, not measured against real
selfies); group photo, crowd 0 / 0 / 0. Caltech has no group or crowd photos: those rules are checked on synthetic
face lists only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tagger.engine.faces import Face

PEOPLE_WORDS = ("person", "people", "face", "portrait", "close-up", "selfie", "group photo", "crowd")

ONE_PERSON_PEOPLE = 0.8  # "people" finds a library's portraits too, but photos of several people rank above them
FACE_HEIGHT = 0.20  # a face is the subject from ~1/5 of the photo's height up (Caltech Faces: 0.39-0.73)
PORTRAIT_HEIGHT = 0.17  # the largest face of a portrait: head-and-shoulders framing starts near 1/6 of the height
PORTRAIT_OFF_CENTRE = 0.30  # the face's centre may sit this far (of the width) from the middle: rule-of-thirds framing
SELFIE_HEIGHT = 0.40  # held at arm's length a face fills ~2/5 of the frame or more (Hopper's studio portrait: 0.42)
# A box cannot tell a selfie from a close-up portrait taken by someone else (every Caltech Faces photo is the latter
# and would pass), so a large single face is consistent with a selfie, not proof: capped below what a centred
# close-up gets for "portrait" (~1.0), so a search for "portrait" ranks these photos first; and below the match line
# (0.5): "selfie" ranks large single faces first, but neither tags a photo nor calls it a match on a guess.
SELFIE_CAP = 0.45
CLOSE_UP_HEIGHT = 0.35  # a face over ~1/3 of the height: the photo is a close-up of it (Caltech Faces: 0.39-0.73)
SIMILAR = 0.5  # faces at least half the largest's height stand in the same row of the photo: the subjects
SMALL_FACE = 0.06  # under ~6 % of the height (~13-19 px at 320): far away, and most such faces are missed at 320 px


def _step(value: float, at: float, width: float) -> float:
    """Logistic step: 0.5 at ``at``, ~0.02 / ~0.98 four widths either side."""
    z = (value - at) / width
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def people_evidence(faces: Sequence[Face]) -> dict[str, float]:
    """Each word of PEOPLE_WORDS -> how well the photo's faces support it (0 when there is none)."""
    if not faces:
        return dict.fromkeys(PEOPLE_WORDS, 0.0)
    n = len(faces)
    largest = max(faces, key=lambda f: f.h)
    similar = sum(f.h >= SIMILAR * largest.h for f in faces)  # the largest face counts itself
    small = sum(f.h < SMALL_FACE for f in faces)
    person = max(f.score for f in faces)

    off_centre = abs(largest.x + largest.w / 2 - 0.5)
    centred = _step(PORTRAIT_OFF_CENTRE - off_centre, 0.0, 0.03)
    # a portrait holds one or two people; others far smaller behind them do not spoil it, a third subject does
    few_subjects = 1.0 if similar <= 2 else 0.3 if similar == 3 else 0.0
    portrait = _step(largest.h, PORTRAIT_HEIGHT, 0.025) * centred * few_subjects
    alone = {1: 1.0, 2: 0.5}.get(similar, 0.1)  # two heads squeezed into one selfie happen; a group is a group photo
    selfie = SELFIE_CAP * _step(largest.h, SELFIE_HEIGHT, 0.03) * alone
    # eight faces found, or five tiny ones (which stand for many more missed at 320 px), make a crowd
    crowd = max(_step(n, 7.5, 0.8), _step(small, 4.5, 0.6))
    return {
        "person": person,
        "people": person * (ONE_PERSON_PEOPLE if n == 1 else 1.0),
        "face": _step(largest.h, FACE_HEIGHT, 0.025),
        "portrait": portrait,
        "close-up": _step(largest.h, CLOSE_UP_HEIGHT, 0.025),
        "selfie": selfie,
        "group photo": _step(similar, 2.5, 0.25),
        "crowd": crowd,
    }
