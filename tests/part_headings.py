"""An independent check of the section tree against a report's own part headings.

It reads the raw file with three simple patterns, not with ``rag.ingest.corpus``'s parser: a report has
part headings when a line starts with 「第一部分」, or lines start with 「一、」 and then 「二、」
(bold or ``#`` markers aside). They are found when each such line heads a section whose ancestors
carry no numbering of their own (only 「第X部分」 above 「一、」, or unnumbered headings), and each
「（一）」 line after a part line heads a section inside that part.

Run over a folder: ``python tests/part_headings.py ../shared/corpora/gov-reports`` prints the recall
and every miss.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

_NUM = "一二三四五六七八九十"
_CHAPTER = re.compile(rf"第[{_NUM}]{{1,3}}部分")
_PART = re.compile(rf"([{_NUM}]{{1,3}})、")
_SUB = re.compile(rf"[（(][{_NUM}]{{1,3}}[）)]")
_ANY_NUMBERED = re.compile(rf"(?:第[{_NUM}]{{1,3}}部分|[{_NUM}]{{1,3}}[、.．]|[（(][{_NUM}\d]{{1,3}}[）)]|\d{{1,2}}[.．、])")
_MARKUP = re.compile(r"\*\*|^[#>\s]+|^[-*+]\s+")
_SPACE = re.compile(r"\s+")


def _bare(line: str) -> str:
    return _SPACE.sub("", _MARKUP.sub("", line.replace("**", "")))


def raw_lines(text: str) -> list[str]:
    """The report's lines without front matter and markup, blank lines dropped."""
    if text.startswith("---\n") and "\n---" in text[4:]:
        text = text[text.index("\n---", 4) + 4:]
    return [b for b in (_bare(line) for line in text.splitlines()) if b]


@dataclass
class Expected:
    """The part lines a report has (empty: none) and the 「（一）」 lines under each."""

    parts: list[str] = field(default_factory=list)
    subs: dict[int, list[str]] = field(default_factory=dict)  # part index → its （一） lines
    chapters: bool = False  # the parts are 「第X部分」


def expected_parts(lines: list[str]) -> Expected:
    chapters = [ln for ln in lines if _CHAPTER.match(ln)]
    pattern = _CHAPTER if chapters else _PART
    numbered = [ln for ln in lines if pattern.match(ln)]
    if not chapters:
        firsts = [i for i, ln in enumerate(numbered) if ln.startswith("一、")]
        if not firsts or not any(ln.startswith("二、") for ln in numbered[firsts[0]:]):
            return Expected()
    out = Expected(chapters=bool(chapters))
    for ln in lines:
        if pattern.match(ln):
            out.parts.append(ln)
        elif _SUB.match(ln) and out.parts and not chapters:
            out.subs.setdefault(len(out.parts) - 1, []).append(ln)
    return out


def _key(text: str) -> str:
    return _bare(text)[:10]


def check(doc, lines: list[str]) -> list[str]:
    """What the tree misses of the report's part headings ([] when all are found)."""
    want = expected_parts(lines)
    by_id = {s.id: s for s in doc.sections}
    heads = [s for s in sorted(doc.sections, key=lambda s: s.start) if s.heading_end > s.start]
    keys = [_key(doc.text[s.start:s.heading_end]) for s in heads]
    misses, at = [], 0

    def find(line: str):
        nonlocal at
        k = _key(line)
        for i in range(at, len(heads)):
            if keys[i] and (k.startswith(keys[i]) or keys[i].startswith(k)):
                at = i + 1
                return heads[i]
        return None

    def ancestors(s):
        while s.parent:
            s = by_id[s.parent]
            yield s

    for i, line in enumerate(want.parts):
        sec = find(line)
        if sec is None:
            misses.append(f"part not a heading: {line[:30]}")
            continue
        numbered_above = [a.title for a in ancestors(sec)
                          if _ANY_NUMBERED.match(_bare(a.title)) and not (not want.chapters and _CHAPTER.match(_bare(a.title)))]
        if numbered_above:
            misses.append(f"part nested under {numbered_above[-1][:20]}: {line[:30]}")
        for sub in want.subs.get(i, []):
            child = find(sub)
            above = list(ancestors(child)) if child else []
            # inside the part, or inside a heading that begins after it (an unnumbered part the
            # simple patterns here do not see, such as a line 「加强政府自身建设」)
            if child is None or not any(a.id == sec.id or a.start > sec.start for a in above):
                misses.append(f"{sub[:20]} not inside {line[:20]}")
    return misses


def main(folder: Path) -> None:
    from rag.ingest.corpus import CorpusLoader

    loader = CorpusLoader(folder)
    having = found = 0
    for path in loader.files():
        if path.suffix != ".md" or path.stem.lower() == "readme":
            continue
        lines = raw_lines(path.read_text("utf-8"))
        if not expected_parts(lines).parts:
            continue
        having += 1
        misses = check(loader.read_file(path), lines)
        found += not misses
        for m in misses[:3]:
            print(f"{path.relative_to(folder)}: {m}")
    print(f"part headings found in {found}/{having} reports that have them ({found / max(having, 1):.2%})")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
