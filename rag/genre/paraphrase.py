"""Matching that tolerates paraphrase: a person's words against the report's words.

Three signals, all from data in ``rag/data``:
* the genre's paraphrase table (``synonyms.tsv``: 看病 ↔ 医保, 上学 ↔ 学位, 取暖 ↔ 清洁取暖);
* the bilingual glossary (``glossary_en.tsv``: per-capita disposable income ↔ 人均可支配收入), so an
  English question is judged on the report's Chinese terms;
* character-bigram coverage, which sees 贸易往来 in 经贸往来 where whole words do not meet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from rag.core.paths import DATA_DIR
from rag.genre.text import HAN_RUN, char_bigrams

#: left out before metrics are compared: spaces, quotes, brackets and clause punctuation
_PUNCTUATION = re.compile(r"[\s“”‘’\"'《》（）()、，,。；;：:]")


def _rows(path: Path) -> list[tuple[list[str], list[str]]]:
    out = []
    for line in path.read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        left, _, right = line.partition("\t")
        words = [w.strip() for w in left.split("|") if w.strip()]
        terms = [w.strip() for w in right.split("|") if w.strip()]
        if words and terms:
            out.append((words, terms))
    return out


def bigrams(text: str) -> set[str]:
    """Character bigrams of the CJK runs of ``text`` (a single character counts as itself)."""
    grams: set[str] = set()
    for run in HAN_RUN.findall(text):
        grams |= char_bigrams(run) if len(run) > 1 else {run}
    return grams


def similarity(a: str, b: str) -> float:
    """Character-bigram Jaccard, punctuation left out: robust to the verb and word-order variation
    between a report's parts (新增/培育国家高新技术企业) and between a question and a metric."""
    x, y = char_bigrams(_PUNCTUATION.sub("", a)), char_bigrams(_PUNCTUATION.sub("", b))
    return len(x & y) / len(x | y) if x and y else 0.0


def bigram_coverage(topic: str, text: str) -> float:
    """Share of the topic's character bigrams that occur in ``text``."""
    want = bigrams(topic)
    return sum(g in text for g in want) / len(want) if want else 0.0


@dataclass(frozen=True)
class Paraphrases:
    """The paraphrase table and the glossary, loaded once."""

    synonyms: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]
    glossary: tuple[tuple[str, tuple[str, ...]], ...]  # (english phrase, chinese terms), longest phrase first

    @classmethod
    def load(cls, data_dir: Path = DATA_DIR) -> Paraphrases:
        syn = tuple((tuple(w), tuple(t)) for w, t in _rows(data_dir / "synonyms.tsv"))
        gloss = [(w.lower(), tuple(t)) for words, t in _rows(data_dir / "glossary_en.tsv") for w in words]
        gloss.sort(key=lambda p: -len(p[0]))
        return cls(syn, tuple(gloss))

    def alternatives(self, word: str, *, inside: bool = False) -> tuple[str, ...]:
        """Report words that cover a question word: itself, and the report side of every
        paraphrase group naming it; with ``inside``, also of groups whose everyday word is all of
        it but one character ("看病难" holds 看病). Only for words the report itself does not use:
        a report term (社会消费品零售总额) must not be widened to everything sharing 消费."""
        # a group word that is all of ``word`` but one character is ``word`` minus its first or last
        named = [word, *(w for w in (word[:-1], word[1:]) if inside and len(w) >= 2)]
        out = [word]
        for i in sorted({i for w in named for i in self._groups_of.get(w, ())}):  # in table order
            out += self.synonyms[i][1]
        return tuple(dict.fromkeys(out))

    @cached_property
    def _groups_of(self) -> dict[str, tuple[int, ...]]:
        """Positions in ``synonyms`` of the groups naming each everyday word: ``alternatives``
        runs for every question word, and scanning the whole table each time cost more."""
        index: dict[str, list[int]] = {}
        for i, (words, _) in enumerate(self.synonyms):
            for w in dict.fromkeys(words):
                index.setdefault(w, []).append(i)
        return {w: tuple(ix) for w, ix in index.items()}

    def colloquial(self, text: str) -> list[tuple[str, tuple[str, ...]]]:
        """Everyday words of the table found in ``text`` (longest first, not overlapping)
        with the report words that cover them."""
        found: list[tuple[str, tuple[str, ...]]] = []
        rest = text
        words = sorted({w for ws, _ in self.synonyms for w in ws}, key=len, reverse=True)
        for w in words:
            if len(w) >= 2 and w in rest:
                found.append((w, self.alternatives(w)[1:]))
                rest = rest.replace(w, " ")
        return found

    def english_terms(self, text: str) -> list[tuple[str, tuple[str, ...]]]:
        """Glossary phrases in an English ``text`` (longest first, whole words, not overlapping)
        with their Chinese terms."""
        rest = " " + re.sub(r"[^a-z0-9&.+\-' ]", " ", text.lower()) + " "
        found = []
        for phrase, terms in self.glossary:
            if phrase not in rest:  # cheap necessary condition: most of the glossary is absent
                continue
            pattern = _phrase_pattern(phrase)
            if pattern.search(rest):
                found.append((phrase, terms))
                rest = pattern.sub(" | ", rest)
        return found

    def expansion(self, text: str) -> list[str]:
        """Report words to add to a question's search text: the first two report terms of each
        everyday word, and the Chinese terms of each English glossary phrase."""
        out: list[str] = []
        for _, terms in self.colloquial(text):
            out += [t for t in terms[:2] if t not in text]
        for _, terms in self.english_terms(text):
            out += list(terms[:2])
        return list(dict.fromkeys(out))


@lru_cache(maxsize=4096)
def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    """A glossary phrase as a whole-word pattern, compiled once rather than on every question."""
    return re.compile(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])")


@lru_cache(maxsize=1)
def default_paraphrases() -> Paraphrases:
    return Paraphrases.load()
