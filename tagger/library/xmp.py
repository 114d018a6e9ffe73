"""XMP packets: read keywords safely, and change keywords while keeping everything else exactly as it was.

Why it is written by hand on the standard library:
- Safety. XMP comes from users' files; a DOCTYPE (entity expansion, external entities) has no place in XMP (the spec
  forbids it), so any packet carrying one is refused before the parser sees it, and packets are size-capped.
- Faithfulness. Other programs own most of a sidecar (darktable's edit history, digiKam's face regions, Lightroom's
  develop settings). ElementTree's own writer renames namespace prefixes and drops the prolog; this module keeps the
  bytes before and after the root element verbatim, re-declares every namespace where it was declared, keeps
  comments and processing instructions, and only touches the keyword entries it is asked to change.
- Interoperability. Programs read different lists: digiKam prefers ``digiKam:TagsList``, darktable
  ``lr:hierarchicalSubject`` (falling back to ``dc:subject``), Lightroom ``lr:hierarchicalSubject`` and ``dc:subject``.
  A keyword therefore goes, as Lightroom and digiKam write it, with its leaf into ``dc:subject`` and its path into
  every hierarchical list the packet has; a hierarchical keyword also makes sure ``lr:hierarchicalSubject`` and
  ``digiKam:TagsList`` exist. A list Tagger creates is filled with every keyword of the packet, never just the new
  one: a program that prefers that list would otherwise lose the rest.
- Bookkeeping. ``tagger:added`` lists the automatic keywords Tagger put into this packet and ``tagger:auto`` marks
  them: they are never re-imported as if a person had chosen them, and Tagger takes back only those. (A person's own
  keywords need no such marks: the catalog remembers what it last agreed with the file, see keyword_merge.)
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tagger.errors import TaggerError
from tagger.library.keyword_merge import group, same
from tagger.library.keyword_paths import (
    SEPARATOR,
    KeywordEntries,
    identity,
    keyword_path,
    leaf,
    levels,
    unique_keywords,
)

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
X = "adobe:ns:meta/"
XML_NS = "http://www.w3.org/XML/1998/namespace"
DC = "http://purl.org/dc/elements/1.1/"
LR = "http://ns.adobe.com/lightroom/1.0/"
DIGIKAM = "http://www.digikam.org/ns/1.0/"
MICROSOFT = "http://ns.microsoft.com/photo/1.0/"
MEDIAPRO = "http://ns.iview-multimedia.com/mediapro/1.0/"
TAGGER = "http://ns.tagger-photos.org/xmp/1.0/"

MAX_PACKET_BYTES = 16 * 1024 * 1024  # real sidecars are KBs; darktable's biggest edit histories are < 1 MB


@dataclass(frozen=True)
class KeywordList:
    """One XMP property holding keywords: flat (``separator`` None) or hierarchical paths."""

    ns: str
    name: str
    prefix: str
    separator: str | None
    array: str = "Bag"  # the rdf container a new list gets (digiKam writes its TagsList as a Seq)

    @property
    def tag(self) -> str:
        return f"{{{self.ns}}}{self.name}"


DC_SUBJECT = KeywordList(DC, "subject", "dc", None)
LR_HIERARCHICAL = KeywordList(LR, "hierarchicalSubject", "lr", "|")
DIGIKAM_TAGS = KeywordList(DIGIKAM, "TagsList", "digiKam", "/", "Seq")
KEYWORD_LISTS = (
    DC_SUBJECT,
    LR_HIERARCHICAL,
    DIGIKAM_TAGS,
    KeywordList(MICROSOFT, "LastKeywordXMP", "MicrosoftPhoto", "/"),
    KeywordList(MEDIAPRO, "CatalogSets", "mediapro", "|"),
)
TAGGER_ADDED = KeywordList(TAGGER, "added", "tagger", None)
TAGGER_AUTO = KeywordList(TAGGER, "auto", "tagger", None)

_NEW_PACKET = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Tagger">\n'
    ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    '  <rdf:Description rdf:about=""\n'
    '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
    '    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"\n'
    f'    xmlns:digiKam="{DIGIKAM}"\n'
    f'    xmlns:tagger="{TAGGER}"/>\n'
    ' </rdf:RDF>\n'
    '</x:xmpmeta>\n'
    '<?xpacket end="w"?>\n'
)
class XmpError(TaggerError, ValueError):
    """A packet that cannot be read (or safely rewritten); ``str()`` is a reason for people."""


def decode_packet(data: bytes) -> str:
    """Bytes of a packet as text: UTF-8 (the norm), UTF-16/32 when a BOM says so; raises XmpError otherwise."""
    if len(data) > MAX_PACKET_BYTES:
        raise XmpError(f"XMP packet too large ({len(data)} bytes)")
    for bom, codec in ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
                       (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"), (b"\xef\xbb\xbf", "utf-8")):
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec)
            except UnicodeDecodeError:
                raise XmpError(f"XMP packet is not valid {codec}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise XmpError("XMP packet is not valid UTF-8") from None


class _Builder(ET.TreeBuilder):
    """Keeps comments, processing instructions and, per element, the namespace declarations it carried."""

    def __init__(self) -> None:
        super().__init__(insert_comments=True, insert_pis=True)
        self.pending: list[tuple[str, str]] = []
        self.decls: dict[ET.Element, list[tuple[str, str]]] = {}

    def start_ns(self, prefix: str, uri: str) -> None:
        self.pending.append((prefix or "", uri or ""))

    def start(self, tag, attrs):
        el = super().start(tag, attrs)
        if self.pending:
            self.decls[el] = self.pending
            self.pending = []
        return el


class XmpDocument:
    """A parsed XMP packet (embedded or sidecar) that can be edited and written back faithfully."""

    def __init__(self, prolog: str, root: ET.Element, epilog: str, decls: dict[ET.Element, list[tuple[str, str]]]):
        self.prolog = prolog
        self.root = root
        self.epilog = epilog
        self.decls = decls
        self.fresh = False  # made by new(): gets every keyword list (dc, lr, digiKam) from the start

    # ------------------------------------------------------------------ reading

    @classmethod
    def parse(cls, data: bytes | str) -> XmpDocument:
        text = decode_packet(data) if isinstance(data, (bytes, bytearray)) else data
        if len(text) > MAX_PACKET_BYTES:
            raise XmpError("XMP packet too large")
        if "<!DOCTYPE" in text or "<!ENTITY" in text:
            raise XmpError("XMP packet with a DOCTYPE refused (entity expansion is not allowed in XMP)")
        start = _root_start(text)
        end = _root_end(text)
        if start is None or end <= start:
            raise XmpError("no XML element in the XMP packet")
        builder = _Builder()
        parser = ET.XMLParser(target=builder)
        try:
            parser.feed(text[start:end].encode("utf-8"))
            root = parser.close()
        except ET.ParseError as exc:
            raise XmpError(f"malformed XMP ({exc})") from None
        if root.tag not in (f"{{{X}}}xmpmeta", f"{{{X}}}xapmeta", f"{{{RDF}}}RDF"):
            raise XmpError(f"not an XMP packet (root element {root.tag})")
        return cls(text[:start], root, text[end:], builder.decls)

    @classmethod
    def new(cls) -> XmpDocument:
        doc = cls.parse(_NEW_PACKET)
        doc.fresh = True
        return doc

    @property
    def rdf(self) -> ET.Element | None:
        if self.root.tag == f"{{{RDF}}}RDF":
            return self.root
        return self.root.find(f"{{{RDF}}}RDF")

    def descriptions(self) -> list[ET.Element]:
        rdf = self.rdf
        return [] if rdf is None else rdf.findall(f"{{{RDF}}}Description")

    def entries(self, kl: KeywordList) -> list[str]:
        """The raw entries of one keyword list, in document order, across every rdf:Description."""
        out = []
        for desc in self.descriptions():
            if kl.tag in desc.attrib:  # the (non-standard) attribute form of a single value
                out.append(desc.attrib[kl.tag])
            for prop in desc.findall(kl.tag):
                items = _items(prop)
                if items is None:
                    out.append("".join(prop.itertext()))
                else:
                    out.extend("".join(li.itertext()) for li in items)
        return out

    def keyword_entries(self, *, include_auto: bool = False) -> KeywordEntries:
        """Every keyword entry of the packet, as paths (hierarchical lists) and flat entries (``dc:subject``).

        Keywords Tagger wrote as automatic tags (``tagger:auto``) are left out unless ``include_auto``."""
        out = KeywordEntries()
        for kl in KEYWORD_LISTS:
            target = out.flat if kl.separator is None else out.paths
            target += [p for p in (keyword_path(e, kl.separator) for e in self.entries(kl)) if p is not None]
        if not include_auto:
            auto = {w.casefold() for w in unique_keywords(self.entries(TAGGER_AUTO))}
            if auto:
                out.paths = [p for p in out.paths if p.casefold() not in auto]
                out.flat = [w for w in out.flat if w.casefold() not in auto]
        return out

    def keywords(self, *, include_auto: bool = False) -> list[str]:
        """The keywords a person gave this photo, hierarchical ones as paths (``Places|Italy|Rome``), deduplicated
        (see ``KeywordEntries.resolve``). Automatic keywords Tagger wrote are left out unless ``include_auto``."""
        return self.keyword_entries(include_auto=include_auto).resolve()

    # ------------------------------------------------------------------ editing

    def apply_keywords(self, changes: Mapping[str, Sequence[str]]) -> bool:
        """Make the packet name exactly ``changes[identity]`` (paths; empty: none) for each keyword identity given,
        touching only the entries of those keywords; every other keyword and element stays as it was.
        Returns whether anything changed."""
        have = group(self.keywords())
        drop: list[str] = []
        add: list[str] = []
        for key, paths in changes.items():
            current = have.get(key, [])
            if same(current, paths):
                continue
            wanted = {p.casefold() for p in paths}
            drop += [p for p in current if p.casefold() not in wanted]
            present = {p.casefold() for p in current}
            add += [p for p in paths if p.casefold() not in present]
        if not drop and not add:
            return False
        gone = {p.casefold() for p in drop}
        kept = [p for p in self.keywords(include_auto=True) if p.casefold() not in gone]
        if drop:
            self._remove_paths(drop, kept + add)
        if add:
            self._add_paths(add, kept)
        return True

    def set_auto_keywords(self, auto: Iterable[str], *, keep_auto: bool = False) -> bool:
        """Make the packet carry the automatic keywords ``auto``, taking back only automatic keywords Tagger itself
        added earlier; a keyword a person already gave the photo is never marked automatic. ``keep_auto`` keeps the
        automatic keywords written earlier (for a caller that does not know them now). Returns whether anything
        changed (tidying Tagger's own bookkeeping counts)."""
        auto = unique_keywords(auto)
        added_before = unique_keywords(self.entries(TAGGER_ADDED))
        marked = {w.casefold() for w in unique_keywords(self.entries(TAGGER_AUTO))}
        ours = [w for w in added_before if w.casefold() in marked]
        wanted = {w.casefold() for w in auto} | ({w.casefold() for w in ours} if keep_auto else set())
        drop = [w for w in ours if w.casefold() not in wanted]
        named = self.keywords(include_auto=True)
        present = {p.casefold() for p in named} | {identity(p) for p in named}
        add = [w for w in auto if w.casefold() not in present]
        after = [w for w in ours if w.casefold() in wanted] + add
        if not drop and not add and [w.casefold() for w in added_before] == [w.casefold() for w in after] \
                and marked == {w.casefold() for w in after}:
            return False
        gone = {w.casefold() for w in drop}
        kept = [p for p in named if p.casefold() not in gone]
        if drop:
            self._remove_paths(drop, kept + add)
        if add:
            self._add_paths(add, kept)
        self._set_bag(TAGGER_ADDED, after)
        self._set_bag(TAGGER_AUTO, after)
        return True

    def tidy(self) -> bool:
        """Put right what an older Tagger wrote: a keyword path literally in ``dc:subject`` (where other programs
        see one odd flat keyword) becomes its leaf there and its path in the hierarchical lists. The keywords the
        packet names do not change. Returns whether anything changed."""
        literal = {p.casefold(): p for p in (keyword_path(e) for e in self.entries(DC_SUBJECT)) if p and SEPARATOR in p}
        if not literal:
            return False
        for prop in (p for desc in self.descriptions() for p in desc.findall(DC_SUBJECT.tag)):
            container = prop[_container_index(prop)] if _items(prop) is not None else None
            for li in _items(prop) or []:
                entry = keyword_path("".join(li.itertext()))
                if entry is not None and entry.casefold() in literal:
                    _remove_pretty(container, li)
        self._add_paths(list(literal.values()), [k for k in self.keywords(include_auto=True)
                                                 if k.casefold() not in literal])
        return True

    def _remove_paths(self, paths: Sequence[str], kept: Sequence[str]) -> None:
        """Take ``paths`` out of every keyword list: their own entries, and parent entries (a parent path, a parent
        level in ``dc:subject``) that no keyword in ``kept`` still needs."""
        gone = {p.casefold() for p in paths}
        gone_parents = {_prefix(p, i) for p in paths for i in range(1, len(levels(p)))}
        gone_nodes = {level.casefold() for p in paths for level in levels(p)}
        kept_prefixes = {_prefix(p, i) for p in kept for i in range(1, len(levels(p)) + 1)}
        kept_nodes = {level.casefold() for p in kept for level in levels(p)}
        for desc in self.descriptions():
            for kl in KEYWORD_LISTS:
                for prop in desc.findall(kl.tag):
                    items = _items(prop)
                    if items is None:
                        continue
                    container = prop[_container_index(prop)]
                    for li in items:
                        p = keyword_path("".join(li.itertext()), kl.separator)
                        if p is None:
                            continue
                        c = p.casefold()
                        if kl.separator is None and SEPARATOR not in p:
                            remove = c in gone_nodes and c not in kept_nodes
                        else:
                            remove = c in gone or (c in gone_parents and c not in kept_prefixes)
                        if remove:
                            _remove_pretty(container, li)

    def _add_paths(self, paths: Sequence[str], before: Sequence[str]) -> None:
        """Add keywords: the leaf to ``dc:subject``, the path to each hierarchical list. A list created here starts
        with ``before``, every other keyword the packet names (see the module's docstring)."""
        lists = [kl for kl in KEYWORD_LISTS if self._find(kl) is not None]
        needed = [DC_SUBJECT]
        if self.fresh or any(SEPARATOR in p for p in paths):
            needed += [LR_HIERARCHICAL, DIGIKAM_TAGS]
        created = [kl for kl in needed if kl not in lists]
        for kl in KEYWORD_LISTS:
            if kl not in lists and kl not in created:
                continue
            container = self._container(kl)
            present = {p.casefold() for p in (keyword_path(e, kl.separator) for e in self.entries(kl)) if p}
            for path in [*before, *paths] if kl in created else paths:
                entry = _entry_for(kl, path)
                norm = keyword_path(entry, kl.separator) if entry is not None else None
                if norm is None or norm.casefold() in present:
                    continue
                present.add(norm.casefold())
                li = ET.Element(f"{{{RDF}}}li")
                li.text = entry
                _append_pretty(container, li, self._depth(container) + 1)

    def _set_bag(self, kl: KeywordList, words: Sequence[str]) -> None:
        prop = self._find(kl)
        if not words:
            if prop is not None:
                for desc in self.descriptions():
                    for p in desc.findall(kl.tag):
                        _remove_pretty(desc, p)
            return
        container = self._container(kl)
        for li in list(container):
            container.remove(li)
        container.text = None
        for w in words:
            li = ET.Element(f"{{{RDF}}}li")
            li.text = w
            _append_pretty(container, li, self._depth(container) + 1)

    # ------------------------------------------------------------------ writing

    def serialize(self) -> bytes:
        """The packet as UTF-8 bytes: original prolog and epilog, every untouched element as it was."""
        # always written as UTF-8: an XML declaration naming another encoding (a UTF-16 packet) must say so too
        out: list[str] = [re.sub(r'(<\?xml[^>]*encoding=)(["\'])[^"\']*\2', r"\1\2UTF-8\2", self.prolog, count=1)]
        _emit(self.root, {"xml": XML_NS}, self.decls, out)
        out.append(self.epilog)
        return "".join(out).encode("utf-8")

    # ------------------------------------------------------------------ helpers

    def _find(self, kl: KeywordList) -> ET.Element | None:
        for desc in self.descriptions():
            prop = desc.find(kl.tag)
            if prop is not None:
                return prop
        return None

    def _home(self) -> ET.Element:
        """The rdf:Description new properties go into (created if the packet has none)."""
        descs = self.descriptions()
        for kl in KEYWORD_LISTS:
            for desc in descs:
                if desc.find(kl.tag) is not None:
                    return desc
        if descs:
            return descs[0]
        rdf = self.rdf
        if rdf is None:
            raise XmpError("the XMP packet has no rdf:RDF element")
        desc = ET.Element(f"{{{RDF}}}Description", {f"{{{RDF}}}about": ""})
        _append_pretty(rdf, desc, self._depth(rdf) + 1)
        return desc

    def _container(self, kl: KeywordList) -> ET.Element:
        """The rdf:Bag of a keyword list, creating the property (and the Bag) when missing."""
        prop = self._find(kl)
        if prop is None:
            home = self._home()
            self._declare(home, kl.prefix, kl.ns)
            prop = ET.Element(kl.tag)
            _append_pretty(home, prop, self._depth(home) + 1)
        idx = _container_index(prop)
        if idx is None:
            old = (prop.text or "").strip()
            prop.text = None
            bag = ET.Element(f"{{{RDF}}}{kl.array}")
            _append_pretty(prop, bag, self._depth(prop) + 1)
            if old:
                li = ET.Element(f"{{{RDF}}}li")
                li.text = old
                _append_pretty(bag, li, self._depth(bag) + 1)
            return bag
        return prop[idx]

    def _parents(self) -> dict[ET.Element, ET.Element]:
        return {child: parent for parent in self.root.iter() for child in parent}

    def _depth(self, el: ET.Element) -> int:
        parents = self._parents()
        depth = 0
        while el in parents:
            el = parents[el]
            depth += 1
        return depth

    def _declare(self, el: ET.Element, prefix: str, uri: str) -> None:
        """Declare ``uri`` on ``el`` unless it is already in scope there (keeps new sidecars tidy)."""
        parents = self._parents()
        chain = [el]
        while chain[-1] in parents:
            chain.append(parents[chain[-1]])
        scope: dict[str, str] = {}
        for node in reversed(chain):
            for p, u in self.decls.get(node, []):
                scope[p] = u
        if uri in scope.values():
            return
        candidate, n = prefix, 1
        while candidate in scope:
            n += 1
            candidate = f"{prefix}{n}"
        self.decls.setdefault(el, []).append((candidate, uri))


def _prefix(path: str, n: int) -> str:
    """The first ``n`` levels of a path, case-folded."""
    return SEPARATOR.join(levels(path)[:n]).casefold()


def _entry_for(kl: KeywordList, path: str) -> str | None:
    """How a keyword is written in one list: its leaf in a flat list, its path with the list's separator in a
    hierarchical one; None where a level holds that separator ('AC/DC' would read as a hierarchy in digiKam's)."""
    if kl.separator is None:
        return leaf(path)
    parts = levels(path)
    if kl.separator != SEPARATOR and any(kl.separator in part for part in parts):
        return None
    return kl.separator.join(parts)


def _items(prop: ET.Element) -> list[ET.Element] | None:
    idx = _container_index(prop)
    if idx is None:
        return None
    return prop[idx].findall(f"{{{RDF}}}li")


def _container_index(prop: ET.Element) -> int | None:
    for i, child in enumerate(prop):
        if child.tag in (f"{{{RDF}}}Bag", f"{{{RDF}}}Seq", f"{{{RDF}}}Alt"):
            return i
    return None


def _append_pretty(parent: ET.Element, child: ET.Element, depth: int) -> None:
    """Append keeping the file's one-element-per-line layout."""
    indent = "\n" + " " * depth
    if len(parent):
        last = parent[-1]
        child.tail = last.tail
        last.tail = indent
    else:
        child.tail = "\n" + " " * max(depth - 1, 0)
        parent.text = indent
    parent.append(child)


def _remove_pretty(parent: ET.Element, child: ET.Element) -> None:
    kids = list(parent)
    i = kids.index(child)
    if i == len(kids) - 1:
        if i > 0:
            kids[i - 1].tail = child.tail
        else:
            parent.text = None
    parent.remove(child)


def _root_start(text: str) -> int | None:
    """Offset of the root element's '<' (skipping the XML declaration, PIs, comments and whitespace)."""
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace() or text[i] == "\ufeff":
            i += 1
        elif text.startswith("<?", i):
            j = text.find("?>", i)
            if j < 0:
                return None
            i = j + 2
        elif text.startswith("<!--", i):
            j = text.find("-->", i)
            if j < 0:
                return None
            i = j + 3
        elif text[i] == "<":
            return i
        else:
            return None
    return None


def _root_end(text: str) -> int:
    """Offset just after the root element (trailing PIs such as ``<?xpacket end?>``, comments, padding excluded)."""
    end = len(text)
    while True:
        s = text[:end].rstrip(" \t\r\n\x00")
        if s.endswith("?>") and s.rfind("<?") >= 0:
            end = s.rfind("<?")
        elif s.endswith("-->") and s.rfind("<!--") >= 0:
            end = s.rfind("<!--")
        else:
            return len(s)


# ---------------------------------------------------------------------------- serialisation


def _esc_text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _esc_attr(s: str) -> str:
    return (_esc_text(s).replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;")
            .replace("\t", "&#9;"))


def _split(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        uri, local = tag[1:].split("}", 1)
        return uri, local
    return None, tag


def _emit(el: ET.Element, scope: dict[str, str], decls: dict, out: list[str]) -> None:
    if el.tag is ET.Comment:
        out.append(f"<!--{el.text or ''}-->")
        out.append(_esc_text(el.tail or ""))
        return
    if el.tag is ET.ProcessingInstruction:
        out.append(f"<?{el.text or ''}?>")
        out.append(_esc_text(el.tail or ""))
        return
    own = list(decls.get(el, []))
    scope = dict(scope)
    for p, u in own:
        scope.pop(p, None)
        scope[p] = u

    def prefix_for(uri: str | None, attribute: bool) -> str:
        if uri is None:
            if not attribute and scope.get(""):
                own.append(("", ""))
                scope[""] = ""
            return ""
        for p in reversed(scope):
            if scope[p] == uri and (p or not attribute):
                return p
        base = "ns"
        n = 0
        while f"{base}{n}" in scope:
            n += 1
        p = f"{base}{n}"
        own.append((p, uri))
        scope[p] = uri
        return p

    uri, local = _split(el.tag)
    p = prefix_for(uri, False)
    name = f"{p}:{local}" if p else local
    attrs = []
    for key, value in el.attrib.items():
        auri, alocal = _split(key)
        ap = prefix_for(auri, True)
        attrs.append((f"{ap}:{alocal}" if ap else alocal, value))
    parts = [f"<{name}"]
    for p2, u in own:
        parts.append(f' xmlns:{p2}="{_esc_attr(u)}"' if p2 else f' xmlns="{_esc_attr(u)}"')
    for k, v in attrs:
        parts.append(f' {k}="{_esc_attr(v)}"')
    if len(el) == 0 and not el.text:
        out.append("".join(parts) + "/>")
    else:
        out.append("".join(parts) + ">")
        out.append(_esc_text(el.text or ""))
        for child in el:
            _emit(child, scope, decls, out)
        out.append(f"</{name}>")
    out.append(_esc_text(el.tail or ""))
