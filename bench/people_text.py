"""Issue 14 ("people-text"): people, the faces' tags, printed text and word senses, end to end through `tagger`.

    python bench/people_text.py [--reuse DIR [--update]] [--db CATALOG] [--n 12] [--seed 0] [--json]

Bar (issue 14): on a catalog of the Caltech test photos, "person", "people", "portrait", "face" each P@10 >= 0.9
(Faces and Faces_easy relevant), and no Faces photo has a bathroom fixture among its top 5 tags. OCR: with >= 50
rendered documents, receipts and signs mixed into that catalog, "document" and "receipt" P@10 >= 0.9, and a word
printed on one page finds that page first.

1. The library: the 2,893 photos of ../shared/data/caltech101/test.txt copied into their class folders, and docs/: the
   rendered set of bench/_rendered_docs.py (``--n`` of each of its 6 kinds, ``--seed``; truth.json beside them);
   `tagger index` into catalog.db beside it (timed). In a temp folder, or ``--reuse DIR`` (kept; a later run with the
   same DIR copies and indexes nothing, or runs the incremental `tagger index` with ``--update``). ``--db CATALOG``
   uses a catalog of such a library as it is (the bench only reads).
2. People: ten queries, relevant = Faces and Faces_easy; the bar counts the first four.
3. The top 5 tags (`tagger tags PHOTO --json --limit 5`) of every Faces and Faces_easy photo: how many carry a
   bathroom fixture (BATHROOM: the vocabulary's baths, toilets, showers, basins, taps...).
4. Text: six queries, relevant = the rendered images of that kind; then each rendered image's made-up word (printed on
   it alone): the rank of that image in `tagger search WORD`.
5. Senses: words with several meanings or a subject and a setting, their relevant Caltech classes; "person": how many
   cats (CATS classes, or a "persian cat" among the top 5 tags) in its top 10.
6. Scenes: words for places, the classes of their top 10 (no truth: Caltech has no scene labels).
A photo's class is its folder's name; a rendered image's is ``docs:KIND``. Every query's hits are listed with `why`
where search gives one (tag, label, faces, text).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._benchutil import run_cli as cli
from bench._rendered_docs import KINDS, generate

CALTECH = ROOT.parent / "shared" / "data" / "caltech101"
FACES = {"Faces", "Faces_easy"}
PEOPLE = ["person", "people", "portrait", "face", "a person", "man", "woman", "selfie", "group photo", "crowd"]
BAR_PEOPLE = PEOPLE[:4]
BAR_TEXT = ["document", "receipt"]
BOATS = {"ketch", "schooner", "ferry"}
SAILING = {"ketch", "schooner"}
SENSES = {"bass": {"bass"}, "sea horse": {"sea_horse"}, "metronome": {"metronome"}, "person": FACES, "boat": BOATS,
          "boat on water": BOATS, "sailing ship": SAILING, "sailboat": SAILING, "ship": BOATS,
          "dollar": {"dollar_bill"}}
CATS = {"wild_cat", "cougar_body", "cougar_face", "Leopards", "garfield"}
SCENES = ["jungle", "sky", "sea", "underwater", "beach", "desert", "garden", "forest", "road", "city", "indoors",
          "living room", "kitchen", "night", "snow", "farm", "savanna", "museum", "concert", "space"]
# the vocabulary's bathroom fixtures (tag_index texts): none belongs among a face's top tags
BATHROOM = {"bath", "bathtub", "tub", "hot tub", "washtub", "hip bath", "bath mat", "bath towel", "bath linen",
            "bathroom", "washroom", "restroom", "lavatory", "latrine", "urinal", "bidet", "toilet", "toilet seat",
            "toilet bowl", "toilet paper", "toilet roll", "toilet tissue", "flush toilet", "public toilet", "shower",
            "shower room", "shower stall", "shower curtain", "shower cap", "plunger", "washbasin", "basin", "sink",
            "faucet", "water faucet", "mixing faucet", "tap", "spigot", "soap dish", "soap dispenser",
            "medicine chest", "towel rack", "towel rail", "towel ring"}


@cache
def _truth(docs: Path) -> dict:
    f = docs / "truth.json"
    return json.loads(f.read_text()) if f.exists() else {}


def label(path: str) -> str:
    """A photo's class (its folder), or ``docs:KIND`` for a rendered image (named in its folder's truth.json)."""
    p = Path(path)
    entry = _truth(p.parent).get(p.name)
    return f"docs:{entry['kind']}" if entry else p.parent.name


def search(db: Path, query: str) -> list[dict]:
    """The whole ranking of `tagger search QUERY --json`, each hit with its class."""
    hits = json.loads(cli("search", query, "--db", str(db), "--limit", "100000", "--json"))
    for h in hits:
        h["class"] = label(h["path"])
    return hits


def top_tags(db: Path, path: str, k: int = 5) -> list[str]:
    return [t["tag"] for t in json.loads(cli("tags", path, "--db", str(db), "--limit", str(k), "--json"))["tags"]]


def ranked(db: Path, query: str, relevant: set[str], k: int = 10) -> dict:
    """P@k of QUERY (hits whose class is in ``relevant``), its match count and its top k (class, with why)."""
    hits = search(db, query)
    return {"query": query, "relevant": sorted(relevant), "p@10": sum(h["class"] in relevant for h in hits[:k]) / k,
            "matches": sum(h["match"] for h in hits),
            "top10": [h["class"] + (f" ({h['why']})" if h.get("why", "meaning") != "meaning" else "")
                      for h in hits[:k]],
            "_paths": [h["path"] for h in hits[:k]]}


def build(work: Path, n: int, seed: int, update: bool, log) -> tuple[Path, float | None]:
    """Copy the photos and render the text images (what is missing), index unless a catalog exists; (catalog, s)."""
    lib, db = work / "photos", work / "catalog.db"
    if db.exists() and not update:
        return db, None
    for rel in (CALTECH / "test.txt").read_text().split():
        if not (lib / rel).exists():
            (lib / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(CALTECH / rel, lib / rel)
    if not (lib / "docs" / "truth.json").exists():
        generate(lib / "docs", dict.fromkeys(KINDS, n), seed)
    log(f"indexing {lib} into {db} ...")
    t = time.perf_counter()
    cli("index", str(lib), "--db", str(db))
    return db, time.perf_counter() - t


def measure(db: Path, log) -> dict:
    everything = search(db, "photo")
    classes = Counter(h["class"] for h in everything)
    face_paths = [h["path"] for h in everything if h["class"] in FACES]
    people = [{**ranked(db, q, FACES), "in_bar": q in BAR_PEOPLE} for q in PEOPLE]
    log(f"top 5 tags of {len(face_paths)} Faces photos ...")
    fixtures: Counter = Counter()
    common: Counter = Counter()
    with_fixture = []
    for path in face_paths:
        tags = top_tags(db, path)
        common.update(tags)
        found = [t for t in tags if t.lower() in BATHROOM]
        fixtures.update(found)
        if found:
            with_fixture.append({"path": path, "top5": tags})
    faces_tags = {"photos": len(face_paths), "with_bathroom_fixture": len(with_fixture),
                  "fixtures": dict(fixtures.most_common()), "most_common_top5": dict(common.most_common(15)),
                  "examples": with_fixture[:5]}
    text = [{**ranked(db, kind, {f"docs:{kind}"}), "exist": classes[f"docs:{kind}"]} for kind in KINDS]
    log("each rendered image's made-up word ...")
    unique = []
    for h in everything:
        entry = _truth(Path(h["path"]).parent).get(Path(h["path"]).name)
        if entry:
            order = [x["path"] for x in search(db, entry["unique"])]
            unique.append({"file": Path(h["path"]).name, "kind": entry["kind"], "word": entry["unique"],
                           "rank": order.index(h["path"]) + 1})
    unique.sort(key=lambda u: u["file"])
    by_kind = {k: f"{sum(u['rank'] == 1 for u in unique if u['kind'] == k)}/{sum(u['kind'] == k for u in unique)}"
               for k in KINDS}
    words = {"images": len(unique), "ranked_first": sum(u["rank"] == 1 for u in unique),
             "in_top10": sum(u["rank"] <= 10 for u in unique), "first_by_kind": by_kind,
             "share_first": round(sum(u["rank"] == 1 for u in unique) / max(len(unique), 1), 3), "ranks": unique}
    senses = []
    for q, rel in SENSES.items():
        r = ranked(db, q, rel)
        if q == "person":
            r["cats_in_top10"] = sum(c.split(" ")[0] in CATS for c in r["top10"])
            r["cat_tagged_in_top10"] = sum(any(t == "cat" or t.endswith(" cat") for t in top_tags(db, p))
                                           for p in r["_paths"])
        senses.append(r)
    scenes = [{"query": q, "top_classes": dict(Counter(h["class"] for h in search(db, q)[:10]).most_common())}
              for q in SCENES]
    for r in people + text + senses:
        r.pop("_paths")
    docs = sum(n for c, n in classes.items() if c.startswith("docs:"))
    bar = {"people_p@10>=0.9": {r["query"]: r["p@10"] >= 0.9 for r in people if r["in_bar"]},
           "faces_without_bathroom_fixture": faces_tags["with_bathroom_fixture"] == 0,
           "rendered_text_images>=50": docs >= 50,
           "text_p@10>=0.9": {r["query"]: r["p@10"] >= 0.9 for r in text if r["query"] in BAR_TEXT},
           "every_word_finds_its_page_first": words["ranked_first"] == words["images"] > 0}
    return {"photos": len(everything), "caltech_photos": len(everything) - docs, "rendered": docs,
            "classes": len([c for c in classes if not c.startswith("docs:")]), "people": people,
            "faces_tags": faces_tags, "text": text, "unique_words": words, "senses": senses, "scenes": scenes,
            "bar": bar}


def _short(top: list[str]) -> str:
    return ", ".join(f"{c} {n}" if n > 1 else c for c, n in Counter(top).most_common())


def report(r: dict) -> None:
    index = "not run (an existing catalog)" if r["index_seconds"] is None else f"{r['index_seconds']} s"
    print(f"{r['photos']} photos: {r['caltech_photos']} Caltech ({r['classes']} classes) + {r['rendered']} rendered "
          f"text images; index {index}; {r['seconds']} s for the queries")
    print(f"{'query':<16} {'P@10':>5} {'match':>5}  top 10 (class count)")
    for title, rows in (("people (relevant: Faces, Faces_easy; * = counted by the bar)", r["people"]),
                        ("text (relevant: the rendered images of the kind)", r["text"]),
                        ("senses", r["senses"])):
        print(title)
        for q in rows:
            mark = "*" if q.get("in_bar") or (title.startswith("text") and q["query"] in BAR_TEXT) else " "
            extra = f" [{q['exist']} exist]" if "exist" in q else ""
            if "cats_in_top10" in q:
                extra += f" [cat classes in top 10: {q['cats_in_top10']}, tagged * cat: {q['cat_tagged_in_top10']}]"
            print(f"{mark}{q['query']:<15} {q['p@10']:5.1f} {q['matches']:5d}  {_short(q['top10'])}{extra}")
    f = r["faces_tags"]
    print(f"Faces photos with a bathroom fixture among their top 5 tags: {f['with_bathroom_fixture']} of {f['photos']} "
          f"({', '.join(f'{t} {n}' for t, n in f['fixtures'].items()) or 'none'})")
    print("  most common top-5 tags of the Faces photos: "
          + ", ".join(f"{t} {n}" for t, n in f["most_common_top5"].items()))
    u = r["unique_words"]
    kinds = ", ".join(f"{k} {v}" for k, v in u["first_by_kind"].items())
    print(f"made-up words: {u['ranked_first']} of {u['images']} find their page first ({u['share_first']:.0%}), "
          f"{u['in_top10']} in the top 10; first by kind: {kinds}")
    print("scenes (classes of the top 10):")
    for s in r["scenes"]:
        print(f"  {s['query']:<14} {', '.join(f'{c} {n}' for c, n in s['top_classes'].items())}")
    b = r["bar"]
    people_ok, text_ok = sum(b["people_p@10>=0.9"].values()), sum(b["text_p@10>=0.9"].values())
    print(f"bar: people {people_ok}/{len(b['people_p@10>=0.9'])} queries P@10 >= 0.9; faces without a bathroom "
          f"fixture: {'met' if b['faces_without_bathroom_fixture'] else 'MISSED'}; >= 50 rendered text images: "
          f"{'yes' if b['rendered_text_images>=50'] else 'NO'}; document/receipt {text_ok}/2 P@10 >= 0.9; every "
          f"word finds its page first: {'met' if b['every_word_finds_its_page_first'] else 'MISSED'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reuse", type=Path, metavar="DIR", help="build the library here and keep it; reuse it next time")
    ap.add_argument("--update", action="store_true", help="with --reuse: run the incremental `tagger index` anyway")
    ap.add_argument("--db", type=Path, help="an existing catalog of such a library, used as it is (read only)")
    ap.add_argument("--n", type=int, default=12, help="rendered images of each kind (6 kinds)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    log = (lambda s: print(s, file=sys.stderr)) if args.json else print
    work = args.reuse or Path(tempfile.mkdtemp(prefix="people-text-"))
    try:
        index_s = None
        if args.db:
            db = args.db
        else:
            db, index_s = build(work, args.n, args.seed, args.update, log)
        t = time.perf_counter()
        result = {"catalog": str(db), "index_seconds": None if index_s is None else round(index_s, 1),
                  **measure(db, log), "seconds": None}
        result["seconds"] = round(time.perf_counter() - t, 1)
    finally:
        if args.reuse is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        report(result)


if __name__ == "__main__":
    main()
